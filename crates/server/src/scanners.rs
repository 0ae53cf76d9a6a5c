//! The bounce-mailbox scanners inside the server: bounces go through the
//! group-commit ingest like every other source (so a scan's commit shares
//! fsyncs with webhook traffic), kept messages straight to the store.

use std::sync::Arc;

use rebound_core::BounceEvent;
use rebound_mailbox::{
    BounceSink, MailboxError, ScanOptions, Scanner, Scanners, SupervisorConfig, async_trait,
};
use rebound_store::{NewMailboxMessage, RecordOutcome, Store};

use crate::ingest::Ingest;
use crate::settings::SettingsHandle;

/// Records through the ingest: answers once the batch holding the events
/// is committed.
pub struct IngestSink {
    ingest: Ingest,
    store: Arc<dyn Store>,
}

#[async_trait]
impl BounceSink for IngestSink {
    async fn record(&self, events: Vec<BounceEvent>) -> rebound_mailbox::Result<Vec<RecordOutcome>> {
        self.ingest.record(events).await.map_err(|e| MailboxError::Store(e.to_string()))
    }

    async fn keep(&self, messages: Vec<NewMailboxMessage>) -> rebound_mailbox::Result<()> {
        self.store.keep_mailbox_messages(&messages).await.map_err(MailboxError::from)
    }
}

/// Starts the scanners; they follow the live settings until
/// [`Scanners::shutdown`].
pub fn start(store: Arc<dyn Store>, ingest: Ingest, settings: &SettingsHandle) -> Scanners {
    let sink = Arc::new(IngestSink { ingest, store: store.clone() });
    let scanner = Scanner::new(store, sink, ScanOptions::default());
    Scanners::start(scanner, settings.subscribe(), SupervisorConfig::default())
}
