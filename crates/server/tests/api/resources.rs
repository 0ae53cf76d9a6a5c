//! Subscribers, lists, campaigns, users: enough CRUD for bounces to refer to.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::json;

async fn subscribers_crud(b: Backend) {
    let s = TestServer::start(b).await;
    let (l1, l2) = (s.create_list("one").await, s.create_list("two").await);
    let created = s
        .post_ok(
            "/api/subscribers",
            &json!({"email": "Mixed.Case@Example.COM", "name": "M", "lists": [l1],
                                             "attribs": {"city": "Oslo"}}),
        )
        .await;
    assert_eq!(created["email"], "mixed.case@example.com");
    assert_eq!(created["lists"][0]["id"], l1);
    // listmonk's insert-subscriber: unconfirmed, whatever the list's opt-in, unless pre-confirmed.
    assert_eq!(created["lists"][0]["subscription_status"], "unconfirmed");
    let id = created["id"].as_i64().unwrap();

    // Unique case-insensitively.
    let (status, body) =
        s.send_json(Method::POST, "/api/subscribers", &json!({"email": "MIXED.case@example.com"})).await;
    assert_eq!(status, 409, "{body}");

    let found = s.get_json("/api/subscribers?search=mixed").await["data"].clone();
    assert_eq!(found["total"], 1);
    assert_eq!(found["results"][0]["lists"][0]["name"], "one");
    assert_eq!(s.get_json(&format!("/api/subscribers?list_id={l2}")).await["data"]["total"], 0);

    let (status, updated) = s
        .send_json(Method::PUT, &format!("/api/subscribers/{id}"), &json!({"name": "New", "lists": [l2]}))
        .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(updated["data"]["name"], "New");
    assert_eq!(updated["data"]["lists"].as_array().unwrap().len(), 1);
    assert_eq!(updated["data"]["lists"][0]["id"], l2);

    let (status, blocked) =
        s.send_json(Method::PUT, &format!("/api/subscribers/{id}"), &json!({"status": "blocklisted"})).await;
    assert_eq!(status, 200);
    assert_eq!(blocked["data"]["lists"][0]["subscription_status"], "unsubscribed");

    assert_eq!(s.req(Method::DELETE, &format!("/api/subscribers/{id}")).send().await.unwrap().status(), 200);
    assert_eq!(s.req(Method::GET, &format!("/api/subscribers/{id}")).send().await.unwrap().status(), 404);
}

async fn lists_and_campaigns(b: Backend) {
    let s = TestServer::start(b).await;
    let list = s.create_list("weekly").await;
    s.create_subscriber("a@example.com", &[list]).await;
    let l = s.get_json(&format!("/api/lists/{list}")).await["data"].clone();
    assert_eq!((l["name"].clone(), l["subscriber_count"].clone()), (json!("weekly"), json!(1)));
    assert_eq!(s.get_json("/api/lists").await["data"]["total"], 1);

    let c = s
        .post_ok(
            "/api/campaigns",
            &json!({"name": "Launch", "subject": "Hi", "from_email": "news@site.com",
                                           "lists": [list], "content_type": "plain", "body": "hello"}),
        )
        .await;
    assert!(uuid::Uuid::parse_str(c["uuid"].as_str().unwrap()).is_ok());
    assert_eq!(c["lists"], json!([{"id": list, "name": "weekly"}]));
    let id = c["id"].as_i64().unwrap();
    assert_eq!(s.get_json(&format!("/api/campaigns/{id}")).await["data"]["uuid"], c["uuid"]);
    assert_eq!(s.get_json("/api/campaigns").await["data"]["total"], 1);
    let (status, _) = s.send_json(Method::POST, "/api/campaigns", &json!({"subject": "no name"})).await;
    assert_eq!(status, 400);
}

async fn health_answers(b: Backend) {
    let s = TestServer::start(b).await;
    let res = s.client.get(s.url("/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<serde_json::Value>().await.unwrap(), json!({"data": "ok"}));
    let res = s.client.get(s.url("/api/nothing-here")).send().await.unwrap();
    assert_eq!(res.status(), 404);
}

backend_tests!(subscribers_crud, lists_and_campaigns, health_answers);
