//! docs/design.md "Recording a bounce", with the SES recipe's rules (listmonk's
//! defaults): soft 2/none, hard 1/blocklist, complaint 1/blocklist.

use rebound_testkit::{Backend, TestServer, backend_tests};
use serde_json::json;

use crate::{bounce_ok, bounces_of, post_bounce, subscriber};

async fn seed_call_records_with_campaign_and_meta(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let list = s.create_list("news").await;
    s.create_subscriber("john@example.com", &[list]).await;
    let (campaign_id, campaign_uuid) = s.create_campaign("Spring sale").await;
    // The seed's documented call: meta as an escaped JSON string.
    let (status, outcome, body) = post_bounce(
        &s,
        &json!({"email": "john@example.com", "campaign_uuid": campaign_uuid, "source": "api",
                "type": "hard", "meta": "{\"additional\": \"info\"}"}),
    )
    .await;
    assert_eq!((status, &body), (200, &json!({"data": true})));
    assert_eq!(outcome, "recorded count=1 action=blocklist");
    let page = s.get_json("/api/bounces").await["data"].clone();
    assert_eq!(page["total"], 1);
    let b = &page["results"][0];
    assert_eq!(b["email"], "john@example.com");
    assert_eq!(b["type"], "hard");
    assert_eq!(b["source"], "api");
    assert_eq!(b["meta"], json!({"additional": "info"}));
    assert_eq!(b["campaign"], json!({"id": campaign_id, "name": "Spring sale"}));
    assert_eq!(b["subscriber_status"], "blocklisted");
}

async fn hard_bounce_blocklists_and_unsubscribes(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let (l1, l2) = (s.create_list("a").await, s.create_list("b").await);
    let (id, _) = s.create_subscriber("Hard@Example.com", &[l1, l2]).await;
    assert_eq!(bounce_ok(&s, "hard@example.com", "hard").await, "recorded count=1 action=blocklist");
    let sub = subscriber(&s, id).await;
    assert_eq!(sub["status"], "blocklisted");
    let statuses: Vec<_> =
        sub["lists"].as_array().unwrap().iter().map(|l| l["subscription_status"].clone()).collect();
    assert_eq!(statuses, vec![json!("unsubscribed"), json!("unsubscribed")]);
    // Already blocklisted: acknowledged, not inserted, not re-counted.
    assert_eq!(bounce_ok(&s, "HARD@example.com", "hard").await, "blocklisted");
    assert_eq!(bounces_of(&s, id).await.len(), 1);
}

async fn soft_bounces_count_to_two_and_do_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let list = s.create_list("a").await;
    let (id, _) = s.create_subscriber("soft@example.com", &[list]).await;
    assert_eq!(bounce_ok(&s, "soft@example.com", "soft").await, "recorded count=1");
    assert_eq!(bounce_ok(&s, "soft@example.com", "soft").await, "recorded count=2");
    // listmonk stops inserting past the count; rebound keeps the evidence.
    assert_eq!(bounce_ok(&s, "soft@example.com", "soft").await, "recorded count=3");
    let sub = subscriber(&s, id).await;
    assert_eq!(sub["status"], "enabled");
    assert_eq!(sub["lists"][0]["subscription_status"], "confirmed");
    assert_eq!(bounces_of(&s, id).await.len(), 3);
}

async fn complaint_blocklists(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let (id, _) = s.create_subscriber("angry@example.com", &[]).await;
    assert_eq!(bounce_ok(&s, "angry@example.com", "complaint").await, "recorded count=1 action=blocklist");
    assert_eq!(subscriber(&s, id).await["status"], "blocklisted");
}

async fn unsubscribe_and_delete_actions(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {
        "soft": {"count": 2, "action": "unsubscribe"},
        "hard": {"count": 1, "action": "delete"},
        "complaint": {"count": 1, "action": "none"}}}))
        .await;
    let list = s.create_list("a").await;
    let (soft_id, _) = s.create_subscriber("s@example.com", &[list]).await;
    let (hard_id, _) = s.create_subscriber("h@example.com", &[list]).await;
    bounce_ok(&s, "s@example.com", "soft").await;
    assert_eq!(subscriber(&s, soft_id).await["lists"][0]["subscription_status"], "confirmed");
    assert_eq!(bounce_ok(&s, "s@example.com", "soft").await, "recorded count=2 action=unsubscribe");
    let sub = subscriber(&s, soft_id).await;
    assert_eq!(sub["lists"][0]["subscription_status"], "unsubscribed");
    assert_eq!(sub["status"], "enabled");

    assert_eq!(bounce_ok(&s, "h@example.com", "hard").await, "recorded count=1 action=delete");
    let res = s.req(reqwest::Method::GET, &format!("/api/subscribers/{hard_id}")).send().await.unwrap();
    assert_eq!(res.status(), 404);
    // Its bounces went with it (ON DELETE CASCADE), the other's remain.
    assert_eq!(s.get_json("/api/bounces").await["data"]["total"], 2);
}

async fn unknown_subscriber_is_kept_unmatched_and_can_be_retried(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let (status, outcome, _) = post_bounce(
        &s,
        &json!({"email": "ghost@example.com", "source": "ses", "type": "hard", "meta": {"why": "test"}}),
    )
    .await;
    assert_eq!((status, outcome.as_str()), (200, "unmatched"));
    let unmatched = s.get_json("/api/bounces/unmatched").await["data"].clone();
    assert_eq!(unmatched["total"], 1);
    assert_eq!(unmatched["results"][0]["email"], "ghost@example.com");
    assert_eq!(unmatched["results"][0]["meta"], json!({"why": "test"}));

    // Still no subscriber: retry leaves it where it is.
    let r = s.post_ok("/api/bounces/unmatched/retry?all=true", &json!({})).await;
    assert_eq!(r, json!({"matched": 0, "still_unmatched": 1}));
    let (id, _) = s.create_subscriber("ghost@example.com", &[]).await;
    let r = s.post_ok("/api/bounces/unmatched/retry?all=true", &json!({})).await;
    assert_eq!(r, json!({"matched": 1, "still_unmatched": 0}));
    assert_eq!(s.get_json("/api/bounces/unmatched").await["data"]["total"], 0);
    assert_eq!(subscriber(&s, id).await["status"], "blocklisted");
    assert_eq!(bounces_of(&s, id).await[0]["source"], "ses");
}

async fn repeated_event_id_counts_once(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let (id, uuid) = s.create_subscriber("dup@example.com", &[]).await;
    let body = json!({"subscriber_uuid": uuid, "source": "api", "type": "soft", "event_id": "evt-1"});
    assert_eq!(post_bounce(&s, &body).await.1, "recorded count=1");
    let (status, outcome, _) = post_bounce(&s, &body).await;
    assert_eq!((status, outcome.as_str()), (200, "duplicate"));
    // The same id from another source is another event.
    let other = json!({"subscriber_uuid": uuid, "source": "other", "type": "soft", "event_id": "evt-1"});
    assert_eq!(post_bounce(&s, &other).await.1, "recorded count=2");
    assert_eq!(bounces_of(&s, id).await.len(), 2);
}

async fn uuid_wins_over_email(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let (a, a_uuid) = s.create_subscriber("a@example.com", &[]).await;
    let (bb, _) = s.create_subscriber("b@example.com", &[]).await;
    let body = json!({"subscriber_uuid": a_uuid, "email": "b@example.com", "source": "api", "type": "soft"});
    assert_eq!(post_bounce(&s, &body).await.0, 200);
    assert_eq!(bounces_of(&s, a).await.len(), 1);
    assert!(bounces_of(&s, bb).await.is_empty());
}

async fn threshold_window_counts_only_recent_bounces(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {
        "soft": {"count": 2, "action": "blocklist", "window": "7d"},
        "hard": {"count": 1, "action": "blocklist"},
        "complaint": {"count": 1, "action": "blocklist"}}}))
        .await;
    let (id, _) = s.create_subscriber("w@example.com", &[]).await;
    let old = json!({"email": "w@example.com", "source": "api", "type": "soft",
                     "created_at": "2020-01-01T00:00:00Z"});
    assert_eq!(post_bounce(&s, &old).await.1, "recorded count=1");
    // The 2020 bounce is outside the window: this is the first that counts.
    assert_eq!(bounce_ok(&s, "w@example.com", "soft").await, "recorded count=1");
    assert_eq!(bounce_ok(&s, "w@example.com", "soft").await, "recorded count=2 action=blocklist");
    assert_eq!(subscriber(&s, id).await["status"], "blocklisted");
}

async fn seed_sql_query_runs_unchanged(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    for i in 0..3 {
        s.create_subscriber(&format!("q{i}@example.com"), &[]).await;
        let body = json!({"email": format!("q{i}@example.com"), "source": "api", "type": "soft",
                          "created_at": format!("2026-01-0{}T00:00:00Z", i + 1)});
        assert_eq!(post_bounce(&s, &body).await.0, 200);
    }
    let sql = "SELECT bounces.created_at, bounces.subscriber_id,
           subscribers.uuid AS subscriber_uuid, subscribers.email AS email
    FROM bounces LEFT JOIN subscribers ON (subscribers.id = bounces.subscriber_id)
    ORDER BY bounces.created_at DESC LIMIT 1000;";
    use sqlx::Row;
    let emails: Vec<String> = match b {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&s.db.url).await.unwrap();
            sqlx::query(sql).fetch_all(&pool).await.unwrap().iter().map(|r| r.get("email")).collect()
        }
        Backend::Postgres => {
            let pool = sqlx::PgPool::connect(&s.db.url).await.unwrap();
            sqlx::query(sql).fetch_all(&pool).await.unwrap().iter().map(|r| r.get("email")).collect()
        }
    };
    assert_eq!(emails, vec!["q2@example.com", "q1@example.com", "q0@example.com"]);
}

backend_tests!(
    seed_call_records_with_campaign_and_meta,
    hard_bounce_blocklists_and_unsubscribes,
    soft_bounces_count_to_two_and_do_nothing,
    complaint_blocklists,
    unsubscribe_and_delete_actions,
    unknown_subscriber_is_kept_unmatched_and_can_be_retried,
    repeated_event_id_counts_once,
    uuid_wins_over_email,
    threshold_window_counts_only_recent_bounces,
    seed_sql_query_runs_unchanged,
);
