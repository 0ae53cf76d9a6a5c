//! rebound's storage. One [`Store`] interface, two real backends: SQLite
//! (embedded, the default) and PostgreSQL (for scale and several instances),
//! chosen by the database URL's scheme. Both create listmonk's tables, so SQL
//! written for listmonk runs on either.

mod bulk;
mod catalog;
mod error;
mod import;
mod mailbox;
pub mod models;
mod nul;
mod postgres;
pub mod reclassify;
pub mod record;
mod sessions;
mod sql_filter;
mod sqlite;
mod stats;
pub mod suppressions;
pub mod webhooks;

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::{BounceActions, BounceEvent, SubscriberRef};
use serde_json::Value;

pub use catalog::*;
pub use error::{Result, StoreError};
pub use import::{ImportReport, ImportRow, ImportStore};
pub use mailbox::*;
pub use models::*;
pub use postgres::{COMPANION_SCHEMA, PgStore};
pub use reclassify::{Correction, Reclassification, Reclassified};
pub use record::RecordOutcome;
pub use sessions::{NewSession, Session, SessionStore};
pub use sql_filter::{BOUNCES_TABLE, FilterError, SUBSCRIBER_TABLES, SqlFilter};
pub use sqlite::SqliteStore;
pub use stats::{
    BounceTypeCounts, CampaignBounces, DailyBounces, DomainBounces, OTHER_DOMAINS, ReasonCount, SourceCount,
    StatsStore,
};
pub use suppressions::{Suppression, SuppressionChange, SuppressionQuery, SuppressionStore};
pub use webhooks::{
    AttemptOutcome, Claimed, Delivery, DeliveryQuery, DeliveryStatus, Endpoint, EndpointEffect,
    EndpointUpdate, NewEndpoint, WebhookStore,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Opens the database named by `url` (`sqlite://PATH` or `postgres://...`),
/// creating a SQLite file if it does not exist. Does not migrate.
pub async fn connect(url: &str) -> Result<Arc<dyn Store>> {
    connect_as(url, Mode::Own).await
}

/// Whose database it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// rebound's own (SQLite or PostgreSQL).
    Own,
    /// listmonk's, with rebound as its companion (PostgreSQL only).
    ListmonkCompanion,
}

/// Opens the database in the given mode. Does not migrate.
pub async fn connect_as(url: &str, mode: Mode) -> Result<Arc<dyn Store>> {
    if mode == Mode::ListmonkCompanion {
        if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
            return Err(StoreError::Invalid(format!(
                "companion mode runs in listmonk's PostgreSQL database; {:?} is not a postgres:// URL",
                redact_url(url)
            )));
        }
        return Ok(Arc::new(PgStore::connect_listmonk(url).await?));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok(Arc::new(PgStore::connect(url).await?))
    } else if url.starts_with("sqlite:") {
        Ok(Arc::new(SqliteStore::connect(url).await?))
    } else {
        Err(StoreError::Invalid(format!(
            "unsupported database URL {:?}: use sqlite://PATH or postgres://...",
            redact_url(url)
        )))
    }
}

/// The URL with its password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:****{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Everything rebound keeps. Split by resource so each backend implements it
/// in small files; `Store` is the sum.
#[async_trait]
pub trait Store:
    SettingsStore
    + UserStore
    + SubscriberStore
    + BulkSubscriberStore
    + ListStore
    + CampaignStore
    + BounceStore
    + CorrectionStore
    + SessionStore
    + StatsStore
    + MailboxStore
    + ImportStore
    + SuppressionStore
    + WebhookStore
{
    fn backend(&self) -> Backend;
    /// Applies pending migrations (idempotent; safe with several instances).
    async fn migrate(&self) -> Result<()>;
    /// Answers when the database does.
    async fn ping(&self) -> Result<()>;
    /// listmonk's own tables, in companion mode (docs/companion.md); None
    /// for a database of rebound's own.
    fn listmonk(&self) -> Option<&dyn ListmonkLink> {
        None
    }
}

/// What rebound reads of listmonk beyond the shared tables, in companion
/// mode. Read only: rebound never writes listmonk's settings or users.
#[async_trait]
pub trait ListmonkLink: Send + Sync {
    /// The schema of listmonk's tables (normally `public`).
    fn listmonk_schema(&self) -> &str;
    /// listmonk's own settings rows, as listmonk stores them.
    async fn listmonk_settings(&self) -> Result<BTreeMap<String, Value>>;
    /// The enabled listmonk API user of that name, with its token.
    async fn listmonk_api_user(&self, username: &str) -> Result<Option<ListmonkApiUser>>;
}

/// A listmonk API user (its `users` row of type `api`).
#[derive(Debug, Clone)]
pub struct ListmonkApiUser {
    pub id: i64,
    pub username: String,
    pub token: String,
    /// listmonk's Super Admin role: every permission.
    pub super_admin: bool,
    /// Its role's permissions, in listmonk's names (`bounces:get`, ...).
    pub permissions: Vec<String>,
}

#[async_trait]
pub trait SettingsStore: Send + Sync {
    async fn load_settings(&self) -> Result<BTreeMap<String, Value>>;
    /// Writes the given keys (others stay) in one transaction.
    async fn save_settings(&self, values: &BTreeMap<String, Value>) -> Result<()>;
    /// Changes whenever settings are saved; lets other instances notice cheaply.
    async fn settings_version(&self) -> Result<Option<DateTime<Utc>>>;
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn count_users(&self) -> Result<i64>;
    async fn create_user(&self, user: NewUser) -> Result<User>;
    async fn find_user(&self, username: &str) -> Result<Option<User>>;
    async fn list_users(&self) -> Result<Vec<User>>;
    /// Refuses ([`StoreError::Conflict`]) to delete the last enabled user
    /// holding `*`: nobody could manage users or settings any more. Atomic
    /// against a concurrent delete of the other one (two admins deleting
    /// each other at once leave one).
    async fn delete_user(&self, id: i64) -> Result<()>;
}

/// The permission that grants everything.
pub const ALL_PERMISSIONS: &str = "*";

fn last_admin(username: &str) -> StoreError {
    StoreError::Conflict(format!(
        "{username:?} is the last user holding \"*\": give another user \"*\" first"
    ))
}

#[async_trait]
pub trait SubscriberStore: Send + Sync {
    async fn create_subscriber(&self, new: NewSubscriber) -> Result<Subscriber>;
    /// With its lists and their subscription status.
    async fn get_subscriber(&self, id: i64) -> Result<Subscriber>;
    async fn find_subscriber(&self, key: &SubscriberRef) -> Result<Option<Subscriber>>;
    async fn query_subscribers(&self, q: &SubscriberQuery) -> Result<Paged<Subscriber>>;
    async fn update_subscriber(&self, id: i64, update: SubscriberUpdate) -> Result<Subscriber>;
    async fn delete_subscribers(&self, ids: &[i64]) -> Result<u64>;
}

/// listmonk's bulk operations on subscribers (`PUT /api/subscribers/blocklist`,
/// `/lists`, `/query/...`). Ids that are not there are skipped, except
/// where listmonk fails on them (adding subscriptions).
#[async_trait]
pub trait BulkSubscriberStore: Send + Sync {
    /// Blocklists these subscribers and unsubscribes them from all their
    /// lists (listmonk's `blocklist-subscribers`), in one transaction.
    /// Returns how many subscribers there were.
    async fn blocklist_subscribers(&self, ids: &[i64]) -> Result<u64>;
    /// Applies `change` to every pair of `subscriber_ids` × `list_ids`, in
    /// one transaction. Adding refuses ([`StoreError::Invalid`], nothing
    /// changed) a subscriber or list that does not exist; removing and
    /// unsubscribing skip them. Returns the subscriptions changed.
    async fn change_subscriptions(
        &self,
        subscriber_ids: &[i64],
        list_ids: &[i64],
        change: SubscriptionChange,
    ) -> Result<u64>;
    /// The ids of the subscribers `filter` selects, in id order.
    async fn filtered_subscriber_ids(&self, filter: &SubscriberFilter) -> Result<Vec<i64>>;
}

#[async_trait]
pub trait ListStore: Send + Sync {
    async fn create_list(&self, new: NewList) -> Result<List>;
    async fn get_list(&self, id: i64) -> Result<List>;
    async fn query_lists(&self, pagination: Pagination) -> Result<Paged<List>>;
    /// Also renames the list in the campaigns that went to it (their
    /// `campaign_lists.list_name`), as listmonk's update-list does.
    async fn update_list(&self, id: i64, update: ListUpdate) -> Result<List>;
    async fn delete_list(&self, id: i64) -> Result<()>;
}

#[async_trait]
pub trait CampaignStore: Send + Sync {
    async fn create_campaign(&self, new: CampaignFields) -> Result<Campaign>;
    async fn get_campaign(&self, id: i64) -> Result<Campaign>;
    async fn query_campaigns(&self, pagination: Pagination) -> Result<Paged<Campaign>>;
    /// listmonk's update-campaign: every field but the type is replaced; a
    /// scheduled campaign without `send_at` becomes a draft; the lists
    /// become `fields.lists` (entries of deleted lists stay). NotFound for
    /// an unknown campaign; Conflict unless its status is one of
    /// [`EDITABLE_CAMPAIGN_STATUSES`].
    async fn update_campaign(&self, id: i64, fields: CampaignFields) -> Result<Campaign>;
    /// Its bounces stay, without a campaign (`ON DELETE SET NULL`).
    async fn delete_campaign(&self, id: i64) -> Result<()>;
    /// Bounces per campaign and hour or day, ordered by time then campaign;
    /// buckets without bounces are absent.
    async fn campaign_bounce_counts(&self, q: &CampaignCountQuery) -> Result<Vec<CampaignCount>>;
}

#[async_trait]
pub trait BounceStore: Send + Sync {
    /// Records a batch of events in ONE transaction (group commit), applying
    /// `actions` as docs/design.md "Recording a bounce" says; returns one outcome per
    /// event, in order, once the transaction is durable.
    async fn record_bounces(
        &self,
        events: &[BounceEvent],
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>>;
    async fn query_bounces(&self, q: &BounceQuery) -> Result<Paged<Bounce>>;
    /// Up to `limit` bounces with id > `after_id`, in id order: the export
    /// streams these pages instead of holding every row.
    async fn bounces_after(&self, filter: &BounceFilter, after_id: i64, limit: u32) -> Result<Vec<Bounce>>;
    /// The ids of every bounce `q` selects, in its order (its pagination is
    /// ignored): `per_page=all` streams the rows in pages of these
    /// ([`bounces_by_ids`](Self::bounces_by_ids)), 8 bytes a row in memory.
    async fn bounce_ids(&self, q: &BounceQuery) -> Result<Vec<i64>>;
    /// These bounces in the order given; ids no longer there are left out.
    async fn bounces_by_ids(&self, ids: &[i64]) -> Result<Vec<Bounce>>;
    async fn get_bounce(&self, id: i64) -> Result<Bounce>;
    async fn delete_bounces(&self, selection: &Selection) -> Result<u64>;
    async fn delete_subscriber_bounces(&self, subscriber_id: i64) -> Result<u64>;
    /// Blocklists every subscriber that has bounces (and unsubscribes them from their lists).
    async fn blocklist_bounced_subscribers(&self) -> Result<u64>;

    async fn query_unmatched(&self, pagination: Pagination) -> Result<Paged<UnmatchedBounce>>;
    async fn delete_unmatched(&self, selection: &Selection) -> Result<u64>;
    /// Tries to match unmatched bounces again (e.g. after the subscriber was
    /// added); matched ones are recorded and leave the unmatched table.
    async fn retry_unmatched(
        &self,
        selection: &Selection,
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>>;
}

/// Operators' corrections of verdicts ([`reclassify`] has the rules).
#[async_trait]
pub trait CorrectionStore: Send + Sync {
    /// Changes a bounce's type, appends the correction to its
    /// `meta.corrections`, and evaluates the new type's rule in `actions`
    /// again for its subscriber, in one transaction. NotFound for an unknown
    /// bounce; Conflict when it already has that type.
    async fn reclassify_bounce(
        &self,
        request: &Reclassification,
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Reclassified>;
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_password() {
        assert_eq!(super::redact_url("postgres://u:secret@localhost/db"), "postgres://u:****@localhost/db");
        assert_eq!(super::redact_url("sqlite://rebound.db"), "sqlite://rebound.db");
    }
}
