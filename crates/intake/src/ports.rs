//! What the intake needs from around it, each as a small trait so that the
//! intake depends on neither the server nor a command: where it writes
//! ([`IntakeStore`]), which threshold actions apply ([`ActionsSource`]), and
//! who is told about each commit ([`CommitObserver`]).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::{BounceActions, BounceEvent};
use rebound_store::{Disposition, NewMailboxMessage, RecordOutcome, Selection, Store, StoreError};
use uuid::Uuid;

/// The store writes the intake makes, and no others: each goes to
/// [`store`](Self::store) unless an implementation says otherwise. Every
/// `Arc<dyn Store>` is one; a test wraps one to cut the process between two
/// writes.
#[async_trait]
pub trait IntakeStore: Send + Sync + 'static {
    fn store(&self) -> &dyn Store;

    /// One transaction; answers once it is durable (see `BounceStore::record_bounces`).
    async fn record_bounces(
        &self,
        events: &[BounceEvent],
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>, StoreError> {
        self.store().record_bounces(events, actions, now).await
    }

    async fn keep_mailbox_messages(&self, messages: &[NewMailboxMessage]) -> Result<(), StoreError> {
        self.store().keep_mailbox_messages(messages).await
    }

    async fn mark_mailbox_handled(
        &self,
        mailbox: Uuid,
        handled: &[(String, Disposition)],
    ) -> Result<(), StoreError> {
        self.store().mark_mailbox_handled(mailbox, handled).await
    }

    async fn retry_unmatched(
        &self,
        selection: &Selection,
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>, StoreError> {
        self.store().retry_unmatched(selection, actions, now).await
    }
}

impl IntakeStore for Arc<dyn Store> {
    fn store(&self) -> &dyn Store {
        self.as_ref()
    }
}

/// The threshold actions in force, read at every commit: the server's live
/// settings, or fixed actions (a command's, a test's).
pub trait ActionsSource: Send + Sync + 'static {
    fn current(&self) -> BounceActions;
}

/// Fixed actions, read once when the command started.
impl ActionsSource for BounceActions {
    fn current(&self) -> BounceActions {
        self.clone()
    }
}

/// Told about every group-commit transaction (the server's metrics).
/// Called on the writer, before the waiting sources are answered: keep it
/// quick and never block.
pub trait CommitObserver: Send + Sync + 'static {
    /// A transaction is durable: `events[i]` came to `outcomes[i]`; it took `took`.
    fn committed(&self, events: &[BounceEvent], outcomes: &[RecordOutcome], took: Duration);
    /// A transaction failed; nothing of it was written.
    fn commit_failed(&self, took: Duration);
}

/// Nobody watches (a one-off command, a test).
#[derive(Debug, Clone, Copy, Default)]
pub struct Unobserved;

impl CommitObserver for Unobserved {
    fn committed(&self, _events: &[BounceEvent], _outcomes: &[RecordOutcome], _took: Duration) {}
    fn commit_failed(&self, _took: Duration) {}
}
