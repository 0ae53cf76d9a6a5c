//! IMAP against Dovecot: delete, or move to a folder, after recording.

use rebound_core::settings::{AfterProcessing, MailboxKind};
use rebound_mailbox::{NoProgress, StopSignal, read_options};
use rebound_testkit::{Backend, OpenStore, TestDb};

use crate::dovecot::{Dovecot, Mode};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_records_bounces_and_expunges_them() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(7);
    subscribers_for(store.as_ref(), &fixtures).await;
    for f in &fixtures {
        dovecot.deliver(&f.raw);
    }
    dovecot.deliver(&not_a_bounce());

    let mailbox = config(&dovecot.mailbox(MailboxKind::Imap, Mode::Plain));
    let parse = read_options(&Default::default());
    let report = scanner(&store).scan(&mailbox, &parse, &NoProgress, &StopSignal::never()).await;
    assert!(report.error.is_none(), "{report:?}\n{}", dovecot.log());
    let c = report.counts;
    assert_eq!((c.seen, c.not_bounces, c.removed), (8, 1, 8), "{c:?}");
    assert_eq!(c.recorded as usize, total_events(&fixtures), "{c:?}");
    assert_eq!(bounce_rows(store.as_ref()).await as usize, total_events(&fixtures));
    assert_eq!(kept_rows(store.as_ref()).await.len(), 1);
    assert_eq!(dovecot.message_count(), 0);

    let again = scanner(&store).scan(&mailbox, &parse, &NoProgress, &StopSignal::never()).await;
    assert!(again.error.is_none(), "{again:?}");
    assert_eq!(again.counts.seen, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_moves_processed_messages_to_a_folder() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(3);
    subscribers_for(store.as_ref(), &fixtures).await;
    for f in &fixtures {
        dovecot.deliver(&f.raw);
    }
    let mut m = dovecot.mailbox(MailboxKind::Imap, Mode::StartTls);
    m.after_processing = AfterProcessing::Move;
    m.move_to = "Processed".into();
    let report = scanner(&store)
        .scan(&config(&m), &read_options(&Default::default()), &NoProgress, &StopSignal::never())
        .await;
    assert!(report.error.is_none(), "{report:?}\n{}", dovecot.log());
    assert_eq!(report.counts.removed, 3);
    assert_eq!(dovecot.message_count(), 0);
    // Dovecot's Maildir++ layout: the folder is the ".Processed" directory.
    assert_eq!(dovecot.messages_in(Some(".Processed")).len(), 3);
    assert_eq!(bounce_rows(store.as_ref()).await as usize, total_events(&fixtures));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_wrong_password_and_unknown_folder_fail_clearly() {
    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    dovecot.deliver(&corpus_bounces(1)[0].raw);
    let parse = read_options(&Default::default());

    let mut m = dovecot.mailbox(MailboxKind::Imap, Mode::Tls);
    m.password = rebound_core::Secret::new("wrong");
    let report = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    let err = report.error.expect("must fail");
    assert!(err.contains("login to 127.0.0.1") && err.contains("refused"), "{err}");

    let mut m = dovecot.mailbox(MailboxKind::Imap, Mode::Plain);
    m.folder = "NoSuchFolder".into();
    let report = scanner(&store).scan(&config(&m), &parse, &NoProgress, &StopSignal::never()).await;
    let err = report.error.expect("must fail");
    assert!(err.contains("NoSuchFolder"), "{err}");
    assert_eq!(dovecot.message_count(), 1);
}
