//! The suppression list: every address that must not be mailed, and why
//! (docs/events.md "Suppressions"). Bounces put addresses there under the
//! `bounce.actions` rules while they are recorded (record.rs); operators add
//! addresses by hand and reactivate them. A blocklisted subscriber is
//! suppressed whether or not a row says so.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::{Paged, Pagination, Result};

/// One address on the list, or taken off it (`suppressed` false).
#[derive(Debug, Clone, Serialize, sqlx::FromRow, PartialEq)]
pub struct Suppression {
    pub email: String,
    /// False once reactivated (only listed with `since`).
    pub suppressed: bool,
    /// The bounce type whose rule suppressed it (soft, hard, complaint), or
    /// manual: added by hand, or a subscriber blocklisted outside the rules.
    #[serde(rename = "type")]
    #[sqlx(rename = "type")]
    pub kind: String,
    /// What the rule did (unsubscribe, blocklist, delete) or manual.
    pub action: String,
    pub reason: String,
    /// The bounce's source ("ses", a mailbox), "api" when added by hand,
    /// "subscriber" for a subscriber blocklisted elsewhere.
    pub source: String,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// Bounces of the address counted since it was suppressed (the rule's
    /// count included).
    pub count: i64,
    pub subscriber_id: Option<i64>,
    /// When it was last reactivated: bounces before this no longer count.
    pub reactivated_at: Option<DateTime<Utc>>,
    pub updated_at: DateTime<Utc>,
}

impl Suppression {
    pub const CSV_HEADER: [&'static str; 11] = [
        "email",
        "suppressed",
        "type",
        "action",
        "reason",
        "source",
        "first_seen",
        "last_seen",
        "count",
        "subscriber_id",
        "updated_at",
    ];

    pub fn csv_record(&self) -> [String; 11] {
        let t = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        [
            self.email.clone(),
            self.suppressed.to_string(),
            self.kind.clone(),
            self.action.clone(),
            self.reason.clone(),
            self.source.clone(),
            t(self.first_seen),
            t(self.last_seen),
            self.count.to_string(),
            self.subscriber_id.map(|i| i.to_string()).unwrap_or_default(),
            t(self.updated_at),
        ]
        .map(crate::models::spreadsheet_safe)
    }
}

#[derive(Debug, Clone, Default)]
pub struct SuppressionQuery {
    /// Only rows changed after this (reactivated ones included), oldest
    /// change first; without it, the suppressed addresses by e-mail.
    pub since: Option<DateTime<Utc>>,
    /// A substring of the address, ignoring case.
    pub search: Option<String>,
    pub pagination: Pagination,
}

/// What adding or reactivating changed.
#[derive(Debug, Clone)]
pub struct SuppressionChange {
    pub suppression: Suppression,
    /// False when the address already was in the state asked for.
    pub changed: bool,
}

#[async_trait]
pub trait SuppressionStore: Send + Sync {
    async fn query_suppressions(&self, q: &SuppressionQuery) -> Result<Paged<Suppression>>;
    /// Up to `limit` entries `q` selects (its pagination ignored) with an
    /// e-mail after `after`, by e-mail: the CSV export's pages.
    async fn suppressions_after(
        &self,
        q: &SuppressionQuery,
        after: &str,
        limit: u32,
    ) -> Result<Vec<Suppression>>;
    /// The address's entry, active or not; None when it never was suppressed.
    async fn get_suppression(&self, email: &str) -> Result<Option<Suppression>>;
    /// Suppresses by hand; a subscriber with the address is blocklisted (and
    /// unsubscribed from its lists), in the same transaction.
    async fn add_suppression(
        &self,
        email: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<SuppressionChange>;
    /// Takes the address off the list: its subscriber, if blocklisted, is
    /// enabled again, and its bounces before `now` stop counting for the
    /// rules (the row keeps `reactivated_at`). None when it is not suppressed.
    async fn reactivate_suppression(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SuppressionChange>>;
}

/// The reason a blocklisted subscriber without a suppression row shows.
pub const BLOCKLISTED_REASON: &str = "the subscriber is blocklisted";
