//! Two `rebound serve` processes on one PostgreSQL database, the load split
//! across both for the same subscribers: each threshold action fires exactly
//! once per subscriber and the totals match.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use rebound_testkit::{Backend, OpenStore, TestDb};
use serde_json::json;

use crate::support::{Answer, Server, event, load, rows_by_eid, sub};

const SUBSCRIBERS: usize = 100;
/// Soft bounces each subscriber gets, half through each instance.
const PER_SUBSCRIBER: usize = 6;
/// The rule: the 3rd soft bounce blocklists.
const THRESHOLD: usize = 3;
const CLIENTS: usize = 16;

fn metric_sum(text: &str, prefix: &str) -> f64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_on_one_postgres_fire_each_action_once() {
    let db = TestDb::new(Backend::Postgres).await;
    let a = Server::start(&db.url).await;
    let b = Server::start(&db.url).await;
    a.put_settings(json!({"bounce.enabled": true, "bounce.webhooks_enabled": true,
        "bounce.actions": {"soft": {"count": THRESHOLD, "action": "blocklist"},
                           "hard": {"count": 1, "action": "blocklist"},
                           "complaint": {"count": 1, "action": "blocklist"}}}))
        .await;
    a.subscribers(SUBSCRIBERS).await;
    let token = a.webhook_token("split").await;
    // B reads the settings A saved (it polls every 5 s): wait until it takes webhooks.
    let probe = event("probe", "nobody@ops.test", "soft");
    for _ in 0..200 {
        if crate::support::post(&b.client, &b.base, &token, &probe).await != Answer::Status(503) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }

    // Event k of the run is for subscriber k / PER_SUBSCRIBER and goes to A
    // when k is even, to B when odd: with 16 clients each taking every 16th
    // k, a subscriber's events are all in flight at once, on both instances.
    let total = SUBSCRIBERS * PER_SUBSCRIBER;
    let bases = [a.base.clone(), b.base.clone()];
    let t = token.clone();
    let answers = load(
        Arc::new(move |c, i| bases[(c + i * CLIENTS) % 2].clone()),
        Arc::new(move |_| t.clone()),
        CLIENTS,
        Arc::new(move |c, i| {
            let k = c + i * CLIENTS;
            (k < total).then(|| event(&format!("k{k}"), &sub(k / PER_SUBSCRIBER), "soft"))
        }),
        Arc::new(AtomicBool::new(false)),
    )
    .await;
    assert_eq!(answers.len(), total);

    let mut outcomes: HashMap<String, usize> = HashMap::new();
    let mut actions_per_subscriber: HashMap<String, usize> = HashMap::new();
    for (body, answer) in &answers {
        let Answer::Ok(o) = answer else { panic!("{body}: {answer:?}") };
        let kind = o.split(' ').next().unwrap_or("").to_string();
        *outcomes.entry(kind).or_default() += 1;
        if o.contains("action=blocklist") {
            *actions_per_subscriber.entry(body["email"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    // Every subscriber's THRESHOLD-th bounce, and only that one, blocklisted it.
    assert_eq!(actions_per_subscriber.len(), SUBSCRIBERS, "{actions_per_subscriber:?}");
    assert!(actions_per_subscriber.values().all(|n| *n == 1), "{actions_per_subscriber:?}");
    // listmonk's rule: once blocklisted, later bounces are acknowledged, not inserted.
    assert_eq!(outcomes.get("recorded"), Some(&(SUBSCRIBERS * THRESHOLD)), "{outcomes:?}");
    assert_eq!(
        outcomes.get("blocklisted"),
        Some(&(SUBSCRIBERS * (PER_SUBSCRIBER - THRESHOLD))),
        "{outcomes:?}"
    );

    // The database agrees: THRESHOLD rows per subscriber, every one blocklisted.
    let rows = rows_by_eid(&db.url).await;
    assert_eq!(rows.len(), SUBSCRIBERS * THRESHOLD);
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let per_sub: Vec<(i64,)> = sqlx::query_as(
        "SELECT COUNT(b.id) FROM subscribers s LEFT JOIN bounces b ON b.subscriber_id = s.id \
         WHERE s.email LIKE '%@ops.test' GROUP BY s.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(per_sub.len(), SUBSCRIBERS);
    assert!(per_sub.iter().all(|(n,)| *n == THRESHOLD as i64), "{per_sub:?}");
    let (blocklisted,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM subscribers WHERE email LIKE '%@ops.test' AND status = 'blocklisted'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(blocklisted as usize, SUBSCRIBERS);

    // The two instances' metrics add up to the totals.
    let (ma, mb) = (a.metrics().await, b.metrics().await);
    let actions = |m: &str| metric_sum(m, "rebound_actions_total{");
    let recorded = |m: &str| metric_sum(m, r#"rebound_bounces_total{outcome="recorded",source="ops""#);
    // Which instance applies a subscriber's action is a race; that it is one is the point.
    assert_eq!(actions(&ma) + actions(&mb), SUBSCRIBERS as f64);
    assert_eq!(recorded(&ma) + recorded(&mb), (SUBSCRIBERS * THRESHOLD) as f64);
    println!(
        "two instances: {} events over 2 processes ({} recorded, {} blocklisted-not-inserted), \
         actions A={} B={} (total {} for {} subscribers, each exactly once), rows={}",
        total,
        outcomes["recorded"],
        outcomes["blocklisted"],
        actions(&ma),
        actions(&mb),
        actions(&ma) + actions(&mb),
        SUBSCRIBERS,
        rows.len()
    );
}

/// A POP3 mailbox configured once, so on both instances (the settings are
/// shared): mail delivered in waves while both scan it every second. The
/// lease lets one scan at a time: every message is fetched by exactly one
/// scan (the seen counts of both add up to the messages delivered) and no
/// bounce is offered twice (no duplicates), which two concurrent scans of
/// the same mailbox could not avoid.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mailbox_configured_on_both_is_scanned_by_one_at_a_time() {
    use crate::dovecot::{Dovecot, Mode};
    use crate::mailbox_support::{corpus_bounces, subscribers_for, total_events};
    use rebound_core::settings::MailboxKind;
    use std::time::{Duration, Instant};

    let dovecot = Dovecot::start();
    let db = TestDb::new(Backend::Postgres).await;
    let store = db.store().await;
    let fixtures = corpus_bounces(30);
    subscribers_for(store.as_ref(), &fixtures).await;
    let a = Server::start(&db.url).await;
    let b = Server::start(&db.url).await;
    let mut mailbox = dovecot.mailbox(MailboxKind::Pop, Mode::Plain);
    mailbox.scan_interval = Duration::from_secs(1);
    let uuid = mailbox.uuid.unwrap().to_string();
    a.put_settings(json!({"bounce.enabled": true, "bounce.mailboxes": [mailbox],
        "bounce.actions": {"soft": {"count": 1000, "action": "none"},
                           "hard": {"count": 1000, "action": "none"},
                           "complaint": {"count": 1000, "action": "none"}}}))
        .await;
    // Both run a scanner for it (B picks the settings up within its 5 s poll).
    let deadline = Instant::now() + Duration::from_secs(30);
    while mailbox_status(&a, uuid.clone()).await["state"].is_null()
        || mailbox_status(&b, uuid.clone()).await["state"].is_null()
    {
        assert!(Instant::now() < deadline, "both instances should run the mailbox's scanner");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for wave in fixtures.chunks(10) {
        for f in wave {
            dovecot.deliver(&f.raw);
        }
        tokio::time::sleep(Duration::from_millis(1500)).await;
    }
    let events = total_events(&fixtures);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (sa, sb) = (mailbox_status(&a, uuid.clone()).await, mailbox_status(&b, uuid.clone()).await);
        let recorded =
            sa["totals"]["recorded"].as_u64().unwrap() + sb["totals"]["recorded"].as_u64().unwrap();
        if dovecot.message_count() == 0 && recorded as usize == events {
            let seen = |s: &serde_json::Value| s["totals"]["seen"].as_u64().unwrap();
            let dup = |s: &serde_json::Value| s["totals"]["duplicates"].as_u64().unwrap();
            assert_eq!(
                seen(&sa) + seen(&sb),
                fixtures.len() as u64,
                "a message was fetched twice: {sa} {sb}"
            );
            assert_eq!(dup(&sa) + dup(&sb), 0, "a bounce was offered twice: {sa} {sb}");
            let rows: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM bounces")
                .fetch_one(&sqlx::PgPool::connect(&db.url).await.unwrap())
                .await
                .unwrap();
            assert_eq!(rows.0 as usize, events);
            println!(
                "mailbox on two instances: {} messages, {events} bounces; A fetched {} B fetched {}, \
                 duplicates 0, rows {}",
                fixtures.len(),
                seen(&sa),
                seen(&sb),
                rows.0
            );
            break;
        }
        assert!(Instant::now() < deadline, "the mailbox was not emptied: {sa}\n{sb}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The mailbox's entry of GET /api/bounces/mailboxes on `s` (null until
/// that instance has the settings that name it).
async fn mailbox_status(s: &Server, uuid: String) -> serde_json::Value {
    let res = s.admin(reqwest::Method::GET, "/api/bounces/mailboxes").send().await.unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    v["data"].as_array().unwrap().iter().find(|m| m["uuid"] == uuid.as_str()).cloned().unwrap_or_default()
}
