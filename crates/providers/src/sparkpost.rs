//! SparkPost event webhooks; see docs/providers.md, section "SparkPost".
//!
//! Not signed: the webhook's `auth_type` is basic (username/password) or
//! oauth2 (a bearer token). The body is a JSON array of `{"msys": {"<kind>_event": {...}}}`;
//! the empty test batch sent when a webhook is created is acknowledged.

use rebound_core::settings::BasicAuthProvider;
use rebound_core::{BounceEvent, BounceType};
use serde_json::Value;

use crate::common::{
    Parsed, campaign_in_object, check_basic_or_bearer, collect_batch, need_email, parse_json, said, str_of,
    text_of, time_of, uuid_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "sparkpost";

pub fn handle(req: &WebhookRequest<'_>, cfg: &BasicAuthProvider) -> Result<Vec<BounceEvent>, ProviderError> {
    check_basic_or_bearer(req.headers, cfg, SOURCE)?;
    parse(req.body)
}

/// The payload parser alone, after verification (also the fuzz entry point).
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    let v = parse_json(body)?;
    let batch = v.as_array().ok_or_else(|| ProviderError::bad_request("expected a JSON array of events"))?;
    // Each element wraps one event under msys.<kind>_event.
    let inner = batch.iter().filter_map(|item| {
        item.get("msys").and_then(Value::as_object).and_then(|m| m.values().find(|e| e.is_object()))
    });
    Ok(collect_batch(SOURCE, inner, parse_event))
}

/// SparkPost bounce classes: 10, 30, 90 are hard; 25 (admin failure: the
/// address is on a suppression list) is kept hard like SendGrid's "Bounced
/// Address" drop; 60, 80, 100 are auto-replies and list traffic, not bounces;
/// every other class (soft, block, undetermined, and any new one) is soft.
fn class_type(class: Option<i64>) -> Option<BounceType> {
    match class {
        Some(10 | 25 | 30 | 90) => Some(BounceType::Hard),
        Some(60 | 80 | 100) => None,
        _ => Some(BounceType::Soft),
    }
}

fn parse_event(ev: &Value) -> Result<Option<Parsed>, String> {
    let event = str_of(ev.get("type")).unwrap_or("");
    let (bounce_type, field, value) = match event {
        "bounce" | "out_of_band" => {
            let class_text = text_of(ev.get("bounce_class")).unwrap_or_default();
            match class_type(class_text.parse::<i64>().ok()) {
                Some(t) => (t, "bounce_class", class_text),
                None => return Ok(None),
            }
        }
        "spam_complaint" => (BounceType::Complaint, "type", event.to_string()),
        // injection, delivery, delay, policy_rejection, open, click, unsubscribes...
        _ => return Ok(None),
    };
    let email = need_email(ev.get("rcpt_to").or_else(|| ev.get("raw_rcpt_to")), "rcpt_to")?;
    let event_id = text_of(ev.get("event_id")).ok_or("SparkPost event without event_id")?;
    let campaign =
        campaign_in_object(ev.get("rcpt_meta")).or_else(|| str_of(ev.get("campaign_id")).and_then(uuid_of));
    Ok(Some(Parsed {
        email,
        bounce_type,
        campaign,
        created_at: time_of(ev.get("timestamp")),
        event_id,
        meta: ev.clone(),
        explanation: said("SparkPost", field, &value, bounce_type),
    }))
}
