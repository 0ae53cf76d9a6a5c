//! MailerSend (a mapper preset): `Signature` = hex HMAC-SHA256 of the body.

use rebound_core::BounceType;
use rebound_providers::ProviderError;

use crate::support::*;

const KEY: &[u8] = b"ms-test-signing-secret";

fn body(kind: &str) -> Vec<u8> {
    format!(
        r#"{{"type":"activity.{kind}","domain_id":"dom1","created_at":"2027-01-05T10:10:00.000000Z","webhook_id":"wh1",
"data":{{"object":"activity","id":"act_{kind}_1","type":"{kind}","created_at":"2027-01-05T10:10:00.000000Z",
"email":{{"object":"email","id":"em1","from":"news@example.org","subject":"Hello","status":"rejected",
"tags":["newsletter","listmonk_campaign={CAMPAIGN}"],"message":{{"id":"msg1"}},"recipient":{{"object":"recipient","id":"r1","email":"Reader@Example.com"}}}},
"morph":{{"object":"recipient_bounce","reason":"550 5.1.1 user unknown"}},"template_id":null}}}}"#
    )
    .into_bytes()
}

fn post(sig: &str, b: &[u8]) -> Result<rebound_providers::Outcome, ProviderError> {
    run("mailersend", &[("Signature", sig)], b, now(), &settings())
}

#[test]
fn valid_duplicate_and_non_bounce() {
    let b = body("hard_bounced");
    let ev = events(post(&hmac_sha256_hex(KEY, &b), &b));
    assert_event(
        &ev[0],
        "mailersend",
        BounceType::Hard,
        "reader@example.com",
        Some(CAMPAIGN),
        "act_hard_bounced_1",
    );
    assert_eq!(ev[0].meta["diagnostic"], "550 5.1.1 user unknown");
    assert_eq!(ev[0].created_at.unwrap().to_rfc3339(), "2027-01-05T10:10:00+00:00");
    // A retry: the same event id.
    assert_eq!(events(post(&hmac_sha256_hex(KEY, &b), &b)), ev);
    let soft = body("soft_bounced");
    assert_eq!(events(post(&hmac_sha256_hex(KEY, &soft), &soft))[0].bounce_type, BounceType::Soft);
    let spam = body("spam_complaint");
    assert_eq!(events(post(&hmac_sha256_hex(KEY, &spam), &spam))[0].bounce_type, BounceType::Complaint);
    let opened = body("opened");
    assert_ignored(post(&hmac_sha256_hex(KEY, &opened), &opened));
}

#[test]
fn tampered_wrong_key_missing_disabled() {
    let b = body("hard_bounced");
    let good = hmac_sha256_hex(KEY, &b);
    assert_unauthorized(post(&good, &tamper(&b, "Reader@", "Victim@")));
    assert_unauthorized(post(&hmac_sha256_hex(b"another-secret", &b), &b));
    assert_unauthorized(run("mailersend", &[], &b, now(), &settings()));
    let mut nokey = settings();
    nokey.mailersend.key = Default::default();
    // An empty key would make anyone's empty-key HMAC valid: refused.
    assert_unauthorized(run("mailersend", &[("Signature", &hmac_sha256_hex(b"", &b))], &b, now(), &nokey));
    let mut off = settings();
    off.mailersend.enabled = false;
    assert_eq!(
        run("mailersend", &[("Signature", &good)], &b, now(), &off),
        Err(ProviderError::Disabled("mailersend"))
    );
}
