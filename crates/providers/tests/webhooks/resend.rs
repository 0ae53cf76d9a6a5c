use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rebound_core::BounceType;
use rebound_providers::{Outcome, ProviderError, resend};

use crate::support::*;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn body(kind: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"{kind}","created_at":"2026-01-05T10:15:30.101Z",
 "data":{{"email_id":"4f1c2b3a-0000-4a1b-9c2d-112233445566","created_at":"2026-01-05T10:15:28.729Z",
         "from":"Lists <news@lists.example.org>","to":["User@Example.com"],"subject":"January issue",
         "tags":[{{"name":"listmonk_campaign","value":"{CAMPAIGN}"}}],
         "bounce":{{"type":"Permanent","subType":"General","message":"hard bounce"}}}}}}"#
    )
    .into_bytes()
}

fn sign(secret: &str, id: &str, ts: i64, body: &[u8]) -> String {
    let key = B64.decode(secret.trim_start_matches("whsec_")).unwrap();
    let mut msg = format!("{id}.{ts}.").into_bytes();
    msg.extend_from_slice(body);
    format!("v1,{}", hmac_sha256_b64(&key, &msg))
}

fn signed_with(secret: &str, id: &str, ts: i64, body: &[u8]) -> Result<Outcome, ProviderError> {
    let ts_s = ts.to_string();
    let sig = sign(secret, id, ts, body);
    run(
        "resend",
        &[("svix-id", id), ("svix-timestamp", &ts_s), ("svix-signature", &sig)],
        body,
        now(),
        &settings(),
    )
}

fn signed(body: &[u8]) -> Result<Outcome, ProviderError> {
    signed_with(SECRET, "msg_2bH7kNwP5mQaV1sXgIdKe6pZr", now().timestamp(), body)
}

#[test]
fn valid_events() {
    let ev = events(signed(&body("email.bounced")));
    assert_event(
        &ev[0],
        "resend",
        BounceType::Hard,
        "user@example.com",
        Some(CAMPAIGN),
        "msg_2bH7kNwP5mQaV1sXgIdKe6pZr",
    );
    assert_eq!(ev[0].created_at.unwrap().timestamp_millis(), 1767608130101);
    assert_eq!(events(signed(&body("email.bounced"))), ev);
    assert_eq!(events(signed(&body("email.complained")))[0].bounce_type, BounceType::Complaint);
    let transient = tamper(&body("email.bounced"), "\"Permanent\"", "\"Transient\"");
    assert_eq!(events(signed(&transient))[0].bounce_type, BounceType::Soft);
    for k in ["email.delivered", "email.sent", "email.opened", "email.delivery_delayed", "contact.created"] {
        assert_ignored(signed(&body(k)));
    }
    // Tags as an object, two recipients (one event each, ids per recipient).
    let two = tamper(
        &body("email.bounced"),
        "[\"User@Example.com\"]",
        "[\"a@example.com\",\"Second <b@example.com>\"]",
    );
    let two = tamper(
        &two,
        &format!("[{{\"name\":\"listmonk_campaign\",\"value\":\"{CAMPAIGN}\"}}]"),
        &format!("{{\"listmonk_campaign\":\"{CAMPAIGN}\"}}"),
    );
    let ev = events(signed(&two));
    assert_event(
        &ev[1],
        "resend",
        BounceType::Hard,
        "b@example.com",
        Some(CAMPAIGN),
        "msg_2bH7kNwP5mQaV1sXgIdKe6pZr:b@example.com",
    );
}

#[test]
fn rejections() {
    let b = body("email.bounced");
    let t = now().timestamp();
    let ts = t.to_string();
    let id = "msg_1";
    let sig = sign(SECRET, id, t, &b);
    let s = settings();
    let hdrs = |sig: &str| {
        vec![("svix-id", id), ("svix-timestamp", ts.as_str()), ("svix-signature", sig)]
            .into_iter()
            .map(|(a, b)| (a, b.to_string()))
            .collect::<Vec<_>>()
    };
    let call = |h: Vec<(&str, String)>, body: &[u8]| {
        let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (*a, b.as_str())).collect();
        run("resend", &h, body, now(), &s)
    };
    assert!(call(hdrs(&sig), &b).is_ok());
    assert_unauthorized(call(hdrs(&sig), &tamper(&b, "User@", "Victim@")));
    assert_unauthorized(signed_with("whsec_b3RoZXIgc2VjcmV0IGtleQ==", id, t, &b));
    assert_unauthorized(call(hdrs(&sig).into_iter().filter(|(k, _)| *k != "svix-signature").collect(), &b));
    assert_unauthorized(call(hdrs(&sig).into_iter().filter(|(k, _)| *k != "svix-id").collect(), &b));
    assert_unauthorized(call(hdrs("v2,abc"), &b));
    // Another id with the same signature fails: the id is signed.
    let other_id = vec![
        ("svix-id", "msg_2".to_string()),
        ("svix-timestamp", ts.clone()),
        ("svix-signature", sig.clone()),
    ];
    assert_unauthorized(call(other_id, &b));
    // Rotation: any matching v1 entry passes.
    assert!(call(hdrs(&format!("v1,AAAA {sig}")), &b).is_ok());
    for stale in [t - 301, t + 301] {
        assert_unauthorized(signed_with(SECRET, id, stale, &b));
    }
    // Standard Webhooks header names.
    let sw = vec![
        ("webhook-id", id.to_string()),
        ("webhook-timestamp", ts.clone()),
        ("webhook-signature", sig.clone()),
    ];
    assert!(call(sw, &b).is_ok());
}

#[test]
fn malformed_and_disabled() {
    assert_bad_request(signed(b"{\"type\":"));
    assert_bad_request(signed(br#"{"type":"email.bounced","data":{"to":[]}}"#));
    let mut off = settings();
    off.resend.enabled = false;
    let b = body("email.bounced");
    let sig = sign(SECRET, "m", now().timestamp(), &b);
    let r = run(
        "resend",
        &[("svix-id", "m"), ("svix-timestamp", &now().timestamp().to_string()), ("svix-signature", &sig)],
        &b,
        now(),
        &off,
    );
    assert_eq!(r, Err(ProviderError::Disabled("resend")));
}

#[test]
fn published_vector() {
    let h = headers(&[
        ("svix-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("svix-timestamp", "1614265330"),
        ("svix-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
    ]);
    let body = br#"{"test": 2432232314}"#;
    let tol = std::time::Duration::from_secs(300);
    assert_eq!(resend::verify(&h, body, at(1614265330), SECRET, tol), Ok("msg_p5jXN8AQM9LWM0D4loKWxJek"));
    assert!(resend::verify(&h, br#"{"test": 2432232315}"#, at(1614265330), SECRET, tol).is_err());
    assert!(resend::verify(&h, body, now(), SECRET, tol).is_err(), "old timestamp outside the window");
    // Through the adapter: a verified event that is not a bounce.
    let hs: Vec<(&str, &str)> = h.iter().map(|(k, v)| (k.as_str(), v.to_str().unwrap())).collect();
    assert_ignored(run("resend", &hs, body, at(1614265330), &settings()));
}
