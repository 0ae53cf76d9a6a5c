use std::sync::Arc;

use rebound_core::BounceType;
use rebound_providers::{Outcome, ProviderError, Providers, WebhookRequest};

use crate::support::*;

const KEY: &str = "example-signing-key-not-real";
const TOKEN: &str = "c3b0b2a4e8f14b1d9a7e5f6c2d1a0b9e8f7c6d5e4f3a2b1c0d";

fn body_with(key: &str, ts: i64, token: &str, event: &str, severity: &str, email: &str) -> Vec<u8> {
    let sig = hmac_sha256_hex(key.as_bytes(), format!("{ts}{token}").as_bytes());
    format!(
        r#"{{"signature":{{"token":"{token}","timestamp":"{ts}","signature":"{sig}"}},
 "event-data":{{"id":"G9Bn5sl1TC6nu79C8C0bwg","timestamp":1767225599.57,"log-level":"error",
   "event":"{event}","severity":"{severity}","reason":"bounce","recipient":"{email}",
   "delivery-status":{{"code":550,"message":"5.1.1 The email account does not exist","attempt-no":1}},
   "message":{{"headers":{{"message-id":"20260105101500.1@lists.example.org","to":"user@example.com"}}}},
   "user-variables":{{"listmonk_campaign":"{CAMPAIGN}"}},"tags":["newsletter"]}}}}"#
    )
    .into_bytes()
}

fn body(event: &str, severity: &str) -> Vec<u8> {
    body_with(KEY, now().timestamp(), TOKEN, event, severity, "User@Example.com")
}

fn one(b: &[u8]) -> Result<Outcome, ProviderError> {
    run("mailgun", &[], b, now(), &settings())
}

#[test]
fn valid_events() {
    let ev = events(one(&body("failed", "permanent")));
    assert_event(
        &ev[0],
        "mailgun",
        BounceType::Hard,
        "user@example.com",
        Some(CAMPAIGN),
        "G9Bn5sl1TC6nu79C8C0bwg:1767225599.57",
    );
    assert_eq!(ev[0].created_at.unwrap().timestamp_millis(), 1767225599570);
    assert!(ev[0].meta.get("signature").is_none(), "meta is event-data");
    assert_eq!(ev[0].meta["explanation"], "Mailgun severity permanent → hard");
    assert_eq!(events(one(&body("failed", "permanent"))), ev);
    assert_eq!(events(one(&body("failed", "temporary")))[0].bounce_type, BounceType::Soft);
    assert_eq!(events(one(&body("complained", "")))[0].bounce_type, BounceType::Complaint);
    for e in ["delivered", "opened", "clicked", "accepted", "unsubscribed"] {
        assert_ignored(one(&body(e, "")));
    }
}

#[test]
fn rejections() {
    let b = body("failed", "permanent");
    // The body is not signed, but the signature fields are.
    assert_unauthorized(one(&tamper(&b, "\"token\":\"c3b0", "\"token\":\"d3b0")));
    assert_unauthorized(one(&tamper(
        &b,
        &format!("\"timestamp\":\"{}\"", now().timestamp()),
        "\"timestamp\":\"1767225601\"",
    )));
    assert_unauthorized(one(&body_with(
        "wrong-key",
        now().timestamp(),
        TOKEN,
        "failed",
        "permanent",
        "a@example.com",
    )));
    assert_unauthorized(one(br#"{"event-data":{"event":"failed","recipient":"a@example.com"}}"#));
    assert_unauthorized(one(br#"{"signature":{"token":"t","timestamp":"1"},"event-data":{}}"#));
    let sig_of = |s: &str| tamper(&b, "\"signature\":\"", &format!("\"signature\":\"{s}"));
    assert_unauthorized(one(&sig_of("zz")));
    for stale in [now().timestamp() - 301, now().timestamp() + 301] {
        assert_unauthorized(one(&body_with(KEY, stale, TOKEN, "failed", "permanent", "a@example.com")));
    }
    let mut nokey = settings();
    nokey.mailgun.key = Default::default();
    assert_unauthorized(run("mailgun", &[], &b, now(), &nokey));
}

#[test]
fn token_reused_with_another_event_is_refused() {
    let p = Providers::new(Arc::new(NoFetch));
    let s = settings();
    let h = headers(&[]);
    let call = |b: &[u8]| {
        block_on(p.handle("mailgun", &WebhookRequest { headers: &h, query: None, body: b }, now(), &s))
    };
    let original = body("failed", "permanent");
    assert_eq!(events(call(&original)).len(), 1);
    // A retry of the same request is fine (the store de-duplicates it).
    assert_eq!(events(call(&original)).len(), 1);
    // The same (timestamp, token, signature) with other event-data is a forgery.
    let forged = body_with(KEY, now().timestamp(), TOKEN, "failed", "permanent", "victim@example.com");
    assert_unauthorized(call(&forged));
    // A fresh token is accepted.
    let fresh =
        body_with(KEY, now().timestamp(), "another-token", "failed", "permanent", "victim@example.com");
    assert_eq!(events(call(&fresh)).len(), 1);
}

#[test]
fn malformed_and_disabled() {
    assert_bad_request(one(b"{\"signature\":"));
    let ts = now().timestamp();
    let sig = hmac_sha256_hex(KEY.as_bytes(), format!("{ts}{TOKEN}").as_bytes());
    let no_data = format!(r#"{{"signature":{{"token":"{TOKEN}","timestamp":"{ts}","signature":"{sig}"}}}}"#);
    assert_bad_request(one(no_data.as_bytes()));
    let mut off = settings();
    off.mailgun.enabled = false;
    assert_eq!(
        run("mailgun", &[], &body("failed", "permanent"), now(), &off),
        Err(ProviderError::Disabled("mailgun"))
    );
}

#[test]
fn published_vector() {
    // A fixed payload with a known-good signature (the scheme of
    // docs/providers.md, section "Mailgun"), verified at its own time.
    let body = br#"{"signature":{"token":"c3b0b2a4e8f14b1d9a7e5f6c2d1a0b9e8f7c6d5e4f3a2b1c0d","timestamp":"1767225600",
              "signature":"759868b14835102c5da96fe79064097e18fa0dce87a0ae4f570cce350d3afc64"},
 "event-data":{"id":"G9Bn5sl1TC6nu79C8C0bwg","timestamp":1767225599.57,"log-level":"error",
   "event":"failed","severity":"permanent","reason":"bounce","recipient":"user@example.com",
   "user-variables":{"listmonk_campaign":"5b7e3c7a-1f2d-4c88-9f0e-2a6d1b3c4d5e"},"tags":["newsletter"]}}"#;
    let ev = events(run("mailgun", &[], body, at(1767225600), &settings()));
    assert_event(
        &ev[0],
        "mailgun",
        BounceType::Hard,
        "user@example.com",
        Some(CAMPAIGN),
        "G9Bn5sl1TC6nu79C8C0bwg:1767225599.57",
    );
    assert_unauthorized(run("mailgun", &[], body, at(1767225600 + 301), &settings()));
}
