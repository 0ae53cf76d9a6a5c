//! The suppression list: which bounces put an address there (the same
//! `bounce.actions` rules as for subscribers, unmatched addresses included),
//! lookups, adding by hand, reactivation with its reset of the counts, the
//! incremental sync and the CSV export.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{bounce_ok, subscriber};

async fn server(b: Backend, actions: Value) -> TestServer {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({ "bounce.actions": actions })).await;
    s
}

async fn lookup(s: &TestServer, email: &str) -> Value {
    s.get_json(&format!("/api/suppressions/{email}")).await["data"].clone()
}

async fn listed(s: &TestServer, query: &str) -> Vec<Value> {
    s.get_json(&format!("/api/suppressions{query}")).await["data"]["results"].as_array().unwrap().clone()
}

fn emails(rows: &[Value]) -> Vec<&str> {
    rows.iter().map(|r| r["email"].as_str().unwrap()).collect()
}

async fn the_rules_decide_for_subscribers_and_strangers_alike(b: Backend) {
    let s = server(
        b,
        json!({"soft": {"count": 1, "action": "none"}, "hard": {"count": 2, "action": "blocklist"},
               "complaint": {"count": 1, "action": "unsubscribe"}}),
    )
    .await;
    let (sub, _) = s.create_subscriber("Sub@Example.com", &[]).await;
    // One hard bounce of two: nobody is suppressed yet.
    bounce_ok(&s, "sub@example.com", "hard").await;
    bounce_ok(&s, "stranger@example.com", "hard").await;
    assert!(listed(&s, "").await.is_empty(), "suppressed before the rule's count");
    assert_eq!(lookup(&s, "stranger@example.com").await["suppressed"], false);

    bounce_ok(&s, "sub@example.com", "hard").await;
    bounce_ok(&s, "STRANGER@example.com", "hard").await;
    // Soft bounces' rule takes no action: never suppressed, however many.
    for _ in 0..3 {
        bounce_ok(&s, "soft@example.com", "soft").await;
    }
    bounce_ok(&s, "complainer@example.com", "complaint").await;

    let rows = listed(&s, "").await;
    assert_eq!(emails(&rows), ["complainer@example.com", "stranger@example.com", "sub@example.com"]);
    let sub_row = &rows[2];
    assert_eq!(sub_row["suppressed"], true);
    assert_eq!(sub_row["type"], "hard");
    assert_eq!(sub_row["action"], "blocklist");
    assert_eq!(sub_row["source"], "api");
    assert_eq!(sub_row["count"], 2);
    assert_eq!(sub_row["subscriber_id"], sub);
    assert!(sub_row["reason"].as_str().unwrap().contains("blocklist after 2"), "{sub_row}");
    assert_eq!(subscriber(&s, sub).await["status"], "blocklisted");

    let stranger = lookup(&s, "Stranger@Example.com").await;
    assert_eq!(stranger["suppressed"], true, "{stranger}");
    assert_eq!(stranger["email"], "stranger@example.com");
    assert_eq!(stranger["suppression"]["subscriber_id"], Value::Null);
    assert_eq!(stranger["suppression"]["count"], 2);
    assert_eq!(rows[0]["action"], "unsubscribe");
    assert_eq!(rows[0]["type"], "complaint");

    // A further bounce of a suppressed address moves last_seen and count.
    let before = lookup(&s, "stranger@example.com").await["suppression"].clone();
    bounce_ok(&s, "stranger@example.com", "soft").await;
    let after = lookup(&s, "stranger@example.com").await["suppression"].clone();
    assert_eq!(after["count"], 3);
    assert_eq!(after["first_seen"], before["first_seen"]);
    assert_eq!(after["type"], "hard", "the reason it was suppressed stays");

    let nobody = lookup(&s, "nobody@example.com").await;
    assert_eq!(nobody, json!({"email": "nobody@example.com", "suppressed": false, "suppression": null}));
    let (status, _) = s.send_json(Method::GET, "/api/suppressions/not-an-address", &Value::Null).await;
    assert_eq!(status, 400);
}

async fn reactivation_enables_and_counts_start_again(b: Backend) {
    let s = server(
        b,
        json!({"soft": {"count": 2, "action": "none"}, "hard": {"count": 2, "action": "blocklist"},
               "complaint": {"count": 1, "action": "blocklist"}}),
    )
    .await;
    let (sub, _) = s.create_subscriber("back@example.com", &[]).await;
    for _ in 0..2 {
        bounce_ok(&s, "back@example.com", "hard").await;
        bounce_ok(&s, "gone@example.com", "hard").await;
    }
    assert_eq!(subscriber(&s, sub).await["status"], "blocklisted");

    for email in ["back@example.com", "gone@example.com"] {
        let (status, body) =
            s.send_json(Method::DELETE, &format!("/api/suppressions/{email}"), &Value::Null).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["data"]["suppressed"], false);
        assert!(body["data"]["reactivated_at"].is_string(), "{body}");
    }
    assert_eq!(subscriber(&s, sub).await["status"], "enabled");
    assert!(listed(&s, "").await.is_empty());
    let again = lookup(&s, "back@example.com").await;
    assert_eq!(again["suppressed"], false);
    assert!(again["suppression"]["reactivated_at"].is_string());
    // The bounces stay (history), but no longer count.
    assert_eq!(
        s.get_json(&format!("/api/subscribers/{sub}/bounces")).await["data"].as_array().unwrap().len(),
        2
    );

    // One new hard bounce each: the count starts from zero, so the rule (2) does not fire yet.
    bounce_ok(&s, "back@example.com", "hard").await;
    bounce_ok(&s, "gone@example.com", "hard").await;
    assert_eq!(subscriber(&s, sub).await["status"], "enabled");
    assert!(listed(&s, "").await.is_empty(), "the old bounces still counted");
    // The second one does.
    bounce_ok(&s, "back@example.com", "hard").await;
    bounce_ok(&s, "gone@example.com", "hard").await;
    assert_eq!(subscriber(&s, sub).await["status"], "blocklisted");
    let rows = listed(&s, "").await;
    assert_eq!(emails(&rows), ["back@example.com", "gone@example.com"]);
    assert!(rows.iter().all(|r| r["count"] == 2), "{rows:?}");

    let (status, _) = s.send_json(Method::DELETE, "/api/suppressions/never@example.com", &Value::Null).await;
    assert_eq!(status, 404);
}

async fn added_by_hand_and_blocklisted_subscribers_are_suppressed(b: Backend) {
    let s = server(
        b,
        json!({"soft": {"count": 2, "action": "none"}, "hard": {"count": 1, "action": "blocklist"},
               "complaint": {"count": 1, "action": "blocklist"}}),
    )
    .await;
    let (sub, _) = s.create_subscriber("hand@example.com", &[]).await;
    let (other, _) = s.create_subscriber("listmonk@example.com", &[]).await;
    let added =
        s.post_ok("/api/suppressions", &json!({"email": "Hand@example.com", "reason": "asked us"})).await;
    assert_eq!(added["email"], "hand@example.com");
    assert_eq!((added["type"].clone(), added["reason"].clone()), (json!("manual"), json!("asked us")));
    assert_eq!(added["subscriber_id"], sub);
    assert_eq!(subscriber(&s, sub).await["status"], "blocklisted");
    let stranger = s.post_ok("/api/suppressions", &json!({"email": "x@example.org"})).await;
    assert_eq!(stranger["reason"], "added by admin");

    // Blocklisted some other way: suppressed too.
    let res = s.req(Method::PUT, &format!("/api/subscribers/{other}/blocklist")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let row = lookup(&s, "listmonk@example.com").await;
    assert_eq!(row["suppressed"], true, "{row}");
    assert_eq!(row["suppression"]["source"], "subscriber");
    assert_eq!(listed(&s, "").await.len(), 3);
    assert_eq!(emails(&listed(&s, "?search=LISTMONK").await), ["listmonk@example.com"]);
    // ...and reactivated like the others.
    let (status, _) =
        s.send_json(Method::DELETE, "/api/suppressions/listmonk@example.com", &Value::Null).await;
    assert_eq!(status, 200);
    assert_eq!(subscriber(&s, other).await["status"], "enabled");

    let (status, _) = s.send_json(Method::POST, "/api/suppressions", &json!({"email": "nope"})).await;
    assert_eq!(status, 400);

    // bounces:get reads, bounces:manage changes.
    let token = s.api_user("reader", &["bounces:get"]).await;
    let as_reader = |m: Method, path: &str| {
        s.client.request(m, s.url(path)).header("Authorization", format!("token reader:{token}"))
    };
    assert_eq!(as_reader(Method::GET, "/api/suppressions").send().await.unwrap().status(), 200);
    assert_eq!(
        as_reader(Method::GET, "/api/suppressions/hand@example.com").send().await.unwrap().status(),
        200
    );
    let refused =
        as_reader(Method::POST, "/api/suppressions").json(&json!({"email": "a@b.c"})).send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let refused = as_reader(Method::DELETE, "/api/suppressions/hand@example.com").send().await.unwrap();
    assert_eq!(refused.status(), 403);
    let nobody = s.api_user("nobody", &["subscribers:get"]).await;
    let refused = s
        .client
        .get(s.url("/api/suppressions"))
        .header("Authorization", format!("token nobody:{nobody}"))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
}

async fn since_syncs_changes_and_csv_exports(b: Backend) {
    let s = server(
        b,
        json!({"soft": {"count": 2, "action": "none"}, "hard": {"count": 1, "action": "blocklist"},
               "complaint": {"count": 1, "action": "blocklist"}}),
    )
    .await;
    bounce_ok(&s, "old@example.com", "hard").await;
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let t1 = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    bounce_ok(&s, "new@example.com", "complaint").await;
    s.post_ok("/api/suppressions", &json!({"email": "=cmd@example.com", "reason": "=HYPERLINK(1)"})).await;
    let since = listed(&s, &format!("?since={}", urlencode(&t1))).await;
    assert_eq!(emails(&since), ["new@example.com", "=cmd@example.com"], "oldest change first");

    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let t2 = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    let (status, _) = s.send_json(Method::DELETE, "/api/suppressions/old@example.com", &Value::Null).await;
    assert_eq!(status, 200);
    let removed = listed(&s, &format!("?since={}", urlencode(&t2))).await;
    assert_eq!(emails(&removed), ["old@example.com"]);
    assert_eq!(removed[0]["suppressed"], false, "a sync must learn of the removal");
    // Without since, only what is suppressed now.
    assert_eq!(emails(&listed(&s, "").await), ["=cmd@example.com", "new@example.com"]);

    let (status, body) = s.send_json(Method::GET, "/api/suppressions?since=yesterday", &Value::Null).await;
    assert_eq!(status, 400, "{body}");

    let res = s.req(Method::GET, "/api/suppressions/export.csv").send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "email,suppressed,type,action,reason,source,first_seen,last_seen,count,subscriber_id,updated_at"
    );
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].starts_with("'=cmd@example.com,true,manual,manual,'=HYPERLINK(1),api,"), "{}", lines[1]);
    assert!(lines[2].starts_with("new@example.com,true,complaint,blocklist,"), "{}", lines[2]);
    let res = s
        .req(Method::GET, &format!("/api/suppressions/export.csv?since={}", urlencode(&t2)))
        .send()
        .await
        .unwrap();
    let text = res.text().await.unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");
    assert!(text.lines().nth(1).unwrap().starts_with("old@example.com,false,"), "{text}");
}

fn urlencode(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

backend_tests!(
    the_rules_decide_for_subscribers_and_strangers_alike,
    reactivation_enables_and_counts_start_again,
    added_by_hand_and_blocklisted_subscribers_are_suppressed,
    since_syncs_changes_and_csv_exports,
);
