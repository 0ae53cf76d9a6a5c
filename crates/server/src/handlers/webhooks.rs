//! POST /webhooks/bounce: listmonk's generic bounce webhook.

use axum::extract::State;
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rebound_core::{BounceEvent, BounceType, EmailAddress, Settings, SubscriberRef};
use serde::Deserialize;
use serde_json::Value;
use uuid::Uuid;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

/// The body as listmonk documents it, plus rebound's optional `created_at`
/// and `event_id` (a retry with the same event id is not counted twice).
#[derive(Debug, Deserialize)]
pub struct BounceRequest {
    #[serde(default)]
    subscriber_uuid: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    campaign_uuid: Option<String>,
    #[serde(default)]
    source: Option<String>,
    #[serde(default, rename = "type")]
    bounce_type: Option<String>,
    #[serde(default)]
    meta: Option<Value>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    event_id: Option<String>,
}

pub async fn post_bounce(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(req): JsonBody<BounceRequest>,
) -> ApiResult<Response> {
    principal.require(perm::WEBHOOKS_POST_BOUNCE)?;
    require_webhooks_enabled(&state.settings.get())?;
    let event = req.into_event()?;
    let outcomes = state.intake.record(vec![event]).await?;
    let mut res = data(true).into_response();
    // listmonk answers `{"data": true}`; what happened is told in a header.
    if let Some(v) = outcomes.first().and_then(|o| HeaderValue::from_str(&o.describe()).ok()) {
        res.headers_mut().insert("rebound-outcome", v);
    }
    Ok(res)
}

/// 503 unless bounce processing and its webhooks are both on (docs/providers.md, "Switches").
pub fn require_webhooks_enabled(s: &Settings) -> ApiResult<()> {
    if !s.bounce_enabled {
        return Err(ApiError::Unavailable("bounce processing is disabled (bounce.enabled is false)".into()));
    }
    if !s.webhooks_enabled {
        return Err(ApiError::Unavailable(
            "bounce webhooks are disabled (bounce.webhooks_enabled is false)".into(),
        ));
    }
    Ok(())
}

impl BounceRequest {
    fn into_event(self) -> ApiResult<BounceEvent> {
        let uuid = nonempty(self.subscriber_uuid).map(|u| parse_uuid(&u, "subscriber_uuid")).transpose()?;
        let email = nonempty(self.email)
            .map(|e| {
                EmailAddress::parse(&e).map_err(|e| ApiError::bad_request(format!("invalid email: {e}")))
            })
            .transpose()?;
        let subscriber = SubscriberRef::new(uuid, email)?;
        let campaign_uuid =
            nonempty(self.campaign_uuid).map(|u| parse_uuid(&u, "campaign_uuid")).transpose()?;
        let source = nonempty(self.source).ok_or_else(|| ApiError::bad_request("source is required"))?;
        let bounce_type: BounceType = nonempty(self.bounce_type)
            .ok_or_else(|| ApiError::bad_request("type is required: hard, soft or complaint"))?
            .parse()?;
        let created_at = nonempty(self.created_at)
            .map(|t| {
                DateTime::parse_from_rfc3339(&t).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                    ApiError::bad_request(format!("invalid created_at {t:?}: expected RFC 3339"))
                })
            })
            .transpose()?;
        Ok(BounceEvent {
            subscriber,
            campaign_uuid,
            bounce_type,
            source,
            meta: parse_meta(self.meta)?,
            created_at,
            event_id: nonempty(self.event_id),
            // An authenticated caller's bounce: the API vouches for it.
            unverified: false,
        })
    }
}

fn nonempty(s: Option<String>) -> Option<String> {
    s.map(|s| s.trim().to_string()).filter(|s| !s.is_empty())
}

fn parse_uuid(s: &str, field: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s).map_err(|_| ApiError::bad_request(format!("invalid {field} {s:?}: not a UUID")))
}

/// `meta` arrives as an escaped JSON string (listmonk's docs) or an object;
/// it is stored as an object either way.
fn parse_meta(meta: Option<Value>) -> ApiResult<Value> {
    let meta = match meta {
        None | Some(Value::Null) => return Ok(Value::Object(Default::default())),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(Value::Object(Default::default())),
        Some(Value::String(s)) => serde_json::from_str(&s)
            .map_err(|e| ApiError::bad_request(format!("invalid meta: not a JSON object ({e})")))?,
        Some(v) => v,
    };
    if meta.is_object() {
        Ok(meta)
    } else {
        Err(ApiError::bad_request("invalid meta: must be a JSON object"))
    }
}
