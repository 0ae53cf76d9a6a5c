//! The server's mailbox API with a real scanner and a real Dovecot: the
//! scanner follows PUT /api/settings, reports at GET /api/bounces/mailboxes,
//! scans on POST .../scan, and the kept messages can be read back.

use std::time::{Duration, Instant};

use rebound_core::settings::MailboxKind;
use rebound_testkit::{Backend, TestServer};
use serde_json::{Value, json};

use crate::dovecot::{Dovecot, Mode};
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailbox_status_scan_now_and_kept_messages_over_http() {
    let dovecot = Dovecot::start();
    let server = TestServer::start(Backend::Sqlite).await;
    let fixtures = corpus_bounces(4);
    subscribers_for(server.store.as_ref(), &fixtures).await;
    for f in &fixtures[..3] {
        dovecot.deliver(&f.raw);
    }
    let not_bounce = not_a_bounce();
    dovecot.deliver(&not_bounce);

    let m = dovecot.mailbox(MailboxKind::Pop, Mode::StartTls);
    let uuid = m.uuid.unwrap().to_string();
    let entry = serde_json::to_value(&m).unwrap();
    // Switching it on starts the scanner, which scans at once.
    server.put_settings(&json!({"bounce.enabled": true, "bounce.mailboxes": [entry]})).await;

    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        let body = server.get_json("/api/bounces/mailboxes").await;
        let s = body["data"][0].clone();
        if s["last_ok"] == json!(true) || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(status["uuid"], uuid, "{status}");
    assert_eq!(status["last_ok"], true, "{status}\n{}", dovecot.log());
    assert_eq!(status["type"], "pop");
    assert_eq!(status["active"], true);
    assert_eq!(status["scan_interval"], "1h");
    assert_eq!(status["last_counts"]["seen"], 4, "{status}");
    assert_eq!(status["last_counts"]["not_bounces"], 1, "{status}");
    assert_eq!(status["last_counts"]["recorded"].as_u64().unwrap() as usize, total_events(&fixtures[..3]));
    assert_eq!(status["state"], "waiting", "{status}");
    assert!(!status.to_string().contains(crate::dovecot::PASSWORD), "the status must not show the password");
    assert_eq!(dovecot.message_count(), 0);

    // Scan now, waiting for the report.
    dovecot.deliver(&fixtures[3].raw);
    let report = server.post_ok(&format!("/api/bounces/mailboxes/{uuid}/scan"), &json!({})).await;
    assert_eq!(report["counts"]["seen"], 1, "{report}");
    assert_eq!(report["counts"]["recorded"].as_u64().unwrap() as usize, fixtures[3].events.len());
    assert_eq!(report["error"], Value::Null);
    let bounces = server.get_json("/api/bounces?source=127.0.0.1&per_page=all").await;
    assert_eq!(bounces["data"]["total"].as_u64().unwrap() as usize, total_events(&fixtures));

    // The kept non-bounce, with its bytes.
    let kept = server.get_json(&format!("/api/bounces/mailboxes/messages?mailbox={uuid}")).await;
    assert_eq!(kept["data"]["total"], 1, "{kept}");
    let item = &kept["data"]["results"][0];
    assert_eq!(item["kind"], "not_bounce", "{item}");
    let id = item["id"].as_i64().unwrap();
    let one = server.get_json(&format!("/api/bounces/mailboxes/messages/{id}")).await;
    assert_eq!(one["data"]["id"], id);
    let raw = server
        .req(reqwest::Method::GET, &format!("/api/bounces/mailboxes/messages/{id}/raw"))
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 200);
    assert_eq!(raw.headers()["content-type"], "message/rfc822");
    let bytes = raw.bytes().await.unwrap();
    let strip = |b: &[u8]| b.iter().copied().filter(|c| *c != b'\r').collect::<Vec<u8>>();
    assert_eq!(strip(&bytes), strip(&not_bounce));

    // Permissions: reading needs bounces:get, scanning bounces:manage.
    let token = server.api_user("reader", &["bounces:get"]).await;
    let read = server.client.get(server.url("/api/bounces/mailboxes")).basic_auth("reader", Some(&token));
    assert_eq!(read.send().await.unwrap().status(), 200);
    let scan = server
        .client
        .post(server.url(&format!("/api/bounces/mailboxes/{uuid}/scan")))
        .basic_auth("reader", Some(&token));
    assert_eq!(scan.send().await.unwrap().status(), 403);

    // Errors: unknown mailbox 404, bad uuid 400, disabled processing 503.
    let (code, _) = server
        .send_json(
            reqwest::Method::POST,
            &format!("/api/bounces/mailboxes/{}/scan", uuid::Uuid::new_v4()),
            &json!({}),
        )
        .await;
    assert_eq!(code, 404);
    let (code, _) =
        server.send_json(reqwest::Method::POST, "/api/bounces/mailboxes/nope/scan", &json!({})).await;
    assert_eq!(code, 400);
    let (code, _) = server
        .send_json(reqwest::Method::DELETE, &format!("/api/bounces/mailboxes/messages?id={id}"), &json!({}))
        .await;
    assert_eq!(code, 200);
    server.put_settings(&json!({"bounce.enabled": false})).await;
    let (code, body) = server
        .send_json(reqwest::Method::POST, &format!("/api/bounces/mailboxes/{uuid}/scan"), &json!({}))
        .await;
    assert_eq!(code, 503, "{body}");
    assert!(body["message"].as_str().unwrap().contains("disabled"), "{body}");
    // The scanner stops in the background; its live state goes away with it.
    let deadline = Instant::now() + Duration::from_secs(5);
    let status = loop {
        let s = server.get_json("/api/bounces/mailboxes").await["data"][0].clone();
        if s["state"] == Value::Null || Instant::now() > deadline {
            break s;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!(status["active"], false);
    assert_eq!(status["state"], Value::Null, "{status}");
    server.stop().await;
}
