//! Mailjet Event API; see docs/providers.md, section "Mailjet".
//!
//! No signature: basic credentials in the webhook URL (or a bearer token).
//! Version 2 endpoints post a JSON array, version 1 one object; both are accepted.

use rebound_core::settings::BasicAuthProvider;
use rebound_core::{BounceEvent, BounceType};
use serde_json::Value;

use crate::common::{
    Parsed, campaign_in_text, check_basic_or_bearer, collect_batch, need_email, parse_json, said, single,
    str_of, text_of, time_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "mailjet";

pub fn handle(req: &WebhookRequest<'_>, cfg: &BasicAuthProvider) -> Result<Vec<BounceEvent>, ProviderError> {
    check_basic_or_bearer(req.headers, cfg, SOURCE)?;
    parse(req.body)
}

/// The payload parser alone, after verification (also the fuzz entry point).
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    match parse_json(body)? {
        Value::Array(a) => Ok(collect_batch(SOURCE, &a, parse_event)),
        v @ Value::Object(_) => single(SOURCE, parse_event(&v)),
        _ => Err(ProviderError::bad_request("expected a JSON object or array")),
    }
}

fn parse_event(ev: &Value) -> Result<Option<Parsed>, String> {
    let event = str_of(ev.get("event")).unwrap_or("");
    let bounce_type = match event {
        "bounce" => {
            if ev.get("hard_bounce").and_then(Value::as_bool) == Some(true) {
                BounceType::Hard
            } else {
                BounceType::Soft
            }
        }
        "spam" => BounceType::Complaint,
        // sent, open, click, blocked (never sent), unsub...
        _ => return Ok(None),
    };
    let email = need_email(ev.get("email"), "email")?;
    let message =
        text_of(ev.get("Message_GUID")).or_else(|| text_of(ev.get("MessageID"))).unwrap_or_default();
    let event_id = format!("{message}:{event}:{}", text_of(ev.get("time")).unwrap_or_default());
    let campaign = campaign_in_text(ev.get("CustomID"))
        .or_else(|| campaign_in_text(ev.get("Payload")))
        .or_else(|| campaign_in_text(ev.get("customcampaign")));
    Ok(Some(Parsed {
        email,
        bounce_type,
        campaign,
        created_at: time_of(ev.get("time")),
        event_id,
        meta: ev.clone(),
        explanation: match bounce_type {
            BounceType::Complaint => said("Mailjet", "event", event, bounce_type),
            _ => said(
                "Mailjet",
                "hard_bounce",
                &text_of(ev.get("hard_bounce")).unwrap_or_default(),
                bounce_type,
            ),
        },
    }))
}
