//! The network timeouts: an SMTP, IMAP or POP3 server that accepts the
//! connection and then says nothing (or stops answering half-way) ends the
//! attempt after the configured timeout with an error naming the server and
//! the step. (The request body limit is tested in
//! crates/server/tests/api/webhook_errors.rs, the per-IP webhook limit in
//! crates/server/tests/api/ops.rs, the mailbox max_message_size in
//! crates/mailbox/tests/mailboxes/pop3.rs.) And memory: failed logins, which
//! anyone can send, leave nothing behind.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rebound_core::settings::{MailboxAuth, MailboxKind, MailboxSettings, SmtpServer};
use rebound_core::{BounceActions, Secret, Settings};
use rebound_intake::{Intake, IntakeConfig, Unobserved};
use rebound_mailbox::{MailboxConfig, NoProgress, ScanOptions, Scanner, StopSignal};
use rebound_sender::{CampaignContent, DeliveryResult, Recipient, Sender, SenderOptions};
use rebound_testkit::{Backend, OpenStore, TestDb};
use tokio::io::AsyncWriteExt;
use uuid::Uuid;

/// Accepts connections, writes `greeting` (may be empty), then holds them
/// open without another byte.
async fn mute_server(greeting: &'static str) -> u16 {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((mut s, _)) = l.accept().await {
            let _ = s.write_all(greeting.as_bytes()).await;
            held.push(s);
        }
    });
    port
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smtp_server_that_stops_answering_times_out() {
    for greeting in ["", "220 mute.test ESMTP\r\n"] {
        let port = mute_server(greeting).await;
        let sender = Sender::new(SenderOptions {
            io_timeout: Duration::from_millis(300),
            retry_delay: Duration::from_millis(10),
        });
        let settings = Settings {
            smtp: vec![SmtpServer {
                uuid: Some(Uuid::new_v4()),
                host: "127.0.0.1".into(),
                port,
                max_conns: 1,
                max_msg_retries: 0,
                ..SmtpServer::default()
            }],
            ..Settings::default()
        };
        let campaign = CampaignContent {
            uuid: Uuid::new_v4(),
            subject: "t".into(),
            from_email: "news@site.test".into(),
            body: "b".into(),
            content_type: "plain".into(),
            headers: vec![],
        };
        let to = Recipient { uuid: Uuid::new_v4(), email: "a@x.test".into(), name: String::new() };
        let started = Instant::now();
        let d = sender.send(&settings, &campaign, &to).await;
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        let DeliveryResult::Failed { error } = &d.result else { panic!("{d:?}") };
        let msg = error.to_string();
        assert!(msg.contains(&format!("127.0.0.1:{port}")) && msg.contains("no answer within"), "{msg}");
    }
}

fn mailbox(kind: MailboxKind, port: u16) -> MailboxSettings {
    MailboxSettings {
        uuid: Some(Uuid::new_v4()),
        enabled: true,
        kind,
        host: "127.0.0.1".into(),
        port,
        auth_protocol: MailboxAuth::Userpass,
        username: "u".into(),
        password: Secret::new("p"),
        tls_enabled: false,
        starttls: false,
        ..MailboxSettings::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn imap_and_pop3_servers_that_stop_answering_time_out() {
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let (intake, _writers) =
        Intake::start(store.clone(), BounceActions::default(), IntakeConfig::default(), Arc::new(Unobserved));
    let mut options = ScanOptions::default();
    options.timeouts.connect = Duration::from_millis(300);
    options.timeouts.login = Duration::from_millis(300);
    options.timeouts.read = Duration::from_millis(300);
    let scanner = Scanner::new(store.clone(), intake, options);
    let parse = rebound_mailbox::read_options(&Settings::default());
    for (kind, greeting, steps) in [
        (MailboxKind::Imap, "", &["greeting"][..]),
        (MailboxKind::Imap, "* OK IMAP4rev1 ready\r\n", &["logging in"][..]),
        (MailboxKind::Pop, "", &["greeting"][..]),
        // The login step and the read of the answer to USER have the same
        // timeout here: either may fire first.
        (MailboxKind::Pop, "+OK POP3 ready\r\n", &["answer to user", "logging in"][..]),
    ] {
        let port = mute_server(greeting).await;
        let cfg = MailboxConfig::new(&mailbox(kind, port));
        let started = Instant::now();
        let report = scanner.scan(&cfg, &parse, &NoProgress, &StopSignal::never()).await;
        assert!(started.elapsed() < Duration::from_secs(10), "took {:?}", started.elapsed());
        let err = report.error.unwrap_or_else(|| panic!("{kind:?} {greeting:?}: the scan did not fail"));
        assert!(err.contains("timed out"), "{kind:?} {greeting:?}: {err}");
        let lower = err.to_lowercase();
        assert!(
            steps.iter().any(|s| lower.contains(s)),
            "{kind:?} {greeting:?}: {err} does not name {steps:?}"
        );
    }
}

fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// argon2 works in 19 MiB per verification. Bursts of wrong passwords once
/// left that much behind per blocking thread (glibc keeps freed memory in
/// per-thread arenas): 8 of them took the server to 170 MiB. The login
/// limits are off here, so every one of them is hashed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_of_wrong_passwords_do_not_grow_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::support::Server::start_configured(
        &format!("sqlite://{}", dir.path().join("r.db").display()),
        &[],
        Some("[limits]\nlogin_failures_per_ip = 0\nlogin_failures_per_user = 0\n"),
    )
    .await;
    for round in 0..6 {
        let tries = (0..8).map(|i| {
            server
                .client
                .get(server.url("/api/settings"))
                .basic_auth("admin", Some(format!("wrong-{round}-{i}")))
                .send()
        });
        for answer in futures::future::join_all(tries).await {
            assert_eq!(answer.unwrap().status(), 401);
        }
    }
    let peak = peak_rss_kib(server.child.id());
    assert!(peak < 100 * 1024, "peak RSS after 48 failed logins: {} MiB", peak / 1024);
}

/// `GET /api/bounces?per_page=all` over 40 000 bounces streams its answer,
/// and so does a page of a million (what listmonk's PyPI client asks for):
/// the server's peak memory grows by a few MiB, not by the whole answer
/// (built in memory, it grew by some 270 MB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_every_bounce_streams_it() {
    use rebound_core::{ActionRule, BounceActions, BounceEvent, BounceType, EmailAddress, SubscriberRef};
    const BOUNCES: usize = 40_000;
    let db = TestDb::new(Backend::Sqlite).await;
    let store = db.store().await;
    let emails: Vec<String> = (0..1000).map(|i| format!("m{i}@memory.test")).collect();
    rebound_testkit::insert_subscribers(&db.url, &emails).await;
    let actions =
        BounceActions { soft: ActionRule::new(1_000_000, rebound_core::Action::None), ..Default::default() };
    let note = "550 5.1.1 the mailbox does not exist; ".repeat(12);
    for chunk in (0..BOUNCES).collect::<Vec<_>>().chunks(2000) {
        let events: Vec<BounceEvent> = chunk
            .iter()
            .map(|k| {
                let email = EmailAddress::parse(&emails[k % emails.len()]).unwrap();
                let mut e = BounceEvent::new(SubscriberRef::by_email(email), BounceType::Soft, "memory");
                e.meta = serde_json::json!({"k": k, "diagnostic": note});
                e
            })
            .collect();
        store.record_bounces(&events, &actions, chrono::Utc::now()).await.unwrap();
    }
    let server = crate::support::Server::start(&db.url).await;
    let small = server.admin(reqwest::Method::GET, "/api/bounces?per_page=10").send().await.unwrap();
    assert_eq!(small.status(), 200);
    let before = peak_rss_kib(server.child.id());
    let res = server.admin(reqwest::Method::GET, "/api/bounces?per_page=all").send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["data"]["total"], BOUNCES);
    assert_eq!(body["data"]["results"].as_array().unwrap().len(), BOUNCES);
    drop(body);
    let res = server.admin(reqwest::Method::GET, "/api/bounces?per_page=1000000").send().await.unwrap();
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(
        (body["data"]["total"].as_u64(), body["data"]["per_page"].as_u64()),
        (Some(40_000), Some(1_000_000))
    );
    assert_eq!(body["data"]["results"].as_array().unwrap().len(), BOUNCES);
    let grown = peak_rss_kib(server.child.id()).saturating_sub(before);
    println!(
        "per_page=all and per_page=1000000 over {BOUNCES} bounces: peak RSS grew by {} MiB",
        grown / 1024
    );
    assert!(grown < 64 * 1024, "peak RSS grew by {} MiB", grown / 1024);
}
