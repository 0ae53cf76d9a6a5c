//! Lettermint; see docs/providers.md, section "Lettermint".
//!
//! `X-Lettermint-Signature: t=<unix>,v1=<hex>` where v1 is the hex
//! HMAC-SHA256 of `"<t>." ‖ raw body`, keyed with the configured secret's
//! bytes (as listmonk does); timestamps outside the tolerance are refused.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rebound_core::settings::KeyProvider;
use rebound_core::{BounceEvent, BounceType};
use serde_json::Value;

use crate::common::{
    Parsed, campaign_in_object, check_unix_window, decode_hex_sig, hmac_sha256_verify, need_email,
    parse_json, parse_unix_seconds, require_header, said, single, str_of, time_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "lettermint";
pub const SIGNATURE_HEADER: &str = "x-lettermint-signature";

pub fn handle(
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    cfg: &KeyProvider,
    tolerance: Duration,
) -> Result<Vec<BounceEvent>, ProviderError> {
    verify(req.headers, req.body, now, cfg.key.expose(), tolerance)?;
    parse(req.body)
}

/// The payload parser alone, after verification (also the fuzz entry point).
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    let v = parse_json(body)?;
    if !v.is_object() {
        return Err(ProviderError::bad_request("expected a JSON object"));
    }
    single(SOURCE, parse_event(&v))
}

pub fn verify(
    headers: &http::HeaderMap,
    body: &[u8],
    now: DateTime<Utc>,
    key: &str,
    tolerance: Duration,
) -> Result<(), ProviderError> {
    if key.is_empty() {
        return Err(ProviderError::unauthorized("no Lettermint signing secret configured"));
    }
    let header = require_header(headers, SIGNATURE_HEADER)?;
    let mut t = None;
    let mut sigs = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => t = Some(v.trim()),
            Some(("v1", v)) => sigs.push(v.trim()),
            _ => {}
        }
    }
    let (Some(t), false) = (t, sigs.is_empty()) else {
        return Err(ProviderError::unauthorized("malformed X-Lettermint-Signature: expected t=...,v1=..."));
    };
    let secs = parse_unix_seconds(t, "Lettermint timestamp")?;
    check_unix_window(secs, now, tolerance)?;
    let mut ok = false;
    for s in sigs {
        let sig = decode_hex_sig(s, "Lettermint signature")?;
        ok |= hmac_sha256_verify(key.as_bytes(), &[t.as_bytes(), b".", body], &sig);
    }
    if ok { Ok(()) } else { Err(ProviderError::unauthorized("Lettermint signature does not match")) }
}

fn parse_event(v: &Value) -> Result<Option<Parsed>, String> {
    let event = str_of(v.get("event")).unwrap_or("");
    let bounce_type = match event {
        "message.hard_bounced" => BounceType::Hard,
        "message.soft_bounced" => BounceType::Soft,
        "message.spam_complaint" => BounceType::Complaint,
        // message.delivered, webhook.test, ...
        _ => return Ok(None),
    };
    let data = v.get("data");
    let email = need_email(data.and_then(|d| d.get("recipient")), "data.recipient")?;
    let event_id = str_of(v.get("id")).ok_or("Lettermint event without id")?.to_string();
    Ok(Some(Parsed {
        email,
        bounce_type,
        campaign: campaign_in_object(data.and_then(|d| d.get("metadata"))),
        created_at: time_of(v.get("timestamp")),
        event_id,
        meta: v.clone(),
        explanation: said("Lettermint", "event", event, bounce_type),
    }))
}
