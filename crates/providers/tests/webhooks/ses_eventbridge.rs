//! SES event destinations through EventBridge API destinations: an API key header.

use rebound_core::BounceType;
use rebound_providers::ProviderError;

use crate::support::*;

fn event(kind: &str, detail_type: &str) -> Vec<u8> {
    let section = match kind {
        "Bounce" => {
            r#""bounce":{"feedbackId":"fb-1","bounceType":"Permanent","bounceSubType":"General",
            "bouncedRecipients":[{"emailAddress":"Reader@Example.com","action":"failed","status":"5.1.1",
            "diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2027-01-05T10:05:00.000Z"}"#
        }
        "Complaint" => {
            r#""complaint":{"feedbackId":"fb-2","complainedRecipients":[{"emailAddress":"reader@example.com"}],
            "timestamp":"2027-01-05T10:06:00.000Z"}"#
        }
        _ => r#""delivery":{"recipients":["reader@example.com"]}"#,
    };
    format!(
        r#"{{"version":"0","id":"eb-evt-1","detail-type":"{detail_type}","source":"aws.ses","account":"111122223333",
"time":"2027-01-05T10:05:01Z","region":"eu-west-1","resources":["arn:aws:ses:eu-west-1:111122223333:configuration-set/news"],
"detail":{{"eventType":"{kind}","mail":{{"timestamp":"2027-01-05T10:00:00.000Z","messageId":"m-1",
"headers":[{{"name":"X-Listmonk-Campaign","value":"{CAMPAIGN}"}}],"destination":["reader@example.com"]}},{section}}}}}"#
    )
    .into_bytes()
}

fn post(key: &str, b: &[u8]) -> Result<rebound_providers::Outcome, ProviderError> {
    run("ses_eventbridge", &[("x-rebound-key", key)], b, now(), &settings())
}

#[test]
fn valid_duplicate_and_non_bounce() {
    let b = event("Bounce", "Email Bounced");
    let ev = events(post("eb-test-api-key", &b));
    // The source and id the SNS adapter gives the same bounce: counted once either way.
    assert_event(
        &ev[0],
        "ses",
        BounceType::Hard,
        "reader@example.com",
        Some(CAMPAIGN),
        "fb-1:reader@example.com",
    );
    assert_eq!(events(post("eb-test-api-key", &b)), ev);
    let c = event("Complaint", "Email Complaint Received");
    assert_eq!(events(post("eb-test-api-key", &c))[0].bounce_type, BounceType::Complaint);
    assert_ignored(post("eb-test-api-key", &event("Delivery", "Email Delivered")));
    // Another source on the bus is not SES's.
    assert_ignored(post("eb-test-api-key", &tamper(&b, "\"aws.ses\"", "\"aws.ec2\"")));
    // A batch (an input transformer's array).
    let batch = [b"[".to_vec(), b.clone(), b",".to_vec(), c, b"]".to_vec()].concat();
    assert_eq!(events(post("eb-test-api-key", &batch)).len(), 2);
}

#[test]
fn wrong_missing_key_and_malformed() {
    let b = event("Bounce", "Email Bounced");
    assert_unauthorized(post("wrong-key", &b));
    assert_unauthorized(run("ses_eventbridge", &[], &b, now(), &settings()));
    let mut nokey = settings();
    nokey.ses_eventbridge.key = Default::default();
    assert_unauthorized(run("ses_eventbridge", &[("x-rebound-key", "")], &b, now(), &nokey));
    // Another header name configured.
    let mut other = settings();
    other.ses_eventbridge.header = "X-Api-Key".into();
    assert_eq!(
        events(run("ses_eventbridge", &[("X-Api-Key", "eb-test-api-key")], &b, now(), &other)).len(),
        1
    );
    assert_bad_request(post("eb-test-api-key", b"{nope"));
    assert_bad_request(post("eb-test-api-key", br#"{"source":"aws.ses"}"#));
}
