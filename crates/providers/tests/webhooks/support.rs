#![allow(dead_code)]

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, TimeZone, Utc};
use rebound_core::settings::{BasicAuthProvider, KeyProvider};
use rebound_core::{BounceEvent, BounceType, Secret, Settings};
use rebound_providers::{HttpFetch, Outcome, ProviderError, Providers, WebhookRequest};

pub const CAMPAIGN: &str = "5b7e3c7a-1f2d-4c88-9f0e-2a6d1b3c4d5e";

/// The test clock: after the test certificates' notBefore.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 1, 5, 10, 15, 30).unwrap()
}

pub fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(secs, 0).unwrap()
}

pub fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", B64.encode(format!("{user}:{pass}")))
}

pub fn basic_provider() -> BasicAuthProvider {
    BasicAuthProvider {
        enabled: true,
        username: "hooks".into(),
        password: Secret::new("s3cret-pass"),
        token: Secret::new("bearer-token-1"),
    }
}

pub fn key_provider(key: &str) -> KeyProvider {
    KeyProvider { enabled: true, key: Secret::new(key) }
}

/// Every provider enabled with test credentials.
pub fn settings() -> Settings {
    let mut s = Settings {
        bounce_enabled: true,
        webhooks_enabled: true,
        ses_enabled: true,
        sendgrid_enabled: true,
        postmark: basic_provider(),
        brevo: basic_provider(),
        mailjet: basic_provider(),
        sparkpost: basic_provider(),
        forwardemail: key_provider("fe-test-key"),
        lettermint: key_provider("lm-test-secret"),
        mailgun: key_provider("example-signing-key-not-real"),
        resend: key_provider("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"),
        ..Default::default()
    };
    s.azure.enabled = true;
    s.azure.shared_secret = Secret::new("azure-shared-secret");
    s.postal.enabled = true;
    s.postal.public_key = std::fs::read_to_string(data("rsa_a.pub.pem")).unwrap();
    s.mailersend = key_provider("ms-test-signing-secret");
    s.smtp2go = basic_provider();
    s.zeptomail = key_provider("zm-test-auth-key");
    s.elasticemail = key_provider("ee-test-url-secret");
    s.mandrill.enabled = true;
    s.mandrill.key = Secret::new("md-test-webhook-key");
    s.mandrill.url = "https://rebound.example/webhooks/service/mandrill".into();
    s.ses_eventbridge.enabled = true;
    s.ses_eventbridge.key = Secret::new("eb-test-api-key");
    s
}

/// One request to a mapped provider through `Providers::handle_mapped`.
pub fn run_mapped(
    name: &str,
    hdrs: &[(&str, &str)],
    query: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<Outcome, ProviderError> {
    let p = Providers::new(Arc::new(NoFetch));
    let h = headers(hdrs);
    p.handle_mapped(name, &WebhookRequest { headers: &h, query, body }, now, settings)
}

pub fn hmac_b64(alg: ring::hmac::Algorithm, key: &[u8], msg: &[u8]) -> String {
    let k = ring::hmac::Key::new(alg, key);
    B64.encode(ring::hmac::sign(&k, msg).as_ref())
}

pub fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn headers(pairs: &[(&str, &str)]) -> http::HeaderMap {
    let mut h = http::HeaderMap::new();
    for (k, v) in pairs {
        h.append(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            http::HeaderValue::from_str(v).unwrap(),
        );
    }
    h
}

/// A fetcher for providers that must never fetch.
pub struct NoFetch;

#[async_trait::async_trait]
impl HttpFetch for NoFetch {
    async fn get(&self, url: &url::Url) -> Result<bytes::Bytes, String> {
        panic!("unexpected fetch of {url}");
    }
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

/// One request through `Providers::handle` with a fetcher that must not be used.
pub fn run(
    provider: &str,
    hdrs: &[(&str, &str)],
    body: &[u8],
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<Outcome, ProviderError> {
    run_query(provider, hdrs, None, body, now, settings)
}

pub fn run_query(
    provider: &str,
    hdrs: &[(&str, &str)],
    query: Option<&str>,
    body: &[u8],
    now: DateTime<Utc>,
    settings: &Settings,
) -> Result<Outcome, ProviderError> {
    let p = Providers::new(Arc::new(NoFetch));
    let h = headers(hdrs);
    block_on(p.handle(provider, &WebhookRequest { headers: &h, query, body }, now, settings))
}

pub fn events(r: Result<Outcome, ProviderError>) -> Vec<BounceEvent> {
    match r {
        Ok(Outcome::Events(e)) => e,
        other => panic!("expected events, got {other:?}"),
    }
}

#[track_caller]
pub fn assert_unauthorized(r: Result<Outcome, ProviderError>) {
    assert!(matches!(r, Err(ProviderError::Unauthorized(_))), "expected Unauthorized, got {r:?}");
}

#[track_caller]
pub fn assert_bad_request(r: Result<Outcome, ProviderError>) {
    assert!(matches!(r, Err(ProviderError::BadRequest(_))), "expected BadRequest, got {r:?}");
}

#[track_caller]
pub fn assert_ignored(r: Result<Outcome, ProviderError>) {
    assert_eq!(r, Ok(Outcome::Events(Vec::new())));
}

/// Checks one recorded event.
#[track_caller]
pub fn assert_event(
    e: &BounceEvent,
    source: &str,
    bounce_type: BounceType,
    email: &str,
    campaign: Option<&str>,
    event_id: &str,
) {
    assert_eq!(e.source, source);
    assert_eq!(e.bounce_type, bounce_type, "type of {e:?}");
    assert_eq!(e.subscriber.email.as_ref().map(|m| m.as_str()), Some(email));
    assert_eq!(e.subscriber.uuid, None);
    assert_eq!(e.campaign_uuid.map(|u| u.to_string()).as_deref(), campaign);
    assert_eq!(e.event_id.as_deref(), Some(event_id));
    assert!(e.meta.is_object(), "meta must be an object: {}", e.meta);
    // What the provider said that decided the type, shown on the bounce's page.
    let why = e.meta["explanation"].as_str().unwrap_or_default();
    assert!(why.ends_with(&format!(" → {bounce_type}")), "meta.explanation of {source}: {why:?}");
}

pub fn hmac_sha256_hex(key: &[u8], msg: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    hex::encode(ring::hmac::sign(&k, msg).as_ref())
}

pub fn hmac_sha256_b64(key: &[u8], msg: &[u8]) -> String {
    let k = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    B64.encode(ring::hmac::sign(&k, msg).as_ref())
}

/// RSA PKCS#1 v1.5 SHA-256 signature (base64) with a committed test key.
pub fn rsa_sha256_b64(key_name: &str, msg: &[u8]) -> String {
    let der = std::fs::read(data(&format!("{key_name}.pk8.der"))).unwrap();
    let key = ring::signature::RsaKeyPair::from_pkcs8(&der).unwrap();
    let mut sig = vec![0; key.public().modulus_len()];
    key.sign(&ring::signature::RSA_PKCS1_SHA256, &ring::rand::SystemRandom::new(), msg, &mut sig).unwrap();
    B64.encode(sig)
}

/// Replaces the first occurrence of `from` in a body (a tampered copy).
pub fn tamper(body: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = std::str::from_utf8(body).unwrap();
    assert!(s.contains(from), "{from:?} not in body");
    s.replacen(from, to, 1).into_bytes()
}

/// Records the URLs it was asked for; used where a fetch is counted.
#[derive(Default)]
pub struct Recorder {
    pub urls: Mutex<Vec<String>>,
}

/// The credential checks every basic-auth provider shares (Postmark, Brevo,
/// Mailjet, SparkPost). `body` must be a valid payload with at least one bounce.
pub fn basic_auth_checks(provider: &str, body: &[u8], set: fn(&mut Settings, BasicAuthProvider)) {
    let s = settings();
    let ok = basic("hooks", "s3cret-pass");
    assert!(!events(run(provider, &[("Authorization", &ok)], body, now(), &s)).is_empty());
    // The bearer token configured instead of basic credentials.
    assert!(
        !events(run(provider, &[("Authorization", "Bearer bearer-token-1")], body, now(), &s)).is_empty()
    );
    assert_unauthorized(run(provider, &[("Authorization", "Bearer bearer-token-2")], body, now(), &s));
    // Missing, wrong, malformed credentials.
    assert_unauthorized(run(provider, &[], body, now(), &s));
    assert_unauthorized(run(provider, &[("Authorization", &basic("hooks", "wrong"))], body, now(), &s));
    assert_unauthorized(run(provider, &[("Authorization", &basic("other", "s3cret-pass"))], body, now(), &s));
    assert_unauthorized(run(
        provider,
        &[("Authorization", &basic("hooks", "s3cret-pass-"))],
        body,
        now(),
        &s,
    ));
    assert_unauthorized(run(provider, &[("Authorization", "Basic !!!")], body, now(), &s));
    assert_unauthorized(run(provider, &[("Authorization", "Basic aG9va3M=")], body, now(), &s));
    assert_unauthorized(run(provider, &[("Authorization", "Digest x")], body, now(), &s));
    // No credentials configured: everything is refused.
    let mut none = settings();
    set(&mut none, BasicAuthProvider { enabled: true, ..Default::default() });
    assert_unauthorized(run(provider, &[("Authorization", &basic("", ""))], body, now(), &none));
    // A user name without a password is not a credential.
    let mut user_only = settings();
    set(&mut user_only, BasicAuthProvider { enabled: true, username: "hooks".into(), ..Default::default() });
    assert_unauthorized(run(provider, &[("Authorization", &basic("hooks", ""))], body, now(), &user_only));
    // Basic only (no token): a bearer header is refused.
    let mut basic_only = settings();
    set(&mut basic_only, BasicAuthProvider { token: Secret::default(), ..basic_provider() });
    assert_unauthorized(run(
        provider,
        &[("Authorization", "Bearer bearer-token-1")],
        body,
        now(),
        &basic_only,
    ));
    // Malformed JSON with valid credentials is a 400.
    assert_bad_request(run(provider, &[("Authorization", &ok)], b"{\"event\":", now(), &s));
    // Disabled.
    let mut off = settings();
    set(&mut off, BasicAuthProvider { enabled: false, ..basic_provider() });
    assert!(matches!(
        run(provider, &[("Authorization", &ok)], body, now(), &off),
        Err(ProviderError::Disabled(_))
    ));
}

pub fn auth() -> String {
    basic("hooks", "s3cret-pass")
}
