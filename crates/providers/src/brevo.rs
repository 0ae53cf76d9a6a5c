//! Brevo (ex-Sendinblue) transactional webhooks; see docs/providers.md, section "Brevo".
//!
//! No signature: basic credentials in the webhook URL or a bearer token
//! configured on the webhook. One event per POST, or a JSON array when the
//! webhook is created with `batched: true`.

use rebound_core::settings::BasicAuthProvider;
use rebound_core::{BounceEvent, BounceType};
use serde_json::Value;

use crate::common::{
    Parsed, campaign_in_object, campaign_in_text, check_basic_or_bearer, collect_batch, need_email,
    parse_json, said, single, str_of, text_of, time_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "brevo";

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
        "hard_bounce" | "invalid_email" => BounceType::Hard,
        "soft_bounce" => BounceType::Soft,
        "spam" | "complaint" => BounceType::Complaint,
        // request, delivered, deferred, blocked (already suppressed), error,
        // opened, click, unsubscribed, proxy_open...
        _ => return Ok(None),
    };
    let email = need_email(ev.get("email"), "email")?;
    // `id` is the webhook's id, not the event's: this combination is.
    let event_id = format!(
        "{}:{event}:{}:{email}",
        text_of(ev.get("message-id")).unwrap_or_default(),
        text_of(ev.get("ts_event")).or_else(|| text_of(ev.get("ts"))).unwrap_or_default()
    );
    // `date` is in Brevo's local time (CET/CEST): use the UTC epoch fields.
    let created_at =
        time_of(ev.get("ts_epoch")).or_else(|| time_of(ev.get("ts_event"))).or_else(|| time_of(ev.get("ts")));
    Ok(Some(Parsed {
        email,
        bounce_type,
        campaign: campaign_in_text(ev.get("X-Mailin-custom")).or_else(|| campaign_in_object(Some(ev))),
        created_at,
        event_id,
        meta: ev.clone(),
        explanation: said("Brevo", "event", event, bounce_type),
    }))
}
