//! Rows as the API shows them (listmonk's JSON shapes) and the inputs that create them.

use chrono::{DateTime, Utc};
use rebound_core::{BounceType, EmailAddress, SubscriberStatus, SubscriptionStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Subscriber {
    pub id: i64,
    pub uuid: String,
    pub email: String,
    pub name: String,
    #[sqlx(json)]
    pub attribs: Value,
    #[sqlx(try_from = "String")]
    pub status: SubscriberStatus,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    #[sqlx(skip)]
    pub lists: Vec<SubscriberList>,
}

/// A list as seen from one subscriber, with that subscriber's subscription status.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SubscriberList {
    #[serde(skip)]
    pub subscriber_id: i64,
    pub id: i64,
    pub uuid: String,
    pub name: String,
    #[sqlx(rename = "type")]
    #[serde(rename = "type")]
    pub list_type: String,
    pub optin: String,
    #[sqlx(try_from = "String")]
    pub subscription_status: SubscriptionStatus,
    pub subscription_created_at: DateTime<Utc>,
    pub subscription_updated_at: DateTime<Utc>,
}

/// The id and name of a bounce's campaign, as listmonk nests it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CampaignRef {
    pub id: i64,
    pub name: String,
}

/// A recorded bounce joined with its subscriber and campaign (GET /api/bounces).
#[derive(Debug, Clone, Serialize)]
pub struct Bounce {
    pub id: i64,
    #[serde(rename = "type")]
    pub bounce_type: BounceType,
    pub source: String,
    pub meta: Value,
    pub created_at: DateTime<Utc>,
    pub email: String,
    pub subscriber_uuid: String,
    pub subscriber_id: i64,
    pub subscriber_status: SubscriberStatus,
    pub campaign: Option<CampaignRef>,
}

impl Bounce {
    /// The columns of the CSV export (GET /api/bounces/export.csv and
    /// `rebound export --format csv`).
    pub const CSV_HEADER: [&'static str; 10] = [
        "id",
        "email",
        "subscriber_uuid",
        "subscriber_status",
        "campaign_id",
        "campaign_name",
        "type",
        "source",
        "created_at",
        "meta",
    ];

    /// This bounce as a CSV record, in `CSV_HEADER`'s order. Every cell is
    /// neutralised against formula injection ([`spreadsheet_safe`]): the
    /// e-mail, source, campaign name and meta come from senders and providers.
    pub fn csv_record(&self) -> [String; 10] {
        [
            self.id.to_string(),
            self.email.clone(),
            self.subscriber_uuid.clone(),
            self.subscriber_status.as_str().to_string(),
            self.campaign.as_ref().map(|c| c.id.to_string()).unwrap_or_default(),
            self.campaign.as_ref().map(|c| c.name.clone()).unwrap_or_default(),
            self.bounce_type.as_str().to_string(),
            self.source.clone(),
            self.created_at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            self.meta.to_string(),
        ]
        .map(spreadsheet_safe)
    }
}

/// `rows` in the order of `ids` (a query by a set of ids returns them in any order).
pub(crate) fn in_order_of(ids: &[i64], rows: impl Iterator<Item = Bounce>) -> Vec<Bounce> {
    let mut by_id: std::collections::HashMap<i64, Bounce> = rows.map(|b| (b.id, b)).collect();
    ids.iter().filter_map(|id| by_id.remove(id)).collect()
}

/// OWASP's advice for CSV injection: a cell that starts with `=`, `+`, `-`,
/// `@`, a tab or a carriage return is read as a formula by spreadsheets, so
/// it gets a leading single quote (shown as text, and visible to whoever
/// reads the file). Quoting of separators and quotes is the CSV writer's job.
pub fn spreadsheet_safe(cell: String) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{cell}") } else { cell }
}

/// The flat row both backends select; `Bounce` nests the campaign.
#[derive(sqlx::FromRow)]
pub(crate) struct BounceRow {
    id: i64,
    #[sqlx(try_from = "String")]
    bounce_type: BounceType,
    source: String,
    #[sqlx(json)]
    meta: Value,
    created_at: DateTime<Utc>,
    email: String,
    subscriber_uuid: String,
    subscriber_id: i64,
    #[sqlx(try_from = "String")]
    subscriber_status: SubscriberStatus,
    campaign_id: Option<i64>,
    campaign_name: Option<String>,
}

impl From<BounceRow> for Bounce {
    fn from(r: BounceRow) -> Self {
        Bounce {
            id: r.id,
            bounce_type: r.bounce_type,
            source: r.source,
            meta: r.meta,
            created_at: r.created_at,
            email: r.email,
            subscriber_uuid: r.subscriber_uuid,
            subscriber_id: r.subscriber_id,
            subscriber_status: r.subscriber_status,
            campaign: r.campaign_id.map(|id| CampaignRef { id, name: r.campaign_name.unwrap_or_default() }),
        }
    }
}

/// A bounce no subscriber matched, kept for the operator.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UnmatchedBounce {
    pub id: i64,
    pub email: String,
    pub subscriber_uuid: Option<String>,
    pub campaign_uuid: Option<String>,
    #[sqlx(try_from = "String")]
    #[serde(rename = "type")]
    pub bounce_type: BounceType,
    pub source: String,
    #[sqlx(json)]
    pub meta: Value,
    pub event_id: Option<String>,
    /// Why it is unmatched ("no subscriber with this e-mail or uuid", ...).
    pub reason: String,
    /// Kept because nothing ties it to a message rebound sent
    /// (`bounce.attribution` is "strict"); never retried.
    pub unverified: bool,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UserType {
    /// A person: logs in to the UI with a password.
    User,
    /// A script: authenticates with an access token.
    Api,
}

impl UserType {
    pub fn as_str(self) -> &'static str {
        match self {
            UserType::User => "user",
            UserType::Api => "api",
        }
    }
}

impl TryFrom<String> for UserType {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        match s.as_str() {
            "user" => Ok(UserType::User),
            "api" => Ok(UserType::Api),
            other => Err(format!("invalid user type {other:?}")),
        }
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub name: String,
    #[sqlx(rename = "type", try_from = "String")]
    #[serde(rename = "type")]
    pub user_type: UserType,
    /// argon2id PHC string; never serialised.
    #[serde(skip)]
    pub password_hash: String,
    #[sqlx(json)]
    pub permissions: Vec<String>,
    pub status: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

pub struct NewUser {
    pub username: String,
    pub name: String,
    pub user_type: UserType,
    pub password_hash: String,
    pub permissions: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub email: EmailAddress,
    pub name: String,
    pub attribs: Value,
    pub status: SubscriberStatus,
    pub lists: Vec<i64>,
    /// Subscribe to double opt-in lists as confirmed right away.
    pub preconfirm: bool,
}

#[derive(Debug, Clone, Default)]
pub struct SubscriberUpdate {
    pub email: Option<EmailAddress>,
    pub name: Option<String>,
    pub attribs: Option<Value>,
    pub status: Option<SubscriberStatus>,
    /// Replaces the subscriber's lists when given.
    pub lists: Option<Vec<i64>>,
    pub preconfirm: bool,
}

/// One page of a listing, in listmonk's envelope.
#[derive(Debug, Clone, Serialize)]
pub struct Paged<T> {
    pub results: Vec<T>,
    pub total: i64,
    pub per_page: PerPage,
    pub page: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerPage {
    All,
    Count(u32),
}

impl Serialize for PerPage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            // listmonk reports per_page 0 when everything was asked for.
            PerPage::All => s.serialize_u32(0),
            PerPage::Count(n) => s.serialize_u32(*n),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    pub page: u32,
    pub per_page: PerPage,
}

impl Default for Pagination {
    fn default() -> Self {
        Pagination { page: 1, per_page: PerPage::Count(20) }
    }
}

impl Pagination {
    /// LIMIT (None: no limit) and OFFSET.
    pub fn limit_offset(&self) -> (Option<i64>, i64) {
        match self.per_page {
            PerPage::All => (None, 0),
            PerPage::Count(n) => {
                let n = i64::from(n.max(1));
                (Some(n), i64::from(self.page.max(1) - 1).saturating_mul(n))
            }
        }
    }

    pub fn paged<T>(&self, results: Vec<T>, total: i64) -> Paged<T> {
        Paged { results, total, per_page: self.per_page, page: self.page.max(1) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BounceOrder {
    Email,
    CampaignName,
    Source,
    #[default]
    CreatedAt,
    Type,
}

impl BounceOrder {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "email" => BounceOrder::Email,
            "campaign_name" => BounceOrder::CampaignName,
            "source" => BounceOrder::Source,
            "created_at" => BounceOrder::CreatedAt,
            "type" => BounceOrder::Type,
            _ => return None,
        })
    }

    /// The ORDER BY clause, written once so both backends sort alike: ties
    /// go by id in the same direction; bounces without a campaign come after
    /// the others ascending and before them descending (PostgreSQL's rule,
    /// which SQLite would invert); types by severity, the order of
    /// listmonk's `bounce_type` enum, rather than alphabetically as SQLite's
    /// text column would.
    pub(crate) fn order_by(self, desc: bool) -> String {
        let column = match self {
            BounceOrder::Email => "subscribers.email",
            BounceOrder::CampaignName => "campaigns.name",
            BounceOrder::Source => "bounces.source",
            BounceOrder::CreatedAt => "bounces.created_at",
            BounceOrder::Type => "CASE bounces.type WHEN 'soft' THEN 0 WHEN 'hard' THEN 1 ELSE 2 END",
        };
        let (dir, nulls) = if desc { ("DESC", "NULLS FIRST") } else { ("ASC", "NULLS LAST") };
        format!("{column} {dir} {nulls}, bounces.id {dir}")
    }
}

/// Which bounces a listing, export or deletion is about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BounceFilter {
    pub campaign_id: Option<i64>,
    pub subscriber_id: Option<i64>,
    pub source: Option<String>,
    pub bounce_type: Option<BounceType>,
    /// The parser's reason (`meta.reason`: "mailboxfull", "userunknown", ...).
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct BounceQuery {
    pub filter: BounceFilter,
    pub order_by: BounceOrder,
    pub desc: bool,
    pub pagination: Pagination,
}

#[derive(Debug, Clone, Default)]
pub struct SubscriberQuery {
    /// Matches e-mail or name, case-insensitively.
    pub search: Option<String>,
    /// listmonk's `query`: an SQL expression, run read-only and time-bound.
    pub expression: Option<SubscriberExpression>,
    pub list_id: Option<i64>,
    /// With `list_id`: only subscriptions in this status (listmonk's
    /// `subscription_status`; ignored without a list, as there).
    pub subscription_status: Option<SubscriptionStatus>,
    pub status: Option<SubscriberStatus>,
    pub order_by: SubscriberOrder,
    pub desc: bool,
    pub pagination: Pagination,
}

/// Which subscribers a bulk operation applies to (listmonk's
/// `query-subscribers-template` without its SQL expression).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubscriberFilter {
    /// Subscribers on any of these lists; every subscriber when empty.
    pub list_ids: Vec<i64>,
    /// With `list_ids`: only subscriptions in this status (ignored without lists, as in listmonk).
    pub subscription_status: Option<SubscriptionStatus>,
    /// Matches e-mail or name, case-insensitively.
    pub search: Option<String>,
}

/// What `PUT /api/subscribers/lists` (and `/query/lists`) does to each
/// (subscriber, list) pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionChange {
    /// Subscribes with `status` (unconfirmed when none). An existing
    /// subscription takes `status` too when `update_existing` (listmonk's
    /// add by ids), otherwise it is left as it is (add by query).
    Add { status: Option<SubscriptionStatus>, update_existing: bool },
    /// Deletes the subscriptions.
    Remove,
    /// Marks existing subscriptions unsubscribed.
    Unsubscribe,
}

/// A checked expression and how long it may run. A runtime error or the
/// time running out is [`crate::StoreError::Invalid`], never a write.
#[derive(Debug, Clone)]
pub struct SubscriberExpression {
    pub filter: crate::SqlFilter,
    pub timeout: std::time::Duration,
}

/// listmonk's sort fields for subscribers (`subQuerySortFields`) and its default, the id.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SubscriberOrder {
    #[default]
    Id,
    Email,
    Name,
    CreatedAt,
    UpdatedAt,
}

impl SubscriberOrder {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.strip_prefix("subscribers.").unwrap_or(s) {
            "id" => SubscriberOrder::Id,
            "email" => SubscriberOrder::Email,
            "name" => SubscriberOrder::Name,
            "created_at" => SubscriberOrder::CreatedAt,
            "updated_at" => SubscriberOrder::UpdatedAt,
            _ => return None,
        })
    }

    /// The ORDER BY clause; ties by id in the same direction.
    pub(crate) fn order_by(self, desc: bool) -> String {
        let column = match self {
            SubscriberOrder::Id => "subscribers.id",
            SubscriberOrder::Email => "subscribers.email",
            SubscriberOrder::Name => "subscribers.name",
            SubscriberOrder::CreatedAt => "subscribers.created_at",
            SubscriberOrder::UpdatedAt => "subscribers.updated_at",
        };
        let dir = if desc { "DESC" } else { "ASC" };
        format!("{column} {dir}, subscribers.id {dir}")
    }
}

/// Which rows a delete applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Ids(Vec<i64>),
    All,
}

#[cfg(test)]
mod tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_cells_are_neutralised() {
        for cell in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(cell.to_string()), format!("'{cell}"));
        }
        for cell in ["a=1", "1-2", "", "{\"a\":\"=x\"}", "x@example.com"] {
            assert_eq!(spreadsheet_safe(cell.to_string()), cell);
        }
    }
}
