//! The suppression list (search, add, reactivate) and the webhooks page
//! (endpoints with their last deliveries and failures, why one is paused,
//! sending again, registering with the secret shown once), over HTTP.

use rebound_testkit::{ADMIN_USER, Backend, TestServer, backend_tests};
use serde_json::json;

use crate::http::{hidden, login, page, post_form};
use crate::record;

async fn suppressions_search_add_and_reactivate(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let (sub, _) = s.create_subscriber("bounced@example.com", &[]).await;
    record(&s, &json!({"email": "bounced@example.com", "type": "hard", "source": "ses"})).await;
    record(&s, &json!({"email": "stranger@example.org", "type": "hard", "source": "api"})).await;
    let session = login(&s, ADMIN_USER, &s.admin_password, &[]).await.0.expect("logged in");

    let (status, _, html) = page(&s, &session, "/admin/suppressions").await;
    assert_eq!(status, 200);
    assert!(
        html.contains(r#"data-email="bounced@example.com""#)
            && html.contains(r#"data-email="stranger@example.org""#),
        "{html}"
    );
    assert!(html.contains("blocklist after 1"), "the rule is shown as the reason: {html}");
    let (_, _, html) = page(&s, &session, "/admin/suppressions?search=STRANGER").await;
    assert!(
        html.contains("stranger@example.org") && !html.contains(r#"data-email="bounced@example.com""#),
        "{html}"
    );

    let csrf = hidden(&html, "csrf");
    let form = [("csrf", csrf.as_str()), ("email", "bounced@example.com"), ("confirmed", "")];
    let (status, _, asked) = post_form(&s, &session, "/admin/suppressions/reactivate", &form).await;
    assert_eq!(status, 200);
    assert!(asked.contains("Reactivate bounced@example.com?"), "asks first: {asked}");
    assert_eq!(s.get_json(&format!("/api/subscribers/{sub}")).await["data"]["status"], "blocklisted");
    let form = [("csrf", csrf.as_str()), ("email", "bounced@example.com"), ("confirmed", "yes")];
    let (status, location, _) = post_form(&s, &session, "/admin/suppressions/reactivate", &form).await;
    assert_eq!(status, 303, "{location}");
    assert!(location.contains("done=reactivated"), "{location}");
    assert_eq!(s.get_json(&format!("/api/subscribers/{sub}")).await["data"]["status"], "enabled");
    let (_, _, html) = page(&s, &session, &location).await;
    assert!(html.contains("Reactivated") && !html.contains(r#"data-email="bounced@example.com""#), "{html}");

    let form = [("csrf", csrf.as_str()), ("email", "hand@example.net"), ("reason", "asked to be left alone")];
    let (status, location, _) = post_form(&s, &session, "/admin/suppressions/add", &form).await;
    assert_eq!(status, 303);
    let (_, _, html) = page(&s, &session, &location).await;
    assert!(html.contains("hand@example.net") && html.contains("asked to be left alone"), "{html}");
}

async fn webhooks_page_shows_deliveries_failures_and_pauses(b: Backend) {
    // An endpoint on a loopback address without the allow-list: refused.
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let session = login(&s, ADMIN_USER, &s.admin_password, &[]).await.0.expect("logged in");
    let (status, _, html) = page(&s, &session, "/admin/webhooks").await;
    assert_eq!(status, 200);
    let csrf = hidden(&html, "csrf");
    let form = [
        ("csrf", csrf.as_str()),
        ("url", "http://127.0.0.1:9/hook"),
        ("all_types", "1"),
        ("description", "local"),
    ];
    let (status, _, html) = post_form(&s, &session, "/admin/webhooks", &form).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(r#"id="endpoint-secret""#) && html.contains("whsec_"),
        "the secret is shown once: {html}"
    );
    let secret = html.split(r#"<pre class="json">"#).nth(1).and_then(|r| r.split("</pre>").next()).unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
    let (_, _, again) = page(&s, &session, "/admin/webhooks").await;
    assert!(!again.contains(secret), "the secret is shown only once");

    record(&s, &json!({"email": "x@example.com", "type": "soft", "source": "api"})).await;
    let start = std::time::Instant::now();
    let html = loop {
        let (_, _, html) = page(&s, &session, "/admin/webhooks").await;
        if html.contains("delivery-failed") {
            break html;
        }
        assert!(start.elapsed() < std::time::Duration::from_secs(15), "no failed delivery shown: {html}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    assert!(html.contains("internal address"), "the failure says why: {html}");
    assert!(html.contains("bounce.unmatched"), "{html}");

    // Sending again queues it; pausing shows the reason and resuming clears it.
    let id = s.get_json("/api/webhooks/deliveries").await["data"]["results"][0]["id"].as_i64().unwrap();
    let (status, location, _) = post_form(
        &s,
        &session,
        &format!("/admin/webhooks/deliveries/{id}/redeliver"),
        &[("csrf", csrf.as_str())],
    )
    .await;
    assert_eq!(status, 303);
    assert!(location.contains("done=redelivered"));
    let endpoint = s.get_json("/api/webhooks/endpoints").await["data"][0]["id"].as_i64().unwrap();
    let (status, _, _) =
        post_form(&s, &session, &format!("/admin/webhooks/{endpoint}/pause"), &[("csrf", csrf.as_str())])
            .await;
    assert_eq!(status, 303);
    let (_, _, html) = page(&s, &session, "/admin/webhooks").await;
    assert!(html.contains("paused-reason") && html.contains("paused by hand"), "{html}");
    let (status, _, _) =
        post_form(&s, &session, &format!("/admin/webhooks/{endpoint}/resume"), &[("csrf", csrf.as_str())])
            .await;
    assert_eq!(status, 303);
    let (_, _, html) = page(&s, &session, "/admin/webhooks").await;
    assert!(!html.contains("paused-reason"), "{html}");
}

backend_tests!(suppressions_search_add_and_reactivate, webhooks_page_shows_deliveries_failures_and_pauses);
