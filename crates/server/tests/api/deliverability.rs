//! GET /api/deliverability/domains over HTTP, both backends: bounces per
//! receiving domain with their reasons, and what a wrong window gets.

use rebound_testkit::{Backend, TestServer, backend_tests};
use serde_json::json;

async fn bounces_per_receiving_domain_with_reasons(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    for e in ["a@gmail.com", "b@gmail.com", "c@outlook.com"] {
        s.create_subscriber(e, &[]).await;
    }
    for (email, kind, reason) in [
        ("a@gmail.com", "soft", "mailboxfull"),
        ("b@gmail.com", "soft", "mailboxfull"),
        ("c@outlook.com", "hard", "blocked"),
    ] {
        s.post_ok(
            "/webhooks/bounce",
            &json!({"email": email, "source": "api", "type": kind, "meta": {"reason": reason}}),
        )
        .await;
    }
    let d = s.get_json("/api/deliverability/domains?days=7").await["data"].clone();
    assert_eq!(
        d,
        json!([
            {"domain": "gmail.com", "counts": {"soft": 2, "hard": 0, "complaint": 0},
             "reasons": [{"reason": "mailboxfull", "count": 2}]},
            {"domain": "outlook.com", "counts": {"soft": 0, "hard": 1, "complaint": 0},
             "reasons": [{"reason": "blocked", "count": 1}]}
        ])
    );
    for bad in ["0", "367", "seven"] {
        let (status, body) = s
            .send_json(reqwest::Method::GET, &format!("/api/deliverability/domains?days={bad}"), &json!(null))
            .await;
        assert_eq!(status, 400, "days={bad}: {body}");
    }
}

backend_tests!(bounces_per_receiving_domain_with_reasons);
