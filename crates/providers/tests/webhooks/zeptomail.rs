//! ZeptoMail (a mapper preset): `producer-signature: ts=<ms>;s=<base64
//! HMAC-SHA256 of the body>;s-algorithm=HMACSHA256`.

use rebound_core::BounceType;
use rebound_providers::ProviderError;

use crate::support::*;

const KEY: &[u8] = b"zm-test-auth-key";

fn body(event: &str) -> Vec<u8> {
    format!(
        r#"{{"event_name":["{event}"],"event_message":[{{"email_info":{{"to":[{{"email_address":{{"address":"reader@example.com","name":"Reader"}}}}],
"client_reference":"{CAMPAIGN}","subject":"Hello","from":{{"address":"news@example.org"}}}},
"event_data":[{{"object":"{event}","details":[{{"reason":"Mailbox does not exist","bounced_recipient":"Reader@Example.com",
"time":"2027-01-05T10:05:00+0000","diagnostic_message":"550 5.1.1 user unknown"}}]}}],"request_id":"req-1"}}],
"mailagent_key":"agent1","webhook_request_id":"whr-1"}}"#
    )
    .into_bytes()
}

fn sig(key: &[u8], ts_ms: i64, b: &[u8]) -> String {
    format!("ts={ts_ms};s={};s-algorithm=HMACSHA256", hmac_sha256_b64(key, b))
}

fn post(sig: &str, b: &[u8]) -> Result<rebound_providers::Outcome, ProviderError> {
    run("zeptomail", &[("producer-signature", sig)], b, now(), &settings())
}

#[test]
fn valid_duplicate_and_non_bounce() {
    let ms = now().timestamp_millis();
    let b = body("hardbounce");
    let ev = events(post(&sig(KEY, ms, &b), &b));
    assert_event(
        &ev[0],
        "zeptomail",
        BounceType::Hard,
        "reader@example.com",
        Some(CAMPAIGN),
        "whr-1:req-1:Reader@Example.com",
    );
    assert_eq!(ev[0].meta["diagnostic"], "550 5.1.1 user unknown");
    assert_eq!(events(post(&sig(KEY, ms, &b), &b)), ev);
    // The header as some senders percent-encode it.
    let encoded =
        sig(KEY, ms, &b).replace('=', "%3D").replace(';', "%3B").replace('+', "%2B").replace('/', "%2F");
    assert_eq!(events(post(&encoded, &b)), ev);
    let soft = body("softbounce");
    assert_eq!(events(post(&sig(KEY, ms, &soft), &soft))[0].bounce_type, BounceType::Soft);
    let open = body("email_open");
    assert_ignored(post(&sig(KEY, ms, &open), &open));
}

#[test]
fn tampered_wrong_key_stale() {
    let ms = now().timestamp_millis();
    let b = body("hardbounce");
    assert_unauthorized(post(&sig(KEY, ms, &b), &tamper(&b, "Reader@", "Victim@")));
    assert_unauthorized(post(&sig(b"another-key", ms, &b), &b));
    assert_unauthorized(post(&sig(KEY, ms - 301_000, &b), &b));
    assert_unauthorized(post(&sig(KEY, ms + 301_000, &b), &b));
    assert_unauthorized(post(&format!("ts={ms}"), &b));
    assert_unauthorized(run("zeptomail", &[], &b, now(), &settings()));
}
