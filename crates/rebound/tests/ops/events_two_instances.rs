//! Two `rebound serve` processes on one PostgreSQL database deliver the same
//! outbox: every event arrives exactly once, never two copies at the same
//! time, and both instances take part (leases + FOR UPDATE SKIP LOCKED).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rebound_testkit::{Backend, TestDb};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Server, event};

const EVENTS: usize = 300;
const CONFIG: &str = "[webhooks]\nallow_private = [\"127.0.0.1/32\"]\nper_endpoint = 8\n";

#[derive(Default)]
struct Seen {
    in_flight: HashMap<String, usize>,
    copies: HashMap<String, usize>,
    overlaps: usize,
}

/// Answers 200 after 50 ms (the work outlasts an idle instance's 1 s poll, so both take part), recording each webhook-id's copies and overlaps.
async fn receiver(seen: Arc<Mutex<Seen>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                loop {
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let field = |name: &str| {
                        head.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string())
                    };
                    let len: usize = field("content-length:").and_then(|v| v.parse().ok()).unwrap_or(0);
                    let id = field("webhook-id:").unwrap_or_default();
                    while buf.len() < head_end + len {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    {
                        let mut s = seen.lock().unwrap();
                        let n = s.in_flight.entry(id.clone()).or_default();
                        *n += 1;
                        if *n > 1 {
                            s.overlaps += 1;
                        }
                        *s.copies.entry(id.clone()).or_default() += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    *seen.lock().unwrap().in_flight.get_mut(&id).unwrap() -= 1;
                    if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

fn delivered(metrics: &str) -> f64 {
    metrics
        .lines()
        .find(|l| l.starts_with("rebound_webhook_deliveries_total{result=\"delivered\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_deliver_each_event_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let a = Server::start_configured(&db.url, &[], Some(CONFIG)).await;
    let b = Server::start_configured(&db.url, &[], Some(CONFIG)).await;
    a.put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true})).await;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let url = receiver(seen.clone()).await;
    // Registered paused, so the whole backlog is there before either instance starts on it.
    a.ok(
        reqwest::Method::POST,
        "/api/webhooks/endpoints",
        &json!({"url": url, "event_types": ["bounce.unmatched"]}),
    )
    .await;
    let id =
        a.ok(reqwest::Method::GET, "/api/webhooks/endpoints", &json!(null)).await[0]["id"].as_i64().unwrap();
    a.ok(reqwest::Method::PUT, &format!("/api/webhooks/endpoints/{id}"), &json!({"paused": true})).await;
    let token = a.webhook_token("two").await;
    for i in 0..EVENTS {
        let body = event(&format!("t{i}"), &format!("stranger{i}@ops.test"), "soft");
        let answer = crate::support::post(&a.client, &a.base, &token, &body).await;
        assert!(matches!(answer, crate::support::Answer::Ok(_)), "{answer:?}");
    }
    a.ok(reqwest::Method::PUT, &format!("/api/webhooks/endpoints/{id}"), &json!({"paused": false})).await;

    let start = Instant::now();
    while seen.lock().unwrap().copies.len() < EVENTS {
        assert!(start.elapsed() < Duration::from_secs(60), "not every event arrived");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    {
        let s = seen.lock().unwrap();
        assert_eq!(s.overlaps, 0, "two copies of an event were in flight at once");
        let doubled: Vec<(&String, &usize)> = s.copies.iter().filter(|(_, n)| **n != 1).collect();
        assert!(doubled.is_empty(), "delivered more than once: {doubled:?}");
    }
    let (da, db_) = (delivered(&a.metrics().await), delivered(&b.metrics().await));
    assert_eq!(da + db_, EVENTS as f64);
    assert!(da > 0.0 && db_ > 0.0, "one instance did all the work: {da} and {db_}");
    println!("two instances delivered {EVENTS} events once each: {da} by A, {db_} by B, no overlap");
}
