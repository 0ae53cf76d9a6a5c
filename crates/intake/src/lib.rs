//! The one way a bounce reaches the store. Every source — the generic and
//! the provider webhooks, the bounce-mailbox scanners (in the server and
//! `rebound scan`), refusals at send time (campaign test sends, `rebound
//! send-test`) and the retry of unmatched bounces — hands its events to an
//! [`Intake`] and acts on them (answers 200, deletes the message, reports the
//! refusal) only once the intake says they are durable.
//!
//! The intake owns group commit (group_commit.rs): concurrent sources share
//! transactions, so one fsync carries many bounces. It reads the threshold
//! actions at each commit from an [`ActionsSource`] and tells a
//! [`CommitObserver`] about each commit (the server's metrics), so it knows
//! nothing of the server.

mod group_commit;
mod mailbox;
mod ports;

use std::sync::Arc;

use chrono::Utc;
use rebound_core::BounceEvent;
use rebound_store::{RecordOutcome, Selection, StoreError};

pub use group_commit::{IntakeConfig, LINGER};
pub use mailbox::{MailboxChunk, MailboxChunkWritten};
pub use ports::{ActionsSource, CommitObserver, IntakeStore, Unobserved};

/// Why the intake could not make something durable. Nothing of the failed
/// step is written; what a source had not yet acknowledged it must not.
#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    /// Recording bounces failed (the transaction was rolled back).
    #[error("the bounce could not be stored: {0}")]
    Record(Arc<StoreError>),
    /// Another write (kept messages, handled messages, a retry) failed.
    #[error(transparent)]
    Write(#[from] StoreError),
    /// The writers are gone: rebound is stopping.
    #[error("rebound is shutting down")]
    Closed,
}

/// The intake. Cheap to clone; every clone feeds the same writers.
#[derive(Clone)]
pub struct Intake {
    queue: group_commit::Queue,
    writing: group_commit::Writing,
}

impl Intake {
    /// Starts the writers. They stop once every clone of the returned
    /// `Intake` is dropped and what was queued is committed, so awaiting the
    /// handles after dropping the intake loses nothing that was accepted.
    pub fn start(
        store: impl IntakeStore,
        actions: impl ActionsSource,
        config: IntakeConfig,
        observer: Arc<dyn CommitObserver>,
    ) -> (Intake, Vec<tokio::task::JoinHandle<()>>) {
        let writing = group_commit::Writing { store: Arc::new(store), actions: Arc::new(actions), observer };
        let (queue, writers) = group_commit::Queue::start(writing.clone(), config);
        (Intake { queue, writing }, writers)
    }

    /// Records events (in one transaction with whatever else is queued) and
    /// returns one outcome per event, in order, once they are durable.
    pub async fn record(&self, events: Vec<BounceEvent>) -> Result<Vec<RecordOutcome>, IntakeError> {
        self.queue.record(events).await
    }

    /// Matches unmatched bounces again (e.g. after an import) with the
    /// actions in force, in one transaction of its own. Not reported to the
    /// observer: each of these bounces was counted when it arrived.
    pub async fn retry_unmatched(&self, selection: &Selection) -> Result<Vec<RecordOutcome>, IntakeError> {
        let actions = self.writing.actions.current();
        Ok(self.writing.store.retry_unmatched(selection, &actions, Utc::now()).await?)
    }
}
