//! listmonk's subscriber endpoints around bounces, as a listmonk client sees
//! them: blocklisting one or many, changing subscriptions, PATCH, and the
//! `/api/subscribers/query/...` operations.

use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::subscriber;

/// (list id, subscription status) of each subscription, in list order.
async fn subscriptions(s: &TestServer, id: i64) -> Vec<(i64, String)> {
    subscriber(s, id).await["lists"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["id"].as_i64().unwrap(), l["subscription_status"].as_str().unwrap().to_string()))
        .collect()
}

async fn status_of(s: &TestServer, id: i64) -> String {
    subscriber(s, id).await["status"].as_str().unwrap().to_string()
}

/// Sends and asserts `{"data": true}`.
async fn ok_true(s: &TestServer, method: Method, path: &str, body: &Value) {
    let (status, res) = s.send_json(method, path, body).await;
    assert_eq!((status, &res), (200, &json!({"data": true})), "{path} {body}");
}

/// Sends and asserts a 400 whose message contains `says`.
async fn refused(s: &TestServer, method: Method, path: &str, body: &Value, says: &str) {
    let (status, res) = s.send_json(method, path, body).await;
    assert_eq!(status, 400, "{path} {body}: {res}");
    let message = res["message"].as_str().unwrap_or_default();
    assert!(message.contains(says), "{path} {body}: {message:?} does not say {says:?}");
}

async fn blocklisting_one_or_many_unsubscribes_their_lists(b: Backend) {
    let s = TestServer::start(b).await;
    let list = s.create_list("news").await;
    let (a, _) = s.create_subscriber("a@example.com", &[list]).await;
    let (bb, _) = s.create_subscriber("b@example.com", &[list]).await;
    let (c, _) = s.create_subscriber("c@example.com", &[list]).await;

    // One, without a body (listmonk reads none).
    let res = s.req(Method::PUT, &format!("/api/subscribers/{a}/blocklist")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.json::<Value>().await.unwrap(), json!({"data": true}));
    assert_eq!(status_of(&s, a).await, "blocklisted");
    assert_eq!(subscriptions(&s, a).await, vec![(list, "unsubscribed".to_string())]);

    // Many; an unknown id is skipped, as listmonk does.
    ok_true(&s, Method::PUT, "/api/subscribers/blocklist", &json!({"ids": [bb, 999_999]})).await;
    assert_eq!(status_of(&s, bb).await, "blocklisted");
    assert_eq!(subscriptions(&s, bb).await, vec![(list, "unsubscribed".to_string())]);
    assert_eq!(status_of(&s, c).await, "enabled");
    assert_eq!(subscriptions(&s, c).await, vec![(list, "confirmed".to_string())]);

    for body in [json!({"ids": []}), json!({}), json!({"ids": null})] {
        refused(&s, Method::PUT, "/api/subscribers/blocklist", &body, "No IDs given").await;
    }
    refused(&s, Method::PUT, "/api/subscribers/blocklist", &json!({"ids": "1"}), "invalid JSON").await;
    refused(&s, Method::PUT, "/api/subscribers/0/blocklist", &json!(null), "invalid ID").await;
    ok_true(&s, Method::PUT, "/api/subscribers/999999/blocklist", &json!(null)).await;
    assert_eq!(status_of(&s, c).await, "enabled", "a refused or unknown blocklist touched another");
}

async fn subscriptions_are_added_removed_and_unsubscribed_by_ids(b: Backend) {
    let s = TestServer::start(b).await;
    let (one, two, three) =
        (s.create_list("one").await, s.create_list("two").await, s.create_list("three").await);
    let (a, _) = s.create_subscriber("a@example.com", &[one]).await;
    let (bb, _) = s.create_subscriber("b@example.com", &[one]).await;
    let path = "/api/subscribers/lists";
    let confirmed = |l: i64| (l, "confirmed".to_string());

    // Answered by the bulk endpoint, not taken for a subscriber id.
    let add = json!({"ids": [a, bb], "action": "add", "target_list_ids": [two], "status": "confirmed"});
    ok_true(&s, Method::PUT, path, &add).await;
    assert_eq!(subscriptions(&s, a).await, vec![confirmed(one), confirmed(two)]);
    assert_eq!(subscriptions(&s, bb).await, vec![confirmed(one), confirmed(two)]);

    // Without a status: new subscriptions are unconfirmed, existing ones keep theirs.
    ok_true(&s, Method::PUT, path, &json!({"ids": [a], "action": "add", "target_list_ids": [two, three]}))
        .await;
    assert_eq!(
        subscriptions(&s, a).await,
        vec![confirmed(one), confirmed(two), (three, "unconfirmed".into())]
    );
    // With one, existing subscriptions take it.
    let add = json!({"ids": [a], "action": "add", "target_list_ids": [three], "status": "confirmed"});
    ok_true(&s, Method::PUT, path, &add).await;
    assert_eq!(subscriptions(&s, a).await[2], confirmed(three));

    let unsubscribe =
        json!({"ids": [a, 999_999], "action": "unsubscribe", "target_list_ids": [one, 888_888]});
    ok_true(&s, Method::PUT, path, &unsubscribe).await;
    assert_eq!(subscriptions(&s, a).await[0], (one, "unsubscribed".to_string()));
    assert_eq!(status_of(&s, a).await, "enabled");
    ok_true(&s, Method::PUT, path, &json!({"ids": [bb], "action": "remove", "target_list_ids": [two]})).await;
    assert_eq!(subscriptions(&s, bb).await, vec![confirmed(one)]);

    // /lists/{id}: the path's subscriber, though listmonk still wants `ids`.
    let add = json!({"ids": [a], "action": "add", "target_list_ids": [three], "status": "confirmed"});
    ok_true(&s, Method::PUT, &format!("/api/subscribers/lists/{bb}"), &add).await;
    assert_eq!(subscriptions(&s, bb).await, vec![confirmed(one), confirmed(three)]);

    let before = (subscriptions(&s, a).await, subscriptions(&s, bb).await);
    let bad = [
        (json!({"action": "add", "target_list_ids": [two]}), "No IDs given"),
        (json!({"ids": [a], "action": "add"}), "No lists given"),
        (json!({"ids": [a], "action": "move", "target_list_ids": [two]}), "Invalid action"),
        (json!({"ids": [a], "target_list_ids": [two]}), "Invalid action"),
        (
            json!({"ids": [a], "action": "add", "target_list_ids": [two], "status": "gone"}),
            "subscription status",
        ),
        // listmonk fails on these too (a foreign-key error, its 500); nothing changes.
        (
            json!({"ids": [bb, 999_999], "action": "add", "target_list_ids": [two]}),
            "no subscriber with id 999999",
        ),
        (json!({"ids": [bb], "action": "add", "target_list_ids": [two, 888_888]}), "no list with id 888888"),
    ];
    for (body, says) in bad {
        refused(&s, Method::PUT, path, &body, says).await;
    }
    refused(&s, Method::PUT, "/api/subscribers/lists/0", &json!({"ids": [a]}), "invalid ID").await;
    assert_eq!(
        (subscriptions(&s, a).await, subscriptions(&s, bb).await),
        before,
        "a refused change changed something"
    );
}

async fn patch_changes_only_the_fields_given(b: Backend) {
    let s = TestServer::start(b).await;
    let (one, two) = (s.create_list("one").await, s.create_list("two").await);
    let created = s
        .post_ok(
            "/api/subscribers",
            &json!({"email": "p@example.com", "name": "Old", "lists": [one], "attribs": {"city": "Oslo", "n": 1},
                "preconfirm_subscriptions": true}),
        )
        .await;
    let id = created["id"].as_i64().unwrap();
    let path = format!("/api/subscribers/{id}");
    let patch = |body: Value| {
        let (s, path) = (&s, &path);
        async move {
            let (status, res) = s.send_json(Method::PATCH, path, &body).await;
            assert_eq!(status, 200, "PATCH {body}: {res}");
            res["data"].clone()
        }
    };

    let d = patch(json!({"name": "New"})).await;
    assert_eq!(d["name"], "New");
    assert_eq!((d["email"].clone(), d["status"].clone()), (json!("p@example.com"), json!("enabled")));
    assert_eq!(d["attribs"], json!({"city": "Oslo", "n": 1}));
    assert_eq!(subscriptions(&s, id).await, vec![(one, "confirmed".to_string())]);

    let d = patch(json!({"attribs": {"n": 2, "k": "v"}})).await;
    assert_eq!(d["attribs"], json!({"city": "Oslo", "n": 2, "k": "v"}), "attribs are merged");
    let d = patch(json!({"lists": [two], "email": "P2@Example.com", "name": ""})).await;
    assert_eq!((d["email"].clone(), d["name"].clone()), (json!("p2@example.com"), json!("New")));
    assert_eq!(subscriptions(&s, id).await.iter().map(|l| l.0).collect::<Vec<_>>(), vec![two]);
    let d = patch(json!({"status": "disabled", "lists": null, "email": null})).await;
    assert_eq!((d["status"].clone(), d["email"].clone()), (json!("disabled"), json!("p2@example.com")));
    assert_eq!(subscriptions(&s, id).await.len(), 1, "lists: null keeps the subscriptions");
    let before = subscriber(&s, id).await;
    let d = patch(json!({})).await;
    assert_eq!(
        (d["name"].clone(), d["attribs"].clone()),
        (before["name"].clone(), before["attribs"].clone())
    );
    assert_eq!(patch(json!({"attribs": null})).await["attribs"], json!({}));

    // Blocklisting by PATCH unsubscribes, as every blocklist does in rebound.
    patch(json!({"status": "blocklisted"})).await;
    assert_eq!(subscriptions(&s, id).await, vec![(two, "unsubscribed".to_string())]);

    let before = subscriber(&s, id).await;
    for (body, says) in [
        (json!({"email": "not an address"}), "invalid email"),
        (json!({"email": ""}), "invalid email"),
        (json!({"status": "gone"}), "subscriber status"),
        (json!({"attribs": [1]}), "attribs must be a JSON object"),
        (json!({"lists": ["x"]}), "lists must be an array"),
        (json!({"name": 5}), "name must be a string"),
        (json!([1]), "JSON object"),
    ] {
        refused(&s, Method::PATCH, &path, &body, says).await;
    }
    assert_eq!(subscriber(&s, id).await, before, "a refused PATCH changed the subscriber");
    refused(&s, Method::PATCH, "/api/subscribers/0", &json!({}), "invalid ID").await;
    let (status, _) = s.send_json(Method::PATCH, "/api/subscribers/999999", &json!({"name": "x"})).await;
    assert_eq!(status, 404);
    let (other, _) = s.create_subscriber("taken@example.com", &[]).await;
    let (status, _) = s.send_json(Method::PATCH, &path, &json!({"email": "taken@example.com"})).await;
    assert_eq!(status, 409);
    assert_eq!(subscriber(&s, other).await["email"], "taken@example.com");
}

async fn query_operations_select_by_lists_search_or_all(b: Backend) {
    let s = TestServer::start(b).await;
    let (one, two, three) =
        (s.create_list("one").await, s.create_list("two").await, s.create_list("three").await);
    let (a, _) = s.create_subscriber("a@example.com", &[one]).await;
    let (bb, _) = s.create_subscriber("b@example.com", &[one]).await;
    let (c, _) = s.create_subscriber("c@example.com", &[two]).await;
    let (d, _) = s.create_subscriber("d@example.com", &[]).await;
    let everyone = [a, bb, c, d];

    // An SQL expression that reads outside the subscriber tables, or calls a
    // function off the allow-list, is refused and changes nothing.
    let expr = json!({"query": "subscribers.email IN (SELECT email FROM rebound_users)", "all": false});
    refused(&s, Method::PUT, "/api/subscribers/query/blocklist", &expr, "is not allowed in query").await;
    refused(&s, Method::POST, "/api/subscribers/query/delete", &expr, "is not allowed in query").await;
    let lists = json!({"query": "pg_read_file('/etc/passwd') IS NOT NULL", "action": "remove", "target_list_ids": [one]});
    refused(&s, Method::PUT, "/api/subscribers/query/lists", &lists, "is not allowed in query").await;
    // Blocklisting or deleting everyone takes `all`.
    refused(&s, Method::PUT, "/api/subscribers/query/blocklist", &json!({}), "query").await;
    refused(&s, Method::POST, "/api/subscribers/query/delete", &json!({"list_ids": [one]}), "query").await;
    let bad_status = json!({"all": true, "list_ids": [one], "subscription_status": "gone"});
    refused(&s, Method::PUT, "/api/subscribers/query/blocklist", &bad_status, "subscription status").await;
    for id in everyone {
        assert_eq!(status_of(&s, id).await, "enabled");
    }
    assert_eq!(subscriptions(&s, a).await, vec![(one, "confirmed".to_string())]);

    // Adding by query leaves existing subscriptions as they are.
    ok_true(
        &s,
        Method::PUT,
        "/api/subscribers/query/lists",
        &json!({"action": "add", "target_list_ids": [two], "list_ids": [one]}),
    )
    .await;
    assert_eq!(subscriptions(&s, a).await, vec![(one, "confirmed".into()), (two, "unconfirmed".into())]);
    assert_eq!(subscriptions(&s, c).await, vec![(two, "confirmed".to_string())], "c was not on list one");
    // No query and no search: everyone.
    let add = json!({"action": "add", "target_list_ids": [three], "status": "confirmed"});
    ok_true(&s, Method::PUT, "/api/subscribers/query/lists", &add).await;
    for id in everyone {
        assert!(subscriptions(&s, id).await.contains(&(three, "confirmed".to_string())), "{id} not added");
    }
    let unsub = json!({"action": "unsubscribe", "target_list_ids": [three], "search": "B@EXAMPLE"});
    ok_true(&s, Method::PUT, "/api/subscribers/query/lists", &unsub).await;
    assert!(subscriptions(&s, bb).await.contains(&(three, "unsubscribed".to_string())));
    assert!(subscriptions(&s, a).await.contains(&(three, "confirmed".to_string())));
    let remove = json!({"action": "remove", "target_list_ids": [three], "list_ids": [two], "subscription_status": "confirmed"});
    ok_true(&s, Method::PUT, "/api/subscribers/query/lists", &remove).await;
    assert_eq!(
        subscriptions(&s, c).await,
        vec![(two, "confirmed".to_string())],
        "c's list three not removed"
    );
    assert_eq!(subscriptions(&s, a).await.len(), 3, "a's list two is unconfirmed: not selected");
    refused(
        &s,
        Method::PUT,
        "/api/subscribers/query/lists",
        &json!({"action": "add", "target_list_ids": []}),
        "No lists given",
    )
    .await;
    refused(
        &s,
        Method::PUT,
        "/api/subscribers/query/lists",
        &json!({"action": "x", "target_list_ids": [one]}),
        "Invalid action",
    )
    .await;

    // `all` on list one blocklists a and b (and unsubscribes them), not c or d.
    ok_true(
        &s,
        Method::PUT,
        "/api/subscribers/query/blocklist",
        &json!({"all": true, "query": "ignored", "list_ids": [one]}),
    )
    .await;
    for (id, want) in [(a, "blocklisted"), (bb, "blocklisted"), (c, "enabled"), (d, "enabled")] {
        assert_eq!(status_of(&s, id).await, want, "subscriber {id}");
    }
    assert!(subscriptions(&s, a).await.iter().all(|l| l.1 == "unsubscribed"));
    ok_true(&s, Method::PUT, "/api/subscribers/query/blocklist", &json!({"search": "c@example"})).await;
    assert_eq!(status_of(&s, c).await, "blocklisted");
    // listmonk's SQL expression, as its UI's advanced query sends it, within `list_ids`.
    let (e, _) = s.create_subscriber("e@example.com", &[two]).await;
    let (f, _) = s.create_subscriber("f@example.com", &[two]).await;
    let by_expr =
        json!({"query": "subscribers.email = 'e@example.com' OR subscribers.id = 999999", "list_ids": [two]});
    ok_true(&s, Method::PUT, "/api/subscribers/query/blocklist", &by_expr).await;
    assert_eq!((status_of(&s, e).await, status_of(&s, f).await), ("blocklisted".into(), "enabled".into()));
    let by_expr =
        json!({"query": "subscribers.email LIKE 'f@%'", "action": "unsubscribe", "target_list_ids": [two]});
    ok_true(&s, Method::PUT, "/api/subscribers/query/lists", &by_expr).await;
    assert_eq!(subscriptions(&s, f).await, vec![(two, "unsubscribed".to_string())]);
    ok_true(
        &s,
        Method::POST,
        "/api/subscribers/query/delete",
        &json!({"query": "subscribers.id = ".to_string() + &f.to_string()}),
    )
    .await;
    let gone = s.req(Method::GET, &format!("/api/subscribers/{f}")).send().await.unwrap();
    assert_eq!(gone.status(), 404);

    ok_true(&s, Method::POST, "/api/subscribers/query/delete", &json!({"search": "d@"})).await;
    let gone = s.req(Method::GET, &format!("/api/subscribers/{d}")).send().await.unwrap();
    assert_eq!(gone.status(), 404);
    ok_true(&s, Method::POST, "/api/subscribers/query/delete", &json!({"all": true})).await;
    assert_eq!(s.get_json("/api/subscribers").await["data"]["total"], 0);
}

async fn bulk_operations_need_subscribers_manage(b: Backend) {
    let s = TestServer::start(b).await;
    let list = s.create_list("news").await;
    let (a, _) = s.create_subscriber("a@example.com", &[list]).await;
    let reader = ("reader".to_string(), s.api_user("reader", &["subscribers:get"]).await);
    let calls = [
        (Method::PUT, format!("/api/subscribers/{a}/blocklist"), json!({})),
        (Method::PUT, "/api/subscribers/blocklist".to_string(), json!({"ids": [a]})),
        (
            Method::PUT,
            "/api/subscribers/lists".to_string(),
            json!({"ids": [a], "action": "remove", "target_list_ids": [list]}),
        ),
        (Method::PATCH, format!("/api/subscribers/{a}"), json!({"status": "blocklisted"})),
        (Method::PUT, "/api/subscribers/query/blocklist".to_string(), json!({"all": true})),
        (Method::POST, "/api/subscribers/query/delete".to_string(), json!({"all": true})),
        (
            Method::PUT,
            "/api/subscribers/query/lists".to_string(),
            json!({"action": "remove", "target_list_ids": [list]}),
        ),
    ];
    for (method, path, body) in calls {
        let res = s
            .client
            .request(method.clone(), s.url(&path))
            .header("authorization", format!("token {}:{}", reader.0, reader.1))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 403, "{method} {path}");
    }
    assert_eq!(status_of(&s, a).await, "enabled");
    assert_eq!(subscriptions(&s, a).await, vec![(list, "confirmed".to_string())]);
}

backend_tests!(
    blocklisting_one_or_many_unsubscribes_their_lists,
    subscriptions_are_added_removed_and_unsubscribed_by_ids,
    patch_changes_only_the_fields_given,
    query_operations_select_by_lists_search_or_all,
    bulk_operations_need_subscribers_manage,
);
