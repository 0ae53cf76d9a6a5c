//! POP3 against Dovecot: bounces recorded then deleted, everything else kept.

use rebound_core::settings::MailboxKind;
use rebound_mailbox::{NoProgress, StopSignal, read_options};
use rebound_store::KeptKind;
use rebound_testkit::{Backend, OpenStore, TestDb};

use crate::dovecot::{Dovecot, Mode};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_records_bounces_keeps_the_rest_and_deletes_only_then() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(9);
    subscribers_for(store.as_ref(), &fixtures).await;
    for f in &fixtures {
        dovecot.deliver(&f.raw);
    }
    let not_bounce = not_a_bounce();
    let junk = garbage();
    dovecot.deliver(&not_bounce);
    dovecot.deliver(&junk);
    assert_eq!(dovecot.message_count(), 11);

    let mailbox = config(&dovecot.mailbox(MailboxKind::Pop, Mode::Plain));
    let settings = rebound_core::Settings::default();
    let report =
        scanner(&store).scan(&mailbox, &read_options(&settings), &NoProgress, &StopSignal::never()).await;
    assert!(report.error.is_none(), "{report:?}");
    let c = report.counts;
    assert_eq!(c.seen, 11);
    assert_eq!(c.recorded as usize, total_events(&fixtures), "{c:?}");
    assert_eq!((c.duplicates, c.unmatched, c.not_bounces, c.removed), (0, 0, 2, 11), "{c:?}");

    // Every bounce is in the database, once, with the mailbox host as source.
    assert_eq!(bounce_rows(store.as_ref()).await as usize, total_events(&fixtures));
    let page = store.query_bounces(&Default::default()).await.unwrap();
    let b = &page.results[0];
    assert_eq!(b.source, "127.0.0.1");
    for key in ["from", "subject", "message_id", "reason", "recipient"] {
        assert!(b.meta.get(key).is_some(), "meta lacks {key}: {}", b.meta);
    }

    // The non-bounce and the garbage are kept whole, so nothing is lost.
    let kept = kept_rows(store.as_ref()).await;
    assert_eq!(kept.len(), 2);
    for k in &kept {
        let full = store.get_mailbox_message(k.id).await.unwrap();
        let raw = full.raw.unwrap();
        let original = if k.kind == KeptKind::Unparseable { &junk } else { &not_bounce };
        assert!(k.kind == KeptKind::Unparseable || k.kind == KeptKind::NotBounce, "{k:?}");
        // Dovecot hands messages out with CRLF line ends.
        assert_eq!(strip_cr(&raw), strip_cr(original), "kept bytes differ for {:?}", k.kind);
    }

    // Deleted from the server only now; the next scan finds nothing.
    assert_eq!(dovecot.message_count(), 0);
    let again =
        scanner(&store).scan(&mailbox, &read_options(&settings), &NoProgress, &StopSignal::never()).await;
    assert!(again.error.is_none(), "{again:?}");
    assert_eq!(again.counts.seen, 0);
    let state = store.mailbox_states().await.unwrap();
    assert_eq!(state[0].last_ok, Some(true));
    assert_eq!(state[0].last_counts["seen"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_wrong_password_fails_clearly_and_deletes_nothing() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    for f in corpus_bounces(3) {
        dovecot.deliver(&f.raw);
    }
    let mut m = dovecot.mailbox(MailboxKind::Pop, Mode::Plain);
    m.password = rebound_core::Secret::new("not-the-password");
    let mailbox = config(&m);
    let report = scanner(&store)
        .scan(&mailbox, &read_options(&Default::default()), &NoProgress, &StopSignal::never())
        .await;
    let err = report.error.clone().expect("the scan must fail");
    eprintln!("wrong password: {err}");
    assert!(err.contains("login to 127.0.0.1") && err.contains("refused"), "{err}");
    assert!(err.to_lowercase().contains("authentication failed"), "{err}");
    assert!(!err.contains("not-the-password"), "the password leaked: {err}");
    assert_eq!(report.counts.seen, 0);
    assert_eq!(dovecot.message_count(), 3, "nothing may be deleted");
    assert_eq!(bounce_rows(store.as_ref()).await, 0);
    let state = store.mailbox_states().await.unwrap();
    assert_eq!(state[0].last_ok, Some(false));
    assert_eq!(state[0].last_error.as_deref(), Some(err.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_defer_messages_and_leave_oversized_ones_on_the_server() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(5);
    subscribers_for(store.as_ref(), &fixtures).await;
    for f in &fixtures {
        dovecot.deliver(&f.raw);
    }
    // A large non-bounce: over the 1 MiB keep limit, under max_message_size.
    let mut big = b"From: someone@example.org\r\nSubject: large\r\n\r\n".to_vec();
    for _ in 0..(1100 * 1024 / 64) {
        big.extend_from_slice(b"0123456789012345678901234567890123456789012345678901234567890\r\n");
    }
    dovecot.deliver(&big);

    let mut m = dovecot.mailbox(MailboxKind::Pop, Mode::Plain);
    m.max_messages = 3;
    let mailbox = config(&m);
    let parse = read_options(&Default::default());
    let first = scanner(&store).scan(&mailbox, &parse, &NoProgress, &StopSignal::never()).await;
    assert!(first.error.is_none(), "{first:?}");
    assert_eq!((first.counts.seen, first.counts.deferred), (3, 3), "{:?}", first.counts);

    m.max_messages = 1000;
    m.max_message_size = 512 * 1024;
    let second = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    assert!(second.error.is_none(), "{second:?}");
    assert_eq!(second.counts.too_large, 1, "{:?}", second.counts);
    assert_eq!(dovecot.message_count(), 1, "the oversized message stays");

    // With a larger limit it is read, kept truncated, and still left on the server.
    m.max_message_size = 10 * 1024 * 1024;
    let third = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    assert!(third.error.is_none(), "{third:?}");
    assert_eq!((third.counts.seen, third.counts.left), (1, 1), "{:?}", third.counts);
    assert_eq!(dovecot.message_count(), 1);
    let kept = kept_rows(store.as_ref()).await;
    assert!(kept[0].truncated && kept[0].left_on_server, "{:?}", kept[0]);
    // Remembered as handled: not fetched again.
    let fourth = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    assert_eq!((fourth.counts.seen, fourth.counts.left), (0, 1), "{:?}", fourth.counts);
    assert_eq!(bounce_rows(store.as_ref()).await as usize, total_events(&fixtures));
}

fn strip_cr(b: &[u8]) -> Vec<u8> {
    b.iter().copied().filter(|c| *c != b'\r').collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_takes_too_long_to_parse_is_kept_unparsed_and_not_retried() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    // A notice-looking message of 4 MiB: no parser reads it within 1 ms.
    let mut slow = b"From: MAILER-DAEMON@mx.example.org\r\nSubject: Undelivered Mail\r\n\r\n".to_vec();
    while slow.len() < 4 << 20 {
        slow.extend_from_slice(b"a1@b.test a2@b.test a3@b.test a4@b.test 550 5.1.1 user unknown\r\n");
    }
    dovecot.deliver(&slow);

    let mut m = dovecot.mailbox(MailboxKind::Pop, Mode::Plain);
    m.parse_timeout = std::time::Duration::from_millis(1);
    let parse = read_options(&Default::default());
    let report = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    assert!(report.error.is_none(), "{report:?}");
    let c = report.counts;
    assert_eq!((c.seen, c.recorded, c.not_bounces, c.errors), (1, 0, 1, 1), "{c:?}");
    // Over the 1 MiB keep limit: kept truncated and left on the server, as
    // any large kept message is, and remembered as handled.
    assert_eq!((c.removed, c.left), (0, 1), "{c:?}");

    let kept = kept_rows(store.as_ref()).await;
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].kind, KeptKind::ParseError);
    assert!(
        kept[0].reason.contains("longer than 1ms") && kept[0].reason.contains("not tried again"),
        "{}",
        kept[0].reason
    );
    assert!(kept[0].truncated && kept[0].left_on_server, "{:?}", kept[0]);
    let raw = store.get_mailbox_message(kept[0].id).await.unwrap().raw.unwrap();
    assert!(strip_cr(&slow).starts_with(&strip_cr(&raw)), "the kept bytes are the message's first");
    assert_eq!(dovecot.message_count(), 1);

    // The next scan (a restart) parses nothing again.
    let again = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    assert_eq!((again.counts.seen, again.counts.errors, again.counts.left), (0, 0, 1), "{:?}", again.counts);
    assert_eq!(kept_rows(store.as_ref()).await.len(), 1);
}
