//! POST /api/campaigns/{id}/test on a real rebound server, against the fake
//! SMTP server: refusals become bounces with source "smtp", typed by the
//! parser's reason rules, and the rules' actions apply.

use rebound_server::ServerConfig;
use rebound_testkit::{Backend, TestServer, backend_tests};
use reqwest::Method;
use serde_json::{Value, json};

use crate::fake::FakeSmtp;
use crate::sender::{fast, smtp};

async fn server(backend: Backend, fake: &FakeSmtp) -> TestServer {
    let t = TestServer::start_with(backend, ServerConfig { sender: fast(), ..Default::default() }).await;
    t.put_settings(&json!({
        "bounce.enabled": true,
        "smtp": [serde_json::to_value(smtp(fake.port)).unwrap()],
    }))
    .await;
    t
}

async fn campaign(t: &TestServer, list: i64) -> (i64, String) {
    let d = t
        .post_ok(
            "/api/campaigns",
            &json!({"name": "Spring", "subject": "Spring news", "from_email": "News <news@site.test>",
                    "body": "<p>Hello</p>", "lists": [list]}),
        )
        .await;
    (d["id"].as_i64().unwrap(), d["uuid"].as_str().unwrap().to_string())
}

async fn records_refusals_as_bounces(backend: Backend) {
    let fake = FakeSmtp::start().await;
    fake.rcpt("gone@x.test", &["550 5.1.1 <gone@x.test>: Recipient address rejected: User unknown"]);
    fake.rcpt("full@x.test", &["552 5.2.2 <full@x.test>: Recipient address rejected: Mailbox full"]);
    fake.rcpt("later@x.test", &["450 4.2.1 <later@x.test>: Recipient address rejected: try again later"]);
    fake.data_end("spam@x.test", &["554 5.7.1 Message rejected: spam"]);
    let t = server(backend, &fake).await;
    let list = t.create_list("News").await;
    let mut ids = std::collections::HashMap::new();
    for e in ["ok@x.test", "gone@x.test", "full@x.test", "later@x.test", "spam@x.test"] {
        ids.insert(e, t.create_subscriber(e, &[list]).await);
    }
    let (cid, cuuid) = campaign(&t, list).await;

    let body = json!({"name": "Spring", "subject": "Spring news (test)",
        "subscribers": ["ok@x.test", "GONE@x.test", "full@x.test", "later@x.test", "spam@x.test"]});
    let (status, res) = t.send_json(Method::POST, &format!("/api/campaigns/{cid}/test"), &body).await;
    assert_eq!(status, 200, "{res}");
    assert_eq!(res["data"], json!(true));
    let results = res["results"].as_array().unwrap();
    let by = |e: &str| results.iter().find(|r| r["email"] == e).unwrap_or_else(|| panic!("{e}: {res}"));
    assert_eq!(by("ok@x.test")["outcome"], "sent");
    assert_eq!(by("gone@x.test")["outcome"], "bounced");
    assert_eq!(by("gone@x.test")["bounce"]["type"], "hard");
    assert_eq!(by("gone@x.test")["bounce"]["recorded"], "recorded count=1 action=blocklist");
    assert_eq!(by("full@x.test")["bounce"]["type"], "soft");
    assert_eq!(by("full@x.test")["bounce"]["reason"], "mailboxfull");
    assert_eq!(by("later@x.test")["bounce"]["type"], "soft");
    assert_eq!(by("later@x.test")["delivery"]["attempts"], 3);
    assert_eq!(by("spam@x.test")["delivery"]["stage"], "data");
    assert!(fake.messages()[0].data.contains("Subject: Spring news (test)"));

    let bounces = t.get_json("/api/bounces?source=smtp&per_page=all").await;
    let rows = bounces["data"]["results"].as_array().unwrap();
    assert_eq!(rows.len(), 4, "{bounces}");
    for row in rows {
        assert_eq!(row["source"], "smtp");
        assert_eq!(row["campaign"]["id"], cid, "{row}");
        assert_eq!(row["meta"]["server"], format!("127.0.0.1:{}", fake.port));
    }
    let row = |e: &str| rows.iter().find(|r| r["email"] == e).unwrap().clone();
    let gone = row("gone@x.test");
    assert_eq!(gone["type"], "hard");
    assert_eq!(gone["meta"]["stage"], "rcpt");
    assert_eq!(gone["meta"]["reply_code"], 550);
    assert_eq!(gone["meta"]["status"], "5.1.1");
    assert_eq!(gone["meta"]["reason"], "userunknown");
    assert!(gone["meta"]["diagnostic"].as_str().unwrap().starts_with("550 5.1.1 <gone@x.test>"), "{gone}");
    assert_eq!(gone["subscriber_status"], "blocklisted");
    assert_eq!(row("full@x.test")["subscriber_status"], "enabled");
    assert_eq!(row("later@x.test")["meta"]["attempts"], 3);
    assert_eq!(row("spam@x.test")["meta"]["stage"], "data");

    let sub = t.get_json(&format!("/api/subscribers/{}", ids["gone@x.test"].0)).await;
    for l in sub["data"]["lists"].as_array().unwrap() {
        assert_eq!(l["subscription_status"], "unsubscribed", "{sub}");
    }
    let _ = cuuid;
}

async fn refuses_bad_requests(backend: Backend) {
    let fake = FakeSmtp::start().await;
    let t = server(backend, &fake).await;
    let list = t.create_list("News").await;
    t.create_subscriber("a@x.test", &[list]).await;
    let (cid, _) = campaign(&t, list).await;
    let path = format!("/api/campaigns/{cid}/test");

    let (s, r) =
        t.send_json(Method::POST, "/api/campaigns/999/test", &json!({"subscribers": ["a@x.test"]})).await;
    assert_eq!(s, 404, "{r}");
    let (s, r) = t.send_json(Method::POST, &path, &json!({"subscribers": []})).await;
    assert_eq!(s, 400, "{r}");
    let (s, r) = t.send_json(Method::POST, &path, &json!({"subscribers": ["nobody@x.test"]})).await;
    assert_eq!(s, 400, "{r}");
    assert!(r["message"].as_str().unwrap().contains("nobody@x.test"), "{r}");
    assert!(fake.messages().is_empty());

    let token = t.api_user("reader", &["campaigns:get"]).await;
    let res = t
        .client
        .post(t.url(&path))
        .basic_auth("reader", Some(&token))
        .json(&json!({"subscribers": ["a@x.test"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);

    // Bounce processing off: the refusal is reported, not recorded.
    fake.rcpt("a@x.test", &["550 5.1.1 User unknown"]);
    t.put_settings(&json!({"bounce.enabled": false})).await;
    let (s, r) = t.send_json(Method::POST, &path, &json!({"subscribers": ["a@x.test"]})).await;
    assert_eq!(s, 200, "{r}");
    assert!(r["results"][0]["bounce"]["recorded"].as_str().unwrap().contains("disabled"), "{r}");
    let b = t.get_json("/api/bounces").await;
    assert_eq!(b["data"]["total"], 0, "{b}");

    // No server answering: 502 naming the problem.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut dead = smtp(closed);
    dead.max_msg_retries = 0;
    t.put_settings(&json!({"smtp": [serde_json::to_value(dead).unwrap()]})).await;
    let (s, r): (u16, Value) = t.send_json(Method::POST, &path, &json!({"subscribers": ["a@x.test"]})).await;
    assert_eq!(s, 502, "{r}");
    assert!(r["message"].as_str().unwrap().contains("cannot connect"), "{r}");
}

backend_tests!(records_refusals_as_bounces, refuses_bad_requests);
