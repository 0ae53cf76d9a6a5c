//! HTTP-level tests of the server: a real server on 127.0.0.1:0, one suite
//! run on both backends (SQLite and PostgreSQL).

mod bounces_api;
mod bounces_reclassify;
mod campaigns_api;
mod concurrency;
mod cross_site;
mod deliverability;
mod error_shape;
mod event_webhooks;
mod http_limits;
mod login_limits;
mod openapi;
mod ops;
mod providers_http;
mod providers_mapped_http;
mod recording;
mod resources;
mod settings_api;
mod settings_listmonk;
mod standard_webhooks;
mod subscriber_query;
mod subscribers_api;
mod suppressions_api;
mod users_api;
mod webhook_errors;

use rebound_testkit::TestServer;
use reqwest::Method;
use serde_json::{Value, json};

/// POST /webhooks/bounce as the admin; returns (status, rebound-outcome header, body).
pub async fn post_bounce(s: &TestServer, body: &Value) -> (u16, String, Value) {
    let res = s.req(Method::POST, "/webhooks/bounce").json(body).send().await.expect("POST /webhooks/bounce");
    let status = res.status().as_u16();
    let outcome =
        res.headers().get("rebound-outcome").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    (status, outcome, res.json().await.unwrap_or(Value::Null))
}

pub async fn bounce_ok(s: &TestServer, email: &str, kind: &str) -> String {
    let (status, outcome, body) =
        post_bounce(s, &json!({"email": email, "source": "api", "type": kind})).await;
    assert_eq!(status, 200, "{body}");
    outcome
}

pub async fn subscriber(s: &TestServer, id: i64) -> Value {
    s.get_json(&format!("/api/subscribers/{id}")).await["data"].clone()
}

pub async fn bounces_of(s: &TestServer, id: i64) -> Vec<Value> {
    s.get_json(&format!("/api/subscribers/{id}/bounces")).await["data"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}
