//! The intake against a real store, on SQLite and PostgreSQL: group commit
//! (shared transactions, each request its own outcomes, one bad request
//! failing only itself), the actions read at each commit, what a mailbox
//! chunk writes and in which order, and the retry of unmatched bounces.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::{Action, ActionRule, BounceActions, BounceEvent, BounceType};
use rebound_intake::{
    ActionsSource, CommitObserver, Intake, IntakeConfig, IntakeError, IntakeStore, MailboxChunk, Unobserved,
};
use rebound_store::{
    Disposition, KeptKind, NewMailboxMessage, Pagination, PerPage, RecordOutcome, Selection, Store,
    StoreError,
};
use rebound_testkit_db::fixtures::{BounceEventExt, bounce};
use rebound_testkit_db::{Backend, TestDb, backend_tests, insert_subscribers};
use uuid::Uuid;

async fn store_with(backend: Backend, emails: &[&str]) -> (TestDb, Arc<dyn Store>) {
    let db = TestDb::new(backend).await;
    let store = rebound_store::connect(&db.url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let emails: Vec<String> = emails.iter().map(|e| e.to_string()).collect();
    insert_subscribers(&db.url, &emails).await;
    (db, store)
}

/// No rule ever fires: every bounce is inserted and counted.
fn counting() -> BounceActions {
    BounceActions {
        soft: ActionRule::new(1000, Action::None),
        hard: ActionRule::new(1000, Action::None),
        complaint: ActionRule::new(1000, Action::None),
        semantics: Default::default(),
    }
}

/// Batch sizes of the commits it was told about, and the failed ones.
#[derive(Default)]
struct Commits {
    sizes: Mutex<Vec<usize>>,
    failed: AtomicUsize,
}

impl CommitObserver for Commits {
    fn committed(&self, events: &[BounceEvent], outcomes: &[RecordOutcome], _took: Duration) {
        assert_eq!(events.len(), outcomes.len());
        self.sizes.lock().unwrap().push(events.len());
    }

    fn commit_failed(&self, _took: Duration) {
        self.failed.fetch_add(1, Ordering::SeqCst);
    }
}

/// The store, slowed down for events from the source "slow" (so others
/// queue up behind their commit) and failing any batch that holds an event
/// from "poison"; keeping mailbox messages fails when `fail_keep` is set.
struct Faulty {
    inner: Arc<dyn Store>,
    fail_keep: bool,
}

#[async_trait]
impl IntakeStore for Faulty {
    fn store(&self) -> &dyn Store {
        self.inner.as_ref()
    }

    async fn record_bounces(
        &self,
        events: &[BounceEvent],
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>, StoreError> {
        if events.iter().any(|e| e.source == "poison") {
            return Err(StoreError::Invalid("poisoned batch".into()));
        }
        if events.iter().any(|e| e.source == "slow") {
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        self.inner.record_bounces(events, actions, now).await
    }

    async fn keep_mailbox_messages(&self, messages: &[NewMailboxMessage]) -> Result<(), StoreError> {
        if self.fail_keep {
            return Err(StoreError::Invalid("keeping failed".into()));
        }
        self.inner.keep_mailbox_messages(messages).await
    }
}

async fn concurrent_requests_share_commits_and_get_their_own_outcomes(backend: Backend) {
    let emails: Vec<String> = (0..40).map(|i| format!("s{i}@example.org")).collect();
    let refs: Vec<&str> = emails.iter().map(String::as_str).collect();
    let (_db, store) = store_with(backend, &refs).await;
    let commits = Arc::new(Commits::default());
    let config = IntakeConfig { writers: 1, max_batch: 512 };
    let (intake, writers) = Intake::start(store.clone(), counting(), config, commits.clone());

    // Each request: its subscriber twice (hard, soft), then an unknown address.
    let requests = emails.iter().map(|email| {
        let intake = intake.clone();
        let events = vec![
            bounce(email, BounceType::Hard),
            bounce(email, BounceType::Soft),
            bounce("nobody@example.org", BounceType::Hard),
        ];
        tokio::spawn(async move { intake.record(events).await })
    });
    let results = join_all(requests.collect()).await;
    for outcomes in results {
        let outcomes = outcomes.expect("recorded");
        assert!(
            matches!(
                outcomes.as_slice(),
                [
                    RecordOutcome::Recorded { count: 1, .. },
                    RecordOutcome::Recorded { count: 1, .. },
                    RecordOutcome::Unmatched
                ]
            ),
            "{outcomes:?}"
        );
    }
    drop(intake);
    for w in writers {
        w.await.unwrap();
    }
    let sizes = commits.sizes.lock().unwrap().clone();
    assert_eq!(sizes.iter().sum::<usize>(), 40 * 3, "{sizes:?}");
    assert!(sizes.len() < 40, "40 concurrent requests were committed in {} transactions", sizes.len());
    assert_eq!(commits.failed.load(Ordering::SeqCst), 0);
}

async fn join_all<T>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::with_capacity(handles.len());
    for h in handles {
        out.push(h.await.expect("task"));
    }
    out
}

async fn a_failing_request_fails_alone(backend: Backend) {
    let (_db, store) = store_with(backend, &["a@example.org", "b@example.org", "c@example.org"]).await;
    let commits = Arc::new(Commits::default());
    let faulty = Faulty { inner: store.clone(), fail_keep: false };
    let (intake, _writers) = Intake::start(faulty, counting(), IntakeConfig::default(), commits.clone());

    // The slow commit holds the writer while the others queue into one batch.
    let slow = {
        let intake = intake.clone();
        tokio::spawn(async move {
            intake.record(vec![bounce("a@example.org", BounceType::Soft).source("slow")]).await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let queued: Vec<_> = [("b@example.org", "api"), ("c@example.org", "poison"), ("c@example.org", "api")]
        .into_iter()
        .map(|(email, source)| {
            let intake = intake.clone();
            let event = bounce(email, BounceType::Hard).source(source);
            tokio::spawn(async move { intake.record(vec![event]).await })
        })
        .collect();
    assert!(slow.await.unwrap().is_ok());
    let results = join_all(queued).await;
    assert!(matches!(results[0].as_deref(), Ok([RecordOutcome::Recorded { .. }])), "{:?}", results[0]);
    assert!(matches!(results[1], Err(IntakeError::Record(_))), "{:?}", results[1]);
    assert!(matches!(results[2].as_deref(), Ok([RecordOutcome::Recorded { .. }])), "{:?}", results[2]);
    // The batch failed once, then its poisoned request on its own.
    assert_eq!(commits.failed.load(Ordering::SeqCst), 2);
    assert_eq!(commits.sizes.lock().unwrap().iter().sum::<usize>(), 3);
}

/// Actions a test can change while the intake runs, like the live settings.
#[derive(Clone)]
struct Switchable(Arc<Mutex<BounceActions>>);

impl ActionsSource for Switchable {
    fn current(&self) -> BounceActions {
        self.0.lock().unwrap().clone()
    }
}

async fn the_actions_in_force_at_each_commit_apply(backend: Backend) {
    let (db, store) = store_with(backend, &["a@example.org", "b@example.org"]).await;
    let actions = Switchable(Arc::new(Mutex::new(counting())));
    let (intake, _writers) =
        Intake::start(store.clone(), actions.clone(), IntakeConfig::default(), Arc::new(Unobserved));
    let first = intake.record(vec![bounce("a@example.org", BounceType::Hard)]).await.unwrap();
    assert!(matches!(first[..], [RecordOutcome::Recorded { action: None, .. }]), "{first:?}");

    *actions.0.lock().unwrap() = BounceActions::default();
    let second = intake.record(vec![bounce("b@example.org", BounceType::Hard)]).await.unwrap();
    assert!(
        matches!(second[..], [RecordOutcome::Recorded { action: Some(Action::Blocklist), .. }]),
        "{second:?}"
    );

    // A retry matches with the actions in force too, and the observer is not told.
    let commits = Arc::new(Commits::default());
    let (intake, _writers) =
        Intake::start(store.clone(), actions.clone(), IntakeConfig::default(), commits.clone());
    let unmatched = intake.record(vec![bounce("late@example.org", BounceType::Hard)]).await.unwrap();
    assert_eq!(unmatched, vec![RecordOutcome::Unmatched]);
    insert_subscribers(&db.url, &["late@example.org".to_string()]).await;
    let retried = intake.retry_unmatched(&Selection::All).await.unwrap();
    assert!(
        matches!(retried[..], [RecordOutcome::Recorded { action: Some(Action::Blocklist), .. }]),
        "{retried:?}"
    );
    assert_eq!(
        commits.sizes.lock().unwrap().clone(),
        vec![1],
        "only the arrival was a commit of the intake's"
    );
}

fn kept(mailbox: Uuid, digest: &str) -> NewMailboxMessage {
    NewMailboxMessage {
        mailbox_uuid: mailbox,
        source: "mx.example.org".into(),
        digest: digest.into(),
        kind: KeptKind::NotBounce,
        reason: "auto_reply".into(),
        meta: serde_json::json!({}),
        raw: b"Subject: out of office\r\n\r\nback soon\r\n".to_vec(),
        size: 37,
        truncated: false,
        left_on_server: false,
    }
}

fn chunk(mailbox: Uuid) -> MailboxChunk {
    MailboxChunk {
        mailbox,
        bounces: vec![bounce("a@example.org", BounceType::Hard).source("mx.example.org").event_id("m1")],
        kept: vec![kept(mailbox, "d1")],
        handled: vec![("k:1".into(), Disposition::Remove), ("k:2".into(), Disposition::Remove)],
    }
}

async fn kept_count(store: &dyn Store, mailbox: Uuid) -> i64 {
    store
        .query_mailbox_messages(Some(mailbox), Pagination { page: 1, per_page: PerPage::All })
        .await
        .unwrap()
        .total
}

async fn a_mailbox_chunk_is_written_bounces_kept_then_handled(backend: Backend) {
    let (_db, store) = store_with(backend, &["a@example.org"]).await;
    let mailbox = Uuid::new_v4();

    // Keeping fails: the bounces are durable and reported, nothing is
    // remembered as handled, so the scanner deletes nothing.
    let faulty = Faulty { inner: store.clone(), fail_keep: true };
    let (intake, _writers) = Intake::start(faulty, counting(), IntakeConfig::default(), Arc::new(Unobserved));
    let written = intake.write_mailbox_chunk(chunk(mailbox)).await;
    assert!(matches!(written.outcomes[..], [RecordOutcome::Recorded { .. }]), "{:?}", written.outcomes);
    assert!(matches!(written.result, Err(IntakeError::Write(_))), "{:?}", written.result);
    assert!(store.mailbox_handled(mailbox).await.unwrap().is_empty());
    assert_eq!(kept_count(store.as_ref(), mailbox).await, 0);

    // Written again (the next scan): the bounce is a duplicate, the message
    // kept, both remembered as handled.
    let (intake, _writers) =
        Intake::start(store.clone(), counting(), IntakeConfig::default(), Arc::new(Unobserved));
    let written = intake.write_mailbox_chunk(chunk(mailbox)).await;
    assert_eq!(written.outcomes, vec![RecordOutcome::Duplicate]);
    assert!(written.result.is_ok(), "{:?}", written.result);
    assert_eq!(kept_count(store.as_ref(), mailbox).await, 1);
    let handled = store.mailbox_handled(mailbox).await.unwrap();
    assert_eq!(handled.len(), 2);
    assert_eq!(handled.get("k:1"), Some(&Disposition::Remove));
}

async fn a_stopped_intake_answers_closed(backend: Backend) {
    let (_db, store) = store_with(backend, &["a@example.org"]).await;
    let (intake, writers) =
        Intake::start(store.clone(), counting(), IntakeConfig::default(), Arc::new(Unobserved));
    for w in &writers {
        w.abort();
    }
    for w in writers {
        let _ = w.await;
    }
    let r = intake.record(vec![bounce("a@example.org", BounceType::Hard)]).await;
    assert!(matches!(r, Err(IntakeError::Closed)), "{r:?}");
    assert_eq!(r.unwrap_err().to_string(), "rebound is shutting down");
}

backend_tests!(
    concurrent_requests_share_commits_and_get_their_own_outcomes,
    a_failing_request_fails_alone,
    the_actions_in_force_at_each_commit_apply,
    a_mailbox_chunk_is_written_bounces_kept_then_handled,
    a_stopped_intake_answers_closed,
);
