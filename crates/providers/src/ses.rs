//! Amazon SES notifications delivered by SNS; see docs/providers.md, section "Amazon SES (via SNS)".
//!
//! The SNS message is verified before anything in it is trusted:
//! 1. `SignatureVersion` 1 is SHA1withRSA and 2 is SHA256withRSA (PKCS#1 v1.5);
//!    anything else is refused.
//! 2. `SigningCertURL` must be https on `sns.<region>.amazonaws.com[.cn]` of
//!    a real AWS region (see `aws_regions`), path
//!    `/SimpleNotificationService-<alnum>.pem`, with no user info, port, query
//!    or fragment; checked *before* any fetch. The certificate fetched must
//!    name SNS (subject CN or DNS alternative name, as AWS names them).
//! 3. `TopicArn` must be in bounce.ses_topic_arns (the signature proves AWS
//!    sent it, not that it is your topic: any AWS account can subscribe this
//!    URL to a topic of its own and publish genuinely signed bounces). While
//!    the list is empty every SNS message is refused with 403, confirmations
//!    too, before anything is fetched.
//! 4. `Timestamp` may be at most the tolerance plus one hour old (SNS retries
//!    the same message for up to an hour) and at most the tolerance ahead.
//! 5. The string to sign is built by `Type`, not from whichever fields exist.
//!
//! A SubscriptionConfirmation is confirmed by a GET of its SubscribeURL, only
//! when that URL is https on an SNS host; an UnsubscribeConfirmation is logged
//! and never re-subscribed. Certificates are cached by URL (bounded, TTL).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use rebound_core::{BounceEvent, BounceType, EmailAddress};
use ring::signature::{self, RsaParameters, UnparsedPublicKey};
use serde_json::{Value, json};
use url::Url;

use crate::aws_regions::SnsHost;
use crate::common::{
    KeyKind, Parsed, campaign_in_name_value_list, campaign_in_object, check_window, decode_b64_sig, email_of,
    header, said, spki_key, str_of, text_of, time_of,
};
use crate::{HttpFetch, Outcome, ProviderError, WebhookRequest};

pub const SOURCE: &str = "ses";
pub const MESSAGE_TYPE_HEADER: &str = "x-amz-sns-message-type";
/// SNS retries an HTTP delivery for at most 3600 s, always with the same message.
pub const RETRY_ALLOWANCE: Duration = Duration::from_secs(3600);

/// What [`handle`] needs besides the request: the fetcher and the certificate cache.
pub struct Context<'a> {
    pub fetch: &'a dyn HttpFetch,
    pub certs: &'a CertCache,
}

/// The SNS envelope. Every field is optional here so that a missing one is
/// reported as what it is (unsigned, malformed) rather than as a serde error.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Envelope {
    #[serde(rename = "Type")]
    kind: Option<String>,
    message_id: Option<String>,
    topic_arn: Option<String>,
    message: Option<String>,
    timestamp: Option<String>,
    subject: Option<String>,
    #[serde(rename = "SubscribeURL")]
    subscribe_url: Option<String>,
    token: Option<String>,
    signature_version: Option<String>,
    signature: Option<String>,
    #[serde(rename = "SigningCertURL")]
    signing_cert_url: Option<String>,
}

/// `handle` for SES: verify, then confirm, log or parse.
pub async fn handle(
    ctx: &Context<'_>,
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    allowed_topics: &[String],
    tolerance: Duration,
) -> Result<Outcome, ProviderError> {
    if let Some(problem) = topics_problem(allowed_topics) {
        return Err(ProviderError::Forbidden(problem.into()));
    }
    // The signature lives inside the JSON, so the envelope is parsed first.
    let env: Envelope = serde_json::from_slice(req.body)
        .map_err(|e| ProviderError::bad_request(format!("malformed SNS message: {e}")))?;
    let kind = env.kind.as_deref().ok_or_else(|| ProviderError::bad_request("SNS message without Type"))?;
    if let Some(h) = header(req.headers, MESSAGE_TYPE_HEADER)
        && h != kind
    {
        return Err(ProviderError::unauthorized(format!(
            "{MESSAGE_TYPE_HEADER} {h:?} differs from the signed Type"
        )));
    }
    let signed = string_to_sign(&env)?;
    let params: &'static RsaParameters = match env.signature_version.as_deref() {
        Some("1") => &signature::RSA_PKCS1_2048_8192_SHA1_FOR_LEGACY_USE_ONLY,
        Some("2") => &signature::RSA_PKCS1_2048_8192_SHA256,
        Some(v) => return Err(ProviderError::unauthorized(format!("unsupported SignatureVersion {v:?}"))),
        None => return Err(ProviderError::unauthorized("missing SignatureVersion")),
    };
    let sig = decode_b64_sig(
        env.signature.as_deref().ok_or_else(|| ProviderError::unauthorized("missing Signature"))?,
        "Signature",
    )?;
    let cert_url = env
        .signing_cert_url
        .as_deref()
        .ok_or_else(|| ProviderError::unauthorized("missing SigningCertURL"))?;
    let cert_url = signing_cert_url(cert_url)?;
    let topic = env.topic_arn.as_deref().unwrap_or_default();
    if !allowed_topics.iter().any(|t| t.trim() == topic) {
        return Err(ProviderError::unauthorized(format!(
            "TopicArn {topic:?} is not in bounce.ses_topic_arns"
        )));
    }
    let ts = env.timestamp.as_deref().and_then(|t| DateTime::parse_from_rfc3339(t).ok());
    let ts = ts.ok_or_else(|| ProviderError::unauthorized("missing or malformed Timestamp"))?;
    check_window(ts.with_timezone(&Utc), now, tolerance + RETRY_ALLOWANCE, tolerance)?;

    // Refuse a foreign SubscribeURL before any fetch at all.
    let confirm_url = match kind {
        "SubscriptionConfirmation" => Some(subscribe_url(env.subscribe_url.as_deref().unwrap_or_default())?),
        _ => None,
    };

    let key = ctx.certs.key_for(ctx.fetch, &cert_url, now).await?;
    UnparsedPublicKey::new(params, key.as_slice())
        .verify(signed.as_bytes(), &sig)
        .map_err(|_| ProviderError::unauthorized("SNS signature does not match"))?;

    match kind {
        "SubscriptionConfirmation" => {
            let url = confirm_url.ok_or_else(|| ProviderError::unauthorized("missing SubscribeURL"))?;
            ctx.fetch
                .get(&url)
                .await
                .map_err(|e| ProviderError::Upstream(format!("SNS subscription confirmation failed: {e}")))?;
            tracing::info!(topic_arn = topic, "SNS subscription confirmed");
            Ok(Outcome::Reply(json!({ "confirmed": true, "topic_arn": topic })))
        }
        "UnsubscribeConfirmation" => {
            // Informational: never follow SubscribeURL here (listmonk re-subscribed).
            tracing::warn!(topic_arn = topic, "SNS subscription removed (UnsubscribeConfirmation)");
            Ok(Outcome::Reply(json!({ "unsubscribed": true, "topic_arn": topic })))
        }
        _ => notification(&env).map(Outcome::Events),
    }
}

/// Why SES refuses everything with these settings, if it does: with no
/// topic allowed, a notice signed by AWS could come from anyone's topic.
pub fn topics_problem(allowed_topics: &[String]) -> Option<&'static str> {
    allowed_topics.iter().all(|t| t.trim().is_empty()).then_some(
        "SES is enabled but no topic ARN is allowed (bounce.ses_topic_arns is empty): every notification \
         and subscription confirmation is refused. Add the ARN of your SNS topic.",
    )
}

/// The SNS envelope and SES notification parsers alone, without the
/// signature check or any fetch (the fuzz entry point): the events of a
/// Notification, nothing for the other message types.
pub fn parse(body: &[u8]) -> Result<Vec<BounceEvent>, ProviderError> {
    let env: Envelope = serde_json::from_slice(body)
        .map_err(|e| ProviderError::bad_request(format!("malformed SNS message: {e}")))?;
    let _ = string_to_sign(&env);
    match env.kind.as_deref() {
        Some("Notification") => notification(&env),
        _ => Ok(Vec::new()),
    }
}

/// The canonical string SNS signs: `Name\nvalue\n` pairs in byte order of
/// the names, the set chosen by `Type` (optional `Subject` only when present).
fn string_to_sign(env: &Envelope) -> Result<String, ProviderError> {
    let kind = env.kind.as_deref().unwrap_or_default();
    let names: &[&str] = match kind {
        "Notification" => &["Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"],
        "SubscriptionConfirmation" | "UnsubscribeConfirmation" => {
            &["Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"]
        }
        other => return Err(ProviderError::unauthorized(format!("unknown SNS message Type {other:?}"))),
    };
    let mut out = String::new();
    for name in names {
        let value = match *name {
            "Message" => env.message.as_deref(),
            "MessageId" => env.message_id.as_deref(),
            "Subject" => match env.subject.as_deref() {
                None => continue,
                s => s,
            },
            "SubscribeURL" => env.subscribe_url.as_deref(),
            "Timestamp" => env.timestamp.as_deref(),
            "Token" => env.token.as_deref(),
            "TopicArn" => env.topic_arn.as_deref(),
            _ => env.kind.as_deref(),
        };
        let value =
            value.ok_or_else(|| ProviderError::unauthorized(format!("signed field {name} is missing")))?;
        out.push_str(name);
        out.push('\n');
        out.push_str(value);
        out.push('\n');
    }
    Ok(out)
}

/// `sns.<region>.amazonaws.com` or `sns.<region>.amazonaws.com.cn`, for a
/// real region of that partition.
pub fn is_sns_host(host: &str) -> bool {
    SnsHost::parse(host).is_some()
}

/// https on an SNS host, no user info, no port, no fragment.
fn sns_url(raw: &str, what: &str) -> Result<Url, ProviderError> {
    let url = Url::parse(raw).map_err(|_| ProviderError::unauthorized(format!("malformed {what}")))?;
    let host_ok = url.host_str().is_some_and(is_sns_host) && matches!(url.host(), Some(url::Host::Domain(_)));
    if url.scheme() != "https"
        || !host_ok
        || !url.username().is_empty()
        || url.password().is_some()
        || url.port().is_some()
        || url.fragment().is_some()
    {
        return Err(ProviderError::unauthorized(format!(
            "{what} refused: it must be https on sns.<region>.amazonaws.com[.cn]"
        )));
    }
    Ok(url)
}

/// Validates SigningCertURL: an SNS host and `/SimpleNotificationService-<alnum>.pem`, no query.
pub fn signing_cert_url(raw: &str) -> Result<Url, ProviderError> {
    let url = sns_url(raw, "SigningCertURL")?;
    let path_ok = url
        .path()
        .strip_prefix("/SimpleNotificationService-")
        .and_then(|p| p.strip_suffix(".pem"))
        .is_some_and(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric()));
    if !path_ok || url.query().is_some() {
        return Err(ProviderError::unauthorized(
            "SigningCertURL refused: path must be /SimpleNotificationService-<id>.pem with no query",
        ));
    }
    Ok(url)
}

/// Validates SubscribeURL: an SNS host and `Action=ConfirmSubscription`.
pub fn subscribe_url(raw: &str) -> Result<Url, ProviderError> {
    let url = sns_url(raw, "SubscribeURL")?;
    if !url.query_pairs().any(|(k, v)| k == "Action" && v == "ConfirmSubscription") {
        return Err(ProviderError::unauthorized("SubscribeURL refused: not a ConfirmSubscription action"));
    }
    Ok(url)
}

/// The SES notification inside a verified SNS Notification.
fn notification(env: &Envelope) -> Result<Vec<BounceEvent>, ProviderError> {
    let raw = env.message.as_deref().unwrap_or_default();
    let Ok(msg) = serde_json::from_str::<Value>(raw) else {
        // SES publishes plain-text test messages when a topic is set up.
        tracing::info!("SNS notification whose Message is not JSON: acknowledged, nothing recorded");
        return Ok(Vec::new());
    };
    let fallback_time = env
        .timestamp
        .as_deref()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    ses_event(&msg, fallback_time, env.message_id.as_deref())
}

/// One SES notification or event-publishing record (SNS's `Message`,
/// EventBridge's `detail`) to its events: one per recipient. `fallback_id`
/// (the SNS MessageId, the EventBridge event id) stands in for a missing feedbackId.
pub(crate) fn ses_event(
    msg: &Value,
    fallback_time: Option<DateTime<Utc>>,
    fallback_id: Option<&str>,
) -> Result<Vec<BounceEvent>, ProviderError> {
    let kind = str_of(msg.get("notificationType")).or_else(|| str_of(msg.get("eventType"))).unwrap_or("");
    let (section, list, default_type) = match kind {
        "Bounce" => ("bounce", "bouncedRecipients", None),
        "Complaint" => ("complaint", "complainedRecipients", Some(BounceType::Complaint)),
        // Delivery, Send, Reject, Open, Click, DeliveryDelay, Subscription, AmazonSnsSubscriptionSucceeded...
        _ => return Ok(Vec::new()),
    };
    let detail = msg.get(section).filter(|d| d.is_object()).ok_or_else(|| {
        ProviderError::bad_request(format!("{kind} notification without a {section} object"))
    })?;
    let recipients = detail
        .get(list)
        .and_then(Value::as_array)
        .ok_or_else(|| ProviderError::bad_request(format!("{section}.{list} is missing")))?;
    let recipient_kind = match default_type {
        Some(_) => Kind::Complaint,
        None => Kind::Bounce(
            str_of(detail.get("bounceType")).unwrap_or_default(),
            str_of(detail.get("bounceSubType")).unwrap_or_default(),
        ),
    };
    let mail = msg.get("mail");
    let campaign = mail.and_then(|m| {
        campaign_in_name_value_list(m.get("headers")).or_else(|| campaign_in_object(m.get("tags")))
    });
    let created_at = time_of(detail.get("timestamp")).or(fallback_time);
    let id_base =
        text_of(detail.get("feedbackId")).or_else(|| fallback_id.map(str::to_string)).unwrap_or_default();
    let mut out = Vec::new();
    for r in recipients {
        let Some(email) = email_of(r.get("emailAddress")) else {
            tracing::warn!("SES {section} recipient without a valid emailAddress: skipped");
            continue;
        };
        out.push(recipient_event(email, recipient_kind, r, campaign, created_at, &id_base, msg));
    }
    if out.is_empty() {
        return Err(ProviderError::bad_request(format!("{section}.{list} has no valid address")));
    }
    Ok(out)
}

/// A Complaint, or a Bounce with its bounceType and bounceSubType.
#[derive(Clone, Copy)]
enum Kind<'a> {
    Complaint,
    Bounce(&'a str, &'a str),
}

/// A complaint's recipient is a complaint; a bounced recipient is typed by
/// the one SES reader the bounce mailbox uses too (`rebound_dsn::ses`),
/// and its reason goes into `meta.reason` as a mailbox bounce's does.
fn recipient_event(
    email: EmailAddress,
    kind: Kind<'_>,
    recipient: &Value,
    campaign: Option<uuid::Uuid>,
    created_at: Option<DateTime<Utc>>,
    id_base: &str,
    msg: &Value,
) -> BounceEvent {
    let mut meta = msg.clone();
    let mut explanation = said("SES", "notificationType", "Complaint", BounceType::Complaint);
    let bounce_type = match kind {
        Kind::Complaint => BounceType::Complaint,
        Kind::Bounce(bounce_type, bounce_sub_type) => {
            let v = rebound_dsn::ses::verdict(
                bounce_type,
                bounce_sub_type,
                str_of(recipient.get("status")),
                str_of(recipient.get("diagnosticCode")),
            );
            if let Some(m) = meta.as_object_mut() {
                m.insert("reason".into(), json!(v.reason.as_str()));
            }
            explanation = v.explanation.summary;
            v.bounce_type
        }
    };
    let event_id = format!("{id_base}:{email}");
    Parsed { email, bounce_type, campaign, created_at, event_id, meta, explanation }.into_event(SOURCE)
}

/// Public keys of SNS signing certificates, by certificate URL.
#[derive(Debug, Default)]
pub struct CertCache {
    entries: Mutex<HashMap<String, CachedCert>>,
}

#[derive(Debug, Clone)]
struct CachedCert {
    /// PKCS#1 RSAPublicKey DER.
    key: Arc<Vec<u8>>,
    not_before: DateTime<Utc>,
    not_after: DateTime<Utc>,
    fetched_at: DateTime<Utc>,
}

impl CertCache {
    pub const MAX_ENTRIES: usize = 32;
    pub const TTL: Duration = Duration::from_secs(24 * 3600);

    /// The RSA key of the certificate at `url`, fetched on a miss or after the TTL.
    async fn key_for(
        &self,
        fetch: &dyn HttpFetch,
        url: &Url,
        now: DateTime<Utc>,
    ) -> Result<Arc<Vec<u8>>, ProviderError> {
        let ttl = TimeDelta::from_std(Self::TTL).unwrap_or(TimeDelta::MAX);
        let cached = {
            let map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
            map.get(url.as_str()).filter(|c| now.signed_duration_since(c.fetched_at) < ttl).cloned()
        };
        let cert = match cached {
            Some(c) => c,
            None => {
                let pem = fetch.get(url).await.map_err(|e| {
                    ProviderError::Upstream(format!("fetching the SNS signing certificate: {e}"))
                })?;
                let cert = parse_cert(&pem, url, now)?;
                let mut map = self.entries.lock().unwrap_or_else(|p| p.into_inner());
                if map.len() >= Self::MAX_ENTRIES && !map.contains_key(url.as_str()) {
                    // Evict the oldest: SNS uses a handful of certificates at a time.
                    if let Some(oldest) = map.iter().min_by_key(|(_, c)| c.fetched_at).map(|(k, _)| k.clone())
                    {
                        map.remove(&oldest);
                    }
                }
                map.insert(url.as_str().to_string(), cert.clone());
                cert
            }
        };
        if now < cert.not_before || now > cert.not_after {
            return Err(ProviderError::unauthorized("the SNS signing certificate is not valid now"));
        }
        Ok(cert.key)
    }

    /// How many certificates are cached (for tests and metrics).
    pub fn len(&self) -> usize {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn parse_cert(pem: &[u8], url: &Url, now: DateTime<Utc>) -> Result<CachedCert, ProviderError> {
    let bad = |why: &str| ProviderError::Upstream(format!("the SNS signing certificate is unusable: {why}"));
    let (_, pem) = x509_parser::pem::parse_x509_pem(pem).map_err(|_| bad("not PEM"))?;
    let cert = pem.parse_x509().map_err(|_| bad("not an X.509 certificate"))?;
    let host = url.host_str().and_then(SnsHost::parse).ok_or_else(|| bad("not from an SNS host"))?;
    let names = certificate_names(&cert);
    if !names.iter().any(|n| host.certificate_name_ok(n)) {
        return Err(ProviderError::unauthorized(format!(
            "the certificate at {} names {names:?}, not SNS (e.g. sns.amazonaws.com)",
            url.host_str().unwrap_or_default()
        )));
    }
    let key = match spki_key(cert.public_key().raw) {
        Some((KeyKind::Rsa, key)) => key,
        _ => return Err(bad("not an RSA key")),
    };
    let validity = cert.validity();
    let to_utc = |t: x509_parser::time::ASN1Time| DateTime::from_timestamp(t.timestamp(), 0);
    Ok(CachedCert {
        key: Arc::new(key),
        not_before: to_utc(validity.not_before).ok_or_else(|| bad("bad notBefore"))?,
        not_after: to_utc(validity.not_after).ok_or_else(|| bad("bad notAfter"))?,
        fetched_at: now,
    })
}

/// The subject's common names and the DNS subject alternative names.
fn certificate_names(cert: &x509_parser::certificate::X509Certificate<'_>) -> Vec<String> {
    let mut names: Vec<String> =
        cert.subject().iter_common_name().filter_map(|cn| cn.as_str().ok().map(str::to_string)).collect();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            if let x509_parser::extensions::GeneralName::DNSName(dns) = name {
                names.push(dns.to_string());
            }
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sns_hosts() {
        assert!(is_sns_host("sns.eu-west-1.amazonaws.com"));
        assert!(is_sns_host("sns.cn-north-1.amazonaws.com.cn"));
        for bad in [
            "sns.amazonaws.com",
            "sns.s3.amazonaws.com",
            "sns.xx-nowhere-9.amazonaws.com",
            "sns..amazonaws.com",
            "sns.eu-west-1.amazonaws.com.evil.org",
            "evil.org",
            "sns.eu.west.amazonaws.com",
            "sqs.eu-west-1.amazonaws.com",
            "xsns.eu-west-1.amazonaws.com",
        ] {
            assert!(!is_sns_host(bad), "{bad}");
        }
    }

    #[test]
    fn cert_urls() {
        let ok = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem";
        assert!(signing_cert_url(ok).is_ok());
        for bad in [
            "http://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123456789abcdef.pem",
            "https://sns.eu-west-1.amazonaws.com:8443/SimpleNotificationService-0123.pem",
            "https://user@sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123.pem",
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-0123.pem?x=1",
            "https://sns.eu-west-1.amazonaws.com/other.pem",
            "https://sns.eu-west-1.amazonaws.com.evil.org/SimpleNotificationService-0123.pem",
            "https://127.0.0.1/SimpleNotificationService-0123.pem",
            "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-../x.pem",
        ] {
            assert!(signing_cert_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn string_to_sign_by_type() {
        let env = Envelope {
            kind: Some("Notification".into()),
            message_id: Some("id".into()),
            topic_arn: Some("arn".into()),
            message: Some("line1\nline2".into()),
            timestamp: Some("2026-01-05T10:15:30.123Z".into()),
            subscribe_url: Some("https://ignored".into()),
            ..Default::default()
        };
        assert_eq!(
            string_to_sign(&env).unwrap(),
            "Message\nline1\nline2\nMessageId\nid\nTimestamp\n2026-01-05T10:15:30.123Z\nTopicArn\narn\nType\nNotification\n"
        );
    }
}
