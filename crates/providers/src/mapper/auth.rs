//! The mapper's authentication: checked over the raw request (headers,
//! query, body bytes) before anything is parsed, in constant time.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rebound_core::mapped::{
    Authentication, Encoding, HmacAlgorithm, MappedProvider, TemplatePart, TimestampCheck, decode_key,
    parse_template,
};
use rebound_core::settings::BasicAuthProvider;
use ring::hmac;

use super::form::{form_pairs, percent_decode, query_param};
use crate::common::{check_basic_or_bearer, check_unix_window, ct_eq, header, parse_unix_seconds};
use crate::{ProviderError, WebhookRequest};

/// Refuses the request unless it carries this provider's credentials or
/// signature (and, with a timestamp check, a fresh timestamp).
pub(crate) fn verify(
    cfg: &MappedProvider,
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), ProviderError> {
    match &cfg.authentication {
        Authentication::Hmac {
            algorithm,
            key,
            key_encoding,
            header: name,
            prefix,
            param,
            encoding,
            signed,
        } => {
            if key.is_empty() {
                return Err(ProviderError::unauthorized(format!("no HMAC key configured for {}", cfg.name)));
            }
            let key = decode_key(key.expose(), *key_encoding)
                .map_err(|e| ProviderError::unauthorized(format!("the configured HMAC key is {e}")))?;
            let value = header_value(req, name, param)?;
            let value = strip_prefix_ci(&value, prefix).ok_or_else(|| {
                ProviderError::unauthorized(format!("{name} does not start with {prefix:?}"))
            })?;
            let sig = decode_sig(value, *encoding, name)?;
            let parts = parse_template(signed).map_err(ProviderError::Unauthorized)?;
            let alg = match algorithm {
                HmacAlgorithm::Sha256 => hmac::HMAC_SHA256,
                HmacAlgorithm::Sha1 => hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY,
                HmacAlgorithm::Sha512 => hmac::HMAC_SHA512,
            };
            let key = hmac::Key::new(alg, &key);
            let mut ctx = hmac::Context::with_key(&key);
            for part in &parts {
                match part {
                    TemplatePart::Text(t) => ctx.update(t.as_bytes()),
                    TemplatePart::Body => ctx.update(req.body),
                    TemplatePart::Url => ctx.update(cfg.url.as_bytes()),
                    TemplatePart::Header(h) => ctx.update(
                        header(req.headers, h)
                            .ok_or_else(|| ProviderError::unauthorized(format!("missing {h} header")))?
                            .as_bytes(),
                    ),
                    TemplatePart::Query(q) => ctx.update(
                        query_param(req.query, q)
                            .ok_or_else(|| {
                                ProviderError::unauthorized(format!("missing query parameter {q}"))
                            })?
                            .as_bytes(),
                    ),
                    TemplatePart::FormSorted => {
                        let mut pairs = form_pairs(req.body);
                        pairs.sort_by(|a, b| a.0.cmp(&b.0));
                        for (k, v) in pairs {
                            ctx.update(k.as_bytes());
                            ctx.update(v.as_bytes());
                        }
                    }
                }
            }
            let tag = ctx.sign();
            // ct_eq hashes both sides first: the length does not leak either.
            if !ct_eq(tag.as_ref(), &sig) {
                return Err(ProviderError::unauthorized(format!("{} signature does not match", cfg.name)));
            }
        }
        Authentication::Basic { username, password } => {
            let creds = BasicAuthProvider {
                enabled: true,
                username: username.clone(),
                password: password.clone(),
                token: Default::default(),
            };
            check_basic_or_bearer(req.headers, &creds, &cfg.name)?;
        }
        Authentication::Bearer { token } => {
            let creds = BasicAuthProvider { enabled: true, token: token.clone(), ..Default::default() };
            check_basic_or_bearer(req.headers, &creds, &cfg.name)?;
        }
        Authentication::Header { header: name, secret } => {
            let got = header(req.headers, name)
                .ok_or_else(|| ProviderError::unauthorized(format!("missing {name} header")))?;
            if secret.is_empty() || !ct_eq(got.as_bytes(), secret.expose().as_bytes()) {
                return Err(ProviderError::unauthorized("wrong credentials"));
            }
        }
        Authentication::Query { parameter, secret } => {
            let got = query_param(req.query, parameter)
                .ok_or_else(|| ProviderError::unauthorized(format!("missing query parameter {parameter}")))?;
            if secret.is_empty() || !ct_eq(got.as_bytes(), secret.expose().as_bytes()) {
                return Err(ProviderError::unauthorized("wrong credentials"));
            }
        }
        Authentication::None { i_understand_anyone_can_post } => {
            if !i_understand_anyone_can_post {
                return Err(ProviderError::unauthorized(format!(
                    "{} has no authentication configured",
                    cfg.name
                )));
            }
        }
    }
    if let Some(ts) = &cfg.timestamp {
        check_timestamp(ts, req, now, tolerance)?;
    }
    Ok(())
}

/// Unix seconds, or milliseconds when implausibly large for seconds.
fn check_timestamp(
    ts: &TimestampCheck,
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<(), ProviderError> {
    let value = header_value(req, &ts.header, &ts.param)?;
    let mut secs = parse_unix_seconds(&value, &ts.header)?;
    if secs.unsigned_abs() > 100_000_000_000 {
        secs /= 1000;
    }
    check_unix_window(secs, now, ts.tolerance.unwrap_or(tolerance))
}

/// The header's value, or the value of its `param` when it is `k=v` pairs.
fn header_value(req: &WebhookRequest<'_>, name: &str, param: &str) -> Result<String, ProviderError> {
    let raw = header(req.headers, name)
        .ok_or_else(|| ProviderError::unauthorized(format!("missing {name} header")))?;
    if param.is_empty() {
        return Ok(raw.to_string());
    }
    let decoded = if raw.contains('%') { percent_decode(raw) } else { raw.to_string() };
    decoded
        .split([';', ','])
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| k.trim() == param)
        .map(|(_, v)| v.trim().to_string())
        .ok_or_else(|| ProviderError::unauthorized(format!("{name} has no {param}=")))
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    if prefix.is_empty() {
        return Some(s);
    }
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| s[prefix.len()..].trim())
}

fn decode_sig(s: &str, enc: Encoding, what: &str) -> Result<Vec<u8>, ProviderError> {
    let s = s.trim();
    let out = match enc {
        Encoding::Hex => hex::decode(s).ok(),
        Encoding::Base64 => {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD].iter().find_map(|e| e.decode(s).ok())
        }
    };
    out.ok_or_else(|| ProviderError::unauthorized(format!("malformed {what}: not {enc:?}").to_lowercase()))
}
