//! GET /api/subscribers as listmonk's clients call it: `query` is an SQL
//! expression (held to an allow-list, run read-only and time-bound),
//! `search` the plain search.

use std::time::{Duration, Instant};

use rebound_server::ServerConfig;
use rebound_testkit::{Backend, TestServer, backend_tests, insert_subscribers, test_config};
use reqwest::Method;
use serde_json::{Value, json};

/// GET /api/subscribers with these parameters (URL-encoded), as `token` or the admin.
async fn find(s: &TestServer, token: Option<&str>, params: &[(&str, &str)]) -> (u16, Value) {
    let req = match token {
        Some(t) => s.client.get(s.url("/api/subscribers")).header("Authorization", format!("token {t}")),
        None => s.req(Method::GET, "/api/subscribers"),
    };
    let res = req.query(params).send().await.expect("GET /api/subscribers");
    let status = res.status().as_u16();
    (status, res.json().await.unwrap_or(Value::Null))
}

fn emails(body: &Value) -> Vec<String> {
    body["data"]["results"]
        .as_array()
        .unwrap_or_else(|| panic!("no results in {body}"))
        .iter()
        .map(|r| r["email"].as_str().unwrap_or_default().to_string())
        .collect()
}

async fn subscriber(s: &TestServer, email: &str, city: &str, lists: &[i64]) -> (i64, String) {
    let d = s
        .post_ok(
            "/api/subscribers",
            &json!({"email": email, "name": email, "lists": lists, "attribs": {"city": city, "age": 40},
                "preconfirm_subscriptions": true}),
        )
        .await;
    (d["id"].as_i64().unwrap(), d["uuid"].as_str().unwrap().to_string())
}

async fn client_expressions_find_the_subscriber(b: Backend) {
    let s = TestServer::start(b).await;
    let news = s.create_list("news").await;
    let (ann, ann_uuid) = subscriber(&s, "ann@example.com", "Oslo", &[news]).await;
    subscriber(&s, "bob@example.org", "Pune", &[]).await;
    let ann_id = ann.to_string();
    let by_id = format!("subscribers.id={ann_id}");
    let by_uuid = format!("subscribers.uuid='{ann_uuid}'");
    // The PyPI client's subscriber_by_email / _by_id / _by_uuid, and an attribs filter.
    for expression in [
        "subscribers.email='ann@example.com'",
        by_id.as_str(),
        by_uuid.as_str(),
        "subscribers.attribs->>'city' = 'Oslo'",
        "(subscribers.attribs->>'age')::int > 30 AND subscribers.attribs->>'city' ILIKE 'os%'",
        "subscribers.id IN (SELECT subscriber_id FROM subscriber_lists WHERE list_id IN (SELECT id FROM lists WHERE name = 'news'))",
        "subscribers.attribs ? 'age' AND subscribers.email ILIKE 'ANN%'",
        "subscribers.created_at < now() AND subscribers.status = 'enabled' AND subscribers.email LIKE 'ann%';",
    ] {
        let (status, body) = find(&s, None, &[("query", expression), ("per_page", "all")]).await;
        assert_eq!(status, 200, "{expression}: {body}");
        assert_eq!(emails(&body), ["ann@example.com"], "{expression}: {body}");
        assert_eq!(body["data"]["total"], 1, "{expression}");
        assert_eq!(body["data"]["query"], expression);
    }
    // With a list, listmonk's join lets the expression name the subscription.
    let list = news.to_string();
    let (status, body) =
        find(&s, None, &[("list_id", &list), ("query", "subscriber_lists.status = 'confirmed'")]).await;
    assert_eq!((status, emails(&body)), (200, vec!["ann@example.com".to_string()]), "{body}");
    let (_, body) = find(&s, None, &[("list_id", &list), ("subscription_status", "unsubscribed")]).await;
    assert_eq!(body["data"]["total"], 0, "{body}");

    // The plain search is `search`; it and `query` narrow together.
    let (status, body) = find(&s, None, &[("search", "EXAMPLE.ORG")]).await;
    assert_eq!((status, emails(&body)), (200, vec!["bob@example.org".to_string()]), "{body}");
    assert_eq!(body["data"]["search"], "EXAMPLE.ORG");
    let (_, body) =
        find(&s, None, &[("search", "example"), ("query", "subscribers.attribs->>'city' = 'Pune'")]).await;
    assert_eq!(emails(&body), ["bob@example.org"], "{body}");

    // listmonk's order: newest first by default, `order=asc` and a known field otherwise,
    // anything unknown is the default.
    let (_, body) = find(&s, None, &[]).await;
    assert_eq!(emails(&body), ["bob@example.org", "ann@example.com"]);
    let (_, body) = find(&s, None, &[("order", "asc"), ("order_by", "email")]).await;
    assert_eq!(emails(&body), ["ann@example.com", "bob@example.org"]);
    let (status, body) = find(&s, None, &[("order", "sideways"), ("order_by", "password")]).await;
    assert_eq!(
        (status, emails(&body)),
        (200, vec!["bob@example.org".to_string(), "ann@example.com".to_string()])
    );
}

async fn hostile_expressions_are_refused_and_change_nothing(b: Backend) {
    let s = TestServer::start(b).await;
    subscriber(&s, "ann@example.com", "Oslo", &[]).await;
    let reader = sql_reader(&s, "reader").await;
    let users_before = s.get_json("/api/users").await["data"].as_array().unwrap().len();
    for (expression, named) in [
        ("(SELECT 1 FROM users) = 1", "\"users\""),
        ("EXISTS (SELECT 1 FROM sessions)", "\"sessions\""),
        ("subscribers.id IN (SELECT id FROM users WHERE password_hash LIKE '$%')", "\"users\""),
        ("length(pg_read_file('/etc/passwd')) > 0", "pg_read_file()"),
        ("nextval('subscribers_id_seq') > 0", "nextval()"),
        ("1=1; DELETE FROM subscribers", "one SQL expression"),
        ("1=1; UPDATE subscribers SET status = 'blocklisted'", "one SQL expression"),
        ("subscribers.id = 1 -- and the rest", "comments"),
        ("pg_sleep(30) IS NULL", "pg_sleep()"),
        ("EXISTS (SELECT 1 FROM generate_series(1, 1000000000))", "generate_series"),
        ("EXISTS (WITH RECURSIVE r AS (SELECT 1) SELECT 1 FROM subscribers)", "subquery"),
        ("EXISTS (SELECT 1 FROM bounces)", "\"bounces\""),
    ] {
        let started = Instant::now();
        let (status, body) = find(&s, Some(&reader), &[("query", expression)]).await;
        assert_eq!(status, 400, "{expression}: {body}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{expression}: {message:?} does not name {named:?}");
        assert!(started.elapsed() < Duration::from_secs(5), "{expression} took {:?}", started.elapsed());
    }
    // What the database refuses at run time is a 400 too.
    let (status, body) = find(&s, None, &[("query", "subscribers.no_such_column = 1")]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().starts_with("query failed: "), "{body}");
    // Nothing changed, and the database is still writable.
    let (_, body) = find(&s, None, &[]).await;
    assert_eq!(emails(&body), ["ann@example.com"]);
    assert_eq!(body["data"]["results"][0]["status"], "enabled");
    assert_eq!(s.get_json("/api/users").await["data"].as_array().unwrap().len(), users_before);
    subscriber(&s, "bob@example.com", "Pune", &[]).await;
}

/// An API user with subscribers:get and subscribers:sql_query but not
/// bounces:get; returns `name:token`.
async fn sql_reader(s: &TestServer, name: &str) -> String {
    let token = s.api_user(name, &["subscribers:get", "subscribers:sql_query"]).await;
    format!("{name}:{token}")
}

async fn the_expression_needs_its_permission(b: Backend) {
    let s = TestServer::start(b).await;
    subscriber(&s, "ann@example.com", "Oslo", &[]).await;
    let plain = s.api_user("plain", &["subscribers:get"]).await;
    let plain = format!("plain:{plain}");
    let (status, body) = find(&s, Some(&plain), &[("query", "subscribers.id > 0")]).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["message"].as_str().unwrap().contains("subscribers:sql_query"), "{body}");
    // The plain search and an empty query need only subscribers:get.
    let (status, body) = find(&s, Some(&plain), &[("search", "ann"), ("query", "")]).await;
    assert_eq!((status, emails(&body)), (200, vec!["ann@example.com".to_string()]), "{body}");
    // bounces are readable to those who may read bounces.
    let reader = sql_reader(&s, "reader").await;
    let bounced = "subscribers.id NOT IN (SELECT subscriber_id FROM bounces)";
    assert_eq!(find(&s, Some(&reader), &[("query", bounced)]).await.0, 400);
    let (status, body) = find(&s, None, &[("query", bounced)]).await;
    assert_eq!((status, emails(&body)), (200, vec!["ann@example.com".to_string()]), "{body}");
}

async fn a_slow_expression_is_stopped(b: Backend) {
    let config = ServerConfig { sql_query_timeout: Duration::from_secs(1), ..test_config() };
    let s = TestServer::start_with(b, config).await;
    let many: Vec<String> = (0..40).map(|i| format!("s{i}@example.com")).collect();
    insert_subscribers(&s.db.url, &many).await;
    // 40^6 rows to look at: hours, unless stopped.
    let slow = "EXISTS (SELECT 1 FROM subscribers a, subscribers b, subscribers c, subscribers d, \
                subscribers e, subscribers f WHERE a.name || b.name || c.name || d.name || e.name || f.name = 'x')";
    let started = Instant::now();
    let (status, body) = find(&s, None, &[("query", slow)]).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("longer than 1 s"), "{body}");
    assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
    // The next query, and writes, go on as before.
    let (status, body) = find(&s, None, &[("query", "subscribers.email = 's7@example.com'")]).await;
    assert_eq!((status, emails(&body)), (200, vec!["s7@example.com".to_string()]), "{body}");
    subscriber(&s, "new@example.com", "Oslo", &[]).await;
}

backend_tests!(
    client_expressions_find_the_subscriber,
    hostile_expressions_are_refused_and_change_nothing,
    the_expression_needs_its_permission,
    a_slow_expression_is_stopped,
);
