use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rebound_core::{BounceType, Secret};
use rebound_providers::{ProviderError, sendgrid};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

use crate::support::*;

const SIG: &str = "X-Twilio-Email-Event-Webhook-Signature";
const TS: &str = "X-Twilio-Email-Event-Webhook-Timestamp";

/// A fresh P-256 key: (signing key, base64 DER SPKI as SendGrid shows it).
fn keypair() -> (EcdsaKeyPair, String) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
    let kp = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).unwrap();
    let mut spki = hex::decode("3059301306072a8648ce3d020106082a8648ce3d030107034200").unwrap();
    spki.extend_from_slice(kp.public_key().as_ref());
    (kp, B64.encode(spki))
}

fn sign(kp: &EcdsaKeyPair, ts: &str, body: &[u8]) -> String {
    let mut msg = ts.as_bytes().to_vec();
    msg.extend_from_slice(body);
    B64.encode(kp.sign(&SystemRandom::new(), &msg).unwrap())
}

fn body() -> Vec<u8> {
    format!(
        r#"[
  {{"email":"User@Example.com","timestamp":1799144120,"event":"bounce","type":"bounce","status":"5.1.1",
   "reason":"550 5.1.1 mailbox unavailable","bounce_classification":"Invalid Address",
   "sg_event_id":"Ym91bmNlLTAtMTIzNDU2Nzg","sg_message_id":"abcDEF123.filter0001.1.0","listmonk_campaign":"{CAMPAIGN}"}},
  {{"email":"other@example.net","timestamp":1799144125,"event":"spamreport","sg_event_id":"c3BhbS0wLTk4NzY1NDM"}},
  {{"email":"soft@example.net","timestamp":1799144125,"event":"bounce","type":"blocked","sg_event_id":"YmxvY2tlZA"}},
  {{"email":"dropped@example.net","timestamp":1799144125,"event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcA"}},
  {{"email":"unsub@example.net","timestamp":1799144125,"event":"dropped","reason":"Unsubscribed Address","sg_event_id":"dW5zdWI"}},
  {{"email":"ok@example.net","timestamp":1799144125,"event":"delivered","sg_event_id":"ZGVsaXZlcmVk"}},
  {{"timestamp":1799144125,"event":"bounce","sg_event_id":"bm8tZW1haWw"}}
]"#
    )
    .into_bytes()
}

fn settings_with(key: &str) -> rebound_core::Settings {
    let mut s = settings();
    s.sendgrid_key = Secret::new(key);
    s
}

#[test]
fn valid_batch_records_every_bounce() {
    let (kp, key) = keypair();
    let ts = now().timestamp().to_string();
    let body = body();
    let sig = sign(&kp, &ts, &body);
    let ev = events(run("sendgrid", &[(SIG, &sig), (TS, &ts)], &body, now(), &settings_with(&key)));
    assert_eq!(ev.len(), 4, "{ev:#?}");
    assert_event(
        &ev[0],
        "sendgrid",
        BounceType::Hard,
        "user@example.com",
        Some(CAMPAIGN),
        "Ym91bmNlLTAtMTIzNDU2Nzg",
    );
    assert_event(&ev[1], "sendgrid", BounceType::Complaint, "other@example.net", None, "c3BhbS0wLTk4NzY1NDM");
    assert_event(&ev[2], "sendgrid", BounceType::Soft, "soft@example.net", None, "YmxvY2tlZA");
    assert_event(&ev[3], "sendgrid", BounceType::Hard, "dropped@example.net", None, "ZHJvcA");
    assert_eq!(ev[0].created_at, Some(at(1799144120)));
    // meta is that one event, not the batch.
    assert_eq!(ev[0].meta["sg_message_id"], "abcDEF123.filter0001.1.0");
    assert!(ev[0].meta.get("event").is_some() && ev[1].meta["event"] == "spamreport");

    // The same delivery twice gives the same ids (the store de-duplicates).
    let again = events(run("sendgrid", &[(SIG, &sig), (TS, &ts)], &body, now(), &settings_with(&key)));
    assert_eq!(
        ev.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>(),
        again.iter().map(|e| e.event_id.clone()).collect::<Vec<_>>()
    );
}

#[test]
fn rejections() {
    let (kp, key) = keypair();
    let (other, _) = keypair();
    let s = settings_with(&key);
    let ts = now().timestamp().to_string();
    let body = body();
    let sig = sign(&kp, &ts, &body);
    // tampered body
    assert_unauthorized(run(
        "sendgrid",
        &[(SIG, &sig), (TS, &ts)],
        &tamper(&body, "User@", "Victim@"),
        now(),
        &s,
    ));
    // wrong key
    assert_unauthorized(run("sendgrid", &[(SIG, &sign(&other, &ts, &body)), (TS, &ts)], &body, now(), &s));
    // missing headers
    assert_unauthorized(run("sendgrid", &[(TS, &ts)], &body, now(), &s));
    assert_unauthorized(run("sendgrid", &[(SIG, &sig)], &body, now(), &s));
    // malformed signature
    assert_unauthorized(run("sendgrid", &[(SIG, "not base64!"), (TS, &ts)], &body, now(), &s));
    // signature over another timestamp
    let ts2 = (now().timestamp() - 1).to_string();
    assert_unauthorized(run("sendgrid", &[(SIG, &sig), (TS, &ts2)], &body, now(), &s));
    // stale and future timestamps, correctly signed
    for t in [now().timestamp() - 301, now().timestamp() + 301] {
        let t = t.to_string();
        assert_unauthorized(run("sendgrid", &[(SIG, &sign(&kp, &t, &body)), (TS, &t)], &body, now(), &s));
    }
    // a configurable window
    let mut wide = s.clone();
    wide.webhook_tolerance = std::time::Duration::from_secs(3600);
    let t = (now().timestamp() - 1000).to_string();
    assert!(run("sendgrid", &[(SIG, &sign(&kp, &t, &body)), (TS, &t)], &body, now(), &wide).is_ok());
    // no key configured
    assert_unauthorized(run("sendgrid", &[(SIG, &sig), (TS, &ts)], &body, now(), &settings_with("")));
    // a key that is not a P-256 SPKI
    assert_unauthorized(run(
        "sendgrid",
        &[(SIG, &sig), (TS, &ts)],
        &body,
        now(),
        &settings_with("bm90IGEga2V5"),
    ));
}

#[test]
fn non_bounces_malformed_and_disabled() {
    let (kp, key) = keypair();
    let s = settings_with(&key);
    let ts = now().timestamp().to_string();
    let delivered = br#"[{"email":"a@example.com","event":"delivered","sg_event_id":"x"},{"email":"a@example.com","event":"open","sg_event_id":"y"}]"#;
    assert_ignored(run("sendgrid", &[(SIG, &sign(&kp, &ts, delivered)), (TS, &ts)], delivered, now(), &s));
    let garbage = b"[{\"email\": ";
    assert_bad_request(run("sendgrid", &[(SIG, &sign(&kp, &ts, garbage)), (TS, &ts)], garbage, now(), &s));
    let object = br#"{"event":"bounce"}"#;
    assert_bad_request(run("sendgrid", &[(SIG, &sign(&kp, &ts, object)), (TS, &ts)], object, now(), &s));
    let mut off = s.clone();
    off.sendgrid_enabled = false;
    assert_eq!(
        run("sendgrid", &[(SIG, &sign(&kp, &ts, delivered)), (TS, &ts)], delivered, now(), &off),
        Err(ProviderError::Disabled("sendgrid"))
    );
}

#[test]
fn published_vector_sendgrid_go() {
    let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==";
    let sig =
        "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0=";
    let ts = "1588788367";
    let body = br#"{"category":"example_payload","event":"test_event","message_id":"message_id"}"#;
    let h = headers(&[(SIG, sig), (TS, ts)]);
    let tol = std::time::Duration::from_secs(300);
    assert_eq!(sendgrid::verify(&h, body, at(1588788367), key, tol), Ok(()));
    assert!(sendgrid::verify(&h, &body[..body.len() - 1], at(1588788367), key, tol).is_err());
    // The vector's timestamp is years old: the live window refuses it.
    assert!(matches!(sendgrid::verify(&h, body, now(), key, tol), Err(ProviderError::Unauthorized(_))));
}

#[test]
fn published_vector_sendgrid_python() {
    let key = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g==";
    let sig =
        "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM=";
    let ts = "1600112502";
    let body = b"[{\"email\":\"hello@world.com\",\"event\":\"dropped\",\"reason\":\"Bounced Address\",\"sg_event_id\":\"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA\",\"sg_message_id\":\"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0\",\"smtp-id\":\"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>\",\"timestamp\":1600112492}]\r\n";
    let h = headers(&[(SIG, sig), (TS, ts)]);
    let tol = std::time::Duration::from_secs(300);
    assert_eq!(sendgrid::verify(&h, body, at(1600112502), key, tol), Ok(()));
    // Without the trailing CRLF (re-serialised JSON) it fails: raw bytes matter.
    assert!(sendgrid::verify(&h, &body[..body.len() - 2], at(1600112502), key, tol).is_err());
    // Through the whole adapter: a "dropped / Bounced Address" event is a hard bounce.
    let s = settings_with(key);
    let ev = events(run("sendgrid", &[(SIG, sig), (TS, ts)], body, at(1600112502), &s));
    assert_eq!(ev.len(), 1);
    assert_event(
        &ev[0],
        "sendgrid",
        BounceType::Hard,
        "hello@world.com",
        None,
        "ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA",
    );
}
