//! Mandrill (a mapper preset): `mandrill_events` form field;
//! `X-Mandrill-Signature` = base64 HMAC-SHA1 of the URL and the sorted POST pairs.

use rebound_core::BounceType;
use rebound_providers::ProviderError;

use crate::support::*;

const KEY: &[u8] = b"md-test-webhook-key";
const URL: &str = "https://rebound.example/webhooks/service/mandrill";

fn events_json() -> String {
    format!(
        r#"[{{"event":"hard_bounce","_id":"msg-1","ts":1799143200,"msg":{{"_id":"msg-1","email":"Reader@Example.com",
"state":"bounced","bounce_description":"bad_mailbox","diag":"smtp;550 5.1.1 user unknown","metadata":{{"listmonk_campaign":"{CAMPAIGN}"}}}}}},
{{"event":"soft_bounce","_id":"msg-2","ts":1799143201,"msg":{{"_id":"msg-2","email":"other@example.com","bounce_description":"mailbox_full"}}}},
{{"event":"spam","_id":"msg-3","ts":1799143202,"msg":{{"_id":"msg-3","email":"third@example.com"}}}},
{{"event":"open","_id":"msg-4","ts":1799143203,"msg":{{"_id":"msg-4","email":"fourth@example.com"}}}}]"#
    )
}

fn form(json: &str) -> String {
    format!("mandrill_events={}", url::form_urlencoded::byte_serialize(json.as_bytes()).collect::<String>())
}

fn sig(key: &[u8], url: &str, json: &str) -> String {
    hmac_b64(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key, format!("{url}mandrill_events{json}").as_bytes())
}

fn post(sig: &str, body: &str) -> Result<rebound_providers::Outcome, ProviderError> {
    run("mandrill", &[("X-Mandrill-Signature", sig)], body.as_bytes(), now(), &settings())
}

#[test]
fn valid_duplicate_and_non_bounce() {
    let j = events_json();
    let ev = events(post(&sig(KEY, URL, &j), &form(&j)));
    assert_eq!(ev.len(), 3, "the open is not recorded");
    assert_event(
        &ev[0],
        "mandrill",
        BounceType::Hard,
        "reader@example.com",
        Some(CAMPAIGN),
        "msg-1:hard_bounce:1799143200",
    );
    assert_eq!(ev[0].meta["diagnostic"], "smtp;550 5.1.1 user unknown");
    assert_eq!(ev[0].created_at.unwrap().timestamp(), 1799143200);
    assert_eq!(ev[1].bounce_type, BounceType::Soft);
    assert_eq!(ev[2].bounce_type, BounceType::Complaint);
    assert_eq!(events(post(&sig(KEY, URL, &j), &form(&j))), ev);
    // The test Mandrill sends when a webhook is saved: an empty batch.
    assert_ignored(post(&sig(KEY, URL, "[]"), &form("[]")));
}

#[test]
fn tampered_wrong_key_wrong_url() {
    let j = events_json();
    let good = sig(KEY, URL, &j);
    let tampered = j.replacen("Reader@", "Victim@", 1);
    assert_unauthorized(post(&good, &form(&tampered)));
    assert_unauthorized(post(&sig(b"another-key", URL, &j), &form(&j)));
    // Signed for another URL (another installation's webhook).
    assert_unauthorized(post(&sig(KEY, "https://elsewhere.example/hook", &j), &form(&j)));
    assert_unauthorized(run("mandrill", &[], form(&j).as_bytes(), now(), &settings()));
    let mut no_url = settings();
    no_url.mandrill.url.clear();
    assert_unauthorized(run(
        "mandrill",
        &[("X-Mandrill-Signature", &good)],
        form(&j).as_bytes(),
        now(),
        &no_url,
    ));
}
