//! Forms whose refusals come from the service layer, shown where they
//! belong: a campaign's missing name and unknown content type at their
//! fields, and "test connection" of a saved mailbox next to that mailbox.

use rebound_testkit::{ADMIN_USER, Backend, TestServer};
use serde_json::json;

use crate::http::{hidden, login, page, post_form};

async fn post(s: &TestServer, session: &str, path: &str, form: &[(&str, &str)]) -> (u16, String) {
    let (status, _, body) = post_form(s, session, path, form).await;
    (status, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_campaign_is_shown_at_the_field_it_is_about() {
    let s = TestServer::start(Backend::Sqlite).await;
    let session = login(&s, ADMIN_USER, &s.admin_password, &[]).await.0.expect("logged in");
    let (status, _, html) = page(&s, &session, "/admin/campaigns").await;
    assert_eq!(status, 200);
    let csrf = hidden(&html, "csrf");

    let form = [("csrf", csrf.as_str()), ("name", " "), ("subject", "Hello"), ("content_type", "plain")];
    let (status, html) = post(&s, &session, "/admin/campaigns", &form).await;
    assert_eq!(status, 422);
    assert!(
        html.contains(r#"<p class="field-error" id="campaign-name-error">name is required</p>"#),
        "{html}"
    );
    assert!(html.contains(r#"value="Hello""#), "the other values are kept: {html}");

    let form = [("csrf", csrf.as_str()), ("name", "Spring"), ("content_type", "pdf")];
    let (status, html) = post(&s, &session, "/admin/campaigns", &form).await;
    assert_eq!(status, 422);
    assert!(html.contains(r#"id="campaign-content-type-error">invalid content_type"#), "{html}");
    assert!(!html.contains("campaign-name-error"), "{html}");
    assert_eq!(s.get_json("/api/campaigns").await["data"]["total"], 0, "nothing was created");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_connection_test_reports_next_to_its_mailbox() {
    let s = TestServer::start(Backend::Sqlite).await;
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let uuid = "6f2d4c1e-8a3b-4f5e-9d7c-0b1a2c3d4e5f";
    let mailbox = json!({"uuid": uuid, "enabled": false, "type": "pop", "host": "127.0.0.1", "port": port,
        "tls_enabled": false, "starttls": false, "auth_protocol": "none"});
    s.put_settings(&json!({"bounce.mailboxes": [mailbox]})).await;
    let session = login(&s, ADMIN_USER, &s.admin_password, &[]).await.0.expect("logged in");
    let (_, _, html) = page(&s, &session, "/admin/settings/bounces").await;
    let csrf = hidden(&html, "csrf");

    let path = format!("/admin/settings/bounces/mailboxes/{uuid}/test");
    let (status, html) = post(&s, &session, &path, &[("csrf", &csrf)]).await;
    assert_eq!(status, 200);
    let result = html.split(r#"id="mailbox-0-test-result">"#).nth(1).expect("a result at mailbox 1");
    let result = &result[..result.find("</p>").unwrap()];
    assert!(result.starts_with("Connection failed: could not connect to 127.0.0.1:"), "{result}");
    assert!(result.contains(&port.to_string()), "{result}");

    let path = "/admin/settings/bounces/mailboxes/00000000-0000-4000-8000-000000000000/test";
    let (status, html) = post(&s, &session, path, &[("csrf", &csrf)]).await;
    assert_eq!(status, 404);
    assert!(html.contains("There is no such mailbox (save it first)."), "{html}");
}
