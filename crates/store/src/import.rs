//! Bulk subscriber import (`rebound import subscribers.csv --list NAME`):
//! all rows in ONE transaction, so an error half-way leaves nothing behind.

use async_trait::async_trait;
use rebound_core::EmailAddress;
use serde_json::Value;

use crate::Result;

/// One valid row of the import file.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub email: EmailAddress,
    pub name: String,
    pub attribs: Value,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImportReport {
    pub list_id: i64,
    /// True when the list did not exist and was created (private, single opt-in).
    pub list_created: bool,
    /// New subscribers.
    pub created: u64,
    /// Rows whose e-mail was already a subscriber: added to the list, otherwise unchanged.
    pub existing: u64,
}

#[async_trait]
pub trait ImportStore: Send + Sync {
    /// Creates the subscribers that do not exist yet (enabled), and
    /// subscribes every row's subscriber to the list named `list` (confirmed
    /// on single opt-in lists, unconfirmed on double), in one transaction.
    /// `progress` is called with the rows done so far. Several lists with
    /// that name is an error (`Invalid`); none creates it.
    async fn import_subscribers(
        &self,
        list: &str,
        rows: &[ImportRow],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportReport>;
}
