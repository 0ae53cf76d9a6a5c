//! Users: `users:manage` grants and deletes only within what the caller
//! holds, and the last holder of `*` stays.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

async fn as_user(
    s: &TestServer,
    token: &(String, String),
    method: Method,
    path: &str,
    body: &Value,
) -> (u16, Value) {
    let res = s
        .client
        .request(method, s.url(path))
        .header("authorization", format!("token {}:{}", token.0, token.1))
        .json(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.json().await.unwrap_or(Value::Null))
}

async fn user_id(s: &TestServer, name: &str) -> i64 {
    let users = s.get_json("/api/users").await;
    users["data"].as_array().unwrap().iter().find(|u| u["username"] == name).unwrap()["id"].as_i64().unwrap()
}

async fn users_manage_cannot_grant_or_remove_more_than_it_holds(b: Backend) {
    let s = TestServer::start(b).await;
    let manager = ("manager".to_string(), s.api_user("manager", &["users:manage", "bounces:get"]).await);
    for wanted in [json!(["*"]), json!(["settings:manage"]), json!(["bounces:get", "bounces:manage"])] {
        let (status, body) = as_user(
            &s,
            &manager,
            Method::POST,
            "/api/users",
            &json!({"username": "escalated", "type": "api", "permissions": wanted}),
        )
        .await;
        assert_eq!(status, 403, "{wanted}: {body}");
        assert!(body["message"].as_str().unwrap().contains("you do not hold it"), "{body}");
    }
    assert!(
        !s.get_json("/api/users").await["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["username"] == "escalated"),
        "nothing was created"
    );
    // What it holds, it may grant.
    let (status, body) = as_user(
        &s,
        &manager,
        Method::POST,
        "/api/users",
        &json!({"username": "reader", "type": "api", "permissions": ["bounces:get"]}),
    )
    .await;
    assert_eq!(status, 200, "{body}");

    // It cannot delete the admin (who holds "*"), but can delete the reader.
    let admin = user_id(&s, "admin").await;
    let (status, body) =
        as_user(&s, &manager, Method::DELETE, &format!("/api/users/{admin}"), &json!(null)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("\"*\""), "{body}");
    let reader = user_id(&s, "reader").await;
    let (status, body) =
        as_user(&s, &manager, Method::DELETE, &format!("/api/users/{reader}"), &json!(null)).await;
    assert_eq!(status, 200, "{body}");
}

async fn the_last_holder_of_all_permissions_stays(b: Backend) {
    let s = TestServer::start(b).await;
    let admin = user_id(&s, "admin").await;
    // The store itself refuses, whoever asks.
    let err = s.store.delete_user(admin).await.unwrap_err();
    assert!(matches!(err, rebound_store::StoreError::Conflict(_)), "{err}");
    assert!(err.to_string().contains("last user holding"), "{err}");
    assert!(s.store.find_user("admin").await.unwrap().is_some());

    // With two admins deleting each other at once, one is left.
    let other = ("second".to_string(), s.api_user("second", &["*"]).await);
    let second = user_id(&s, "second").await;
    let (path_a, path_b, null) = (format!("/api/users/{second}"), format!("/api/users/{admin}"), json!(null));
    let (a, b2) = tokio::join!(
        s.send_json(Method::DELETE, &path_a, &null),
        as_user(&s, &other, Method::DELETE, &path_b, &null),
    );
    assert!(!(a.0 == 200 && b2.0 == 200), "both admins were deleted: {a:?} {b2:?}");
    let left: Vec<Value> =
        s.store.list_users().await.unwrap().into_iter().map(|u| json!(u.permissions)).collect();
    assert!(left.iter().any(|p| p == &json!(["*"])), "{left:?}");
    // The remaining one cannot be deleted through the store either.
    let remaining = s.store.list_users().await.unwrap();
    let last = remaining.iter().find(|u| u.permissions == ["*"]).unwrap();
    let err = s.store.delete_user(last.id).await.unwrap_err();
    assert!(matches!(err, rebound_store::StoreError::Conflict(_)), "{err}");
    // A user without "*" is deleted as before.
    s.api_user("plain", &["bounces:get"]).await;
    let plain = user_id(&s, "plain").await;
    s.store.delete_user(plain).await.unwrap();
}

async fn usernames_with_control_characters_are_refused(b: Backend) {
    let s = TestServer::start(b).await;
    let (status, body) = s
        .send_json(Method::POST, "/api/users", &json!({"username": "a\nb", "type": "api", "permissions": []}))
        .await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("control characters"), "{body}");
}

backend_tests!(
    users_manage_cannot_grant_or_remove_more_than_it_holds,
    the_last_holder_of_all_permissions_stays,
    usernames_with_control_characters_are_refused,
);
