//! What a hostile web page can make a browser send: a cross-site form
//! (`enctype="text/plain"`) or no-cors fetch carrying Basic credentials the
//! browser cached. The API takes JSON only with a JSON content type, refuses
//! what the browser marks as cross-site, and never asks a browser to cache
//! Basic credentials in the first place.

use rebound_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

async fn users(s: &TestServer) -> Vec<String> {
    s.get_json("/api/users").await["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_endpoints_take_only_a_json_content_type() {
    let s = TestServer::start(Backend::Sqlite).await;
    let evil = r#"{"username": "evil", "type": "user", "password": "evil-password", "permissions": ["*"]}"#;
    // What a cross-site form can send, and a body with no content type at all.
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let mut req = s.req(Method::POST, "/api/users").body(evil);
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 415, "{content_type:?}");
        let body: Value = res.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("Content-Type: application/json"), "{body}");
    }
    assert!(!users(&s).await.contains(&"evil".to_string()), "the hostile user was created");
    // JSON types, with parameters, in any case.
    for (i, ct) in
        ["application/json", "Application/JSON; charset=utf-8", "application/vnd.api+json"].iter().enumerate()
    {
        let body = json!({"username": format!("ok{i}"), "type": "api", "permissions": ["bounces:get"]});
        let res = s
            .req(Method::POST, "/api/users")
            .header("content-type", *ct)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200, "{ct}");
    }
    // The generic webhook too; provider webhooks keep their own content types.
    s.enable_webhooks().await;
    let res = s
        .req(Method::POST, "/webhooks/bounce")
        .header("content-type", "text/plain")
        .body(r#"{"email": "a@example.com", "source": "api", "type": "hard"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 415);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_a_browser_sent_for_another_site_are_refused() {
    let s = TestServer::start(Backend::Sqlite).await;
    s.enable_webhooks().await;
    let host = s.base.trim_start_matches("http://").to_string();
    let create = |name: &str| json!({"username": name, "type": "api", "permissions": ["*"]});
    for (name, headers) in [
        ("fetch", vec![("sec-fetch-site", "cross-site".to_string())]),
        ("sibling", vec![("sec-fetch-site", "same-site".to_string())]),
        ("old-browser", vec![("origin", "https://evil.example".to_string())]),
        ("sandboxed", vec![("origin", "null".to_string())]),
    ] {
        let mut req = s.req(Method::POST, "/api/users").json(&create(name));
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403, "{name}");
        let body: Value = res.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("cross-site"), "{body}");
    }
    // Reading is refused too, and the generic webhook.
    let res = s.req(Method::GET, "/api/bounces").header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(res.status(), 403);
    let bounce = json!({"email": "a@example.com", "source": "api", "type": "hard"});
    let res = s
        .req(Method::POST, "/webhooks/bounce")
        .header("origin", "https://evil.example")
        .json(&bounce)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert!(users(&s).await == ["admin"], "{:?}", users(&s).await);
    // The same site, the address bar, and clients that are not browsers pass.
    for (name, headers) in [
        ("same-origin", vec![("sec-fetch-site", "same-origin".to_string())]),
        ("typed", vec![("sec-fetch-site", "none".to_string())]),
        ("own-origin", vec![("origin", format!("http://{host}"))]),
        ("curl", vec![]),
    ] {
        let mut req = s.req(Method::POST, "/api/users").json(&create(name));
        for (k, v) in &headers {
            req = req.header(*k, v);
        }
        assert_eq!(req.send().await.unwrap().status(), 200, "{name}");
    }
    // Provider webhooks are signed and come from servers: no such check.
    let res = s
        .client
        .post(s.url("/webhooks/service/postmark"))
        .header("origin", "https://evil.example")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_ne!(res.status(), 403);
}

/// A 401 from the API does not invite a browser to ask for and cache Basic
/// credentials; clients that send them unasked (curl -u, reqwest) work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_401_does_not_ask_the_browser_for_basic_credentials() {
    let s = TestServer::start(Backend::Sqlite).await;
    for req in [
        s.client.get(s.url("/api/bounces")),
        s.client.get(s.url("/api/bounces")).basic_auth("admin", Some("wrong")),
    ] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 401);
        let challenge =
            res.headers().get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(!challenge.to_ascii_lowercase().starts_with("basic"), "{challenge}");
        assert_eq!(challenge, "Token realm=\"rebound\"");
    }
    assert_eq!(s.req(Method::GET, "/api/bounces").send().await.unwrap().status(), 200);
}
