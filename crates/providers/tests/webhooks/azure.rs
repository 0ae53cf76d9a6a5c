use rebound_core::BounceType;
use rebound_providers::{Outcome, ProviderError};
use serde_json::json;

use crate::support::*;

fn delivery(status: &str, details: &str) -> Vec<u8> {
    format!(
        r#"[{{"id":"e1f2a3b4-c5d6-47e8-9f00-112233445566",
  "topic":"/subscriptions/0000/resourceGroups/mail/providers/Microsoft.Communication/communicationServices/acs1",
  "subject":"sender/news@lists.example.org/message/6a1b2c3d-0000-1111-2222-333344445555",
  "eventType":"Microsoft.Communication.EmailDeliveryReportReceived",
  "data":{{"sender":"news@lists.example.org","recipient":"User@Example.com",
          "messageId":"6a1b2c3d-0000-1111-2222-333344445555","internetMessageId":"<abc@lists.example.org>",
          "status":"{status}","deliveryStatusDetails":{{"statusMessage":"{details}"}},
          "deliveryAttemptTimestamp":"2026-01-05T10:15:29.0000000Z"}},
  "dataVersion":"1.0","metadataVersion":"1","eventTime":"2026-01-05T10:15:30.0000000Z"}}]"#
    )
    .into_bytes()
}

const VALIDATION: &[u8] = br#"[{"id":"2d1781af-3a4c-4d7c-bd0c-e34b19da4e66","topic":"/subscriptions/0000","subject":"",
  "data":{"validationCode":"512d38b6-c7b8-40c8-89fe-f46f9e9622b6",
          "validationUrl":"https://rp-eastus2.eventgrid.azure.net/eventsubscriptions/x/validate?id=1&t=2&apiVersion=3&token=4"},
  "eventType":"Microsoft.EventGrid.SubscriptionValidationEvent","eventTime":"2026-01-05T10:00:00Z",
  "metadataVersion":"1","dataVersion":"2"}]"#;

fn with_code(body: &[u8]) -> Result<Outcome, ProviderError> {
    run_query("azure", &[], Some("foo=1&code=azure-shared-secret"), body, now(), &settings())
}

#[test]
fn bounced_via_query_code_and_header() {
    let ev = events(with_code(&delivery("Bounced", "550 5.1.1 recipient does not exist")));
    assert_event(
        &ev[0],
        "azure",
        BounceType::Hard,
        "user@example.com",
        None,
        "e1f2a3b4-c5d6-47e8-9f00-112233445566",
    );
    assert_eq!(ev[0].created_at.unwrap().to_rfc3339(), "2026-01-05T10:15:29+00:00");
    assert_eq!(events(with_code(&delivery("Bounced", ""))), events(with_code(&delivery("Bounced", ""))));
    // With no header configured, listmonk's default header carries it, so
    // an Event Grid subscription made for listmonk works unchanged.
    let h = run(
        "azure",
        &[("X-Listmonk-Webhook-Secret", "azure-shared-secret")],
        &delivery("Bounced", ""),
        now(),
        &settings(),
    );
    assert_eq!(events(h).len(), 1);
    // A custom header name (and then only that one), and the url-encoded query form.
    let mut s = settings();
    s.azure.shared_secret_header = "X-Azure-Secret".into();
    s.azure.shared_secret = "a b&c".into();
    let r = run("azure", &[("X-Azure-Secret", "a b&c")], &delivery("Bounced", ""), now(), &s);
    assert_eq!(events(r).len(), 1);
    assert_unauthorized(run(
        "azure",
        &[("X-Listmonk-Webhook-Secret", "a b&c")],
        &delivery("Bounced", ""),
        now(),
        &s,
    ));
    s.azure.shared_secret_header = "X-Listmonk-Webhook-Secret".into();
    s.azure.shared_secret = "a b&c".into();
    let r = run("azure", &[("X-Listmonk-Webhook-Secret", "a b&c")], &delivery("Bounced", ""), now(), &s);
    assert_eq!(events(r).len(), 1);
    let r = run_query("azure", &[], Some("code=a+b%26c"), &delivery("Bounced", ""), now(), &s);
    assert_eq!(events(r).len(), 1);
}

#[test]
fn status_mapping() {
    for (status, details, t) in [
        ("Suppressed", "", Some(BounceType::Hard)),
        ("Failed", "550 5.1.1 user unknown", Some(BounceType::Hard)),
        ("Failed", "451 4.4.1 timeout", Some(BounceType::Soft)),
        ("FilteredSpam", "", Some(BounceType::Soft)),
        ("Quarantined", "", Some(BounceType::Soft)),
        ("NewStatus", "", Some(BounceType::Soft)),
        ("Delivered", "", None),
        ("Expanded", "", None),
    ] {
        let ev = events(with_code(&delivery(status, details)));
        assert_eq!(ev.first().map(|e| e.bounce_type), t, "{status}");
    }
    let other = br#"[{"id":"1","eventType":"Microsoft.Communication.EmailEngagementTrackingReportReceived","data":{"recipient":"a@example.com"}}]"#;
    assert_ignored(with_code(other));
}

#[test]
fn validation_handshake_is_authenticated() {
    assert_eq!(
        with_code(VALIDATION),
        Ok(Outcome::Reply(json!({"validationResponse": "512d38b6-c7b8-40c8-89fe-f46f9e9622b6"})))
    );
    assert_unauthorized(run(
        "azure",
        &[("aeg-event-type", "SubscriptionValidation")],
        VALIDATION,
        now(),
        &settings(),
    ));
}

#[test]
fn rejections() {
    let b = delivery("Bounced", "");
    let s = settings();
    assert_unauthorized(run("azure", &[], &b, now(), &s));
    assert_unauthorized(run_query("azure", &[], Some("code=wrong"), &b, now(), &s));
    assert_unauthorized(run_query("azure", &[], Some("code=azure-shared-secret-"), &b, now(), &s));
    assert_unauthorized(run("azure", &[("X-Listmonk-Webhook-Secret", "wrong")], &b, now(), &s));
    // No secret configured: refused even with an empty code (listmonk accepted everything).
    let mut open = settings();
    open.azure.shared_secret = Default::default();
    assert_unauthorized(run_query("azure", &[], Some("code="), &b, now(), &open));
    // Malformed JSON after authentication, disabled.
    assert_bad_request(with_code(b"[{"));
    assert_bad_request(with_code(b"42"));
    let mut off = settings();
    off.azure.enabled = false;
    assert_eq!(
        run_query("azure", &[], Some("code=azure-shared-secret"), &b, now(), &off),
        Err(ProviderError::Disabled("azure"))
    );
}

#[test]
fn batch_of_several_events() {
    let one = String::from_utf8(delivery("Bounced", "")).unwrap();
    let two = one.replace("e1f2a3b4", "ffffffff").replace("User@Example.com", "second@example.com");
    let body = format!("[{},{}]", &one[1..one.len() - 1], &two[1..two.len() - 1]);
    let ev = events(with_code(body.as_bytes()));
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[1].subscriber.email.as_ref().unwrap().as_str(), "second@example.com");
}

#[test]
fn cloudevents_schema() {
    let body = br#"{"specversion":"1.0","id":"ce-1","source":"/subscriptions/0000","type":"Microsoft.Communication.EmailDeliveryReportReceived",
      "time":"2026-01-05T10:15:30Z","data":{"recipient":"a@example.com","status":"Bounced"}}"#;
    let ev = events(with_code(body));
    assert_event(&ev[0], "azure", BounceType::Hard, "a@example.com", None, "ce-1");
    assert_eq!(ev[0].created_at.unwrap().to_rfc3339(), "2026-01-05T10:15:30+00:00");
}

#[test]
fn request_debug_hides_credentials() {
    let h = headers(&[("Authorization", "Basic c2VjcmV0")]);
    let req = rebound_providers::WebhookRequest {
        headers: &h,
        query: Some("code=azure-shared-secret"),
        body: b"{}",
    };
    let shown = format!("{req:?}");
    assert!(
        shown.contains("authorization") && !shown.contains("c2VjcmV0") && !shown.contains("azure-shared"),
        "{shown}"
    );
}
