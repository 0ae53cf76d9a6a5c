//! "Test connection" against Dovecot: it logs in and counts what waits,
//! takes nothing away, and says why when it cannot log in.

use rebound_core::Secret;
use rebound_core::settings::MailboxKind;
use rebound_mailbox::{ConnectionTestError, test_connection};

use crate::dovecot::{Dovecot, Mode};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_test_logs_in_counts_and_leaves_every_message() {
    let dovecot = Dovecot::start();
    let (_db, tokens) = oauth_tokens().await;
    dovecot.deliver(&not_a_bounce());
    dovecot.deliver(&garbage());
    for (kind, mode) in [
        (MailboxKind::Pop, Mode::Plain),
        (MailboxKind::Pop, Mode::Tls),
        (MailboxKind::Imap, Mode::StartTls),
        (MailboxKind::Imap, Mode::Tls),
    ] {
        let m = dovecot.mailbox(kind, mode);
        let c = test_connection(&m, &tokens).await.unwrap_or_else(|e| panic!("{kind:?} {mode:?}: {e}"));
        assert_eq!(c.waiting, 2, "{kind:?} {mode:?}");
        assert!(c.label.contains(&m.port.to_string()), "{}", c.label);
    }
    assert_eq!(dovecot.message_count(), 2, "a connection test fetches and deletes nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_login_or_a_closed_port_says_why() {
    let dovecot = Dovecot::start();
    let (_db, tokens) = oauth_tokens().await;
    for kind in [MailboxKind::Pop, MailboxKind::Imap] {
        let mut m = dovecot.mailbox(kind, Mode::Plain);
        m.password = Secret::new("not-the-password");
        let e = test_connection(&m, &tokens).await.expect_err("a wrong password is refused");
        assert!(matches!(e, ConnectionTestError::Mailbox(_)), "{kind:?}: {e:?}");
        assert!(!e.to_string().is_empty());
    }
    let mut m = dovecot.mailbox(MailboxKind::Pop, Mode::Plain);
    // A port nothing listens on.
    m.port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let e = test_connection(&m, &tokens).await.expect_err("nothing listens there");
    assert!(matches!(e, ConnectionTestError::Mailbox(_)), "{e:?}");
}
