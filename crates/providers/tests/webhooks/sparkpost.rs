use rebound_core::BounceType;

use crate::support::*;

fn batch() -> String {
    format!(
        r#"[{{"msys":{{"message_event":{{"type":"bounce","event_id":"92356927693813856","timestamp":"1767608130",
  "rcpt_to":"User@Example.com","raw_rcpt_to":"User@Example.com","bounce_class":"10",
  "reason":"550 5.1.1 ...@... user unknown","error_code":"550","message_id":"000443ee14578172be22",
  "campaign_id":"january-issue","rcpt_meta":{{"listmonk_campaign":"{CAMPAIGN}"}},"rcpt_tags":["newsletter"]}}}}}},
 {{"msys":{{"message_event":{{"type":"spam_complaint","event_id":"92356927693813857","timestamp":"1767608190",
  "rcpt_to":"other@example.net","fbtype":"abuse","rcpt_meta":{{}}}}}}}},
 {{"msys":{{"message_event":{{"type":"out_of_band","event_id":"3","timestamp":"1767608190","rcpt_to":"soft@example.net","bounce_class":"22"}}}}}},
 {{"msys":{{"message_event":{{"type":"bounce","event_id":"4","timestamp":"1767608190","rcpt_to":"auto@example.net","bounce_class":"60"}}}}}},
 {{"msys":{{"message_event":{{"type":"bounce","event_id":"5","timestamp":"1767608190","rcpt_to":"new@example.net","bounce_class":"77"}}}}}},
 {{"msys":{{"message_event":{{"type":"delivery","event_id":"6","timestamp":"1767608190","rcpt_to":"ok@example.net"}}}}}},
 {{"msys":{{"track_event":{{"type":"open","event_id":"7","timestamp":"1767608190","rcpt_to":"ok@example.net"}}}}}}]"#
    )
}

#[test]
fn batch_records_every_bounce() {
    let run_it =
        || events(run("sparkpost", &[("Authorization", &auth())], batch().as_bytes(), now(), &settings()));
    let ev = run_it();
    assert_eq!(ev.len(), 4, "{ev:#?}");
    assert_event(
        &ev[0],
        "sparkpost",
        BounceType::Hard,
        "user@example.com",
        Some(CAMPAIGN),
        "92356927693813856",
    );
    assert_event(&ev[1], "sparkpost", BounceType::Complaint, "other@example.net", None, "92356927693813857");
    assert_event(&ev[2], "sparkpost", BounceType::Soft, "soft@example.net", None, "3");
    assert_event(&ev[3], "sparkpost", BounceType::Soft, "new@example.net", None, "5");
    assert_eq!(ev[0].created_at, Some(at(1767608130)));
    assert_eq!(ev[0].meta["event_id"], "92356927693813856", "meta is the event itself");
    assert_eq!(run_it(), ev);
}

#[test]
fn test_batch_and_non_bounces() {
    assert_ignored(run("sparkpost", &[("Authorization", &auth())], b"[]", now(), &settings()));
    let body = br#"[{"msys":{}}, {"msys":{"message_event":{"type":"delivery","event_id":"1","rcpt_to":"a@example.com"}}}]"#;
    assert_ignored(run("sparkpost", &[("Authorization", &auth())], body, now(), &settings()));
    assert_bad_request(run(
        "sparkpost",
        &[("Authorization", &auth())],
        br#"{"msys":{}}"#,
        now(),
        &settings(),
    ));
}

#[test]
fn credentials() {
    basic_auth_checks("sparkpost", batch().as_bytes(), |s, p| s.sparkpost = p);
}
