use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rebound_core::BounceType;
use rebound_providers::{Outcome, ProviderError};

use crate::support::*;

const SIG256: &str = "X-Postal-Signature-256";
const SIG1: &str = "X-Postal-Signature";
const UUID: &str = "3f2e1d0c-9b8a-4765-8432-10fedcba9876";

fn body(event: &str, ts: i64) -> Vec<u8> {
    let msg = format!(
        r#"{{"id":1234,"token":"AbCdEf123456","direction":"outgoing","message_id":"20260105101500.1@lists.example.org",
   "to":"User@Example.com","from":"news@lists.example.org","subject":"January issue","timestamp":{ts}.5,
   "spam_status":"NotChecked","tag":"{CAMPAIGN}"}}"#
    );
    let payload = match event {
        "MessageBounced" => {
            format!(r#"{{"original_message":{msg},"bounce":{{"id":99,"to":"news@lists.example.org"}}}}"#)
        }
        _ => format!(
            r#"{{"message":{msg},"status":"HardFail","details":"Permanent SMTP delivery error","output":"550 5.1.1 user unknown","timestamp":{ts}.1,"time":0.53}}"#
        ),
    };
    format!(r#"{{"event":"{event}","timestamp":{ts}.123,"uuid":"{UUID}","payload":{payload}}}"#).into_bytes()
}

fn signed(body: &[u8]) -> Result<Outcome, ProviderError> {
    run("postal", &[(SIG256, &rsa_sha256_b64("rsa_a", body))], body, now(), &settings())
}

#[test]
fn valid_events() {
    let b = body("MessageDeliveryFailed", now().timestamp() - 10);
    let ev = events(signed(&b));
    assert_event(&ev[0], "postal", BounceType::Hard, "user@example.com", Some(CAMPAIGN), UUID);
    assert_eq!(ev[0].created_at.unwrap().timestamp(), now().timestamp() - 10);
    assert_eq!(events(signed(&b)), ev);
    let ev = events(signed(&body("MessageBounced", now().timestamp() - 10)));
    assert_event(&ev[0], "postal", BounceType::Hard, "user@example.com", Some(CAMPAIGN), UUID);
    for e in ["MessageDelayed", "MessageSent", "MessageHeld", "MessageLinkClicked", "DomainDNSError"] {
        assert_ignored(signed(&body(e, now().timestamp())));
    }
}

#[test]
fn legacy_sha1_signature_fixture() {
    // Signed once with `openssl dgst -sha1 -sign rsa_a.key.pem` (ring cannot sign SHA-1).
    let b = std::fs::read(data("postal_sha1_body.json")).unwrap();
    let sig = std::fs::read_to_string(data("postal_sha1_body.sig")).unwrap();
    let ev = events(run("postal", &[(SIG1, sig.trim())], &b, now(), &settings()));
    assert_event(&ev[0], "postal", BounceType::Hard, "user@example.com", Some(CAMPAIGN), UUID);
    assert_unauthorized(run(
        "postal",
        &[(SIG1, sig.trim())],
        &tamper(&b, "User@", "Victim@"),
        now(),
        &settings(),
    ));
    // When the SHA-256 header is present it is the one checked: no downgrade.
    assert_unauthorized(run("postal", &[(SIG1, sig.trim()), (SIG256, "AAAA")], &b, now(), &settings()));
}

#[test]
fn rejections() {
    let b = body("MessageDeliveryFailed", now().timestamp());
    let s = settings();
    let sig = rsa_sha256_b64("rsa_a", &b);
    assert_unauthorized(run("postal", &[(SIG256, &sig)], &tamper(&b, "User@", "Victim@"), now(), &s));
    assert_unauthorized(run("postal", &[(SIG256, &rsa_sha256_b64("rsa_b", &b))], &b, now(), &s));
    assert_unauthorized(run("postal", &[], &b, now(), &s));
    assert_unauthorized(run("postal", &[(SIG256, "***")], &b, now(), &s));
    // The body timestamp is signed: retries stay accepted for an hour, older is refused.
    let retry = body("MessageDeliveryFailed", now().timestamp() - 2400);
    assert!(run("postal", &[(SIG256, &rsa_sha256_b64("rsa_a", &retry))], &retry, now(), &s).is_ok());
    for ts in [now().timestamp() - 3600 - 301, now().timestamp() + 301] {
        let old = body("MessageDeliveryFailed", ts);
        assert_unauthorized(run("postal", &[(SIG256, &rsa_sha256_b64("rsa_a", &old))], &old, now(), &s));
    }
    let mut nokey = settings();
    nokey.postal.public_key.clear();
    assert_unauthorized(run("postal", &[(SIG256, &sig)], &b, now(), &nokey));
    let mut badkey = settings();
    badkey.postal.public_key = "not a key".into();
    assert_unauthorized(run("postal", &[(SIG256, &sig)], &b, now(), &badkey));
}

#[test]
fn every_key_format() {
    let b = body("MessageDeliveryFailed", now().timestamp());
    let sig = rsa_sha256_b64("rsa_a", &b);
    let spki_pem = std::fs::read_to_string(data("rsa_a.pub.pem")).unwrap();
    let spki_b64: String = spki_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let pkcs1_pem = std::fs::read_to_string(data("rsa_a.pkcs1.pub.pem")).unwrap();
    let pkcs1_b64: String = pkcs1_pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let jwks = std::fs::read_to_string(data("rsa_a.jwks.json")).unwrap();
    let jwks_v: serde_json::Value = serde_json::from_str(&jwks).unwrap();
    let jwk = jwks_v["keys"][1].to_string();
    assert!(B64.decode(&spki_b64).is_ok());
    for (what, key, kid) in [
        ("spki pem", spki_pem.clone(), None),
        ("spki base64", spki_b64.clone(), None),
        ("dns record", format!("v=DKIM1; t=s; h=sha256; p={spki_b64};"), None),
        ("pkcs1 pem", pkcs1_pem, None),
        ("pkcs1 base64", pkcs1_b64, None),
        ("jwks by kid", jwks.clone(), Some("postal-kid-1")),
        ("single jwk", jwk, None),
    ] {
        let mut s = settings();
        s.postal.public_key = key;
        let mut h = vec![(SIG256, sig.as_str())];
        if let Some(k) = kid {
            h.push(("X-Postal-Signature-KID", k));
        }
        assert_eq!(events(run("postal", &h, &b, now(), &s)).len(), 1, "{what}");
    }
    // A JWKS whose first RSA key is not the signer, without a kid: refused.
    let mut s = settings();
    s.postal.public_key = jwks;
    assert_unauthorized(run("postal", &[(SIG256, &sig)], &b, now(), &s));
}

#[test]
fn malformed_and_disabled() {
    assert_bad_request(signed(b"{\"event\":"));
    assert_bad_request(signed(br#"{"event":"MessageDeliveryFailed","uuid":"u","payload":{"message":{}}}"#));
    let mut off = settings();
    off.postal.enabled = false;
    let b = body("MessageDeliveryFailed", now().timestamp());
    assert_eq!(
        run("postal", &[(SIG256, &rsa_sha256_b64("rsa_a", &b))], &b, now(), &off),
        Err(ProviderError::Disabled("postal"))
    );
}
