//! SMTP2GO (a mapper preset, JSON output): basic or bearer Authorization.

use rebound_core::BounceType;

use crate::support::*;

fn body(event: &str, bounce: &str) -> Vec<u8> {
    format!(
        r#"{{"event":"{event}","time":"2027-01-05T10:05:00Z","sendtime":"2027-01-05T10:00:00Z","sender":"bounces@example.org",
"from":"news@example.org","rcpt":"Reader@Example.com","recipients":["reader@example.com"],"auth":"api-key",
"host":"mx.example.com [192.0.2.1]","message":"550 5.1.1 user unknown","email_id":"1qXyZ-abc123"{bounce}}}"#
    )
    .into_bytes()
}

#[test]
fn valid_duplicate_and_non_bounce() {
    let s = settings();
    let b = body("bounce", r#","bounce":"hard""#);
    let ev = events(run("smtp2go", &[("Authorization", &auth())], &b, now(), &s));
    assert_event(
        &ev[0],
        "smtp2go",
        BounceType::Hard,
        "reader@example.com",
        None,
        "1qXyZ-abc123:Reader@Example.com:bounce:2027-01-05T10:05:00Z",
    );
    assert_eq!(ev[0].meta["diagnostic"], "550 5.1.1 user unknown");
    assert_eq!(events(run("smtp2go", &[("Authorization", &auth())], &b, now(), &s)), ev);
    let soft = body("bounce", r#","bounce":"soft""#);
    assert_eq!(
        events(run("smtp2go", &[("Authorization", &auth())], &soft, now(), &s))[0].bounce_type,
        BounceType::Soft
    );
    let spam = body("spam", "");
    assert_eq!(
        events(run("smtp2go", &[("Authorization", &auth())], &spam, now(), &s))[0].bounce_type,
        BounceType::Complaint
    );
    assert_ignored(run("smtp2go", &[("Authorization", &auth())], &body("delivered", ""), now(), &s));
}

#[test]
fn credentials() {
    basic_auth_checks("smtp2go", &body("bounce", r#","bounce":"hard""#), |s, p| s.smtp2go = p);
}
