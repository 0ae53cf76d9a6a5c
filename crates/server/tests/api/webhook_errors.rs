//! Every error case of POST /webhooks/bounce answers as the foundation issue states.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

async fn expect(s: &TestServer, req: reqwest::RequestBuilder, status: u16, needle: &str) {
    let res = req.send().await.unwrap();
    assert_eq!(res.status().as_u16(), status);
    let body: Value = res.json().await.expect("JSON error body");
    let msg = body["message"].as_str().unwrap_or_else(|| panic!("no message in {body}"));
    assert!(msg.contains(needle), "{msg:?} does not contain {needle:?}");
    // Nothing was recorded by a refused request.
    assert_eq!(s.store.query_bounces(&Default::default()).await.unwrap().total, 0);
}

async fn validation_errors_are_400(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.create_subscriber("a@example.com", &[]).await;
    let post = |body: Value| s.req(Method::POST, "/webhooks/bounce").json(&body);
    expect(&s, post(json!({"source": "api", "type": "hard"})), 400, "subscriber_uuid or email").await;
    expect(
        &s,
        post(json!({"subscriber_uuid": "not-a-uuid", "source": "api", "type": "hard"})),
        400,
        "subscriber_uuid",
    )
    .await;
    expect(
        &s,
        post(json!({"email": "a@example.com", "campaign_uuid": "1234", "source": "api", "type": "hard"})),
        400,
        "campaign_uuid",
    )
    .await;
    expect(
        &s,
        post(json!({"email": "a@example.com", "source": "api", "type": "permanent"})),
        400,
        "hard, soft or complaint",
    )
    .await;
    expect(&s, post(json!({"email": "a@example.com", "source": "api"})), 400, "type is required").await;
    expect(&s, post(json!({"email": "a@example.com", "type": "hard"})), 400, "source is required").await;
    expect(
        &s,
        post(json!({"email": "not an address", "source": "api", "type": "hard"})),
        400,
        "invalid email",
    )
    .await;
    expect(
        &s,
        post(json!({"email": "a@example.com", "source": "api", "type": "hard", "meta": "{broken"})),
        400,
        "meta",
    )
    .await;
    let malformed = s
        .req(Method::POST, "/webhooks/bounce")
        .header("content-type", "application/json")
        .body("{\"email\": ");
    expect(&s, malformed, 400, "invalid JSON").await;
}

async fn oversized_body_is_413(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let big = json!({"email": "a@example.com", "source": "api", "type": "hard", "meta": {"pad": "x".repeat(1024 * 1024)}});
    expect(&s, s.req(Method::POST, "/webhooks/bounce").json(&big), 413, "larger than").await;
}

async fn authentication_and_permission(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.create_subscriber("a@example.com", &[]).await;
    let body = json!({"email": "a@example.com", "source": "api", "type": "hard"});
    let url = s.url("/webhooks/bounce");
    expect(&s, s.client.post(&url).json(&body), 401, "authentication required").await;
    expect(
        &s,
        s.client.post(&url).basic_auth("admin", Some("wrong")).json(&body),
        401,
        "invalid credentials",
    )
    .await;
    expect(&s, s.client.post(&url).basic_auth("nobody", Some("x")).json(&body), 401, "invalid credentials")
        .await;
    let reader = s.api_user("reader", &["bounces:get"]).await;
    expect(
        &s,
        s.client.post(&url).basic_auth("reader", Some(&reader)).json(&body),
        403,
        "webhooks:post_bounce",
    )
    .await;

    // listmonk's `Authorization: token user:token` works as well as basic auth.
    let poster = s.api_user("poster", &["webhooks:post_bounce"]).await;
    let res = s
        .client
        .post(&url)
        .header("Authorization", format!("token poster:{poster}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    // The token only posts bounces: reading them needs bounces:get.
    let res = s.client.get(s.url("/api/bounces")).basic_auth("poster", Some(&poster)).send().await.unwrap();
    assert_eq!(res.status(), 403);
}

async fn disabled_processing_is_503(b: Backend) {
    let s = TestServer::start(b).await;
    s.create_subscriber("a@example.com", &[]).await;
    let body = json!({"email": "a@example.com", "source": "api", "type": "hard"});
    // Defaults: both switches off.
    expect(&s, s.req(Method::POST, "/webhooks/bounce").json(&body), 503, "bounce processing is disabled")
        .await;
    s.put_settings(&json!({"bounce.enabled": true})).await;
    expect(&s, s.req(Method::POST, "/webhooks/bounce").json(&body), 503, "webhooks are disabled").await;
    s.put_settings(&json!({"bounce.webhooks_enabled": true})).await;
    let res = s.req(Method::POST, "/webhooks/bounce").json(&body).send().await.unwrap();
    assert_eq!(res.status(), 200, "the switch takes effect without a restart");
}

backend_tests!(
    validation_errors_are_400,
    oversized_body_is_413,
    authentication_and_permission,
    disabled_processing_is_503
);
