//! Every way in: plain, STLS/STARTTLS and implicit TLS, for both protocols;
//! a self-signed certificate works only with tls_skip_verify.

use rebound_core::settings::MailboxKind;
use rebound_mailbox::{NoProgress, StopSignal, read_options};
use rebound_testkit::{Backend, OpenStore, TestDb};

use crate::dovecot::{Dovecot, Mode};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_security_mode_scans_with_tls_skip_verify() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(6);
    subscribers_for(store.as_ref(), &fixtures).await;
    let parse = read_options(&Default::default());
    let modes = [
        (MailboxKind::Pop, Mode::Plain),
        (MailboxKind::Pop, Mode::StartTls),
        (MailboxKind::Pop, Mode::Tls),
        (MailboxKind::Imap, Mode::Plain),
        (MailboxKind::Imap, Mode::StartTls),
        (MailboxKind::Imap, Mode::Tls),
    ];
    for ((kind, mode), f) in modes.into_iter().zip(&fixtures) {
        dovecot.deliver(&f.raw);
        let report = scanner(&store)
            .scan(&config(&dovecot.mailbox(kind, mode)), &parse, &NoProgress, &StopSignal::never())
            .await;
        assert!(report.error.is_none(), "{kind:?} {mode:?}: {report:?}\n{}", dovecot.log());
        assert_eq!(report.counts.recorded as usize, f.events.len(), "{kind:?} {mode:?}: {:?}", report.counts);
        assert_eq!(dovecot.message_count(), 0, "{kind:?} {mode:?}");
    }
    // Dovecot saw TLS where asked.
    let log = dovecot.log();
    assert!(log.contains("TLS"), "{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_that_does_not_verify_fails_clearly_without_tls_skip_verify() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    dovecot.deliver(&corpus_bounces(1)[0].raw);
    let parse = read_options(&Default::default());
    for (kind, mode) in [
        (MailboxKind::Pop, Mode::Tls),
        (MailboxKind::Pop, Mode::StartTls),
        (MailboxKind::Imap, Mode::Tls),
        (MailboxKind::Imap, Mode::StartTls),
    ] {
        let mut m = dovecot.mailbox(kind, mode);
        m.tls_skip_verify = false;
        let report = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
        let err = report.error.unwrap_or_else(|| panic!("{kind:?} {mode:?} must fail"));
        eprintln!("{kind:?} {mode:?} without tls_skip_verify: {err}");
        assert!(err.contains("TLS with 127.0.0.1"), "{kind:?} {mode:?}: {err}");
        assert!(err.contains("certificate") && err.contains("tls_skip_verify"), "{kind:?} {mode:?}: {err}");
        assert_eq!(report.counts.seen, 0);
    }
    assert_eq!(dovecot.message_count(), 1, "nothing may be deleted");
    assert_eq!(bounce_rows(store.as_ref()).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_port_and_a_silent_server_fail_with_their_address() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let parse = read_options(&Default::default());
    // Nothing listens on a port just released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let dovecot = Dovecot::start();
    let mut m = dovecot.mailbox(MailboxKind::Pop, Mode::Plain);
    m.port = port;
    let report = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    let err = report.error.expect("must fail");
    assert!(err.contains(&format!("could not connect to 127.0.0.1:{port}")), "{err}");

    // A server that accepts and never greets: the login timeout ends it.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    m.port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            held.push(s);
        }
    });
    let mut options = options();
    options.timeouts.login = std::time::Duration::from_millis(300);
    let quick = rebound_mailbox::Scanner::new(store.clone(), intake(&store), options);
    let report = quick.scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    let err = report.error.expect("must fail");
    assert!(err.contains("greeting") && err.contains("timed out"), "{err}");
}
