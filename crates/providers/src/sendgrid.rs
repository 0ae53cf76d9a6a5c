//! SendGrid (Twilio) Signed Event Webhook; see docs/providers.md, section "SendGrid".
//!
//! ECDSA P-256 / SHA-256 over `timestamp ‖ raw body` (no separator), the
//! signature base64 DER in `X-Twilio-Email-Event-Webhook-Signature`, the key
//! the base64 DER SubjectPublicKeyInfo from Mail Settings. SendGrid documents
//! no replay window, so the configured tolerance is applied to the timestamp.
//! The body is always a JSON array of events.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rebound_core::{BounceEvent, BounceType, Secret};
use ring::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use serde_json::Value;

use crate::common::{
    KeyKind, Parsed, campaign_in_object, check_unix_window, collect_batch, decode_b64_sig, need_email,
    parse_json, parse_unix_seconds, pem_or_base64, require_header, said, spki_key, str_of, text_of, time_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "sendgrid";
pub const SIGNATURE_HEADER: &str = "x-twilio-email-event-webhook-signature";
pub const TIMESTAMP_HEADER: &str = "x-twilio-email-event-webhook-timestamp";

/// Verifies the request with `key` (bounce.sendgrid_key) and returns the
/// bounces and complaints of the batch.
pub fn handle(
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    key: &Secret,
    tolerance: Duration,
) -> Result<Vec<BounceEvent>, ProviderError> {
    verify(req.headers, req.body, now, key.expose(), tolerance)?;
    parse(req.body)
}

/// The payload parser alone, after verification (also the fuzz entry point).
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    let v = parse_json(body)?;
    let events = v.as_array().ok_or_else(|| ProviderError::bad_request("expected a JSON array of events"))?;
    Ok(collect_batch(SOURCE, events, parse_event))
}

/// The signature check alone (also used for the published test vectors).
pub fn verify(
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    key: &str,
    tolerance: Duration,
) -> Result<(), ProviderError> {
    if key.trim().is_empty() {
        return Err(ProviderError::unauthorized("no SendGrid verification key configured"));
    }
    let sig = decode_b64_sig(require_header(headers, SIGNATURE_HEADER)?, "SendGrid signature")?;
    let ts = require_header(headers, TIMESTAMP_HEADER)?;
    let secs = parse_unix_seconds(ts, "SendGrid timestamp")?;
    check_unix_window(secs, now, tolerance)?;
    let point = match pem_or_base64(key).and_then(|(_, der)| spki_key(&der)) {
        Some((KeyKind::Ec, point)) => point,
        _ => return Err(ProviderError::unauthorized("bounce.sendgrid_key is not a base64 P-256 public key")),
    };
    let mut signed = Vec::with_capacity(ts.len() + body.len());
    signed.extend_from_slice(ts.as_bytes());
    signed.extend_from_slice(body);
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, point)
        .verify(&signed, &sig)
        .map_err(|_| ProviderError::unauthorized("SendGrid signature does not match"))
}

/// `bounce_classification` values that mean the address itself is bad.
fn hard_classification(c: &str) -> bool {
    c.eq_ignore_ascii_case("Invalid Address") || c.eq_ignore_ascii_case("Mailbox Unavailable")
}

fn parse_event(ev: &Value) -> Result<Option<Parsed>, String> {
    let event = str_of(ev.get("event")).unwrap_or("");
    let (bounce_type, field, value) = match event {
        "bounce" => match str_of(ev.get("type")) {
            Some(t @ "blocked") => (BounceType::Soft, "type", t),
            Some(t @ "bounce") => (BounceType::Hard, "type", t),
            // Older payloads carry no `type`; the classification decides, else
            // `bounce` is SendGrid's permanent failure.
            _ => match str_of(ev.get("bounce_classification")) {
                Some(c) if !hard_classification(c) => (BounceType::Soft, "bounce_classification", c),
                Some(c) => (BounceType::Hard, "bounce_classification", c),
                None => (BounceType::Hard, "event", event),
            },
        },
        "spamreport" => (BounceType::Complaint, "event", event),
        // A drop because the address bounced before: SendGrid suppresses it, so do we.
        "dropped" if str_of(ev.get("reason")).is_some_and(|r| r.eq_ignore_ascii_case("Bounced Address")) => {
            (BounceType::Hard, "dropped reason", "Bounced Address")
        }
        // processed, deferred, delivered, open, click, other drops, unsubscribes...
        _ => return Ok(None),
    };
    let email = need_email(ev.get("email"), "email")?;
    let event_id = text_of(ev.get("sg_event_id")).unwrap_or_else(|| {
        format!(
            "{}:{event}:{}:{email}",
            text_of(ev.get("sg_message_id")).unwrap_or_default(),
            text_of(ev.get("timestamp")).unwrap_or_default()
        )
    });
    Ok(Some(Parsed {
        email,
        bounce_type,
        campaign: campaign_in_object(Some(ev)),
        created_at: time_of(ev.get("timestamp")),
        event_id,
        meta: ev.clone(),
        explanation: said("SendGrid", field, value, bounce_type),
    }))
}
