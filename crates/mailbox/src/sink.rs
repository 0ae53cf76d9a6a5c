//! Where a scan's outcomes go. A scanner deletes a message only after the
//! sink has answered, and a sink answers only once what it was given is
//! durable: that is the whole contract between the scanners and the rest of
//! rebound (the server implements it with its group-commit ingest).

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Utc;
use rebound_core::{BounceActions, BounceEvent};
use rebound_store::{NewMailboxMessage, RecordOutcome, Store};

use crate::error::{MailboxError, Result};

#[async_trait]
pub trait BounceSink: Send + Sync {
    /// Records the events; returns one outcome per event, in order, once
    /// they are durable.
    async fn record(&self, events: Vec<BounceEvent>) -> Result<Vec<RecordOutcome>>;
    /// Keeps messages that were not recorded as bounces; returns once durable.
    async fn keep(&self, messages: Vec<NewMailboxMessage>) -> Result<()>;
}

/// Records straight into the store, one transaction per call, with the
/// given actions (the CLI's `rebound scan`, and tests).
pub struct StoreSink {
    store: Arc<dyn Store>,
    actions: BounceActions,
}

impl StoreSink {
    pub fn new(store: Arc<dyn Store>, actions: BounceActions) -> StoreSink {
        StoreSink { store, actions }
    }
}

#[async_trait]
impl BounceSink for StoreSink {
    async fn record(&self, events: Vec<BounceEvent>) -> Result<Vec<RecordOutcome>> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.store.record_bounces(&events, &self.actions, Utc::now()).await.map_err(MailboxError::from)
    }

    async fn keep(&self, messages: Vec<NewMailboxMessage>) -> Result<()> {
        self.store.keep_mailbox_messages(&messages).await.map_err(MailboxError::from)
    }
}
