//! Mailgun webhooks; see docs/providers.md, section "Mailgun".
//!
//! The signature is inside the JSON body: `signature.signature` is the hex
//! HMAC-SHA256 of `timestamp ‖ token` keyed with the HTTP Webhook Signing
//! Key. The body itself is not signed, so a captured (timestamp, token,
//! signature) triple could be replayed with another `event-data` inside the
//! window: [`TokenCache`] refuses a token seen before with a different body.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rebound_core::settings::KeyProvider;
use rebound_core::{BounceEvent, BounceType};
use ring::digest;
use serde_json::Value;

use crate::common::{
    Parsed, campaign_in_object, check_unix_window, decode_hex_sig, hmac_sha256_verify, need_email,
    parse_json, parse_unix_seconds, said, single, str_of, text_of, time_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "mailgun";

/// A verified Mailgun request: its events and what the token cache needs.
#[derive(Debug, Clone)]
pub struct Verified {
    pub token: String,
    /// The signed timestamp (unix seconds).
    pub timestamp: i64,
    /// SHA-256 of the raw body: a retry repeats it, a forged replay does not.
    pub body_digest: [u8; 32],
    pub events: Vec<BounceEvent>,
}

pub fn handle(
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    cfg: &KeyProvider,
    tolerance: Duration,
) -> Result<Verified, ProviderError> {
    let key = cfg.key.expose();
    if key.is_empty() {
        return Err(ProviderError::unauthorized("no Mailgun webhook signing key configured"));
    }
    let v = parse_json(req.body)?;
    let sig = v.get("signature").filter(|s| s.is_object());
    let field = |name: &str| {
        text_of(sig.and_then(|s| s.get(name)))
            .ok_or_else(|| ProviderError::unauthorized(format!("missing signature.{name}")))
    };
    let (timestamp, token, signature) = (field("timestamp")?, field("token")?, field("signature")?);
    let expected = decode_hex_sig(&signature, "signature.signature")?;
    if !hmac_sha256_verify(key.as_bytes(), &[timestamp.as_bytes(), token.as_bytes()], &expected) {
        return Err(ProviderError::unauthorized("Mailgun signature does not match"));
    }
    let secs = parse_unix_seconds(&timestamp, "signature.timestamp")?;
    check_unix_window(secs, now, tolerance)?;
    let data = v
        .get("event-data")
        .filter(|d| d.is_object())
        .ok_or_else(|| ProviderError::bad_request("missing event-data object"))?;
    let events = single(SOURCE, parse_event(data, &token))?;
    let mut body_digest = [0u8; 32];
    body_digest.copy_from_slice(digest::digest(&digest::SHA256, req.body).as_ref());
    Ok(Verified { token, timestamp: secs, body_digest, events })
}

/// The `event-data` parser alone, without the signature check (the fuzz
/// entry point). `signature.token` is required, as in [`handle`]: it is the
/// event id when `event-data` has no id and timestamp.
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    let v = parse_json(body)?;
    let token = text_of(v.get("signature").and_then(|s| s.get("token")))
        .ok_or_else(|| ProviderError::unauthorized("missing signature.token"))?;
    let data = v
        .get("event-data")
        .filter(|d| d.is_object())
        .ok_or_else(|| ProviderError::bad_request("missing event-data object"))?;
    single(SOURCE, parse_event(data, &token))
}

fn parse_event(d: &Value, token: &str) -> Result<Option<Parsed>, String> {
    let severity = str_of(d.get("severity")).unwrap_or("");
    let (bounce_type, field, value) = match str_of(d.get("event")).unwrap_or("") {
        "failed" => match severity {
            // Includes `suppress-*` reasons: a send to an address Mailgun
            // already suppresses is still evidence the address is bad.
            "permanent" => (BounceType::Hard, "severity", severity),
            _ => (BounceType::Soft, "severity", severity),
        },
        "complained" => (BounceType::Complaint, "event", "complained"),
        // accepted, rejected, delivered, opened, clicked, unsubscribed...
        _ => return Ok(None),
    };
    let email = need_email(d.get("recipient"), "event-data.recipient")?;
    // event-data.id is unique only within a day, so it is pinned with the event
    // timestamp; both are the same on every retry whether or not Mailgun signs
    // the retry afresh. The token is the fallback.
    let event_id = match (str_of(d.get("id")), text_of(d.get("timestamp"))) {
        (Some(id), Some(ts)) => format!("{id}:{ts}"),
        _ => token.to_string(),
    };
    Ok(Some(Parsed {
        email,
        bounce_type,
        campaign: campaign_in_object(d.get("user-variables")),
        created_at: time_of(d.get("timestamp")),
        event_id,
        meta: d.clone(),
        explanation: said("Mailgun", field, value, bounce_type),
    }))
}

/// Tokens seen within the replay window, with the digest of the body they came with.
#[derive(Debug, Default)]
pub struct TokenCache {
    seen: Mutex<HashMap<String, SeenToken>>,
}

/// (SHA-256 of the body, when the token leaves the window).
type SeenToken = ([u8; 32], DateTime<Utc>);

impl TokenCache {
    const MAX: usize = 100_000;

    /// Refuses a token already used with a different body; remembers it until
    /// its timestamp leaves the window (after which the window refuses it).
    pub fn check(&self, v: &Verified, now: DateTime<Utc>, tolerance: Duration) -> Result<(), ProviderError> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((digest, _)) = seen.get(&v.token) {
            return if *digest == v.body_digest {
                Ok(()) // a retry of the same request: the store de-duplicates it
            } else {
                Err(ProviderError::unauthorized("Mailgun token already used with a different event"))
            };
        }
        if seen.len() >= Self::MAX {
            seen.retain(|_, (_, expires)| *expires > now);
            if seen.len() >= Self::MAX {
                tracing::warn!("Mailgun token cache full within the replay window; clearing it");
                seen.clear();
            }
        }
        let window = TimeDelta::from_std(tolerance).unwrap_or(TimeDelta::MAX);
        let signed = DateTime::from_timestamp(v.timestamp, 0).unwrap_or(now);
        let expires = signed.checked_add_signed(window).unwrap_or(DateTime::<Utc>::MAX_UTC);
        seen.insert(v.token.clone(), (v.body_digest, expires));
        Ok(())
    }
}
