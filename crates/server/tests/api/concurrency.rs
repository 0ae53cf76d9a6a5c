//! Many requests for one subscriber at once: no lost updates, the action fires once.

use std::collections::BTreeMap;

use rebound_testkit::{Backend, TestServer, backend_tests};
use serde_json::json;

use crate::{bounces_of, subscriber};

async fn parallel_bounces(s: &TestServer, email: &str, kind: &str, n: usize) -> Vec<String> {
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (client, url, pw) = (s.client.clone(), s.url("/webhooks/bounce"), s.admin_password.clone());
        let body = json!({"email": email, "source": "api", "type": kind, "event_id": format!("e{i}")});
        tasks.spawn(async move {
            let res = client.post(url).basic_auth("admin", Some(pw)).json(&body).send().await.unwrap();
            assert_eq!(res.status(), 200);
            res.headers()["rebound-outcome"].to_str().unwrap().to_string()
        });
    }
    tasks.join_all().await
}

async fn two_hundred_hard_bounces_blocklist_exactly_once(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {"soft": {"count": 2, "action": "none"},
        "hard": {"count": 3, "action": "blocklist"}, "complaint": {"count": 1, "action": "blocklist"}}}))
        .await;
    let list = s.create_list("a").await;
    let (id, _) = s.create_subscriber("busy@example.com", &[list]).await;
    let outcomes = parallel_bounces(&s, "busy@example.com", "hard", 200).await;

    let mut tally: BTreeMap<String, usize> = BTreeMap::new();
    for o in &outcomes {
        *tally.entry(o.clone()).or_default() += 1;
    }
    // Every request was answered with a durable outcome: the first three are
    // recorded (the third fires the blocklist, once); the rest find the
    // subscriber blocklisted and, per docs/design.md "Recording a bounce" step 2, are not inserted.
    assert_eq!(tally.get("recorded count=1"), Some(&1), "{tally:?}");
    assert_eq!(tally.get("recorded count=2"), Some(&1), "{tally:?}");
    assert_eq!(tally.get("recorded count=3 action=blocklist"), Some(&1), "{tally:?}");
    assert_eq!(tally.get("blocklisted"), Some(&197), "{tally:?}");
    assert_eq!(bounces_of(&s, id).await.len(), 3);
    let sub = subscriber(&s, id).await;
    assert_eq!(sub["status"], "blocklisted");
    assert_eq!(sub["lists"][0]["subscription_status"], "unsubscribed");
}

async fn two_hundred_soft_bounces_lose_no_update(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {"soft": {"count": 150, "action": "unsubscribe"},
        "hard": {"count": 1, "action": "blocklist"}, "complaint": {"count": 1, "action": "blocklist"}}}))
        .await;
    let list = s.create_list("a").await;
    let (id, _) = s.create_subscriber("busy@example.com", &[list]).await;
    let outcomes = parallel_bounces(&s, "busy@example.com", "soft", 200).await;
    // Each count from 1 to 200 was handed out exactly once: no two concurrent
    // requests read the same count.
    let mut counts: Vec<u32> = outcomes
        .iter()
        .map(|o| o.split_whitespace().find_map(|w| w.strip_prefix("count=")).unwrap().parse().unwrap())
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=200).collect::<Vec<u32>>());
    assert_eq!(bounces_of(&s, id).await.len(), 200);
    assert_eq!(subscriber(&s, id).await["lists"][0]["subscription_status"], "unsubscribed");
}

backend_tests!(two_hundred_hard_bounces_blocklist_exactly_once, two_hundred_soft_bounces_lose_no_update);
