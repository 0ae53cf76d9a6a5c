//! Dovecot stopped in the middle of a scan: nothing is lost, and the next
//! scan counts nothing twice.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::settings::MailboxKind;
use rebound_core::{BounceActions, BounceEvent};
use rebound_intake::IntakeStore;
use rebound_mailbox::{NoProgress, Scanner, StopSignal, read_options};
use rebound_store::{Disposition, NewMailboxMessage, RecordOutcome, Store, StoreError};
use rebound_testkit::{Backend, OpenStore, TestDb, backend_tests};
use uuid::Uuid;

use crate::dovecot::{Dovecot, Mode};
use crate::support::*;

/// The intake's writes into the real store, and right after the
/// `cut_after`-th recording is durable stops Dovecot. With `die_after_cut`
/// it also fails every later write, as if the process had died between
/// committing the bounces and remembering the messages as handled.
struct CutStore {
    inner: Arc<dyn Store>,
    dovecot: Arc<Mutex<Dovecot>>,
    cut_after: usize,
    die_after_cut: bool,
    calls: AtomicUsize,
    cut: AtomicBool,
}

impl CutStore {
    fn died(&self) -> Result<(), StoreError> {
        if self.die_after_cut && self.cut.load(Ordering::SeqCst) {
            return Err(StoreError::Invalid("the process died".into()));
        }
        Ok(())
    }
}

#[async_trait]
impl IntakeStore for CutStore {
    fn store(&self) -> &dyn Store {
        self.inner.as_ref()
    }

    async fn record_bounces(
        &self,
        events: &[BounceEvent],
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>, StoreError> {
        self.died()?;
        let outcomes = self.inner.record_bounces(events, actions, now).await?;
        if self.calls.fetch_add(1, Ordering::SeqCst) + 1 == self.cut_after {
            let d = self.dovecot.clone();
            tokio::task::spawn_blocking(move || d.lock().unwrap().stop()).await.unwrap();
            self.cut.store(true, Ordering::SeqCst);
        }
        Ok(outcomes)
    }

    async fn keep_mailbox_messages(&self, messages: &[NewMailboxMessage]) -> Result<(), StoreError> {
        self.died()?;
        self.inner.keep_mailbox_messages(messages).await
    }

    async fn mark_mailbox_handled(
        &self,
        mailbox: Uuid,
        handled: &[(String, Disposition)],
    ) -> Result<(), StoreError> {
        self.died()?;
        self.inner.mark_mailbox_handled(mailbox, handled).await
    }
}

/// 10 bounces in chunks of 4: the cut comes after the second chunk is
/// recorded, before it is deleted.
async fn cut_mid_scan(backend: Backend, kind: MailboxKind, die_after_cut: bool) {
    let dovecot = Arc::new(Mutex::new(Dovecot::start()));
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(10);
    subscribers_for(store.as_ref(), &fixtures).await;
    let mailbox = {
        let d = dovecot.lock().unwrap();
        for f in &fixtures {
            d.deliver(&f.raw);
        }
        config(&d.mailbox(kind, Mode::Plain))
    };
    let parse = read_options(&Default::default());

    let cut_store = CutStore {
        inner: store.clone(),
        dovecot: dovecot.clone(),
        cut_after: 2,
        die_after_cut,
        calls: AtomicUsize::new(0),
        cut: AtomicBool::new(false),
    };
    let cut = Scanner::new(store.clone(), intake_with(cut_store, counting_actions()), options());
    let first = cut.scan(&mailbox, &parse, &NoProgress, &StopSignal::never()).await;
    assert!(first.error.is_some(), "the cut scan must report a failure: {first:?}");
    assert_eq!(first.counts.seen, 8, "{:?}", first.counts);
    let recorded_first = bounce_rows(store.as_ref()).await;
    assert!(recorded_first > 0);

    // Nothing was lost: every message is still on the server or recorded
    // (POP3 deletes only at QUIT, which never came).
    {
        let d = dovecot.lock().unwrap();
        assert_eq!(d.message_count(), 10 - first.counts.removed as usize);
    }

    dovecot.lock().unwrap().restart();
    let second = scanner(&store).scan(&mailbox, &parse, &NoProgress, &StopSignal::never()).await;
    assert!(second.error.is_none(), "{second:?}");
    assert_eq!(dovecot.lock().unwrap().message_count(), 0);
    // Each bounce is counted exactly once over both scans.
    assert_eq!(bounce_rows(store.as_ref()).await as usize, total_events(&fixtures));
    assert_eq!(
        (first.counts.recorded + second.counts.recorded) as usize,
        total_events(&fixtures),
        "first {:?} second {:?}",
        first.counts,
        second.counts
    );
    if die_after_cut {
        // The second chunk was recorded but not remembered as handled: it
        // was parsed again and the store recognised its events.
        assert!(second.counts.duplicates > 0, "{:?}", second.counts);
        assert_eq!(second.counts.seen, 6, "{:?}", second.counts);
    } else {
        // Remembered as handled: deleted without being fetched again.
        assert_eq!((second.counts.seen, second.counts.duplicates), (2, 0), "{:?}", second.counts);
    }
}

async fn pop3_cut_after_recording_then_process_death(backend: Backend) {
    cut_mid_scan(backend, MailboxKind::Pop, true).await;
}

async fn imap_cut_after_recording_then_process_death(backend: Backend) {
    cut_mid_scan(backend, MailboxKind::Imap, true).await;
}

backend_tests!(pop3_cut_after_recording_then_process_death, imap_cut_after_recording_then_process_death);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pop3_connection_cut_before_delete_rescan_only_deletes() {
    cut_mid_scan(Backend::Sqlite, MailboxKind::Pop, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_connection_cut_before_delete_rescan_only_deletes() {
    cut_mid_scan(Backend::Sqlite, MailboxKind::Imap, false).await;
}
