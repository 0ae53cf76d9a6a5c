use rebound_core::BounceType;

use crate::support::*;

fn event(kind: &str, hard: bool, email: &str) -> String {
    format!(
        r#"{{"event":"{kind}","time":1767608130,"MessageID":288230376151711744,
  "Message_GUID":"1ab23cd4-5e6f-7a8b-9c0d-1e2f3a4b5c6d","email":"{email}",
  "mj_campaign_id":7173,"mj_contact_id":320,"customcampaign":"","CustomID":"{CAMPAIGN}",
  "Payload":"","blocked":false,"hard_bounce":{hard},"error_related_to":"recipient","error":"user unknown"}}"#
    )
}

fn run_body(body: &[u8]) -> Vec<rebound_core::BounceEvent> {
    events(run("mailjet", &[("Authorization", &auth())], body, now(), &settings()))
}

#[test]
fn version_1_single_object() {
    let ev = run_body(event("bounce", true, "User@Example.com").as_bytes());
    let id = "1ab23cd4-5e6f-7a8b-9c0d-1e2f3a4b5c6d:bounce:1767608130";
    assert_event(&ev[0], "mailjet", BounceType::Hard, "user@example.com", Some(CAMPAIGN), id);
    assert_eq!(ev[0].created_at, Some(at(1767608130)));
    assert_eq!(run_body(event("bounce", true, "User@Example.com").as_bytes()), ev);
}

#[test]
fn version_2_batch() {
    let body = format!(
        "[{},{},{},{}]",
        event("bounce", false, "a@example.com"),
        event("spam", false, "b@example.com"),
        event("blocked", false, "c@example.com"),
        event("open", false, "d@example.com")
    );
    let ev = run_body(body.as_bytes());
    assert_eq!(ev.len(), 2);
    assert_eq!(ev[0].bounce_type, BounceType::Soft);
    assert_eq!(ev[1].bounce_type, BounceType::Complaint);
    assert!(run_body(event("sent", false, "a@example.com").as_bytes()).is_empty());
}

#[test]
fn campaign_in_payload() {
    let body = event("bounce", true, "a@example.com")
        .replace(&format!("\"CustomID\":\"{CAMPAIGN}\""), "\"CustomID\":\"\"")
        .replace(
            "\"Payload\":\"\"",
            &format!("\"Payload\":\"{{\\\"listmonk_campaign\\\":\\\"{CAMPAIGN}\\\"}}\""),
        );
    assert_eq!(run_body(body.as_bytes())[0].campaign_uuid.unwrap().to_string(), CAMPAIGN);
}

#[test]
fn credentials() {
    basic_auth_checks("mailjet", event("bounce", true, "a@example.com").as_bytes(), |s, p| s.mailjet = p);
}
