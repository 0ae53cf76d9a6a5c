//! What every provider target does with one input:
//!
//! 1. the provider's payload parser alone (`<provider>::parse`), as it runs
//!    after a successful verification: this is where the JSON is taken apart;
//! 2. the whole `Providers::handle` on the same bytes as the body, with every
//!    provider enabled and the credentials a basic-auth or shared-secret
//!    provider expects (so for those the parser is reached through the real
//!    path), and bogus signatures for the signed ones (so the code that runs
//!    on unauthenticated input, which for SES and Mailgun parses the body
//!    before verifying, is exercised too).
//!
//! Any panic is a bug; errors are expected answers.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{TimeZone, Utc};
use rebound_core::settings::{BasicAuthProvider, KeyProvider};
use rebound_core::{BounceEvent, Secret, Settings};
use rebound_providers::{HttpFetch, Providers, WebhookRequest};

struct NoFetch;

#[async_trait::async_trait]
impl HttpFetch for NoFetch {
    async fn get(&self, _url: &url::Url) -> Result<bytes::Bytes, String> {
        Err("no network while fuzzing".into())
    }
}

fn basic() -> BasicAuthProvider {
    BasicAuthProvider {
        enabled: true,
        username: "hooks".into(),
        password: Secret::new("fuzz-pass"),
        token: Secret::new("fuzz-token"),
    }
}

fn key(k: &str) -> KeyProvider {
    KeyProvider { enabled: true, key: Secret::new(k) }
}

fn settings() -> Settings {
    let mut s = Settings {
        bounce_enabled: true,
        webhooks_enabled: true,
        ses_enabled: true,
        // With no topic allowed SES refuses everything before parsing.
        ses_topic_arns: vec!["arn:aws:sns:eu-west-1:111122223333:lists-bounces".into()],
        sendgrid_enabled: true,
        sendgrid_key: Secret::new("MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE"),
        postmark: basic(),
        brevo: basic(),
        mailjet: basic(),
        sparkpost: basic(),
        forwardemail: key("fe-key"),
        lettermint: key("lm-key"),
        mailgun: key("mg-key"),
        resend: key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ..Default::default()
    };
    s.azure.enabled = true;
    s.azure.shared_secret = Secret::new("azure-secret");
    s.postal.enabled = true;
    s.postal.public_key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA".into();
    s.mailersend = key("ms-key");
    s.smtp2go = basic();
    s.zeptomail = key("zm-key");
    s.elasticemail = key("ee-key");
    s.mandrill.enabled = true;
    s.mandrill.key = Secret::new("md-key");
    s.mandrill.url = "https://rebound.example/webhooks/service/mandrill".into();
    s.ses_eventbridge.enabled = true;
    s.ses_eventbridge.key = Secret::new("eb-key");
    s
}

/// A mapper preset's request with `data` as the body (and, lossily, as the
/// query string): the mapping alone, as it runs after verification.
#[allow(dead_code)]
pub fn preset_parse(cfg: &rebound_core::mapped::MappedProvider, data: &[u8]) -> Option<Vec<BounceEvent>> {
    let headers = http::HeaderMap::new();
    let query = String::from_utf8_lossy(data);
    let req = WebhookRequest { headers: &headers, query: Some(&query), body: data };
    rebound_providers::mapper::parse(cfg, &req).ok()
}

/// Runs both steps for `provider` on `data`; `parse` is the provider's parser.
pub fn run(provider: &str, data: &[u8], parse: impl FnOnce(&[u8]) -> Option<Vec<BounceEvent>>) {
    if let Some(events) = parse(data) {
        check(provider, &events);
    }
    let mut headers = http::HeaderMap::new();
    let auth = format!("Basic {}", B64.encode("hooks:fuzz-pass"));
    headers.insert("authorization", auth.parse().expect("header"));
    headers.insert("x-azure-secret", "azure-secret".parse().expect("header"));
    // Plausible but wrong signatures and timestamps for the signed providers.
    for (name, value) in [
        ("x-twilio-email-event-webhook-signature", "MEUCIQ=="),
        ("x-twilio-email-event-webhook-timestamp", "1799144130"),
        ("x-webhook-signature", "00"),
        ("x-lettermint-signature", "t=1799144130,v1=00"),
        ("x-lettermint-delivery", "1799144130"),
        ("svix-id", "msg_1"),
        ("svix-timestamp", "1799144130"),
        ("svix-signature", "v1,AAAA"),
        ("x-postal-signature", "AAAA"),
        ("x-postal-signature-256", "AAAA"),
        ("x-amz-sns-message-type", "Notification"),
        ("aeg-event-type", "Notification"),
        ("signature", "00"),
        ("producer-signature", "ts=1799144130000;s=AAAA;s-algorithm=HMACSHA256"),
        ("x-mandrill-signature", "AAAA"),
        ("x-rebound-key", "eb-key"),
    ] {
        headers.insert(name, value.parse().expect("header"));
    }
    let req = WebhookRequest { headers: &headers, query: Some("code=azure-secret"), body: data };
    let now = Utc.with_ymd_and_hms(2027, 1, 5, 10, 15, 30).single().expect("time");
    let providers = Providers::new(std::sync::Arc::new(NoFetch));
    let settings = settings();
    if let Ok(rebound_providers::Outcome::Events(events)) =
        futures::executor::block_on(providers.handle(provider, &req, now, &settings))
    {
        check(provider, &events);
    }
}

/// What a parser returns must be usable: the source is the provider's, an
/// event id is never empty.
pub fn check(provider: &str, events: &[BounceEvent]) {
    // SES through EventBridge records under SES's source (one bounce, one id).
    let source = if provider == "ses_eventbridge" { "ses" } else { provider };
    for e in events {
        assert_eq!(e.source, source, "{e:?}");
        if let Some(id) = &e.event_id {
            assert!(!id.is_empty(), "{e:?}");
        }
    }
}
