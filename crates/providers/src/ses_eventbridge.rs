//! Amazon SES event destinations through EventBridge; see docs/providers.md,
//! section "Amazon SES through EventBridge".
//!
//! An EventBridge rule on the default bus (`source` `aws.ses`) with an API
//! destination targets this URL. EventBridge signs nothing: the API
//! destination's connection sends an API key in a header (`header`: `key`),
//! compared in constant time before the body is parsed. The event's
//! `detail` is the SES event-publishing record the SNS adapter reads, so
//! both read a bounce alike, and both record it under the source `ses` with
//! the same event id (feedbackId:recipient): a bounce that reaches rebound
//! both ways counts once.

use chrono::{DateTime, Utc};
use rebound_core::BounceEvent;
use rebound_core::settings::HeaderKeyProvider;
use serde_json::Value;

use crate::common::{ct_eq, header, parse_json, str_of, text_of};
use crate::{ProviderError, WebhookRequest};

pub fn handle(req: &WebhookRequest<'_>, cfg: &HeaderKeyProvider) -> Result<Vec<BounceEvent>, ProviderError> {
    let name = cfg.header_name();
    if cfg.key.is_empty() {
        return Err(ProviderError::unauthorized("no API key configured for ses_eventbridge"));
    }
    let got = header(req.headers, name)
        .ok_or_else(|| ProviderError::unauthorized(format!("missing {name} header")))?;
    if !ct_eq(got.as_bytes(), cfg.key.expose().as_bytes()) {
        return Err(ProviderError::unauthorized("wrong credentials"));
    }
    parse(req.body)
}

/// The parser alone, after verification (also the fuzz entry point). One
/// EventBridge event, or an array of them.
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    let v = parse_json(body)?;
    match &v {
        Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                match one(item) {
                    Ok(mut e) => out.append(&mut e),
                    Err(e) => tracing::warn!("skipping EventBridge event: {e}"),
                }
            }
            Ok(out)
        }
        Value::Object(_) => one(&v),
        _ => Err(ProviderError::bad_request("expected an EventBridge event object")),
    }
}

fn one(v: &Value) -> Result<Vec<BounceEvent>, ProviderError> {
    // Other sources on the same bus (a rule matching too much) are not SES's.
    if str_of(v.get("source")) != Some("aws.ses") {
        return Ok(Vec::new());
    }
    let detail = v
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or_else(|| ProviderError::bad_request("EventBridge event without a detail object"))?;
    let time = str_of(v.get("time"))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let id = text_of(v.get("id"));
    crate::ses::ses_event(detail, time, id.as_deref())
}
