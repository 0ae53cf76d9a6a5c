//! The JSON API, one module per resource. A handler parses the request into
//! a service operation's input (crate::service), calls it, and wraps the
//! result in listmonk's `{"data": ...}` envelope; its errors become HTTP
//! answers through `?` (error.rs). The webhooks (webhooks.rs, providers.rs)
//! hand their events to the ingest instead.

pub mod bounce_reclassify;
pub mod bounces;
pub mod campaign_test;
pub mod campaigns;
pub mod deliverability;
pub mod event_webhooks;
pub mod health;
pub mod lists;
pub mod mailboxes;
pub mod metrics;
pub mod providers;
pub mod settings;
pub mod subscriber_bulk;
pub mod subscribers;
pub mod suppressions;
pub mod users;
pub mod webhooks;

use axum::Json;
use serde::Serialize;
use serde_json::{Value, json};

/// listmonk's success envelope.
pub fn data<T: Serialize>(value: T) -> Json<Value> {
    Json(json!({ "data": value }))
}
