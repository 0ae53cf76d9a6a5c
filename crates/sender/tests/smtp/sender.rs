//! The sender against the fake server: envelope and headers, pooling,
//! which refusals are final, retries, live settings.

use std::collections::BTreeMap;
use std::time::Duration;

use rebound_core::Settings;
use rebound_core::settings::SmtpServer;
use rebound_sender::{CampaignContent, DeliveryResult, Recipient, SendError, Sender, SenderOptions, Stage};
use uuid::Uuid;

use crate::fake::FakeSmtp;

pub fn fast() -> SenderOptions {
    SenderOptions { io_timeout: Duration::from_secs(5), retry_delay: Duration::from_millis(10) }
}

pub fn smtp(port: u16) -> SmtpServer {
    SmtpServer {
        uuid: Some(Uuid::new_v4()),
        host: "127.0.0.1".into(),
        port,
        max_conns: 1,
        max_msg_retries: 2,
        email_headers: vec![
            BTreeMap::from([("Return-Path".to_string(), "bounces@site.test".to_string())]),
            BTreeMap::from([("Reply-To".to_string(), "help@site.test".to_string())]),
        ],
        ..SmtpServer::default()
    }
}

fn settings(servers: Vec<SmtpServer>) -> Settings {
    Settings { smtp: servers, ..Settings::default() }
}

pub fn campaign() -> CampaignContent {
    CampaignContent {
        uuid: Uuid::new_v4(),
        subject: "Test".into(),
        from_email: "News <news@site.test>".into(),
        body: "Hello".into(),
        content_type: "plain".into(),
        headers: vec![],
    }
}

pub fn to(email: &str) -> Recipient {
    Recipient { uuid: Uuid::new_v4(), email: email.into(), name: String::new() }
}

#[tokio::test]
async fn accepted_messages_carry_the_envelope_and_headers_on_one_connection() {
    let fake = FakeSmtp::start().await;
    let sender = Sender::new(fast());
    let s = settings(vec![smtp(fake.port)]);
    let c = campaign();
    let (a, b) = (to("a@x.test"), to("b@x.test"));
    for r in [&a, &b] {
        let d = sender.send(&s, &c, r).await;
        assert!(matches!(d.result, DeliveryResult::Accepted { .. }), "{d:?}");
        assert_eq!(d.attempts, 1);
        assert_eq!(d.envelope_from, "bounces@site.test");
    }
    assert_eq!(fake.connections(), 1, "the second message reuses the pooled connection");
    let m = fake.messages();
    assert_eq!(m.len(), 2);
    assert_eq!((m[0].mail_from.as_str(), m[0].rcpt.as_str()), ("bounces@site.test", "a@x.test"));
    let data = &m[0].data;
    assert!(data.contains(&format!("X-Listmonk-Subscriber: {}\r\n", a.uuid)), "{data}");
    assert!(data.contains(&format!("X-Listmonk-Campaign: {}\r\n", c.uuid)), "{data}");
    assert!(data.contains("Reply-To: help@site.test\r\n"), "{data}");
    assert!(data.contains("List-Unsubscribe: <mailto:news@site.test?subject=unsubscribe%20"), "{data}");
    assert!(!data.contains("Return-Path"), "{data}");
}

#[tokio::test]
async fn a_5xx_to_rcpt_is_final_and_the_connection_is_reset_and_reused() {
    let fake = FakeSmtp::start().await;
    fake.rcpt("gone@x.test", &["550 5.1.1 <gone@x.test>: Recipient address rejected: User unknown"]);
    let sender = Sender::new(fast());
    let s = settings(vec![smtp(fake.port)]);
    let d = sender.send(&s, &campaign(), &to("gone@x.test")).await;
    match &d.result {
        DeliveryResult::Rejected { stage: Stage::Rcpt, reply } => {
            assert_eq!(reply.code, 550);
            assert!(reply.text.starts_with("550 5.1.1 <gone@x.test>"), "{reply:?}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.attempts, 1);
    let d = sender.send(&s, &campaign(), &to("ok@x.test")).await;
    assert!(matches!(d.result, DeliveryResult::Accepted { .. }), "{d:?}");
    assert_eq!(fake.connections(), 1);
    assert!(fake.commands().iter().any(|c| c == "RSET"), "{:?}", fake.commands());
}

#[tokio::test]
async fn a_4xx_is_retried_and_final_only_when_it_persists() {
    let fake = FakeSmtp::start().await;
    fake.rcpt("later@x.test", &["450 4.2.1 <later@x.test>: Recipient address rejected: try again later"]);
    fake.rcpt("once@x.test", &["451 4.3.0 Temporary lookup failure", "250 2.1.5 Ok"]);
    let sender = Sender::new(fast());
    let s = settings(vec![smtp(fake.port)]);
    let d = sender.send(&s, &campaign(), &to("later@x.test")).await;
    match &d.result {
        DeliveryResult::Rejected { stage: Stage::Rcpt, reply } => assert_eq!(reply.code, 450),
        other => panic!("{other:?}"),
    }
    assert_eq!(d.attempts, 3, "1 + max_msg_retries");
    let d = sender.send(&s, &campaign(), &to("once@x.test")).await;
    assert!(matches!(d.result, DeliveryResult::Accepted { .. }), "{d:?}");
    assert_eq!(d.attempts, 2);
}

#[tokio::test]
async fn a_refusal_at_the_end_of_data_is_the_recipients() {
    let fake = FakeSmtp::start().await;
    fake.data_end("spam@x.test", &["554 5.7.1 Message rejected as spam"]);
    let sender = Sender::new(fast());
    let s = settings(vec![smtp(fake.port)]);
    let d = sender.send(&s, &campaign(), &to("spam@x.test")).await;
    match &d.result {
        DeliveryResult::Rejected { stage: Stage::Data, reply } => assert_eq!(reply.code, 554),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_refused_sender_or_a_dead_server_is_a_failure_not_a_bounce() {
    let fake = FakeSmtp::start().await;
    fake.mail_from(&["553 5.7.1 <bounces@site.test>: Sender address rejected: not owned by user"]);
    let sender = Sender::new(fast());
    let d = sender.send(&settings(vec![smtp(fake.port)]), &campaign(), &to("a@x.test")).await;
    match &d.result {
        DeliveryResult::Failed { error: SendError::SenderRefused { reply, .. } } => {
            assert_eq!(reply.code, 553)
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.attempts, 1, "a permanent refusal of the sender is not retried");

    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let d = sender.send(&settings(vec![smtp(closed)]), &campaign(), &to("a@x.test")).await;
    assert!(matches!(d.result, DeliveryResult::Failed { error: SendError::Connect { .. } }), "{d:?}");
    assert_eq!(d.attempts, 3);

    let d = sender.send(&settings(vec![]), &campaign(), &to("a@x.test")).await;
    assert!(matches!(d.result, DeliveryResult::Failed { error: SendError::NoServer }), "{d:?}");
}

#[tokio::test]
async fn changed_settings_take_effect_at_once() {
    let (one, two) = (FakeSmtp::start().await, FakeSmtp::start().await);
    let sender = Sender::new(fast());
    let mut server = smtp(one.port);
    let d = sender.send(&settings(vec![server.clone()]), &campaign(), &to("a@x.test")).await;
    assert!(matches!(d.result, DeliveryResult::Accepted { .. }));
    server.port = two.port;
    server.email_headers = vec![BTreeMap::from([("Return-Path".to_string(), "other@site.test".to_string())])];
    let d = sender.send(&settings(vec![server]), &campaign(), &to("b@x.test")).await;
    assert!(matches!(d.result, DeliveryResult::Accepted { .. }));
    assert_eq!((one.messages().len(), two.messages().len()), (1, 1));
    assert_eq!(two.messages()[0].mail_from, "other@site.test");
}

#[tokio::test]
async fn a_pooled_connection_the_server_closed_is_replaced() {
    let fake = FakeSmtp::start().await;
    fake.close_after_message();
    let sender = Sender::new(fast());
    let s = settings(vec![smtp(fake.port)]);
    for r in ["a@x.test", "b@x.test", "c@x.test"] {
        let d = sender.send(&s, &campaign(), &to(r)).await;
        assert!(matches!(d.result, DeliveryResult::Accepted { .. }), "{d:?}");
        assert_eq!(d.attempts, 1, "a stale pooled connection is not a failed try");
    }
    assert_eq!(fake.connections(), 3);
}

#[tokio::test]
async fn max_conns_and_wait_timeout_bound_the_pool() {
    let fake = FakeSmtp::start().await;
    fake.slow_data(Duration::from_millis(400));
    let sender = Sender::new(fast());
    let mut server = smtp(fake.port);
    server.wait_timeout = Duration::from_millis(50);
    server.max_msg_retries = 0;
    let s = settings(vec![server]);
    let c = campaign();
    let (a, b) = (to("a@x.test"), to("b@x.test"));
    let (da, db) = tokio::join!(sender.send(&s, &c, &a), sender.send(&s, &c, &b));
    let busy = [&da, &db]
        .iter()
        .filter(|d| matches!(d.result, DeliveryResult::Failed { error: SendError::PoolBusy { .. } }))
        .count();
    assert_eq!(busy, 1, "{da:?} {db:?}");
    assert_eq!(fake.connections(), 1);
}
