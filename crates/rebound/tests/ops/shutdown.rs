//! SIGTERM: the server stops accepting connections, lets the requests in
//! flight finish (one still sending its body when the signal comes), commits
//! them, and exits 0.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use base64::Engine;
use rebound_testkit::{Backend, OpenStore, TestDb};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{ADMIN, Answer, Server, event, load, rows_by_eid, sub};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_requests_commits_and_exits_0() {
    let db = TestDb::new(Backend::Sqlite).await;
    let mut server = Server::start(&db.url).await;
    server.put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true})).await;
    server.subscribers(20).await;
    let token = server.webhook_token("term").await;

    // A request still sending its body when SIGTERM arrives.
    let addr = server.base.trim_start_matches("http://").to_string();
    let body = event("in-flight", &sub(0), "soft").to_string();
    let (head, tail) = body.split_at(10);
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", ADMIN.0, ADMIN.1));
    let mut slow = tokio::net::TcpStream::connect(&addr).await.unwrap();
    slow.write_all(
        format!(
            "POST /webhooks/bounce HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Basic {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{head}",
            body.len()
        )
        .as_bytes(),
    )
    .await
    .unwrap();

    // And sustained load from 8 clients.
    let stop = Arc::new(AtomicBool::new(false));
    let base = server.base.clone();
    let t = token.clone();
    let running = tokio::spawn(load(
        Arc::new(move |_, _| base.clone()),
        Arc::new(move |_| t.clone()),
        8,
        Arc::new(|c, i| Some(event(&format!("t{c}-{i}"), &sub((c + i) % 20), "soft"))),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(800)).await;

    let pid = server.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    tokio::time::sleep(Duration::from_millis(500)).await;
    // No longer accepting: a new connection is refused while the slow request is still open.
    let fresh = reqwest::Client::new().get(server.url("/health")).send().await;
    assert!(fresh.is_err(), "a new connection was served after SIGTERM: {fresh:?}");
    assert!(server.child.try_wait().unwrap().is_none(), "exited with a request in flight");

    // The in-flight request finishes and is answered 200.
    slow.write_all(tail.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), slow.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200"), "in-flight request: {answer}");
    assert!(answer.contains("rebound-outcome: recorded"), "{answer}");

    let status = server.terminate(Duration::from_secs(30));
    assert_eq!(status.code(), Some(0), "exit status after SIGTERM\n{}", server.log());
    let log = server.log();
    assert!(log.contains("shutting down") && log.contains("stopped"), "{log}");
    stop.store(true, Ordering::Relaxed);
    let answers = running.await.unwrap();

    // Everything acknowledged, the slow request included, is committed, once.
    let rows = rows_by_eid(&db.url).await;
    assert_eq!(rows.get("in-flight"), Some(&1));
    let acked: Vec<String> = answers
        .iter()
        .filter(|(_, a)| matches!(a, Answer::Ok(_)))
        .map(|(v, _)| v["event_id"].as_str().unwrap().to_string())
        .collect();
    assert!(acked.len() > 20, "the load did not get going");
    for e in &acked {
        assert_eq!(rows.get(e), Some(&1), "acknowledged {e} not committed once");
    }
    // Nothing was answered with an error: requests either finished or found the door closed.
    assert!(answers.iter().all(|(_, a)| !matches!(a, Answer::Status(s) if *s >= 500 && *s != 503)));
    println!(
        "SIGTERM: exit 0, {} load requests acknowledged and committed, the in-flight request answered 200",
        acked.len()
    );
}

/// SIGTERM while the server scans a bounce mailbox: the scan stops after
/// the chunk in hand is committed (and deleted from the server), the
/// process exits 0, and nothing is lost or doubled: every message gone from
/// the mailbox has its bounces in the database, and after a restart the
/// rest are scanned and the totals are exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_scan_commits_the_chunk_in_hand_and_exits_0() {
    use std::time::Instant;

    use crate::dovecot::{Dovecot, Mode};
    use crate::mailbox_support::{corpus_bounces, subscribers_for, total_events};
    use rebound_core::settings::MailboxKind;

    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(120);
    subscribers_for(store.as_ref(), &fixtures).await;
    let events = total_events(&fixtures);
    let mut server = Server::start(&db.url).await;
    let mut mailbox = dovecot.mailbox(MailboxKind::Pop, Mode::Plain);
    mailbox.scan_interval = Duration::from_secs(1);
    let uuid = mailbox.uuid.unwrap().to_string();
    server
        .put_settings(json!({"bounce.enabled": true, "bounce.mailboxes": [mailbox],
            "bounce.actions": {"soft": {"count": 1000, "action": "none"},
                               "hard": {"count": 1000, "action": "none"},
                               "complaint": {"count": 1000, "action": "none"}}}))
        .await;
    for f in &fixtures {
        dovecot.deliver(&f.raw);
    }
    // SIGTERM as soon as the scan has committed its first chunk.
    let deadline = Instant::now() + Duration::from_secs(30);
    while bounce_rows(&db.url).await == 0 {
        assert!(Instant::now() < deadline, "the scanner never recorded anything");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let status = server.terminate(Duration::from_secs(60));
    assert_eq!(status.code(), Some(0), "{}", server.log());
    let left = dovecot.message_count();
    let rows_after_stop = bounce_rows(&db.url).await;
    let removed = fixtures.len() - left;
    drop(server);

    // A restart scans the rest: every bounce once.
    let server = Server::start(&db.url).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while dovecot.message_count() > 0 || (bounce_rows(&db.url).await as usize) < events {
        assert!(Instant::now() < deadline, "the restarted server did not finish the mailbox");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bounce_rows(&db.url).await as usize, events, "a bounce was lost or doubled");
    let res = server.admin(reqwest::Method::GET, "/api/bounces/mailboxes").send().await.unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    let m = v["data"].as_array().unwrap().iter().find(|m| m["uuid"] == uuid.as_str()).unwrap().clone();
    assert_eq!(m["totals"]["duplicates"], 0, "{m}");
    println!(
        "SIGTERM mid-scan: exit 0; {removed} of {} messages done before the stop ({rows_after_stop} bounce rows), \
         {left} left on the server and scanned after the restart; {events} bounces, each once",
        fixtures.len()
    );
}

async fn bounce_rows(database: &str) -> i64 {
    let pool = sqlx::SqlitePool::connect(database).await.unwrap();
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bounces").fetch_one(&pool).await.unwrap();
    pool.close().await;
    n
}
