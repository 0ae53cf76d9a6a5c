//! Resend, signed by Svix; see docs/providers.md, section "Resend".
//!
//! `svix-signature` holds space-separated `v1,<base64>` entries, each the
//! HMAC-SHA256 of `"<svix-id>.<svix-timestamp>.<raw body>"` keyed with the
//! base64-decoded part of the `whsec_...` secret after the prefix. The
//! white-labelled `webhook-*` headers (Standard Webhooks) are accepted too.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use rebound_core::settings::KeyProvider;
use rebound_core::{BounceEvent, BounceType};
use serde_json::Value;

use crate::common::{
    Parsed, campaign_in_name_value_list, campaign_in_object, check_unix_window, email_of, header,
    hmac_sha256_verify, parse_json, parse_unix_seconds, said, str_of, time_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "resend";

fn either<'a>(headers: &'a http::HeaderMap, name: &str) -> Result<&'a str, ProviderError> {
    header(headers, &format!("svix-{name}"))
        .or_else(|| header(headers, &format!("webhook-{name}")))
        .ok_or_else(|| ProviderError::unauthorized(format!("missing svix-{name} header")))
}

pub fn handle(
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    cfg: &KeyProvider,
    tolerance: Duration,
) -> Result<Vec<BounceEvent>, ProviderError> {
    let msg_id = verify(req.headers, req.body, now, cfg.key.expose(), tolerance)?;
    parse(req.body, msg_id)
}

/// The payload parser alone, after verification (also the fuzz entry point);
/// `msg_id` is the verified `svix-id`.
pub fn parse(body: &[u8], msg_id: &str) -> Result<Vec<BounceEvent>, ProviderError> {
    let v = parse_json(body)?;
    if !v.is_object() {
        return Err(ProviderError::bad_request("expected a JSON object"));
    }
    parse_event(&v, msg_id)
}

/// Verifies the Svix signature; returns the message id (`svix-id`), which is
/// the same on every redelivery and so the de-duplication id.
pub fn verify<'h>(
    headers: &'h http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    secret: &str,
    tolerance: Duration,
) -> Result<&'h str, ProviderError> {
    let secret = secret.trim();
    if secret.is_empty() {
        return Err(ProviderError::unauthorized("no Resend signing secret configured"));
    }
    let key = B64
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|_| ProviderError::unauthorized("bounce.resend.key is not a whsec_<base64> secret"))?;
    let id = either(headers, "id")?;
    let ts = either(headers, "timestamp")?;
    let sigs = either(headers, "signature")?;
    let secs = parse_unix_seconds(ts, "svix-timestamp")?;
    check_unix_window(secs, now, tolerance)?;
    let mut ok = false;
    let mut any_v1 = false;
    for entry in sigs.split_whitespace() {
        let Some(("v1", b64)) = entry.split_once(',') else { continue };
        any_v1 = true;
        if let Ok(sig) = B64.decode(b64) {
            ok |= hmac_sha256_verify(&key, &[id.as_bytes(), b".", ts.as_bytes(), b".", body], &sig);
        }
    }
    if !any_v1 {
        return Err(ProviderError::unauthorized("malformed svix-signature: no v1 entry"));
    }
    if ok { Ok(id) } else { Err(ProviderError::unauthorized("Resend (Svix) signature does not match")) }
}

fn parse_event(v: &Value, msg_id: &str) -> Result<Vec<BounceEvent>, ProviderError> {
    let data = v.get("data");
    let event = str_of(v.get("type")).unwrap_or("");
    let sub_type = str_of(data.and_then(|d| d.get("bounce")).and_then(|b| b.get("type"))).unwrap_or("");
    let (bounce_type, field, value) = match event {
        // "The recipient's mail server permanently rejected the email"; the
        // SES-like bounce.type refines it when present.
        "email.bounced" => match sub_type {
            "Transient" | "Undetermined" => (BounceType::Soft, "bounce.type", sub_type),
            "" => (BounceType::Hard, "type", event),
            _ => (BounceType::Hard, "bounce.type", sub_type),
        },
        "email.complained" => (BounceType::Complaint, "type", event),
        // sent, delivered, delivery_delayed, opened, clicked, failed (API), contacts...
        _ => return Ok(Vec::new()),
    };
    let to: Vec<_> = match data.and_then(|d| d.get("to")) {
        Some(Value::Array(a)) => a.iter().filter_map(|x| email_of(Some(x))).collect(),
        other => email_of(other).into_iter().collect(),
    };
    if to.is_empty() {
        return Err(ProviderError::bad_request("bounce event without a valid recipient in data.to"));
    }
    let campaign = data.and_then(|d| {
        let tags = d.get("tags");
        campaign_in_name_value_list(tags)
            .or_else(|| campaign_in_object(tags))
            .or_else(|| campaign_in_name_value_list(d.get("headers")))
    });
    let created_at = time_of(v.get("created_at")).or_else(|| time_of(data.and_then(|d| d.get("created_at"))));
    let several = to.len() > 1;
    Ok(to
        .into_iter()
        .map(|email| {
            let event_id = if several { format!("{msg_id}:{email}") } else { msg_id.to_string() };
            let explanation = said("Resend", field, value, bounce_type);
            Parsed { email, bounce_type, campaign, created_at, event_id, meta: v.clone(), explanation }
                .into_event(SOURCE)
        })
        .collect())
}
