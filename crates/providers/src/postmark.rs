//! Postmark; see docs/providers.md, section "Postmark".
//!
//! No signature: HTTP basic credentials embedded in the webhook URL (or a
//! bearer token). Bounce and SpamComplaint records come from transactional
//! streams; Broadcast streams report bounces and complaints only as
//! SubscriptionChange records, which listmonk ignores and rebound records.

use rebound_core::settings::BasicAuthProvider;
use rebound_core::{BounceEvent, BounceType};
use serde_json::Value;

use crate::common::{
    Parsed, campaign_in_object, check_basic_or_bearer, need_email, parse_json, said, single, str_of, text_of,
    time_of,
};
use crate::{ProviderError, WebhookRequest};

pub const SOURCE: &str = "postmark";

pub fn handle(req: &WebhookRequest<'_>, cfg: &BasicAuthProvider) -> Result<Vec<BounceEvent>, ProviderError> {
    check_basic_or_bearer(req.headers, cfg, SOURCE)?;
    parse(req.body)
}

/// The payload parser alone, after verification (also the fuzz entry point).
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    let v = parse_json(body)?;
    if !v.is_object() {
        return Err(ProviderError::bad_request("expected a JSON object"));
    }
    single(SOURCE, parse_record(&v))
}

/// Postmark's bounce `Type` names (their TypeCode in the comment) mapped to a
/// bounce type; `None` means "not a bounce of the address": acknowledge, record nothing.
fn bounce_type_of(name: &str) -> Option<BounceType> {
    match name {
        "HardBounce" | "BadEmailAddress" | "ManuallyDeactivated" => Some(BounceType::Hard),
        "SpamComplaint" => Some(BounceType::Complaint),
        "AutoResponder"
        | "Subscribe"
        | "Unsubscribe"
        | "AddressChange"
        | "OpenRelayTest"
        | "ChallengeVerification"
        | "Unknown"
        | "Unconfirmed"
        | "SMTPApiError"
        | "InboundError"
        | "TemplateRenderingFailed" => None,
        // SoftBounce, Transient, DnsError, SpamNotification, VirusNotification,
        // DMARCPolicy, Blocked, and any type Postmark adds later: recorded as
        // soft rather than answered with an error Postmark would retry.
        _ => Some(BounceType::Soft),
    }
}

fn type_name_of_code(code: i64) -> &'static str {
    match code {
        1 => "HardBounce",
        2 => "Transient",
        16 => "Unsubscribe",
        32 => "Subscribe",
        64 => "AutoResponder",
        128 => "AddressChange",
        256 => "DnsError",
        512 => "SpamNotification",
        1024 => "OpenRelayTest",
        2048 => "Unknown",
        4096 => "SoftBounce",
        8192 => "VirusNotification",
        16384 => "ChallengeVerification",
        100000 => "BadEmailAddress",
        100001 => "SpamComplaint",
        100002 => "ManuallyDeactivated",
        100003 => "Unconfirmed",
        _ => "",
    }
}

fn parse_record(v: &Value) -> Result<Option<Parsed>, String> {
    let record = str_of(v.get("RecordType")).unwrap_or("");
    let (bounce_type, email_field, time_field, field, value) = match record {
        "Bounce" => {
            let name = str_of(v.get("Type"))
                .map(str::to_string)
                .or_else(|| {
                    v.get("TypeCode").and_then(Value::as_i64).map(|c| type_name_of_code(c).to_string())
                })
                .unwrap_or_default();
            match bounce_type_of(&name) {
                Some(t) => (t, "Email", "BouncedAt", "Type", name),
                None => return Ok(None),
            }
        }
        "SpamComplaint" => (BounceType::Complaint, "Email", "BouncedAt", "RecordType", record.to_string()),
        "SubscriptionChange" => {
            // Only a suppression caused by a bounce or a complaint is one;
            // reactivations and manual suppressions (unsubscribes) are not.
            if v.get("SuppressSending").and_then(Value::as_bool) != Some(true) {
                return Ok(None);
            }
            let reason = "SuppressionReason";
            match str_of(v.get(reason)) {
                Some(r @ "HardBounce") => (BounceType::Hard, "Recipient", "ChangedAt", reason, r.to_string()),
                Some(r @ "SpamComplaint") => {
                    (BounceType::Complaint, "Recipient", "ChangedAt", reason, r.to_string())
                }
                _ => return Ok(None),
            }
        }
        // Delivery, Open, Click, Inbound...
        _ => return Ok(None),
    };
    let email = need_email(v.get(email_field), email_field)?;
    let message_id = text_of(v.get("MessageID")).unwrap_or_default();
    let changed = text_of(v.get(time_field)).unwrap_or_default();
    let event_id = match (record, text_of(v.get("ID"))) {
        ("SubscriptionChange", _) => format!("subscription-change:{message_id}:{email}:{changed}:true"),
        (_, Some(id)) => id,
        (_, None) => format!("{message_id}:{email}:{changed}"),
    };
    Ok(Some(Parsed {
        email,
        bounce_type,
        campaign: campaign_in_object(v.get("Metadata")),
        created_at: time_of(v.get(time_field)),
        event_id,
        meta: v.clone(),
        explanation: said("Postmark", field, &value, bounce_type),
    }))
}
