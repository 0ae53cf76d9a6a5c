//! Postal (self-hosted); see docs/providers.md, section "Postal".
//!
//! Every POST carries RSA PKCS#1 v1.5 signatures of the raw body:
//! `X-Postal-Signature-256` (SHA-256, preferred) and the legacy
//! `X-Postal-Signature` (SHA-1, used only when the SHA-256 one is absent).
//! The public key (bounce.postal.public_key) may be given as PEM (SPKI or
//! PKCS#1), bare base64 DER, the DNS record (`... p=<base64>`) or Postal's
//! JWKS / JWK JSON. Postal keys may be 1024-bit, so ring's 1024..8192 legacy
//! parameters are used.
//!
//! The body's `timestamp` is signed with it but is the time the event was
//! created: Postal re-sends the same body on its retries (spread over about
//! 36 minutes), so the replay window accepts the tolerance plus one hour of age.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use chrono::{DateTime, Utc};
use rebound_core::settings::PostalProvider;
use rebound_core::{BounceEvent, BounceType};
use ring::signature::{self, RsaParameters, RsaPublicKeyComponents, UnparsedPublicKey};
use serde_json::Value;

use crate::common::{
    KeyKind, Parsed, check_window, decode_b64_sig, header, need_email, parse_json, pem_or_base64, said,
    single, spki_key, str_of, time_of, uuid_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "postal";
pub const SIGNATURE_256_HEADER: &str = "x-postal-signature-256";
pub const SIGNATURE_SHA1_HEADER: &str = "x-postal-signature";
pub const KID_HEADER: &str = "x-postal-signature-kid";
/// Postal retries a webhook for about 36 minutes with the same body.
pub const RETRY_ALLOWANCE: Duration = Duration::from_secs(3600);

pub fn handle(
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    cfg: &PostalProvider,
    tolerance: Duration,
) -> Result<Vec<BounceEvent>, ProviderError> {
    verify(req.headers, req.body, &cfg.public_key)?;
    let v = parse_json(req.body)?;
    if !v.is_object() {
        return Err(ProviderError::bad_request("expected a JSON object"));
    }
    if let Some(ts) = time_of(v.get("timestamp")) {
        check_window(ts, now, tolerance + RETRY_ALLOWANCE, tolerance)?;
    }
    single(SOURCE, parse_event(&v))
}

/// The payload parser alone, after verification and without the replay
/// window (the fuzz entry point).
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    let v = parse_json(body)?;
    if !v.is_object() {
        return Err(ProviderError::bad_request("expected a JSON object"));
    }
    single(SOURCE, parse_event(&v))
}

enum PostalKey {
    /// PKCS#1 RSAPublicKey DER.
    Der(Vec<u8>),
    /// A JWK's modulus and exponent (big-endian bytes).
    Components { n: Vec<u8>, e: Vec<u8> },
}

fn b64url(s: &str) -> Option<Vec<u8>> {
    B64URL.decode(s.trim().trim_end_matches('=')).ok()
}

fn jwk_components(jwk: &Value) -> Option<PostalKey> {
    if str_of(jwk.get("kty")) != Some("RSA") {
        return None;
    }
    Some(PostalKey::Components { n: b64url(str_of(jwk.get("n"))?)?, e: b64url(str_of(jwk.get("e"))?)? })
}

fn parse_key(text: &str, kid: Option<&str>) -> Option<PostalKey> {
    let text = text.trim();
    if text.starts_with('{') {
        let v: Value = serde_json::from_str(text).ok()?;
        return match v.get("keys").and_then(Value::as_array) {
            Some(keys) => keys
                .iter()
                .find(|k| kid.is_some() && str_of(k.get("kid")) == kid)
                .or_else(|| keys.iter().find(|k| str_of(k.get("kty")) == Some("RSA")))
                .and_then(jwk_components),
            None => jwk_components(&v),
        };
    }
    // The DNS TXT record form: "v=DKIM1; t=s; h=sha256; p=<base64>".
    let text = text
        .split(';')
        .find_map(|part| part.trim().strip_prefix("p="))
        .filter(|_| text.contains(';') || text.starts_with("p="))
        .unwrap_or(text);
    let (label, der) = pem_or_base64(text)?;
    if label == "RSA PUBLIC KEY" {
        return Some(PostalKey::Der(der));
    }
    match spki_key(&der) {
        Some((KeyKind::Rsa, key)) => Some(PostalKey::Der(key)),
        Some((KeyKind::Ec, _)) => None,
        // Bare base64 of a PKCS#1 key: ring validates it on use.
        None if label.is_empty() => Some(PostalKey::Der(der)),
        None => None,
    }
}

pub fn verify(headers: &http::HeaderMap, body: &[u8], public_key: &str) -> Result<(), ProviderError> {
    if public_key.trim().is_empty() {
        return Err(ProviderError::unauthorized("no Postal public key configured"));
    }
    let (sig, params): (_, &'static RsaParameters) = if let Some(s) = header(headers, SIGNATURE_256_HEADER) {
        (s, &signature::RSA_PKCS1_1024_8192_SHA256_FOR_LEGACY_USE_ONLY)
    } else if let Some(s) = header(headers, SIGNATURE_SHA1_HEADER) {
        (s, &signature::RSA_PKCS1_1024_8192_SHA1_FOR_LEGACY_USE_ONLY)
    } else {
        return Err(ProviderError::unauthorized("missing X-Postal-Signature-256 header"));
    };
    let sig = decode_b64_sig(sig, "X-Postal-Signature")?;
    let key = parse_key(public_key, header(headers, KID_HEADER))
        .ok_or_else(|| ProviderError::unauthorized("bounce.postal.public_key is not an RSA public key"))?;
    let ok = match &key {
        PostalKey::Der(der) => UnparsedPublicKey::new(params, der).verify(body, &sig).is_ok(),
        PostalKey::Components { n, e } => RsaPublicKeyComponents { n, e }.verify(params, body, &sig).is_ok(),
    };
    if ok { Ok(()) } else { Err(ProviderError::unauthorized("Postal signature does not match")) }
}

fn parse_event(v: &Value) -> Result<Option<Parsed>, String> {
    let payload = v.get("payload");
    let event = str_of(v.get("event")).unwrap_or("");
    let message = match event {
        // HardFail: Postal gave up on the recipient.
        "MessageDeliveryFailed" => payload.and_then(|p| p.get("message")),
        // A DSN received after acceptance: nearly always permanent.
        "MessageBounced" => payload.and_then(|p| p.get("original_message")),
        // MessageDelayed (Postal retries, and reports HardFail when it gives
        // up), MessageSent, MessageHeld, clicks, loads, DNS errors...
        _ => return Ok(None),
    };
    let email = need_email(message.and_then(|m| m.get("to")), "payload.message.to")?;
    let event_id = str_of(v.get("uuid")).ok_or("Postal event without uuid")?.to_string();
    let created_at =
        time_of(payload.and_then(|p| p.get("timestamp"))).or_else(|| time_of(v.get("timestamp")));
    Ok(Some(Parsed {
        email,
        bounce_type: BounceType::Hard,
        // Only the tag (X-Postal-Tag) survives: put the campaign uuid there.
        campaign: str_of(message.and_then(|m| m.get("tag"))).and_then(uuid_of),
        created_at,
        event_id,
        meta: v.clone(),
        explanation: said("Postal", "event", event, BounceType::Hard),
    }))
}
