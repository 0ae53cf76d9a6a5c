//! SIGKILL `rebound serve` while it ingests and delivers events, then
//! restart it: every stored bounce's event arrives (at least once; copies
//! carry the same id and body), none arrives for a bounce that is not
//! stored, and a receiver that answered 500 for a while gets them later.
//! The receiver verifies each with the PyPI `standardwebhooks` package.
//! On SQLite and PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use rebound_testkit::receiver::PyReceiver;
use rebound_testkit::{Backend, TestDb};
use serde_json::{Value, json};

use crate::support::{Server, event, load, rows_by_eid, sub};

const SUBSCRIBERS: usize = 100;
const CLIENTS: usize = 8;
const CONFIG: &str = "[webhooks]\nallow_private = [\"127.0.0.1/32\"]\nbackoff_base = \"100ms\"\n\
                      backoff_max = \"300ms\"\nmax_attempts = 1000\npause_after = 0\n\
                      timeout = \"1s\"\nlease = \"3s\"\n";

async fn pending(server: &Server) -> i64 {
    let res =
        server.admin(reqwest::Method::GET, "/api/webhooks/deliveries?status=pending&per_page=1").send().await;
    let v: Value = res.expect("deliveries").json().await.expect("JSON");
    v["data"]["total"].as_i64().expect("total")
}

async fn crash_while_delivering(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = Server::start_configured(&db.url, &[], Some(CONFIG)).await;
    server
        .put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true,
            "bounce.actions": {"soft": {"count": 1_000_000, "action": "none"},
                               "hard": {"count": 1, "action": "blocklist"},
                               "complaint": {"count": 1, "action": "blocklist"}}}))
        .await;
    server.subscribers(SUBSCRIBERS).await;
    let key: [u8; 32] = std::array::from_fn(|i| (i * 13 + 1) as u8);
    let secret = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(key));
    let openapi: Value =
        server.client.get(server.url("/api/openapi.json")).send().await.unwrap().json().await.unwrap();
    let rx = tokio::task::spawn_blocking({
        let (secret, openapi) = (secret.clone(), openapi.clone());
        // The first 30 requests fail: those events must come again.
        move || PyReceiver::start(&secret, &openapi, 30)
    })
    .await
    .unwrap();
    server
        .ok(
            reqwest::Method::POST,
            "/api/webhooks/endpoints",
            &json!({"url": rx.url, "secret": secret, "event_types": ["bounce.recorded"]}),
        )
        .await;
    let token = server.webhook_token("events").await;

    let stop = Arc::new(AtomicBool::new(false));
    let base = server.base.clone();
    let t = token.clone();
    let running = tokio::spawn(load(
        Arc::new(move |_, _| base.clone()),
        Arc::new(move |_| t.clone()),
        CLIENTS,
        Arc::new(|c, i| Some(event(&format!("e{c}-{i}"), &sub((c * 31 + i * 7) % SUBSCRIBERS), "soft"))),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let delivered_before_kill = rx.delivered().len();
    server.kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let sent = running.await.unwrap();
    assert!(delivered_before_kill > 0, "nothing was delivered before the kill");

    let server = Server::start_configured(&db.url, &[], Some(CONFIG)).await;
    let stored = rows_by_eid(&db.url).await;
    assert!(stored.len() > 100, "the load did not get going: {} stored", stored.len());
    let start = Instant::now();
    while pending(&server).await > 0 {
        assert!(start.elapsed() < Duration::from_secs(120), "deliveries still pending after 2 minutes");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let got = rx.delivered();
    let mut eid_by_id: HashMap<String, String> = HashMap::new();
    let mut received: HashSet<String> = HashSet::new();
    for d in &got {
        assert!(d.verified, "standardwebhooks refused a delivery: {:?}", d.error);
        assert!(d.schema_errors.is_empty(), "{:?}", d.schema_errors);
        let eid = d.event["data"]["meta"]["eid"].as_str().expect("the bounce's eid").to_string();
        let before = eid_by_id.insert(d.webhook_id.clone(), eid.clone());
        assert!(before.is_none_or(|b| b == eid), "one webhook-id for two bounces");
        received.insert(eid);
    }
    let stored_eids: HashSet<String> = stored.keys().cloned().collect();
    let missing: Vec<&String> = stored_eids.difference(&received).collect();
    assert!(missing.is_empty(), "stored bounces whose event never arrived: {missing:?}");
    let phantom: Vec<&String> = received.difference(&stored_eids).collect();
    assert!(phantom.is_empty(), "events for bounces that are not stored: {phantom:?}");
    let copies = got.len() - eid_by_id.len();
    println!(
        "events crash test ({backend:?}): sent={} stored={} events={} requests={} (repeated={copies}, \
         30 answered 500) delivered_before_kill={delivered_before_kill} lost=0 phantom=0",
        sent.len(),
        stored.len(),
        eid_by_id.len(),
        got.len(),
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_while_delivering_loses_no_event() {
    crash_while_delivering(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkill_while_delivering_loses_no_event() {
    crash_while_delivering(Backend::Postgres).await;
}
