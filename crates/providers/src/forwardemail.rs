//! Forward Email bounce webhooks; see docs/providers.md, section "Forward Email".
//!
//! `X-Webhook-Signature` is the lowercase hex HMAC-SHA256 of the raw body,
//! keyed with the domain's "Webhook Signature Payload Verification Key"
//! (the configured string's bytes). No timestamp, so de-duplication is the
//! only replay defence. Forward Email sends bounces only, no complaints.

use rebound_core::settings::KeyProvider;
use rebound_core::{BounceEvent, BounceType};
use serde_json::Value;

use crate::common::{
    Parsed, campaign_in_name_value_list, campaign_in_object, decode_hex_sig, hmac_sha256_verify, need_email,
    parse_json, require_header, said, single, str_of, text_of, time_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "forwardemail";
pub const SIGNATURE_HEADER: &str = "x-webhook-signature";

pub fn handle(req: &WebhookRequest<'_>, cfg: &KeyProvider) -> Result<Vec<BounceEvent>, ProviderError> {
    verify(req.headers, req.body, cfg.key.expose())?;
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

pub fn verify(headers: &http::HeaderMap, body: &[u8], key: &str) -> Result<(), ProviderError> {
    if key.is_empty() {
        return Err(ProviderError::unauthorized("no Forward Email verification key configured"));
    }
    let sig = decode_hex_sig(require_header(headers, SIGNATURE_HEADER)?, "X-Webhook-Signature")?;
    if hmac_sha256_verify(key.as_bytes(), &[body], &sig) {
        Ok(())
    } else {
        Err(ProviderError::unauthorized("Forward Email signature does not match"))
    }
}

/// Forward Email's advice: remove the recipient for these categories.
const HARD_CATEGORIES: &[&str] = &["block", "recipient", "spam", "virus"];

fn parse_event(v: &Value) -> Result<Option<Parsed>, String> {
    let email = need_email(v.get("recipient"), "recipient")?;
    let category = str_of(v.get("bounce").and_then(|b| b.get("category"))).unwrap_or("");
    let bounce_type = if HARD_CATEGORIES.iter().any(|c| c.eq_ignore_ascii_case(category)) {
        BounceType::Hard
    } else {
        BounceType::Soft
    };
    // No event id: the e-mail, the recipient and the bounce time identify it.
    let event_id = format!(
        "{}:{email}:{}",
        text_of(v.get("email_id")).unwrap_or_default(),
        text_of(v.get("bounced_at")).unwrap_or_default()
    );
    let headers = v.get("headers");
    Ok(Some(Parsed {
        email,
        bounce_type,
        campaign: campaign_in_object(headers).or_else(|| campaign_in_name_value_list(headers)),
        created_at: time_of(v.get("bounced_at")),
        event_id,
        meta: v.clone(),
        explanation: said("Forward Email", "bounce.category", category, bounce_type),
    }))
}
