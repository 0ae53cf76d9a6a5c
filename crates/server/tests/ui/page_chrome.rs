//! What every page carries: an icon (browsers ask for /favicon.ico on every
//! page), and a 403 page that says once what is missing and keeps the way
//! back (the navigation).

use rebound_testkit::{Backend, TestServer};
use serde_json::json;

use crate::http::{login, page};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_icon_is_there_and_a_refusal_keeps_the_navigation() {
    let s = TestServer::start(Backend::Sqlite).await;
    let res = s.client.get(s.url("/favicon.ico")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.unwrap().starts_with("<svg"));

    s.post_ok(
        "/api/users",
        &json!({"username": "viewer", "type": "user", "password": "viewer-password", "permissions": ["bounces:get"]}),
    )
    .await;
    let (session, _, _) = login(&s, "viewer", "viewer-password", &[]).await;
    let session = session.unwrap();
    let (status, _, html) = page(&s, &session, "/admin/settings/bounces").await;
    assert_eq!(status, 403);
    let main = &html[html.find("<main").expect("a main element")..];
    assert_eq!(main.matches("ermission denied").count(), 1, "said once: {main}");
    assert!(html.contains("settings:get is required") && html.contains("Ask an administrator"), "{html}");
    assert!(
        html.contains("aria-label=\"Main\"") && html.contains("href=\"/admin/bounces\""),
        "navigation kept: {html}"
    );
    assert!(html.contains("rel=\"icon\""));
}
