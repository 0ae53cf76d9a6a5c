//! Azure Communication Services e-mail via Event Grid; see docs/providers.md,
//! section "Azure Communication Services (Event Grid)".
//!
//! Event Grid does not sign payloads: the shared secret arrives as the `code`
//! query parameter of the endpoint URL or in a static delivery-attribute
//! header (bounce.azure.shared_secret_header; when empty, listmonk's
//! X-Listmonk-Webhook-Secret). Unlike listmonk, a request is
//! refused when no secret is configured, and the subscription validation
//! handshake is authenticated too.

use rebound_core::BounceType;
use rebound_core::settings::AzureProvider;
use serde_json::{Value, json};

use crate::common::{Parsed, collect_batch, ct_eq, header, need_email, parse_json, said, str_of, time_of};
use crate::{Outcome, ProviderError, WebhookRequest};

pub const SOURCE: &str = "azure";
pub const VALIDATION_EVENT: &str = "Microsoft.EventGrid.SubscriptionValidationEvent";
pub const DELIVERY_REPORT_EVENT: &str = "Microsoft.Communication.EmailDeliveryReportReceived";

/// Returns `Outcome::Reply({"validationResponse": code})` for the Event Grid
/// subscription validation, otherwise the bounces of the (possibly batched) delivery.
pub fn handle(req: &WebhookRequest<'_>, cfg: &AzureProvider) -> Result<Outcome, ProviderError> {
    authenticate(req, cfg)?;
    parse(req.body)
}

/// The payload parser alone, after verification (also the fuzz entry point).
pub fn parse(body: &[u8]) -> Result<Outcome, ProviderError> {
    let v = parse_json(body)?;
    let events: Vec<&Value> = match &v {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![&v],
        _ => return Err(ProviderError::bad_request("expected a JSON array of Event Grid events")),
    };
    if let Some(validation) = events.iter().find(|e| event_type(e) == Some(VALIDATION_EVENT)) {
        let code = str_of(validation.get("data").and_then(|d| d.get("validationCode")))
            .ok_or_else(|| ProviderError::bad_request("validation event without data.validationCode"))?;
        // validationUrl is never fetched: answering synchronously is enough and avoids SSRF.
        return Ok(Outcome::Reply(json!({ "validationResponse": code })));
    }
    Ok(Outcome::Events(collect_batch(SOURCE, events, parse_event)))
}

fn authenticate(req: &WebhookRequest<'_>, cfg: &AzureProvider) -> Result<(), ProviderError> {
    let secret = cfg.shared_secret.expose().as_bytes();
    if secret.is_empty() {
        return Err(ProviderError::unauthorized(
            "no Azure shared secret configured: set bounce.azure.shared_secret",
        ));
    }
    let from_query = req.query.and_then(|q| {
        url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "code").map(|(_, v)| v.into_owned())
    });
    let from_header = header(req.headers, cfg.secret_header());
    if from_query.is_none() && from_header.is_none() {
        return Err(ProviderError::unauthorized(format!(
            "missing shared secret: expected ?code= or the {} header",
            cfg.secret_header()
        )));
    }
    // Both candidates are compared, so timing does not tell which one was tried.
    let q_ok = from_query.as_deref().is_some_and(|q| ct_eq(q.as_bytes(), secret));
    let h_ok = from_header.is_some_and(|h| ct_eq(h.as_bytes(), secret));
    if q_ok | h_ok { Ok(()) } else { Err(ProviderError::unauthorized("wrong shared secret")) }
}

/// True when a status message carries a permanent SMTP failure: an enhanced
/// status code `5.x.x` (RFC 3463) or a reply code `5xx` (RFC 5321 section 4.2.1).
fn looks_permanent(msg: &str) -> bool {
    let b = msg.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let boundary = |i: usize| i == 0 || !b[i - 1].is_ascii_alphanumeric() && b[i - 1] != b'.';
    (0..b.len()).any(|i| {
        if b[i] != b'5' || !boundary(i) {
            return false;
        }
        if b.get(i + 1) == Some(&b'.') && digit(i + 2) {
            // 5.d{1,3}.d{1,3}
            let mut j = i + 2;
            while digit(j) {
                j += 1;
            }
            return b.get(j) == Some(&b'.') && digit(j + 1);
        }
        digit(i + 1)
            && digit(i + 2)
            && !digit(i + 3)
            && b.get(i + 3).is_none_or(|c| !c.is_ascii_alphanumeric())
    })
}

/// The event type in the Event Grid schema (`eventType`) or CloudEvents (`type`).
fn event_type(ev: &Value) -> Option<&str> {
    str_of(ev.get("eventType")).or_else(|| str_of(ev.get("type")))
}

fn parse_event(ev: &Value) -> Result<Option<Parsed>, String> {
    if event_type(ev) != Some(DELIVERY_REPORT_EVENT) {
        return Ok(None);
    }
    let data = ev.get("data").ok_or("delivery report without data")?;
    let details =
        str_of(data.get("deliveryStatusDetails").and_then(|d| d.get("statusMessage"))).unwrap_or("");
    let status = str_of(data.get("status")).unwrap_or("");
    let bounce_type = match status {
        "Delivered" | "Expanded" => return Ok(None),
        "Bounced" | "Suppressed" => BounceType::Hard,
        "Failed" if looks_permanent(details) => BounceType::Hard,
        // Failed, FilteredSpam, Quarantined (the receiver filtering us, not a
        // complaint) and any status Microsoft adds: "anything other than
        // Delivered is considered failed".
        _ => BounceType::Soft,
    };
    let email = need_email(data.get("recipient"), "data.recipient")?;
    let event_id = str_of(ev.get("id")).ok_or("Event Grid event without id")?.to_string();
    let created_at = time_of(data.get("deliveryAttemptTimestamp"))
        .or_else(|| time_of(data.get("deliveryAttemptTimeStamp")))
        .or_else(|| time_of(ev.get("eventTime")))
        .or_else(|| time_of(ev.get("time")));
    Ok(Some(Parsed {
        email,
        bounce_type,
        // ACS does not echo custom headers or metadata.
        campaign: None,
        created_at,
        event_id,
        meta: ev.clone(),
        explanation: if status == "Failed" && bounce_type == BounceType::Hard {
            format!("Azure status Failed, statusMessage permanent → {bounce_type}")
        } else {
            said("Azure", "status", status, bounce_type)
        },
    }))
}

#[cfg(test)]
mod tests {
    use super::looks_permanent;

    #[test]
    fn permanent_codes() {
        assert!(looks_permanent("550 5.1.1 recipient does not exist"));
        assert!(looks_permanent("smtp; 5.7.1 blocked"));
        assert!(looks_permanent("550 mailbox unavailable"));
        assert!(!looks_permanent("451 4.7.1 try again later"));
        assert!(!looks_permanent("timed out after 500ms"));
        assert!(!looks_permanent("version 1.5.0 of thing"));
        assert!(!looks_permanent(""));
    }
}
