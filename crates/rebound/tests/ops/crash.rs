//! SIGKILL under sustained load, then a provider retry of everything:
//! every bounce answered 200 is in the database exactly once, and
//! re-sending every event counts none twice. On SQLite and PostgreSQL.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use rebound_testkit::{Backend, TestDb};
use serde_json::{Value, json};

use crate::support::{Answer, POSTMARK, Server, event, load, postmark_event, rows_by_eid, sub};

const SUBSCRIBERS: usize = 200;
const CLIENTS: usize = 16;

fn eid(v: &Value) -> String {
    v["eid"].as_str().or(v["meta"]["eid"].as_str()).unwrap().to_string()
}

async fn crash_and_retry(backend: Backend) {
    let db = TestDb::new(backend).await;
    let mut server = Server::start(&db.url).await;
    server
        .put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true,
            // No threshold is reached: every event is inserted, so a lost or
            // doubled one shows in the counts.
            "bounce.actions": {"soft": {"count": 1_000_000, "action": "none"},
                               "hard": {"count": 1, "action": "blocklist"},
                               "complaint": {"count": 1, "action": "blocklist"}},
            "bounce.postmark": {"enabled": true, "username": POSTMARK.0, "password": POSTMARK.1}}))
        .await;
    server.subscribers(SUBSCRIBERS).await;
    let token = server.webhook_token("crash").await;

    // Sustained load; SIGKILL in the middle of it.
    let stop = Arc::new(AtomicBool::new(false));
    let base = server.base.clone();
    let t = token.clone();
    let running = tokio::spawn(load(
        Arc::new(move |_, _| base.clone()),
        Arc::new(move |_| t.clone()),
        CLIENTS,
        // Half the clients post listmonk's generic webhook, half Postmark's.
        Arc::new(|c, i| {
            let (eid, email) = (format!("c{c}-{i}"), sub((c * 7919 + i * 31) % SUBSCRIBERS));
            Some(if c % 2 == 0 { event(&eid, &email, "soft") } else { postmark_event(&eid, &email) })
        }),
        stop.clone(),
    ));
    tokio::time::sleep(Duration::from_millis(2500)).await;
    server.kill();
    // Let every client see the dead server, then stop them.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    let answers = running.await.unwrap();

    let sent: Vec<Value> = answers.iter().map(|(v, _)| v.clone()).collect();
    let acked: HashSet<String> =
        answers.iter().filter(|(_, a)| matches!(a, Answer::Ok(_))).map(|(v, _)| eid(v)).collect();
    let other: Vec<&Answer> =
        answers.iter().map(|(_, a)| a).filter(|a| matches!(a, Answer::Status(_))).collect();
    assert!(other.is_empty(), "non-200 answers under load: {other:?}");
    assert!(acked.len() > 100, "the load did not get going: {} acknowledged", acked.len());
    assert!(acked.len() < sent.len(), "the kill did not cut any request");

    // Restart on the same database: everything acknowledged is there, once.
    let server = Server::start(&db.url).await;
    let found = rows_by_eid(&db.url).await;
    let missing: Vec<&String> = acked.iter().filter(|e| !found.contains_key(*e)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    let doubled: Vec<(&String, &i64)> = found.iter().filter(|(_, n)| **n != 1).collect();
    assert!(doubled.is_empty(), "counted more than once: {doubled:?}");
    let sent_ids: HashSet<String> = sent.iter().map(eid).collect();
    assert!(found.keys().all(|e| sent_ids.contains(e)), "a row nobody sent");

    // The provider retries every event it sent (acknowledged or not).
    let client = reqwest::Client::new();
    let answers: Vec<(Value, Answer)> = futures::stream::iter(sent.iter().cloned())
        .map(|body| {
            let (client, base, token) = (client.clone(), server.base.clone(), token.clone());
            async move {
                let a = crate::support::post(&client, &base, &token, &body).await;
                (body, a)
            }
        })
        .buffer_unordered(CLIENTS)
        .collect()
        .await;
    let mut retry: HashMap<&'static str, usize> = HashMap::new();
    for (body, answer) in answers {
        match answer {
            // "duplicate" / "recorded ..." (generic), "duplicate=1" / "recorded=1" (Postmark).
            Answer::Ok(o) if o.starts_with("duplicate") => *retry.entry("duplicate").or_default() += 1,
            Answer::Ok(o) if o.starts_with("recorded") => *retry.entry("recorded").or_default() += 1,
            a => panic!("retry of {body} answered {a:?}"),
        }
    }
    // Exactly the events already in the database are duplicates; the others
    // (never committed, so never acknowledged) are recorded now.
    assert_eq!(retry.get("duplicate").copied().unwrap_or(0), found.len());
    assert_eq!(retry.get("recorded").copied().unwrap_or(0), sent.len() - found.len());
    let after = rows_by_eid(&db.url).await;
    assert_eq!(after.len(), sent_ids.len(), "every sent event is in the database after the retry");
    assert!(after.values().all(|n| *n == 1), "the retry counted an event twice");

    println!(
        "crash test ({backend:?}): sent={} ({} through Postmark's webhook) acknowledged={} found_after_restart={} (unacknowledged but committed={}) \
         lost=0 doubled=0 | retry: duplicates={} newly_recorded={} | rows after retry={} each once",
        sent.len(),
        sent.iter().filter(|v| v.get("RecordType").is_some()).count(),
        acked.len(),
        found.len(),
        found.len() - acked.len(),
        found.len(),
        sent.len() - found.len(),
        after.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_sigkill_mid_load_loses_nothing_and_retries_count_once() {
    crash_and_retry(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_sigkill_mid_load_loses_nothing_and_retries_count_once() {
    crash_and_retry(Backend::Postgres).await;
}
