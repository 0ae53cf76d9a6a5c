use rebound_core::BounceType;
use rebound_providers::{ProviderError, forwardemail};

use crate::support::*;

const SIG: &str = "X-Webhook-Signature";

fn body(category: &str) -> Vec<u8> {
    format!(
        r#"{{"email_id":"6794a1b2c3d4e5f601234567","list_id":"<newsletter.lists.example.org>",
 "recipient":"User@Example.com","message":"The email account that you tried to reach does not exist.",
 "response":"550 5.1.1 no such user","response_code":550,"truth_source":"example.com",
 "bounce":{{"action":"reject","message":"Recipient address rejected","category":"{category}","code":550,"status":"5.1.1","line":42}},
 "headers":{{"x-listmonk-campaign":"{CAMPAIGN}"}},"bounced_at":"2026-01-05T10:15:29.828Z"}}"#
    )
    .into_bytes()
}

fn signed(body: &[u8]) -> Result<rebound_providers::Outcome, ProviderError> {
    let sig = hmac_sha256_hex(b"fe-test-key", body);
    run("forwardemail", &[(SIG, &sig)], body, now(), &settings())
}

#[test]
fn valid_bounce() {
    let ev = events(signed(&body("recipient")));
    let id = "6794a1b2c3d4e5f601234567:user@example.com:2026-01-05T10:15:29.828Z";
    assert_event(&ev[0], "forwardemail", BounceType::Hard, "user@example.com", Some(CAMPAIGN), id);
    assert_eq!(ev[0].created_at.unwrap().timestamp_millis(), 1767608129828);
    assert_eq!(events(signed(&body("recipient"))), ev);
    for (cat, t) in [
        ("block", BounceType::Hard),
        ("virus", BounceType::Hard),
        ("capacity", BounceType::Soft),
        ("other", BounceType::Soft),
    ] {
        assert_eq!(events(signed(&body(cat)))[0].bounce_type, t, "{cat}");
    }
}

#[test]
fn rejections() {
    let b = body("recipient");
    let sig = hmac_sha256_hex(b"fe-test-key", &b);
    let s = settings();
    assert_unauthorized(run("forwardemail", &[(SIG, &sig)], &tamper(&b, "User@", "Victim@"), now(), &s));
    assert_unauthorized(run("forwardemail", &[(SIG, &hmac_sha256_hex(b"other-key", &b))], &b, now(), &s));
    assert_unauthorized(run("forwardemail", &[], &b, now(), &s));
    assert_unauthorized(run("forwardemail", &[(SIG, "zz-not-hex")], &b, now(), &s));
    assert_unauthorized(run("forwardemail", &[(SIG, &sig.to_uppercase()[..10])], &b, now(), &s));
    let mut nokey = settings();
    nokey.forwardemail.key = Default::default();
    assert_unauthorized(run("forwardemail", &[(SIG, &sig)], &b, now(), &nokey));
    // Upper-case hex is the same signature.
    assert!(run("forwardemail", &[(SIG, &sig.to_uppercase())], &b, now(), &s).is_ok());
}

#[test]
fn malformed_and_disabled() {
    assert_bad_request(signed(b"{\"recipient\":"));
    assert_bad_request(signed(br#"{"bounce":{"category":"recipient"}}"#));
    let mut off = settings();
    off.forwardemail.enabled = false;
    let b = body("recipient");
    let r = run("forwardemail", &[(SIG, &hmac_sha256_hex(b"fe-test-key", &b))], &b, now(), &off);
    assert_eq!(r, Err(ProviderError::Disabled("forwardemail")));
}

#[test]
fn published_vector() {
    let body = br#"{"recipient":"user@example.com","bounce":{"category":"recipient","code":550}}"#;
    let sig = "d1d7ded98a99eddff03b034bf8bca052ce70bbc4098e86cd2c93cfa29f7dbc08";
    assert_eq!(forwardemail::verify(&headers(&[(SIG, sig)]), body, "fe-test-key"), Ok(()));
    let ev = events(run("forwardemail", &[(SIG, sig)], body, now(), &settings()));
    assert_event(&ev[0], "forwardemail", BounceType::Hard, "user@example.com", None, ":user@example.com:");
}
