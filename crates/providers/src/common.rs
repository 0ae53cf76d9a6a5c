//! Helpers every adapter shares: constant-time comparison, HTTP basic /
//! bearer credentials, HMAC, the replay window, and the JSON plumbing that
//! turns one provider event into a [`BounceEvent`].

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeZone, Utc};
use rebound_core::settings::BasicAuthProvider;
use rebound_core::{BounceEvent, BounceType, EmailAddress, SubscriberRef};
use ring::{digest, hmac};
use serde_json::Value;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use crate::ProviderError;

/// A header's value as text, trimmed; `None` when absent or not visible ASCII.
pub(crate) fn header<'a>(headers: &'a http::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim).filter(|s| !s.is_empty())
}

pub(crate) fn require_header<'a>(headers: &'a http::HeaderMap, name: &str) -> Result<&'a str, ProviderError> {
    header(headers, name).ok_or_else(|| ProviderError::unauthorized(format!("missing {name} header")))
}

/// Constant-time equality of two secrets of any length: both sides are hashed
/// first, so neither the content nor the length of the expected value leaks.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    let da = digest::digest(&digest::SHA256, a);
    let db = digest::digest(&digest::SHA256, b);
    da.as_ref().ct_eq(db.as_ref()).into()
}

/// HMAC-SHA256 over the concatenation of `parts`.
pub(crate) fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> hmac::Tag {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut ctx = hmac::Context::with_key(&key);
    for p in parts {
        ctx.update(p);
    }
    ctx.sign()
}

/// True when `expected` is the HMAC-SHA256 of `parts` (ring compares in constant time).
pub(crate) fn hmac_sha256_verify(key: &[u8], parts: &[&[u8]], expected: &[u8]) -> bool {
    let tag = hmac_sha256(key, parts);
    tag.as_ref().ct_eq(expected).into()
}

/// Decodes a hex signature (either case); malformed -> Unauthorized.
pub(crate) fn decode_hex_sig(s: &str, what: &str) -> Result<Vec<u8>, ProviderError> {
    hex::decode(s.trim()).map_err(|_| ProviderError::unauthorized(format!("malformed {what}: not hex")))
}

/// Decodes a base64 signature; malformed -> Unauthorized.
pub(crate) fn decode_b64_sig(s: &str, what: &str) -> Result<Vec<u8>, ProviderError> {
    B64.decode(s.trim()).map_err(|_| ProviderError::unauthorized(format!("malformed {what}: not base64")))
}

/// Unix seconds from a signed timestamp header or field.
pub(crate) fn parse_unix_seconds(s: &str, what: &str) -> Result<i64, ProviderError> {
    let s = s.trim();
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    match s.parse::<f64>() {
        Ok(f) if f.is_finite() && f.abs() < 1e13 => Ok(f.trunc() as i64),
        _ => Err(ProviderError::unauthorized(format!("malformed {what}"))),
    }
}

/// The replay window: refuse a signed timestamp more than `past` before
/// `now` or more than `future` after it (clock skew).
pub(crate) fn check_window(
    ts: DateTime<Utc>,
    now: DateTime<Utc>,
    past: Duration,
    future: Duration,
) -> Result<(), ProviderError> {
    let age = now.signed_duration_since(ts);
    let too_old = age.to_std().map(|a| a > past).unwrap_or(false);
    let too_new = (-age).to_std().map(|a| a > future).unwrap_or(false);
    if too_old || too_new {
        return Err(ProviderError::unauthorized(format!(
            "timestamp {} is outside the accepted window",
            ts.to_rfc3339()
        )));
    }
    Ok(())
}

/// The symmetric window of the header-timestamped schemes (SendGrid, Svix, Lettermint, Mailgun).
pub(crate) fn check_unix_window(
    ts: i64,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), ProviderError> {
    let t = Utc
        .timestamp_opt(ts, 0)
        .single()
        .ok_or_else(|| ProviderError::unauthorized("timestamp out of range"))?;
    check_window(t, now, tolerance, tolerance)
}

/// Authenticates providers that only offer credentials in the webhook URL
/// (HTTP basic) or a configured bearer token (Postmark, Brevo, Mailjet,
/// SparkPost). With nothing configured every request is refused: an enabled
/// provider without credentials would accept forged bounces from anyone.
pub(crate) fn check_basic_or_bearer(
    headers: &http::HeaderMap,
    cfg: &BasicAuthProvider,
    provider: &str,
) -> Result<(), ProviderError> {
    // A password is required for basic auth: "user:" alone is no secret.
    let basic_configured = !cfg.password.is_empty();
    let bearer_configured = !cfg.token.is_empty();
    if !basic_configured && !bearer_configured {
        return Err(ProviderError::unauthorized(format!(
            "no credentials configured for {provider}: set a password (and username) or a token"
        )));
    }
    let auth = header(headers, "authorization")
        .ok_or_else(|| ProviderError::unauthorized("missing Authorization header"))?;
    let (scheme, rest) = auth.split_once(' ').unwrap_or((auth, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") && basic_configured {
        let decoded =
            B64.decode(rest).map_err(|_| ProviderError::unauthorized("malformed basic credentials"))?;
        let (user, pass) = match decoded.iter().position(|&b| b == b':') {
            Some(i) => (&decoded[..i], &decoded[i + 1..]),
            None => return Err(ProviderError::unauthorized("malformed basic credentials")),
        };
        // Both halves are compared every time (`&`, not `&&`), so the timing
        // does not tell whether the user name was right.
        let ok = ct_eq(user, cfg.username.as_bytes()) & ct_eq(pass, cfg.password.expose().as_bytes());
        return if ok { Ok(()) } else { Err(ProviderError::unauthorized("wrong credentials")) };
    }
    if scheme.eq_ignore_ascii_case("bearer") && bearer_configured {
        return if ct_eq(rest.as_bytes(), cfg.token.expose().as_bytes()) {
            Ok(())
        } else {
            Err(ProviderError::unauthorized("wrong credentials"))
        };
    }
    Err(ProviderError::unauthorized(format!("unsupported Authorization scheme {scheme:?}")))
}

/// Parses the body as JSON after it was authenticated; malformed -> 400.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, ProviderError> {
    serde_json::from_slice(body).map_err(|e| ProviderError::bad_request(format!("malformed JSON: {e}")))
}

/// The string at `v`, if it is a non-empty string.
pub(crate) fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str).map(str::trim).filter(|s| !s.is_empty())
}

/// A scalar as text (ids arrive as numbers or strings).
pub(crate) fn text_of(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A recipient address, lower-cased; `None` if missing or not an address.
/// Accepts `Name <addr>` as well as a bare address.
pub(crate) fn email_of(v: Option<&Value>) -> Option<EmailAddress> {
    let s = str_of(v)?;
    let addr = match (s.rfind('<'), s.rfind('>')) {
        (Some(a), Some(b)) if a < b => &s[a + 1..b],
        _ => s,
    };
    EmailAddress::parse(addr).ok()
}

/// A campaign uuid from free text; an invalid uuid is ignored, not an error.
pub(crate) fn uuid_of(s: &str) -> Option<Uuid> {
    Uuid::parse_str(s.trim()).ok()
}

/// True for the key names providers echo the campaign under:
/// `listmonk_campaign`, `X-Listmonk-Campaign`, `XListmonkCampaign`, any case.
fn is_campaign_key(k: &str) -> bool {
    let norm: String = k.chars().filter(|c| *c != '-' && *c != '_').map(|c| c.to_ascii_lowercase()).collect();
    norm == "listmonkcampaign" || norm == "xlistmonkcampaign"
}

/// The campaign uuid in a metadata object (Postmark `Metadata`, Mailgun
/// `user-variables`, SparkPost `rcpt_meta`, SendGrid top-level custom args,
/// SES event tags whose values are arrays).
pub(crate) fn campaign_in_object(v: Option<&Value>) -> Option<Uuid> {
    let obj = v?.as_object()?;
    obj.iter().filter(|(k, _)| is_campaign_key(k)).find_map(|(_, v)| match v {
        Value::String(s) => uuid_of(s),
        Value::Array(a) => a.iter().filter_map(Value::as_str).find_map(uuid_of),
        _ => None,
    })
}

/// The campaign uuid in free text a provider echoes (Brevo `X-Mailin-custom`,
/// Mailjet `CustomID` / `Payload`): a bare uuid, a JSON object, or
/// `key=value` pairs separated by `;`, `&`, `,` or whitespace.
pub(crate) fn campaign_in_text(v: Option<&Value>) -> Option<Uuid> {
    let s = str_of(v)?;
    if let Some(u) = uuid_of(s) {
        return Some(u);
    }
    if s.starts_with('{') {
        let obj: Value = serde_json::from_str(s).ok()?;
        return campaign_in_object(Some(&obj));
    }
    s.split(|c: char| c == ';' || c == '&' || c == ',' || c.is_whitespace()).find_map(|pair| {
        let (k, v) = pair.split_once('=').or_else(|| pair.split_once(':'))?;
        if is_campaign_key(k.trim()) { uuid_of(v) } else { None }
    })
}

/// The campaign uuid in a `[{"name": ..., "value": ...}]` list (SES mail
/// headers, Resend tags and headers).
pub(crate) fn campaign_in_name_value_list(v: Option<&Value>) -> Option<Uuid> {
    v?.as_array()?.iter().find_map(|h| {
        let name = str_of(h.get("name"))?;
        if is_campaign_key(name) { str_of(h.get("value")).and_then(uuid_of) } else { None }
    })
}

/// A bounce time from a payload: unix seconds (integer, float or numeric
/// string; milliseconds when implausibly large) or RFC 3339.
pub(crate) fn time_of(v: Option<&Value>) -> Option<DateTime<Utc>> {
    match v? {
        Value::Number(n) => unix_time(&n.to_string()),
        Value::String(s) => {
            let s = s.trim();
            unix_time(s).or_else(|| DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc)))
        }
        _ => None,
    }
}

/// Unix time from its decimal text, exactly (no float rounding of the
/// fraction). Values above 10^11 are milliseconds (Brevo's `ts_epoch`).
fn unix_time(s: &str) -> Option<DateTime<Utc>> {
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    if whole == 0 {
        return None;
    }
    let mut digits: String = frac.chars().take(9).collect();
    while digits.len() < 9 {
        digits.push('0');
    }
    let frac_nanos: i64 = digits.parse().ok()?;
    if whole > 100_000_000_000 {
        // milliseconds: the fraction is of a millisecond
        let nanos = (whole % 1000) * 1_000_000 + frac_nanos / 1000;
        Utc.timestamp_opt(whole / 1000, nanos as u32).single()
    } else {
        Utc.timestamp_opt(whole, frac_nanos as u32).single()
    }
}

/// The kinds of public key the adapters accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    Rsa,
    Ec,
}

/// The key bytes ring wants from a DER SubjectPublicKeyInfo: the PKCS#1
/// `RSAPublicKey` for RSA, the uncompressed point for EC.
pub(crate) fn spki_key(der: &[u8]) -> Option<(KeyKind, Vec<u8>)> {
    use x509_parser::oid_registry::{OID_KEY_TYPE_EC_PUBLIC_KEY, OID_PKCS1_RSAENCRYPTION};
    use x509_parser::prelude::FromDer;
    use x509_parser::x509::SubjectPublicKeyInfo;
    let (rest, spki) = SubjectPublicKeyInfo::from_der(der).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let key = spki.subject_public_key.data.to_vec();
    if spki.algorithm.algorithm == OID_PKCS1_RSAENCRYPTION {
        Some((KeyKind::Rsa, key))
    } else if spki.algorithm.algorithm == OID_KEY_TYPE_EC_PUBLIC_KEY {
        Some((KeyKind::Ec, key))
    } else {
        None
    }
}

/// DER bytes from a PEM block or from bare base64 (whitespace ignored).
/// Returns the PEM label too (`PUBLIC KEY`, `RSA PUBLIC KEY`, `CERTIFICATE`), empty for bare base64.
pub(crate) fn pem_or_base64(text: &str) -> Option<(String, Vec<u8>)> {
    let text = text.trim();
    if text.starts_with("-----BEGIN") {
        let (_, pem) = x509_parser::pem::parse_x509_pem(text.as_bytes()).ok()?;
        return Some((pem.label, pem.contents));
    }
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(compact).ok().map(|der| (String::new(), der))
}

/// Everything one recorded event needs besides the source.
pub(crate) struct Parsed {
    pub email: EmailAddress,
    pub bounce_type: BounceType,
    pub campaign: Option<Uuid>,
    pub created_at: Option<DateTime<Utc>>,
    pub event_id: String,
    pub meta: Value,
    /// What the provider said that decided the type ([`said`]), kept as
    /// `meta.explanation` like a mailbox bounce's parser verdict.
    pub explanation: String,
}

/// "Mailgun severity permanent → hard": the provider's field and value that
/// decided the type.
pub(crate) fn said(provider: &str, field: &str, value: &str, t: BounceType) -> String {
    let value = if value.is_empty() { "(none)" } else { value };
    format!("{provider} {field} {value} → {t}")
}

impl Parsed {
    pub fn into_event(self, source: &str) -> BounceEvent {
        let mut e = BounceEvent::new(SubscriberRef::by_email(self.email), self.bounce_type, source);
        e.campaign_uuid = self.campaign;
        e.created_at = self.created_at;
        e.event_id = Some(self.event_id);
        let mut meta =
            if self.meta.is_object() { self.meta } else { serde_json::json!({ "event": self.meta }) };
        if let Some(m) = meta.as_object_mut() {
            m.insert("explanation".into(), Value::String(self.explanation));
        }
        e.meta = meta;
        e
    }
}

/// Runs `parse` over every event of a batch. An event that cannot be recorded
/// (no recipient, not an object) is logged and skipped: failing the whole
/// batch would make the provider retry every good event in it for hours.
pub(crate) fn collect_batch<'a>(
    source: &str,
    items: impl IntoIterator<Item = &'a Value>,
    parse: impl Fn(&'a Value) -> Result<Option<Parsed>, String>,
) -> Vec<BounceEvent> {
    let mut out = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match parse(item) {
            Ok(Some(p)) => out.push(p.into_event(source)),
            Ok(None) => {}
            Err(why) => tracing::warn!(provider = source, index = i, "skipping batch event: {why}"),
        }
    }
    out
}

/// The same for one-event providers: a bounce that cannot be recorded is a 400.
pub(crate) fn single(
    source: &str,
    parsed: Result<Option<Parsed>, String>,
) -> Result<Vec<BounceEvent>, ProviderError> {
    match parsed {
        Ok(Some(p)) => Ok(vec![p.into_event(source)]),
        Ok(None) => Ok(Vec::new()),
        Err(why) => Err(ProviderError::BadRequest(why)),
    }
}

/// A required recipient for an event that is a bounce.
pub(crate) fn need_email(v: Option<&Value>, field: &str) -> Result<EmailAddress, String> {
    email_of(v).ok_or_else(|| format!("bounce event without a valid recipient in {field}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ct_eq_works_for_any_length() {
        assert!(ct_eq(b"secret", b"secret"));
        assert!(!ct_eq(b"secret", b"secreT"));
        assert!(!ct_eq(b"secret", b"secret-longer"));
        assert!(!ct_eq(b"", b"x"));
    }

    #[test]
    fn times_in_every_shape() {
        let t = Utc.with_ymd_and_hms(2026, 1, 5, 10, 15, 30).unwrap();
        assert_eq!(time_of(Some(&json!(1767608130))), Some(t));
        assert_eq!(time_of(Some(&json!("1767608130"))), Some(t));
        assert_eq!(time_of(Some(&json!(1767608130000u64))), Some(t));
        assert_eq!(time_of(Some(&json!("2026-01-05T10:15:30Z"))), Some(t));
        assert_eq!(time_of(Some(&json!("2026-01-05T10:15:30.0000000Z"))), Some(t));
        let f = time_of(Some(&json!(1767608130.5))).unwrap();
        assert_eq!(f.timestamp_subsec_millis(), 500);
        // Exact fractions, no float rounding (Mailgun, Postal, Brevo ms).
        assert_eq!(time_of(Some(&json!(1767225599.57))).unwrap().timestamp_millis(), 1767225599570);
        assert_eq!(time_of(Some(&json!(1767608130123u64))).unwrap().timestamp_millis(), 1767608130123);
        assert_eq!(time_of(Some(&json!(-5))), None);
        assert_eq!(time_of(Some(&json!("yesterday"))), None);
        assert_eq!(time_of(None), None);
    }

    #[test]
    fn campaign_keys() {
        let u = "5b7e3c7a-1f2d-4c88-9f0e-2a6d1b3c4d5e";
        for k in ["listmonk_campaign", "X-Listmonk-Campaign", "XListmonkCampaign", "x-listmonk-campaign"] {
            assert_eq!(campaign_in_object(Some(&json!({ k: u }))).unwrap().to_string(), u);
        }
        assert_eq!(campaign_in_object(Some(&json!({"listmonk_campaign": "nope"}))), None);
        assert_eq!(campaign_in_object(Some(&json!({"listmonk_campaign": [u]}))).unwrap().to_string(), u);
        assert_eq!(
            campaign_in_name_value_list(Some(&json!([{"name": "x-listmonk-campaign", "value": u}])))
                .unwrap()
                .to_string(),
            u
        );
    }

    #[test]
    fn window_is_symmetric() {
        let now = Utc.with_ymd_and_hms(2026, 1, 5, 10, 0, 0).unwrap();
        let tol = Duration::from_secs(300);
        assert!(check_unix_window(now.timestamp() - 300, now, tol).is_ok());
        assert!(check_unix_window(now.timestamp() - 301, now, tol).is_err());
        assert!(check_unix_window(now.timestamp() + 300, now, tol).is_ok());
        assert!(check_unix_window(now.timestamp() + 301, now, tol).is_err());
    }
}
