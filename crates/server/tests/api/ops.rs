//! Operations: GET /metrics, the per-IP concurrency limit on webhooks.

use std::time::Duration;

use rebound_server::ServerConfig;
use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::post_bounce;

/// The value of the metric line that starts with `prefix` (name and labels).
fn metric(text: &str, prefix: &str) -> Option<f64> {
    text.lines().find(|l| l.starts_with(prefix)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

async fn metrics_text(s: &TestServer) -> String {
    let res =
        s.client.get(s.url("/metrics")).bearer_auth(rebound_testkit::METRICS_TOKEN).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let ct = res.headers()[reqwest::header::CONTENT_TYPE].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    res.text().await.unwrap()
}

async fn metrics_count_outcomes_rejections_and_batches(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.create_subscriber("m@example.com", &[]).await;
    let ev = json!({"email": "m@example.com", "source": "api", "type": "hard", "event_id": "e-1"});
    assert_eq!(post_bounce(&s, &ev).await.0, 200);
    assert_eq!(post_bounce(&s, &ev).await.1, "duplicate");
    let nobody = json!({"email": "nobody@example.com", "source": "mta", "type": "soft"});
    assert_eq!(post_bounce(&s, &nobody).await.1, "unmatched");
    // Rejections: a bad body, a provider with bad credentials.
    assert_eq!(post_bounce(&s, &json!({"email": "m@example.com"})).await.0, 400);
    s.put_settings(&json!({"bounce.postmark": {"enabled": true, "username": "u", "password": "p"}})).await;
    let res = s.client.post(s.url("/webhooks/service/postmark")).body("{}").send().await.unwrap();
    assert_eq!(res.status(), 401);

    let text = metrics_text(&s).await;
    let line = |p: &str| metric(&text, p).unwrap_or_else(|| panic!("no {p} in\n{text}"));
    assert_eq!(line(r#"rebound_bounces_total{outcome="recorded",source="api",type="hard"}"#), 1.0);
    assert_eq!(line(r#"rebound_bounces_total{outcome="duplicate",source="api",type="hard"}"#), 1.0);
    assert_eq!(line(r#"rebound_bounces_total{outcome="unmatched",source="mta",type="soft"}"#), 1.0);
    assert_eq!(line(r#"rebound_actions_total{action="blocklist",type="hard"}"#), 1.0);
    assert_eq!(line(r#"rebound_webhook_rejections_total{provider="bounce",reason="bad_request"}"#), 1.0);
    assert_eq!(line(r#"rebound_webhook_rejections_total{provider="postmark",reason="unauthorized"}"#), 1.0);
    assert_eq!(line("rebound_ingest_batch_size_count"), 3.0);
    assert_eq!(line(r#"rebound_ingest_commit_seconds_count{result="ok"}"#), 3.0);
    assert!(text.contains("# TYPE rebound_ingest_commit_seconds histogram"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_token_is_required_when_configured() {
    let config = ServerConfig { metrics_token: Some("scrape-secret".into()), ..Default::default() };
    let s = TestServer::start_with(Backend::Sqlite, config).await;
    let res = s.client.get(s.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("bearer token"), "{body}");
    let res = s.client.get(s.url("/metrics")).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(res.status(), 401);
    let res = s.client.get(s.url("/metrics")).bearer_auth("scrape-secret").send().await.unwrap();
    assert_eq!(res.status(), 200);
}

/// With no token configured, /metrics is refused rather than open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_are_refused_without_a_configured_token() {
    let s = TestServer::start_with(Backend::Sqlite, ServerConfig::default()).await;
    for req in [s.client.get(s.url("/metrics")), s.client.get(s.url("/metrics")).bearer_auth("")] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 403);
        let body: Value = res.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("[metrics] token"), "{body}");
    }
}

/// Mailboxes are labelled by uuid: the login and host, which the settings
/// API masks from readers, do not reach the scrape.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailbox_metrics_name_the_uuid_not_the_login() {
    let s = TestServer::start(Backend::Sqlite).await;
    // A port nothing listens on: the scan fails, and still reports.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let settings = s
        .put_settings(&json!({"bounce.enabled": true, "bounce.mailboxes": [{
            "enabled": true, "type": "pop", "host": "127.0.0.1", "port": port,
            "username": "secret-login@mail.example", "password": "p",
            "tls_enabled": false, "scan_interval": "1h"}]}))
        .await;
    let uuid = settings["bounce.mailboxes"][0]["uuid"].as_str().unwrap().to_string();
    let mut text = String::new();
    for _ in 0..200 {
        let _ = s.req(Method::POST, &format!("/api/bounces/mailboxes/{uuid}/scan")).send().await.unwrap();
        text = metrics_text(&s).await;
        if text.contains("rebound_mailbox_scans_total{") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(text.contains(&format!("rebound_mailbox_scans_total{{mailbox=\"{uuid}\"}}")), "{text}");
    assert!(!text.contains("secret-login") && !text.contains("mail.example"), "{text}");
}

/// A request whose body never finishes: it holds its webhook place until
/// the connection is dropped.
async fn stalled_request(s: &TestServer) -> tokio::net::TcpStream {
    let addr = s.base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    // Authenticated, so the handler goes on to read the body and waits there.
    let auth = format!("{}:{}", rebound_testkit::ADMIN_USER, s.admin_password);
    let head = format!(
        "POST /webhooks/bounce HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"email\":",
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, auth)
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    tcp
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn webhook_concurrency_per_ip_is_limited_with_429() {
    let config = ServerConfig { webhook_concurrency_per_ip: 2, ..rebound_testkit::test_config() };
    let s = TestServer::start_with(Backend::Sqlite, config).await;
    s.enable_webhooks().await;
    s.create_subscriber("l@example.com", &[]).await;
    let ok = json!({"email": "l@example.com", "source": "api", "type": "soft"});
    // Three requests from one address that never finish their bodies: two
    // are let in and wait for their bodies, one (whichever the server reads
    // last) is refused at once.
    let mut stalled = vec![stalled_request(&s).await, stalled_request(&s).await, stalled_request(&s).await];
    let mut answers = Vec::new();
    for tcp in &mut stalled {
        let mut buf = vec![0u8; 4096];
        let n = match tokio::time::timeout(Duration::from_secs(3), tcp.read(&mut buf)).await {
            Ok(Ok(n)) => n,
            _ => 0,
        };
        answers.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    let refused: Vec<&String> = answers.iter().filter(|a| !a.is_empty()).collect();
    assert_eq!(refused.len(), 1, "{answers:?}");
    let res = refused[0];
    assert!(res.starts_with("HTTP/1.1 429"), "{res}");
    assert!(res.to_ascii_lowercase().contains("retry-after: 1\r\n"), "{res}");
    assert!(res.contains("too many webhook requests in flight"), "{res}");
    // While two are held, another request is refused too.
    let res = s.req(Method::POST, "/webhooks/bounce").json(&ok).send().await.unwrap();
    assert_eq!(res.status(), 429);
    let body: Value = res.json().await.unwrap();
    assert!(body["message"].as_str().unwrap().contains("too many webhook requests"), "{body}");
    // Other routes are not limited.
    assert_eq!(s.client.get(s.url("/health")).send().await.unwrap().status(), 200);
    // The places come back when the stalled clients go away.
    drop(stalled);
    let mut status = 0;
    for _ in 0..100 {
        status = post_bounce(&s, &ok).await.0;
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(status, 200);
    let text = metrics_text(&s).await;
    assert!(
        metric(&text, r#"rebound_webhook_rejections_total{provider="bounce",reason="too_many_requests"}"#)
            .is_some_and(|n| n >= 1.0),
        "{text}"
    );
}

/// listmonk's clients (the PyPI `listmonk` package among them) call
/// GET /api/health at login: any authenticated user gets listmonk's
/// `{"data": true}`; without valid credentials it is a 401.
async fn api_health_answers_any_authenticated_user_as_listmonk_does(b: Backend) {
    let s = TestServer::start(b).await;
    assert_eq!(s.get_json("/api/health").await, json!({"data": true}));
    let reader = s.api_user("reader", &["bounces:get"]).await;
    let res = s
        .client
        .get(s.url("/api/health"))
        .header("Authorization", format!("token reader:{reader}"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"data": true}));
    let anonymous = s.client.get(s.url("/api/health")).send().await.unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = s.client.get(s.url("/api/health")).basic_auth("admin", Some("wrong")).send().await.unwrap();
    assert_eq!(wrong.status(), 401);
}

backend_tests!(
    metrics_count_outcomes_rejections_and_batches,
    api_health_answers_any_authenticated_user_as_listmonk_does
);
