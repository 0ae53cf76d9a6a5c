use rebound_core::BounceType;

use crate::support::*;

fn event(kind: &str, email: &str) -> String {
    format!(
        r#"{{"event":"{kind}","email":"{email}","id":123456,"date":"2026-01-05 11:15:30",
 "ts":1767608130,"message-id":"<202601051015.1234@smtp-relay.mailin.fr>","ts_event":1767608130,
 "subject":"January issue","X-Mailin-custom":"listmonk_campaign={CAMPAIGN}",
 "sending_ip":"1.179.112.10","ts_epoch":1767608130123,"reason":"550 5.1.1 user unknown","tags":["newsletter"]}}"#
    )
}

fn run_body(body: &[u8]) -> Vec<rebound_core::BounceEvent> {
    events(run("brevo", &[("Authorization", &auth())], body, now(), &settings()))
}

#[test]
fn single_event() {
    let ev = run_body(event("hard_bounce", "User@Example.com").as_bytes());
    assert_eq!(ev.len(), 1);
    let id = "<202601051015.1234@smtp-relay.mailin.fr>:hard_bounce:1767608130:user@example.com";
    assert_event(&ev[0], "brevo", BounceType::Hard, "user@example.com", Some(CAMPAIGN), id);
    assert_eq!(ev[0].created_at.unwrap().timestamp_millis(), 1767608130123);
    assert_eq!(run_body(event("hard_bounce", "User@Example.com").as_bytes()), ev);
}

#[test]
fn batch_and_mapping() {
    let body = format!(
        "[{},{},{},{},{},{}]",
        event("invalid_email", "a@example.com"),
        event("soft_bounce", "b@example.com"),
        event("spam", "c@example.com"),
        event("delivered", "d@example.com"),
        event("blocked", "e@example.com"),
        event("deferred", "f@example.com"),
    );
    let ev = run_body(body.as_bytes());
    let got: Vec<_> =
        ev.iter().map(|e| (e.subscriber.email.as_ref().unwrap().to_string(), e.bounce_type)).collect();
    assert_eq!(
        got,
        vec![
            ("a@example.com".to_string(), BounceType::Hard),
            ("b@example.com".to_string(), BounceType::Soft),
            ("c@example.com".to_string(), BounceType::Complaint),
        ]
    );
    assert!(run_body(event("opened", "a@example.com").as_bytes()).is_empty());
}

#[test]
fn campaign_forms() {
    let with = |custom: &str| {
        let body =
            event("hard_bounce", "a@example.com").replace(&format!("listmonk_campaign={CAMPAIGN}"), custom);
        run_body(body.as_bytes())[0].campaign_uuid.map(|u| u.to_string())
    };
    assert_eq!(with(CAMPAIGN).as_deref(), Some(CAMPAIGN));
    assert_eq!(with(&format!("foo=bar;listmonk_campaign={CAMPAIGN}")).as_deref(), Some(CAMPAIGN));
    assert_eq!(with("listmonk_campaign=not-a-uuid"), None);
}

#[test]
fn credentials() {
    basic_auth_checks("brevo", event("hard_bounce", "a@example.com").as_bytes(), |s, p| s.brevo = p);
}
