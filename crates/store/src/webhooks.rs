//! Outgoing event webhooks (docs/events.md): the endpoints operators
//! register and the outbox the delivery worker drains. Events are written to
//! the outbox by the transaction that stores what they report (record.rs,
//! the suppression changes), one row per event and endpoint, so a crash can
//! neither lose an event nor emit one for something not stored.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::{Paged, Pagination, Result};

/// Every event type (docs/events.md has their payloads).
pub mod event_type {
    pub const BOUNCE_RECORDED: &str = "bounce.recorded";
    pub const BOUNCE_UNMATCHED: &str = "bounce.unmatched";
    pub const COMPLAINT_RECORDED: &str = "complaint.recorded";
    pub const SUBSCRIBER_BLOCKLISTED: &str = "subscriber.blocklisted";
    pub const SUBSCRIBER_UNSUBSCRIBED: &str = "subscriber.unsubscribed";
    pub const SUBSCRIBER_DELETED: &str = "subscriber.deleted";
    pub const SUPPRESSION_ADDED: &str = "suppression.added";
    pub const SUPPRESSION_REMOVED: &str = "suppression.removed";
    pub const ALL: [&str; 8] = [
        BOUNCE_RECORDED,
        BOUNCE_UNMATCHED,
        COMPLAINT_RECORDED,
        SUBSCRIBER_BLOCKLISTED,
        SUBSCRIBER_UNSUBSCRIBED,
        SUBSCRIBER_DELETED,
        SUPPRESSION_ADDED,
        SUPPRESSION_REMOVED,
    ];
    /// Subscribes to every type.
    pub const WILDCARD: &str = "*";
}

/// A registered endpoint. The secret is not serialized (shown once, when made).
#[derive(Debug, Clone, Serialize)]
pub struct Endpoint {
    pub id: i64,
    pub uuid: String,
    pub url: String,
    #[serde(skip)]
    pub secret: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
    /// Paused: kept out of delivery (events still queue) until resumed.
    pub paused: bool,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_reason: Option<String>,
    pub consecutive_failures: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Deliveries by status.
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
}

impl Endpoint {
    pub fn wants(&self, event_type: &str) -> bool {
        wants(&self.event_types, event_type)
    }
}

pub(crate) fn wants(types: &[String], event_type: &str) -> bool {
    types.iter().any(|t| t == event_type_all() || t == event_type)
}

fn event_type_all() -> &'static str {
    event_type::WILDCARD
}

#[derive(Debug, Clone)]
pub struct NewEndpoint {
    pub url: String,
    pub secret: String,
    pub description: String,
    pub event_types: Vec<String>,
    pub enabled: bool,
}

/// Fields left None stay.
#[derive(Debug, Clone, Default)]
pub struct EndpointUpdate {
    pub url: Option<String>,
    pub secret: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    /// Some(false) resumes a paused endpoint (and resets its failure count).
    pub paused: Option<bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryStatus {
    Pending,
    Delivered,
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(DeliveryStatus::Pending),
            "delivered" => Some(DeliveryStatus::Delivered),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

impl TryFrom<String> for DeliveryStatus {
    type Error = String;
    fn try_from(s: String) -> std::result::Result<Self, String> {
        DeliveryStatus::parse(&s).ok_or_else(|| format!("unknown delivery status {s:?}"))
    }
}

/// One event's delivery to one endpoint.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Delivery {
    pub id: i64,
    /// The event's stable id (`webhook-id`).
    pub event_id: String,
    pub endpoint_id: i64,
    pub event_type: String,
    #[sqlx(try_from = "String")]
    pub status: DeliveryStatus,
    pub attempts: i64,
    pub next_attempt_at: DateTime<Utc>,
    pub last_status_code: Option<i32>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// The signed body, as sent.
    #[sqlx(json)]
    pub payload: Value,
}

#[derive(Debug, Clone, Default)]
pub struct DeliveryQuery {
    pub endpoint_id: Option<i64>,
    pub status: Option<DeliveryStatus>,
    pub pagination: Pagination,
}

/// A delivery claimed for sending (leased to one worker).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Claimed {
    pub id: i64,
    pub event_id: String,
    pub endpoint_id: i64,
    pub event_type: String,
    /// The exact body to send and sign.
    pub payload: String,
    /// Attempts before this one.
    pub attempts: i64,
}

/// How an attempt went.
#[derive(Debug, Clone)]
pub enum AttemptOutcome {
    Delivered {
        status_code: u16,
    },
    /// Try again at `next_attempt_at`.
    Retry {
        status_code: Option<u16>,
        error: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// No more attempts.
    Failed {
        status_code: Option<u16>,
        error: String,
    },
}

/// What the endpoint's state does after an attempt.
#[derive(Debug, Clone, Default)]
pub struct EndpointEffect {
    /// Pause it now with this reason (410 Gone, too many failures).
    pub pause: Option<String>,
}

#[async_trait]
pub trait WebhookStore: Send + Sync {
    async fn create_endpoint(&self, new: NewEndpoint) -> Result<Endpoint>;
    /// The enabled, unpaused endpoints: (id, url, secret), what delivery needs.
    async fn deliverable_endpoints(&self) -> Result<Vec<(i64, String, String)>>;
    async fn list_endpoints(&self) -> Result<Vec<Endpoint>>;
    async fn get_endpoint(&self, id: i64) -> Result<Endpoint>;
    async fn update_endpoint(&self, id: i64, update: EndpointUpdate) -> Result<Endpoint>;
    /// With its deliveries.
    async fn delete_endpoint(&self, id: i64) -> Result<()>;
    async fn query_deliveries(&self, q: &DeliveryQuery) -> Result<Paged<Delivery>>;
    async fn get_delivery(&self, id: i64) -> Result<Delivery>;
    /// Deletes delivered rows delivered before `before`; returns how many.
    /// Failed and pending ones stay (they still need someone).
    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64>;
    /// Puts a delivery back in the queue, due now, with a fresh count of attempts.
    async fn redeliver(&self, id: i64, now: DateTime<Utc>) -> Result<Delivery>;
    /// Up to `limit` due deliveries of an enabled, unpaused endpoint that no
    /// live lease holds, oldest first, leased to `owner` until `lease_until`.
    /// Several instances never claim the same row at once.
    async fn claim_deliveries(
        &self,
        endpoint_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>>;
    /// Records an attempt of a delivery `owner` holds (a lost lease is
    /// ignored: another worker has it) and its effect on the endpoint: a
    /// success resets the endpoint's consecutive failures, a failure adds
    /// one and pauses it once `pause_after` are reached (0: never), or at
    /// once with `effect.pause`. Returns whether the endpoint was paused now.
    async fn finish_delivery(
        &self,
        id: i64,
        owner: &str,
        outcome: &AttemptOutcome,
        effect: &EndpointEffect,
        pause_after: u32,
        now: DateTime<Utc>,
    ) -> Result<bool>;
}

/// An enabled endpoint as the recording transaction routes events.
#[derive(Debug, Clone)]
pub struct Route {
    pub endpoint_id: i64,
    pub event_types: Vec<String>,
}

/// An outbox row to insert.
#[derive(Debug, Clone)]
pub struct OutboxInsert {
    pub event_id: String,
    pub endpoint_id: i64,
    pub event_type: &'static str,
    pub payload: String,
}

/// The envelope every event has: `{"id", "type", "timestamp", "data"}`.
pub fn envelope(id: Uuid, event_type: &str, timestamp: DateTime<Utc>, data: Value) -> Value {
    json!({
        "id": id.to_string(),
        "type": event_type,
        "timestamp": timestamp.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    })
}

/// The outbox rows of one event: one per endpoint that wants it.
pub fn route(
    routes: &[Route],
    event_type: &'static str,
    now: DateTime<Utc>,
    data: Value,
) -> Vec<OutboxInsert> {
    let wanted: Vec<&Route> = routes.iter().filter(|r| wants(&r.event_types, event_type)).collect();
    if wanted.is_empty() {
        return Vec::new();
    }
    let id = Uuid::new_v4();
    let payload = envelope(id, event_type, now, data).to_string();
    wanted
        .into_iter()
        .map(|r| OutboxInsert {
            event_id: id.to_string(),
            endpoint_id: r.endpoint_id,
            event_type,
            payload: payload.clone(),
        })
        .collect()
}

/// The event data of a suppression change.
pub fn suppression_data(s: &crate::Suppression) -> Value {
    json!({
        "email": s.email,
        "suppressed": s.suppressed,
        "type": s.kind,
        "action": s.action,
        "reason": s.reason,
        "source": s.source,
        "subscriber_id": s.subscriber_id,
        "count": s.count,
        "reactivated_at": s.reactivated_at,
    })
}
