//! Outgoing event webhooks against a real receiver on 127.0.0.1: what is
//! sent and how it is signed, retries (5xx, 429 with Retry-After), no retry
//! on other 4xx or redirects, failure after the last attempt, pausing (410,
//! consecutive failures), redelivery and resuming, the private-address guard.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use rebound_server::ServerConfig;
use rebound_server::delivery::DeliveryConfig;
use rebound_testkit::{Backend, TestServer, backend_tests, test_config};
use reqwest::Method;
use serde_json::{Value, json};

use crate::bounce_ok;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub at: Instant,
    pub headers: HeaderMap,
    pub body: String,
}

#[derive(Default)]
struct Script {
    /// Answers to give, in order; then 200.
    answers: VecDeque<(u16, Vec<(&'static str, String)>)>,
    got: Vec<Received>,
}

/// A receiver on 127.0.0.1 answering as scripted.
pub struct Receiver {
    pub url: String,
    script: Arc<Mutex<Script>>,
}

impl Receiver {
    pub async fn start() -> Receiver {
        let script = Arc::new(Mutex::new(Script::default()));
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .route("/elsewhere", axum::routing::post(receive))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.ok() });
        Receiver { url, script }
    }

    pub fn answer(&self, status: u16, times: usize) {
        self.answer_with(status, &[], times);
    }

    pub fn answer_with(&self, status: u16, headers: &[(&'static str, &str)], times: usize) {
        let mut s = self.script.lock().unwrap();
        for _ in 0..times {
            s.answers.push_back((status, headers.iter().map(|(k, v)| (*k, v.to_string())).collect()));
        }
    }

    pub fn got(&self) -> Vec<Received> {
        self.script.lock().unwrap().got.clone()
    }
}

async fn receive(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap, body: Bytes) -> Response {
    let mut s = script.lock().unwrap();
    s.got.push(Received { at: Instant::now(), headers, body: String::from_utf8_lossy(&body).into_owned() });
    let (status, extra) = s.answers.pop_front().unwrap_or((200, Vec::new()));
    let mut res = (StatusCode::from_u16(status).unwrap(), "answer").into_response();
    for (k, v) in extra {
        res.headers_mut().insert(k, v.parse().unwrap());
    }
    res
}

/// Quick retries, 127.0.0.1 allowed.
pub fn fast(max_attempts: u32, pause_after: u32) -> ServerConfig {
    ServerConfig {
        delivery: DeliveryConfig {
            poll: Duration::from_millis(50),
            timeout: Duration::from_secs(3),
            max_attempts,
            backoff_base: Duration::from_millis(100),
            backoff_max: Duration::from_millis(400),
            pause_after,
            allow_private: vec!["127.0.0.1/32".parse().unwrap()],
            ..DeliveryConfig::default()
        },
        ..test_config()
    }
}

pub async fn start(b: Backend, config: ServerConfig) -> TestServer {
    let s = TestServer::start_with(b, config).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {
        "soft": {"count": 2, "action": "none"}, "hard": {"count": 1, "action": "blocklist"},
        "complaint": {"count": 1, "action": "unsubscribe"}}}))
        .await;
    s
}

/// Registers an endpoint; returns (id, secret).
pub async fn endpoint(s: &TestServer, url: &str, types: &[&str]) -> (i64, String) {
    let d = s.post_ok("/api/webhooks/endpoints", &json!({"url": url, "event_types": types})).await;
    (d["id"].as_i64().unwrap(), d["secret"].as_str().unwrap().to_string())
}

pub async fn deliveries(s: &TestServer, query: &str) -> Vec<Value> {
    s.get_json(&format!("/api/webhooks/deliveries?per_page=all{query}")).await["data"]["results"]
        .as_array()
        .unwrap()
        .clone()
}

/// Waits (up to 15 s) until `check` holds.
pub async fn until<F: Fn() -> Fut, Fut: Future<Output = bool>>(what: &str, check: F) {
    let start = Instant::now();
    while !check().await {
        assert!(start.elapsed() < Duration::from_secs(15), "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn verify(secret: &str, r: &Received) {
    let key =
        base64::engine::general_purpose::STANDARD.decode(secret.strip_prefix("whsec_").unwrap()).unwrap();
    let h = |k: &str| r.headers.get(k).unwrap_or_else(|| panic!("no {k}")).to_str().unwrap().to_string();
    let (id, ts) = (h("webhook-id"), h("webhook-timestamp"));
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key);
    let tag = ring::hmac::sign(&key, format!("{id}.{ts}.{}", r.body).as_bytes());
    let expected = format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(tag.as_ref()));
    assert!(h("webhook-signature").split(' ').any(|s| s == expected), "bad signature on {}", r.body);
    let body: Value = serde_json::from_str(&r.body).unwrap();
    assert_eq!(body["id"], id.as_str(), "webhook-id is the event's id");
    assert!((chrono::Utc::now().timestamp() - ts.parse::<i64>().unwrap()).abs() < 60);
}

fn bodies(got: &[Received]) -> Vec<Value> {
    got.iter().map(|r| serde_json::from_str(&r.body).unwrap()).collect()
}

async fn bounces_emit_signed_events(b: Backend) {
    let rx = Receiver::start().await;
    let s = start(b, fast(5, 0)).await;
    let (_, secret) = endpoint(&s, &rx.url, &["*"]).await;
    let (sub, uuid) = s.create_subscriber("hard@example.com", &[]).await;
    let (campaign, campaign_uuid) = s.create_campaign("Launch").await;
    let body = json!({"email": "hard@example.com", "source": "ses", "type": "hard", "campaign_uuid": campaign_uuid,
        "meta": {"reason": "mailbox does not exist", "status": "5.1.1"}});
    assert_eq!(crate::post_bounce(&s, &body).await.0, 200);
    bounce_ok(&s, "stranger@example.com", "soft").await;
    until("four events", || async { rx.got().len() >= 4 }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let got = rx.got();
    for r in &got {
        verify(&secret, r);
    }
    let events = bodies(&got);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(types.len(), 4, "{types:?}");
    for t in ["bounce.recorded", "subscriber.blocklisted", "suppression.added", "bounce.unmatched"] {
        assert!(types.contains(&t), "no {t} in {types:?}");
    }
    let recorded = events.iter().find(|e| e["type"] == "bounce.recorded").unwrap();
    let d = &recorded["data"];
    assert_eq!(
        (d["email"].clone(), d["type"].clone(), d["source"].clone()),
        (json!("hard@example.com"), json!("hard"), json!("ses"))
    );
    assert_eq!((d["reason"].clone(), d["status"].clone()), (json!("mailbox does not exist"), json!("5.1.1")));
    assert_eq!(d["subscriber"], json!({"id": sub, "uuid": uuid, "email": "hard@example.com"}));
    assert_eq!(d["campaign"], json!({"id": campaign, "uuid": campaign_uuid}));
    assert_eq!((d["count"].clone(), d["action"].clone()), (json!(1), json!("blocklist")));
    let unmatched = events.iter().find(|e| e["type"] == "bounce.unmatched").unwrap();
    assert_eq!(unmatched["data"]["subscriber"], Value::Null);
    assert_eq!(unmatched["data"]["email"], "stranger@example.com");

    until("every delivery delivered", || async {
        let d = deliveries(&s, "").await;
        d.len() == 4 && d.iter().all(|d| d["status"] == "delivered" && d["attempts"] == 1)
    })
    .await;

    // A suppression changed by hand is an event too.
    let (status, _) = s.send_json(Method::DELETE, "/api/suppressions/hard@example.com", &Value::Null).await;
    assert_eq!(status, 200);
    until("suppression.removed", || async {
        bodies(&rx.got())
            .iter()
            .any(|e| e["type"] == "suppression.removed" && e["data"]["email"] == "hard@example.com")
    })
    .await;
}

async fn only_wanted_types_are_queued(b: Backend) {
    let rx = Receiver::start().await;
    let s = start(b, fast(5, 0)).await;
    let (id, _) = endpoint(&s, &rx.url, &["suppression.added"]).await;
    s.create_subscriber("a@example.com", &[]).await;
    bounce_ok(&s, "a@example.com", "soft").await;
    bounce_ok(&s, "a@example.com", "hard").await;
    until("the suppression event", || async { !rx.got().is_empty() }).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let types: Vec<Value> = bodies(&rx.got()).iter().map(|e| e["type"].clone()).collect();
    assert_eq!(types, [json!("suppression.added")]);
    assert_eq!(deliveries(&s, &format!("&endpoint_id={id}")).await.len(), 1);
    let (status, body) = s
        .send_json(
            Method::POST,
            "/api/webhooks/endpoints",
            &json!({"url": rx.url, "event_types": ["bounce.nope"]}),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = s
        .send_json(
            Method::POST,
            "/api/webhooks/endpoints",
            &json!({"url": "ftp://example.com/", "event_types": ["*"]}),
        )
        .await;
    assert_eq!(status, 400);
    let (status, _) = s
        .send_json(Method::POST, "/api/webhooks/endpoints", &json!({"url": rx.url, "secret": "plain-text"}))
        .await;
    assert_eq!(status, 400);
    // The secret is shown once: never in the listing.
    let listed = s.get_json("/api/webhooks/endpoints").await;
    assert!(listed["data"][0].get("secret").is_none(), "{listed}");
}

async fn server_errors_are_retried_with_the_same_id(b: Backend) {
    let rx = Receiver::start().await;
    rx.answer(500, 2);
    rx.answer(503, 1);
    let s = start(b, fast(6, 0)).await;
    endpoint(&s, &rx.url, &["bounce.unmatched"]).await;
    bounce_ok(&s, "x@example.com", "soft").await;
    until("delivered after retries", || async {
        let d = deliveries(&s, "").await;
        d.len() == 1 && d[0]["status"] == "delivered"
    })
    .await;
    let got = rx.got();
    assert_eq!(got.len(), 4, "three failures, then the success");
    let ids: Vec<&str> = got.iter().map(|r| r.headers["webhook-id"].to_str().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "a retry changed the id: {ids:?}");
    // Exponential: each wait at least the previous one's lower bound.
    let gaps: Vec<Duration> = got.windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(70), "{gaps:?}");
    assert!(gaps[1] >= Duration::from_millis(140), "{gaps:?}");
    let d = &deliveries(&s, "").await[0];
    assert_eq!(d["attempts"], 4);
    assert_eq!(d["last_status_code"], 200);
}

async fn retry_after_is_honoured(b: Backend) {
    let rx = Receiver::start().await;
    rx.answer_with(429, &[("retry-after", "1")], 1);
    let s = start(b, fast(6, 0)).await;
    endpoint(&s, &rx.url, &["*"]).await;
    bounce_ok(&s, "x@example.com", "soft").await;
    until("delivered", || async { rx.got().len() >= 2 }).await;
    let got = rx.got();
    let gap = got[1].at - got[0].at;
    assert!(gap >= Duration::from_millis(950), "Retry-After: 1 but retried after {gap:?}");
}

async fn client_errors_and_redirects_are_not_retried(b: Backend) {
    let rx = Receiver::start().await;
    rx.answer(400, 1);
    let elsewhere = rx.url.replace("/hook", "/elsewhere");
    rx.answer_with(302, &[("location", &elsewhere)], 1);
    let s = start(b, fast(6, 0)).await;
    endpoint(&s, &rx.url, &["bounce.unmatched"]).await;
    bounce_ok(&s, "one@example.com", "soft").await;
    until("failed", || async { deliveries(&s, "&status=failed").await.len() == 1 }).await;
    bounce_ok(&s, "two@example.com", "soft").await;
    until("both failed", || async { deliveries(&s, "&status=failed").await.len() == 2 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let got = rx.got();
    assert_eq!(got.len(), 2, "a 4xx or a redirect was retried or followed");
    let failed = deliveries(&s, "").await;
    assert!(failed.iter().all(|d| d["attempts"] == 1), "{failed:?}");
    assert!(failed.iter().any(|d| d["last_status_code"] == 400));
    assert!(failed.iter().any(|d| d["last_error"].as_str().unwrap().contains("redirects are not followed")));
    let endpoint = &s.get_json("/api/webhooks/endpoints").await["data"][0];
    assert_eq!(endpoint["paused"], false, "two failures do not pause");
    assert_eq!(endpoint["failed"], 2);
}

async fn gone_pauses_and_resuming_delivers_what_queued(b: Backend) {
    let rx = Receiver::start().await;
    rx.answer(410, 1);
    let s = start(b, fast(6, 0)).await;
    let (id, _) = endpoint(&s, &rx.url, &["bounce.unmatched"]).await;
    bounce_ok(&s, "one@example.com", "soft").await;
    until("paused", || async {
        s.get_json(&format!("/api/webhooks/endpoints/{id}")).await["data"]["paused"] == true
    })
    .await;
    let e = s.get_json(&format!("/api/webhooks/endpoints/{id}")).await["data"].clone();
    assert!(e["paused_reason"].as_str().unwrap().contains("410"), "{e}");
    // Events keep queueing while paused, and are not sent.
    bounce_ok(&s, "two@example.com", "soft").await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(rx.got().len(), 1);
    assert_eq!(deliveries(&s, "&status=pending").await.len(), 1);

    // Redeliver the failed one, resume: both arrive.
    let failed = deliveries(&s, "&status=failed").await;
    let did = failed[0]["id"].as_i64().unwrap();
    let again = s.post_ok(&format!("/api/webhooks/deliveries/{did}/redeliver"), &json!({})).await;
    assert_eq!(again["status"], "pending");
    let (status, body) =
        s.send_json(Method::PUT, &format!("/api/webhooks/endpoints/{id}"), &json!({"paused": false})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["paused"], false);
    until("both delivered", || async { deliveries(&s, "&status=delivered").await.len() == 2 }).await;
    let got = rx.got();
    assert_eq!(got.len(), 3);
    let first = got[0].headers["webhook-id"].clone();
    assert_eq!(
        got[1..].iter().filter(|r| r.headers["webhook-id"] == first).count(),
        1,
        "redelivered with the same id"
    );
}

async fn a_receiver_that_keeps_failing_ends_failed_and_paused(b: Backend) {
    let rx = Receiver::start().await;
    rx.answer(500, 100);
    let s = start(b, fast(3, 3)).await;
    let (id, _) = endpoint(&s, &rx.url, &["bounce.unmatched"]).await;
    bounce_ok(&s, "x@example.com", "soft").await;
    until("failed", || async { deliveries(&s, "&status=failed").await.len() == 1 }).await;
    let d = &deliveries(&s, "").await[0];
    assert_eq!(d["attempts"], 3);
    assert!(d["last_error"].as_str().unwrap().contains("gave up after 3 attempts"), "{d}");
    let e = s.get_json(&format!("/api/webhooks/endpoints/{id}")).await["data"].clone();
    assert_eq!(e["paused"], true, "{e}");
    assert!(e["paused_reason"].as_str().unwrap().contains("3 consecutive failed attempts"), "{e}");
    assert_eq!(rx.got().len(), 3);
    let res = s
        .client
        .get(s.url("/metrics"))
        .bearer_auth(rebound_testkit::METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(res.contains("rebound_webhook_deliveries_total{result=\"failed\"} 1"), "{res}");
    assert!(res.contains("rebound_webhook_deliveries_total{result=\"paused\"} 1"), "{res}");
}

async fn internal_addresses_are_refused_by_default(b: Backend) {
    let rx = Receiver::start().await;
    let mut config = fast(5, 0);
    config.delivery.allow_private.clear();
    let s = start(b, config).await;
    endpoint(&s, &rx.url, &["bounce.unmatched"]).await;
    endpoint(&s, &rx.url.replace("127.0.0.1", "localhost"), &["bounce.unmatched"]).await;
    bounce_ok(&s, "x@example.com", "soft").await;
    until("both refused", || async { deliveries(&s, "&status=failed").await.len() == 2 }).await;
    let d = deliveries(&s, "").await;
    assert!(d.iter().all(|d| d["attempts"] == 1), "a refused target was retried: {d:?}");
    for d in &d {
        let e = d["last_error"].as_str().unwrap();
        assert!(e.contains("internal address"), "{e}");
    }
    assert!(rx.got().is_empty(), "connected to a loopback address");
}

async fn endpoints_and_deliveries_need_settings_permissions(b: Backend) {
    let s = start(b, fast(5, 0)).await;
    let token = s.api_user("bouncer", &["bounces:get", "bounces:manage"]).await;
    let as_user = |m: Method, path: &str| {
        s.client.request(m, s.url(path)).header("Authorization", format!("token bouncer:{token}"))
    };
    assert_eq!(as_user(Method::GET, "/api/webhooks/endpoints").send().await.unwrap().status(), 403);
    let res = as_user(Method::POST, "/api/webhooks/endpoints")
        .json(&json!({"url": "https://example.com/hook"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    assert_eq!(as_user(Method::GET, "/api/webhooks/deliveries").send().await.unwrap().status(), 403);
    let (id, _) = endpoint(&s, "https://example.com/hook", &["*"]).await;
    let (status, _) =
        s.send_json(Method::DELETE, &format!("/api/webhooks/endpoints/{id}"), &Value::Null).await;
    assert_eq!(status, 200);
    let (status, _) = s.send_json(Method::GET, &format!("/api/webhooks/endpoints/{id}"), &Value::Null).await;
    assert_eq!(status, 404);
}

async fn delivered_rows_are_pruned_failed_ones_stay(b: Backend) {
    let rx = Receiver::start().await;
    rx.answer(200, 1);
    rx.answer(400, 1);
    let s = start(b, fast(5, 0)).await;
    endpoint(&s, &rx.url, &["bounce.unmatched"]).await;
    bounce_ok(&s, "one@example.com", "soft").await;
    until("delivered", || async { deliveries(&s, "&status=delivered").await.len() == 1 }).await;
    bounce_ok(&s, "two@example.com", "soft").await;
    until("failed", || async { deliveries(&s, "&status=failed").await.len() == 1 }).await;
    let kept = s.store.prune_deliveries(chrono::Utc::now() - chrono::Duration::hours(1)).await.unwrap();
    assert_eq!(kept, 0, "a recent delivery was pruned");
    let pruned = s.store.prune_deliveries(chrono::Utc::now() + chrono::Duration::seconds(1)).await.unwrap();
    assert_eq!(pruned, 1);
    let left = deliveries(&s, "").await;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0]["status"], "failed", "a failed delivery must stay visible");
}

backend_tests!(
    delivered_rows_are_pruned_failed_ones_stay,
    bounces_emit_signed_events,
    only_wanted_types_are_queued,
    server_errors_are_retried_with_the_same_id,
    retry_after_is_honoured,
    client_errors_and_redirects_are_not_retried,
    gone_pauses_and_resuming_delivers_what_queued,
    a_receiver_that_keeps_failing_ends_failed_and_paused,
    internal_addresses_are_refused_by_default,
    endpoints_and_deliveries_need_settings_permissions,
);
