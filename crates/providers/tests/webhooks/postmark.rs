use rebound_core::BounceType;

use crate::support::*;

fn bounce(kind: &str) -> Vec<u8> {
    format!(
        r#"{{"RecordType":"Bounce","MessageStream":"outbound","ID":4323372036,"Type":"{kind}","TypeCode":1,
 "Name":"Hard bounce","Tag":"newsletter","MessageID":"9b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0",
 "Metadata":{{"listmonk_campaign":"{CAMPAIGN}"}},"ServerID":23,
 "Details":"smtp;550 5.1.1 unknown user","Email":"User@Example.com","From":"news@lists.example.org",
 "BouncedAt":"2026-01-05T10:15:29.9070259Z","Inactive":true,"CanActivate":true}}"#
    )
    .into_bytes()
}

fn one(body: &[u8]) -> Vec<rebound_core::BounceEvent> {
    events(run("postmark", &[("Authorization", &auth())], body, now(), &settings()))
}

#[test]
fn bounce_types() {
    let ev = one(&bounce("HardBounce"));
    assert_eq!(ev.len(), 1);
    assert_event(&ev[0], "postmark", BounceType::Hard, "user@example.com", Some(CAMPAIGN), "4323372036");
    assert_eq!(ev[0].created_at.unwrap().to_rfc3339(), "2026-01-05T10:15:29.907025900+00:00");
    assert_eq!(ev[0].meta["Details"], "smtp;550 5.1.1 unknown user");
    assert_eq!(one(&bounce("HardBounce")), ev, "a retry is the same event");
    for (kind, t) in [
        ("BadEmailAddress", BounceType::Hard),
        ("ManuallyDeactivated", BounceType::Hard),
        ("SoftBounce", BounceType::Soft),
        ("Transient", BounceType::Soft),
        ("DnsError", BounceType::Soft),
        ("Blocked", BounceType::Soft),
        ("SpamComplaint", BounceType::Complaint),
        ("SomethingPostmarkAddsLater", BounceType::Soft),
    ] {
        assert_eq!(one(&bounce(kind))[0].bounce_type, t, "{kind}");
    }
    for kind in ["AutoResponder", "Subscribe", "Unsubscribe", "AddressChange", "Unknown", "OpenRelayTest"] {
        assert!(one(&bounce(kind)).is_empty(), "{kind}");
    }
}

#[test]
fn spam_complaint_record() {
    let body = format!(
        r#"{{"RecordType":"SpamComplaint","ID":42,"Type":"SpamComplaint","TypeCode":512,"MessageID":"m-1",
          "Email":"john@example.com","BouncedAt":"2026-01-05T10:15:29Z","Metadata":{{"X-Listmonk-Campaign":"{CAMPAIGN}"}}}}"#
    );
    let ev = one(body.as_bytes());
    assert_event(&ev[0], "postmark", BounceType::Complaint, "john@example.com", Some(CAMPAIGN), "42");
}

#[test]
fn broadcast_subscription_change() {
    let change = |reason: &str, suppress: bool| {
        format!(
            r#"{{"RecordType":"SubscriptionChange","MessageID":"9b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0","ServerID":23,
 "MessageStream":"broadcast","ChangedAt":"2026-01-05T10:15:31.416071Z","Recipient":"User@example.com",
 "Origin":"Recipient","SuppressSending":{suppress},"SuppressionReason":"{reason}","Tag":"newsletter",
 "Metadata":{{"listmonk_campaign":"{CAMPAIGN}"}}}}"#
        )
        .into_bytes()
    };
    let id = "subscription-change:9b1c2d3e-4f50-6172-8394-a5b6c7d8e9f0:user@example.com:2026-01-05T10:15:31.416071Z:true";
    let ev = one(&change("SpamComplaint", true));
    assert_event(&ev[0], "postmark", BounceType::Complaint, "user@example.com", Some(CAMPAIGN), id);
    let ev = one(&change("HardBounce", true));
    assert_event(&ev[0], "postmark", BounceType::Hard, "user@example.com", Some(CAMPAIGN), id);
    assert!(one(&change("ManualSuppression", true)).is_empty());
    assert!(one(&change("HardBounce", false)).is_empty(), "reactivation");
}

#[test]
fn non_bounces_and_bad_payloads() {
    assert!(one(br#"{"RecordType":"Delivery","Recipient":"a@example.com","MessageID":"x"}"#).is_empty());
    assert!(one(br#"{"RecordType":"Open","Recipient":"a@example.com"}"#).is_empty());
    let r = run(
        "postmark",
        &[("Authorization", &auth())],
        br#"{"RecordType":"Bounce","Type":"HardBounce","ID":1}"#,
        now(),
        &settings(),
    );
    assert_bad_request(r);
    assert_bad_request(run("postmark", &[("Authorization", &auth())], b"[1,2]", now(), &settings()));
}

#[test]
fn credentials() {
    basic_auth_checks("postmark", &bounce("HardBounce"), |s, p| s.postmark = p);
}
