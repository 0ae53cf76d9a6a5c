//! POST /api/bounces/{id}/reclassify: an operator's correction of a
//! bounce's type, the rule evaluated again, and the refusals.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::{bounce_ok, bounces_of, subscriber};

async fn reclassify(s: &TestServer, id: i64, body: &Value) -> (u16, Value) {
    s.send_json(Method::POST, &format!("/api/bounces/{id}/reclassify"), body).await
}

async fn soft_to_hard_reaches_the_hard_rule_and_is_recorded(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {
        "soft": {"count": 100, "action": "none"}, "hard": {"count": 2, "action": "blocklist"},
        "complaint": {"count": 100, "action": "none"}}}))
        .await;
    let list = s.create_list("News").await;
    let (a, _) = s.create_subscriber("a@example.com", &[list]).await;
    for _ in 0..2 {
        bounce_ok(&s, "a@example.com", "soft").await;
    }
    let ids: Vec<i64> = bounces_of(&s, a).await.iter().map(|b| b["id"].as_i64().unwrap()).collect();

    let (status, body) = reclassify(&s, ids[0], &json!({"type": "hard", "note": "5.1.1 in the text"})).await;
    assert_eq!(status, 200, "{body}");
    let d = &body["data"];
    assert_eq!((d["bounce"]["id"].as_i64(), &d["bounce"]["type"]), (Some(ids[0]), &json!("hard")));
    assert_eq!(d["bounce"]["subscriber_status"], "enabled", "one hard bounce of two");
    let c = &d["correction"];
    assert_eq!(
        (&c["from"], &c["to"], &c["by"], &c["note"]),
        (&json!("soft"), &json!("hard"), &json!("admin"), &json!("5.1.1 in the text"))
    );
    assert_eq!((&c["count"], &c["action"]), (&json!(1), &Value::Null));
    // Kept with the bounce, where every reader of bounces sees it.
    let stored = s.get_json(&format!("/api/bounces/{}", ids[0])).await["data"].clone();
    assert_eq!(stored["meta"]["corrections"], json!([c]));

    let (status, body) = reclassify(&s, ids[1], &json!({"type": "hard"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (&body["data"]["correction"]["count"], &body["data"]["correction"]["action"]),
        (&json!(2), &json!("blocklist"))
    );
    assert_eq!(body["data"]["bounce"]["subscriber_status"], "blocklisted");
    let sub = subscriber(&s, a).await;
    assert_eq!(sub["status"], "blocklisted");
    assert_eq!(sub["lists"][0]["subscription_status"], "unsubscribed");
    assert_eq!(s.get_json("/api/bounces?type=hard").await["data"]["total"], 2);
}

async fn a_delete_rule_answers_without_the_bounce(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    s.put_settings(&json!({"bounce.actions": {
        "soft": {"count": 100, "action": "none"}, "hard": {"count": 100, "action": "none"},
        "complaint": {"count": 1, "action": "delete"}}}))
        .await;
    let (a, _) = s.create_subscriber("a@example.com", &[]).await;
    bounce_ok(&s, "a@example.com", "soft").await;
    let id = bounces_of(&s, a).await[0]["id"].as_i64().unwrap();
    let (status, body) = reclassify(&s, id, &json!({"type": "complaint"})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["bounce"], Value::Null);
    assert_eq!(body["data"]["correction"]["action"], "delete");
    assert_eq!(s.req(Method::GET, &format!("/api/subscribers/{a}")).send().await.unwrap().status(), 404);
}

async fn refusals_name_what_is_wrong(b: Backend) {
    let s = TestServer::start(b).await;
    s.enable_webhooks().await;
    let (a, _) = s.create_subscriber("a@example.com", &[]).await;
    bounce_ok(&s, "a@example.com", "soft").await;
    let id = bounces_of(&s, a).await[0]["id"].as_i64().unwrap();

    let (status, body) = reclassify(&s, 987654, &json!({"type": "hard"})).await;
    assert_eq!((status, body["message"].as_str().unwrap()), (404, "bounce 987654 not found"));
    let (status, body) = reclassify(&s, id, &json!({"type": "bogus"})).await;
    assert_eq!(status, 400);
    assert_eq!(body["message"], "invalid type \"bogus\": expected hard, soft or complaint");
    let (status, body) = reclassify(&s, id, &json!({"note": "no type"})).await;
    assert_eq!(
        (status, body["message"].as_str().unwrap()),
        (400, "type is required: hard, soft or complaint")
    );
    let (status, body) = reclassify(&s, id, &json!({"type": "hard", "note": "x".repeat(1001)})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("note:"), "{body}");
    let (status, body) = reclassify(&s, id, &json!({"type": "soft"})).await;
    assert_eq!(
        (status, body["message"].as_str().unwrap()),
        (409, format!("bounce {id} is already soft").as_str())
    );
    let res =
        s.req(Method::POST, &format!("/api/bounces/{id}/reclassify")).body("type=hard").send().await.unwrap();
    assert_eq!(res.status(), 415);

    // bounces:get may read bounces, not correct them.
    let token = s.api_user("reader", &["bounces:get"]).await;
    let res = s
        .client
        .post(s.url(&format!("/api/bounces/{id}/reclassify")))
        .header("Authorization", format!("token reader:{token}"))
        .json(&json!({"type": "hard"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    let after = s.get_json(&format!("/api/bounces/{id}")).await["data"].clone();
    assert_eq!(after["type"], "soft");
    assert!(after["meta"].get("corrections").is_none(), "no refusal wrote anything: {after}");
}

backend_tests!(
    soft_to_hard_reaches_the_hard_rule_and_is_recorded,
    a_delete_rule_answers_without_the_bounce,
    refusals_name_what_is_wrong,
);
