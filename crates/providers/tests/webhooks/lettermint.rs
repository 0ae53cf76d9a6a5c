use rebound_core::BounceType;
use rebound_providers::{ProviderError, lettermint};

use crate::support::*;

const SIG: &str = "X-Lettermint-Signature";

fn body(event: &str) -> Vec<u8> {
    format!(
        r#"{{"id":"evt_01JH0000000000000000000000","event":"{event}","timestamp":"2026-01-05T10:15:30Z",
 "data":{{"message_id":"msg_01JH00000000000000000000","subject":"January issue","recipient":"User@Example.com",
         "response":{{"status_code":550,"enhanced_status_code":"5.1.1","content":"user unknown"}},
         "metadata":{{"X-Listmonk-Campaign":"{CAMPAIGN}"}},"tag":"newsletter"}}}}"#
    )
    .into_bytes()
}

fn sig(key: &[u8], t: i64, body: &[u8]) -> String {
    let mut msg = format!("{t}.").into_bytes();
    msg.extend_from_slice(body);
    format!("t={t},v1={}", hmac_sha256_hex(key, &msg))
}

fn signed(body: &[u8]) -> Result<rebound_providers::Outcome, ProviderError> {
    run("lettermint", &[(SIG, &sig(b"lm-test-secret", now().timestamp(), body))], body, now(), &settings())
}

#[test]
fn valid_events() {
    let ev = events(signed(&body("message.hard_bounced")));
    assert_event(
        &ev[0],
        "lettermint",
        BounceType::Hard,
        "user@example.com",
        Some(CAMPAIGN),
        "evt_01JH0000000000000000000000",
    );
    assert_eq!(ev[0].created_at.unwrap().to_rfc3339(), "2026-01-05T10:15:30+00:00");
    assert_eq!(events(signed(&body("message.hard_bounced"))), ev);
    assert_eq!(events(signed(&body("message.soft_bounced")))[0].bounce_type, BounceType::Soft);
    assert_eq!(events(signed(&body("message.spam_complaint")))[0].bounce_type, BounceType::Complaint);
    assert_ignored(signed(&body("message.delivered")));
    assert_ignored(signed(br#"{"id":"evt_2","event":"webhook.test"}"#));
}

#[test]
fn rejections() {
    let b = body("message.hard_bounced");
    let s = settings();
    let t = now().timestamp();
    let good = sig(b"lm-test-secret", t, &b);
    assert_unauthorized(run("lettermint", &[(SIG, &good)], &tamper(&b, "User@", "Victim@"), now(), &s));
    assert_unauthorized(run("lettermint", &[(SIG, &sig(b"other", t, &b))], &b, now(), &s));
    assert_unauthorized(run("lettermint", &[], &b, now(), &s));
    assert_unauthorized(run("lettermint", &[(SIG, "v1=abc")], &b, now(), &s));
    assert_unauthorized(run("lettermint", &[(SIG, &format!("t={t}"))], &b, now(), &s));
    assert_unauthorized(run("lettermint", &[(SIG, &format!("t={t},v1=nothex"))], &b, now(), &s));
    // The signature binds the timestamp: another t with the same v1 fails.
    let moved = good.replace(&format!("t={t}"), &format!("t={}", t - 1));
    assert_unauthorized(run("lettermint", &[(SIG, &moved)], &b, now(), &s));
    for stale in [t - 301, t + 301] {
        assert_unauthorized(run("lettermint", &[(SIG, &sig(b"lm-test-secret", stale, &b))], &b, now(), &s));
    }
}

#[test]
fn malformed_and_disabled() {
    assert_bad_request(signed(b"{\"id\":"));
    assert_bad_request(signed(br#"{"id":"e","event":"message.hard_bounced","data":{}}"#));
    let mut off = settings();
    off.lettermint.enabled = false;
    let b = body("message.hard_bounced");
    let r = run("lettermint", &[(SIG, &sig(b"lm-test-secret", now().timestamp(), &b))], &b, now(), &off);
    assert_eq!(r, Err(ProviderError::Disabled("lettermint")));
}

#[test]
fn published_vector() {
    let body = br#"{"id":"evt_1","event":"message.hard_bounced"}"#;
    let h =
        headers(&[(SIG, "t=1767225600,v1=4ebfc0b91436b04bd5ca5a02fb436134a457c29e3f049d8f3a97a874d65df6b8")]);
    let tol = std::time::Duration::from_secs(300);
    assert_eq!(lettermint::verify(&h, body, at(1767225600), "lm-test-secret", tol), Ok(()));
    assert!(lettermint::verify(&h, body, at(1767225600 + 301), "lm-test-secret", tol).is_err());
    // Verified, but a bounce without a recipient cannot be recorded.
    assert_bad_request(run(
        "lettermint",
        &[(SIG, h[SIG].to_str().unwrap())],
        body,
        at(1767225600),
        &settings(),
    ));
}
