//! `rebound send-test` against a scriptable SMTP server: one line per
//! recipient, refusals recorded as bounces, exit 1 only when a message
//! could not be handed over.

#[path = "../../sender/tests/smtp/fake.rs"]
#[allow(dead_code)]
mod fake;

use std::process::{Command, Output};

use rebound_core::{EmailAddress, SubscriberStatus};
use rebound_store::{CampaignFields, NewList, NewSubscriber};
use serde_json::json;

use fake::FakeSmtp;

fn rebound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(args)
        .env("REBOUND_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rebound")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_test_sends_and_records_refusals() {
    let fake = FakeSmtp::start().await;
    fake.rcpt("gone@x.test", &["550 5.1.1 <gone@x.test>: Recipient address rejected: User unknown"]);
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rebound.db").display());
    let store = rebound_store::connect(&url).await.unwrap();
    store.migrate().await.unwrap();
    let settings = json!({
        "bounce.enabled": true,
        "smtp": [{"enabled": true, "host": "127.0.0.1", "port": fake.port, "max_msg_retries": 0,
                  "email_headers": [{"Return-Path": "bounces@site.test"}]}],
    });
    let map = settings.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    store.save_settings(&map).await.unwrap();
    let list = store
        .create_list(NewList {
            name: "News".into(),
            list_type: "public".into(),
            optin: "single".into(),
            status: "active".into(),
            tags: vec![],
            description: String::new(),
        })
        .await
        .unwrap();
    for e in ["ok@x.test", "gone@x.test"] {
        store
            .create_subscriber(NewSubscriber {
                email: EmailAddress::parse(e).unwrap(),
                name: e.into(),
                attribs: json!({}),
                status: SubscriberStatus::Enabled,
                lists: vec![list.id],
                preconfirm: true,
            })
            .await
            .unwrap();
    }
    let campaign = store
        .create_campaign(CampaignFields {
            name: "Spring".into(),
            subject: "Spring".into(),
            from_email: "news@site.test".into(),
            body: "Hello".into(),
            content_type: "plain".into(),
            lists: vec![list.id],
            ..Default::default()
        })
        .await
        .unwrap();
    let id = campaign.id.to_string();

    let out =
        rebound(&["send-test", "--database", &url, "--campaign", &id, "--to", "ok@x.test", "gone@x.test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("ok@x.test sent via 127.0.0.1:")
            && lines[0].contains("from <bounces@site.test>"),
        "{stdout}"
    );
    assert!(
        lines[1].starts_with("gone@x.test bounced hard (userunknown 5.1.1) at rcpt")
            && lines[1].ends_with("recorded count=1 action=blocklist"),
        "{stdout}"
    );
    assert_eq!(fake.messages().len(), 1);

    let gone = store
        .find_subscriber(&rebound_core::SubscriberRef::by_email(EmailAddress::parse("gone@x.test").unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gone.status, SubscriberStatus::Blocklisted);

    // --json, and a server that does not answer: exit 1.
    let out = rebound(&["send-test", "--database", &url, "--campaign", &id, "--to", "ok@x.test", "--json"]);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    assert_eq!(report["results"][0]["outcome"], "sent", "{report}");
    drop(fake);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let map = json!({"smtp": [{"enabled": true, "host": "127.0.0.1", "port": closed, "max_msg_retries": 0}]});
    let map = map.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    store.save_settings(&map).await.unwrap();
    let out = rebound(&["send-test", "--database", &url, "--campaign", &id, "--to", "ok@x.test"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.starts_with("ok@x.test FAILED: 127.0.0.1:") && stdout.contains("cannot connect"),
        "{stdout}"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 of 1 message(s) could not be sent"));

    // Not a subscriber: refused before anything is sent.
    let out = rebound(&["send-test", "--database", &url, "--campaign", &id, "--to", "nobody@x.test"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nobody@x.test is not a subscriber"));
}
