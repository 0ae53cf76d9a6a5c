//! The bounces table says why each address bounced: the parser's reason in
//! words with its explanation, filterable, so "mailbox full" and "user
//! unknown" no longer look alike (headless Chromium; screenshot
//! bounces-reasons.png). The filter is the store's, on both backends.

use rebound_testkit::{Backend, TestServer, backend_tests};
use serde_json::json;

use super::browser::Browser;
use super::{log_in, record};

async fn seeded(b: Backend) -> TestServer {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {"soft": {"count": 99, "action": "none"},
        "hard": {"count": 99, "action": "none"}, "complaint": {"count": 99, "action": "none"}}}))
        .await;
    for (email, kind, reason, why) in [
        ("full@x.test", "soft", "mailboxfull", "452 4.2.2 mailbox full"),
        ("gone@x.test", "hard", "userunknown", "550 5.1.1 user unknown"),
        ("gone2@x.test", "hard", "userunknown", "550 5.1.1 no such user"),
        ("plain@x.test", "hard", "", ""),
    ] {
        s.create_subscriber(email, &[]).await;
        let meta = if reason.is_empty() { json!({}) } else { json!({"reason": reason, "explanation": why}) };
        record(&s, &json!({"email": email, "source": "api", "type": kind, "meta": meta})).await;
    }
    s
}

async fn the_reason_filter_selects_by_meta_reason(b: Backend) {
    let s = seeded(b).await;
    let all = s.get_json("/api/bounces?per_page=all&reason=userunknown").await;
    let mut emails: Vec<&str> =
        all["data"]["results"].as_array().unwrap().iter().map(|r| r["email"].as_str().unwrap()).collect();
    emails.sort();
    assert_eq!(emails, ["gone2@x.test", "gone@x.test"]);
    assert_eq!(s.get_json("/api/bounces?reason=mailboxfull").await["data"]["total"], 1);
    assert_eq!(s.get_json("/api/bounces?reason=nosuchreason").await["data"]["total"], 0);
}

backend_tests!(the_reason_filter_selects_by_meta_reason);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bounces_table_shows_and_filters_reasons() {
    let s = seeded(Backend::Sqlite).await;
    let b = Browser::start().await;
    log_in(&b, &s).await;
    b.goto(&s.url("/admin/bounces")).await;
    let mut reasons = b.texts("#bounces-table tbody td.reason").await;
    reasons.sort();
    assert_eq!(reasons.len(), 4, "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("mailbox full") && r.contains("452 4.2.2")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r.starts_with("user unknown") && r.contains("5.1.1")), "{reasons:?}");
    assert!(reasons.iter().any(|r| r == "–"), "a bounce without a reason says so: {reasons:?}");
    let badges = b.texts("#bounces-table tbody td.email .badge").await;
    assert!(
        badges.iter().all(|t| t.starts_with("now ")),
        "the status badge says it is the current status: {badges:?}"
    );
    b.screenshot("bounces-reasons").await;

    // The filter, with counts.
    let options = b.texts("#filter-reason option").await;
    assert_eq!(options, ["All reasons", "user unknown (2)", "mailbox full (1)"]);
    b.click_on("#filter-reason option[value='userunknown']").await;
    b.click_to_load("#apply-filters").await;
    b.wait_for_count("#bounces-table tbody tr", 2).await;
    assert_eq!(b.text_of("#bounce-total").await, "2");
    // A reason in the table is a link to that filter too.
    b.goto(&s.url("/admin/bounces")).await;
    b.click_to_load("#bounces-table tbody td.reason a[href*='mailboxfull']").await;
    b.wait_for_count("#bounces-table tbody tr", 1).await;
    b.close().await;
}

/// The domains page: per receiving domain, how and why, most first
/// (screenshot domains.png); a reason links to the bounces it counts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_domains_page_shows_reasons_per_receiving_domain() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.enable_webhooks().await;
    for (email, kind, reason) in [
        ("a@outlook.com", "hard", "blocked"),
        ("b@outlook.com", "hard", "blocked"),
        ("c@outlook.com", "soft", "badreputation"),
        ("d@gmail.com", "hard", "userunknown"),
    ] {
        s.create_subscriber(email, &[]).await;
        record(&s, &json!({"email": email, "source": "api", "type": kind, "meta": {"reason": reason}})).await;
    }
    let b = Browser::start().await;
    log_in(&b, &s).await;
    b.goto(&s.url("/admin/domains")).await;
    let domains = b.texts("#domains-table tbody td.domain").await;
    assert_eq!(domains, ["outlook.com 3", "gmail.com 1"]);
    let outlook = b.text_of("#domains-table tr[data-domain='outlook.com'] td.reasons").await;
    assert!(
        outlook.starts_with("blocked (sending IP) 2") && outlook.contains("bad reputation 1"),
        "{outlook}"
    );
    b.screenshot("domains").await;
    b.click_to_load("#domains-table tr[data-domain='gmail.com'] td.reasons a").await;
    b.wait_for_count("#bounces-table tbody tr", 1).await;
    b.close().await;
}
