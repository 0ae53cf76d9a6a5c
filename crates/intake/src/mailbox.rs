//! What a mailbox scan writes for a chunk of fetched messages, and in which
//! order. Each step starts only once the previous one is durable:
//!
//! 1. the bounces, through group commit like every other source's;
//! 2. the messages that were not bounces, kept whole;
//! 3. the server ids of all of them, remembered as handled.
//!
//! The scanner deletes (or moves) the messages on the server only after all
//! three. A process stopped between two steps loses nothing and counts
//! nothing twice: the messages are still on the server, and a second pass
//! finds them remembered as handled (after 3) or writes them again, which
//! the store answers with "duplicate" (event ids) and no-ops (kept messages'
//! digests).

use rebound_core::BounceEvent;
use rebound_store::{Disposition, NewMailboxMessage, RecordOutcome};
use uuid::Uuid;

use crate::{Intake, IntakeError};

/// The outcomes of one chunk of a mailbox's messages.
#[derive(Debug, Clone, Default)]
pub struct MailboxChunk {
    pub mailbox: Uuid,
    /// One per failed recipient of the messages that are bounces.
    pub bounces: Vec<BounceEvent>,
    /// The other messages, whole.
    pub kept: Vec<NewMailboxMessage>,
    /// Every message with a stable server id, and what becomes of it there.
    pub handled: Vec<(String, Disposition)>,
}

/// What writing a chunk did.
#[derive(Debug)]
pub struct MailboxChunkWritten {
    /// One per bounce, once they are durable; empty when step 1 failed.
    pub outcomes: Vec<RecordOutcome>,
    /// Ok once all three steps are durable: only then may the messages go.
    pub result: Result<(), IntakeError>,
}

impl Intake {
    /// Steps 1 to 3 of the module documentation.
    pub async fn write_mailbox_chunk(&self, chunk: MailboxChunk) -> MailboxChunkWritten {
        let outcomes = match self.record(chunk.bounces).await {
            Ok(outcomes) => outcomes,
            Err(e) => return MailboxChunkWritten { outcomes: Vec::new(), result: Err(e) },
        };
        let store = self.writing.store.as_ref();
        let result = async {
            store.keep_mailbox_messages(&chunk.kept).await?;
            store.mark_mailbox_handled(chunk.mailbox, &chunk.handled).await?;
            Ok(())
        }
        .await;
        MailboxChunkWritten { outcomes, result }
    }
}
