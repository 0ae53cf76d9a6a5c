//! The whole loop with real mail servers: rebound sends a campaign test
//! through a real Postfix, bounces come back into a real Dovecot mailbox,
//! rebound's scanner reads them, and the SES recipe's rules act on them.
//!
//! ```text
//!  rebound ──SMTP──▶ Postfix "mx" ─virtual(8)─▶ Maildir ◀─POP3/IMAP── Dovecot ◀── rebound's scanner
//!   (sender)          (site.test)    │ alice@, bounces@ (+VERP tag)
//!                        │ full.test
//!                        └──SMTP──▶ Postfix "full": 552 5.2.2 Mailbox full at RCPT
//! ```
//!
//! Subscribers: (a) alice@site.test exists; (b) nobody@site.test does not
//! (Postfix accepts, virtual(8) bounces 5.1.1: a DSN); (c) carol@full.test
//! is refused by the second Postfix with 552 5.2.2 (a DSN from the first);
//! (d) ghost@site.test is refused at RCPT by the first Postfix (550 5.1.1,
//! synchronous); (e) later@site.test gets 450 4.2.1 at RCPT on every try.
//!
//! Run 1: Return-Path bounces@site.test, the original's X-Listmonk headers
//! come back in the DSNs, POP3. Run 2: VERP on and a second smtpd port whose
//! cleanup strips every X-Listmonk-* header (header_checks IGNORE), IMAP
//! with IDLE: only the VERP address can name the campaign.
//!
//! The rules are the SES recipe's: soft 2/none, hard 1/blocklist,
//! complaint 1/blocklist. The test prints the time from the send to the
//! recorded bounce for each case (`--nocapture`).

#[allow(dead_code)]
#[path = "../../../mailbox/tests/mailboxes/dovecot.rs"]
mod dovecot;
mod postfix;
mod tls;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use rebound_core::settings::{AfterProcessing, MailboxKind};
use rebound_sender::SenderOptions;
use rebound_server::ServerConfig;
use rebound_testkit::{Backend, TestServer};
use reqwest::Method;
use serde_json::{Value, json};

use crate::dovecot::{Dovecot, Mode};
use crate::postfix::{Postfix, Spec};

const VERP: &str = "bounces+{subscriber_uuid}.{campaign_uuid}@site.test";

/// The second Postfix: accepts full.test from loopback and refuses every
/// recipient there at RCPT with 552 5.2.2.
fn full_spec() -> Spec {
    Spec {
        ports: 1,
        main: r#"myhostname = mx.full.test
relay_domains = full.test
smtpd_recipient_restrictions = check_recipient_access texthash:{dir}/conf/full, reject"#
            .into(),
        services: "127.0.0.1:{port0} inet n - n - - smtpd".into(),
        files: vec![("full", "full.test 552 5.2.2 Mailbox full\n".into())],
    }
}

/// The first Postfix, the one rebound sends through: site.test is local
/// (virtual(8) into Dovecot's Maildir, uid nobody), full.test goes to the
/// second Postfix, ghost@/ghost2@ are refused at RCPT, later@ gets a 450.
/// Port 0 is plain; port 1 strips the X-Listmonk headers.
fn mx_spec(mail_base: &Path, full_port: u16) -> Spec {
    Spec {
        ports: 2,
        main: format!(
            r#"myhostname = mx.site.test
mydomain = site.test
myorigin = site.test
virtual_mailbox_domains = site.test
virtual_mailbox_base = {base}
virtual_mailbox_maps = texthash:{{dir}}/conf/vmailbox
virtual_uid_maps = static:65534
virtual_gid_maps = static:65534
# bounces+<ids>@site.test reaches bounces@site.test (VERP).
recipient_delimiter = +
# Unknown site.test users are accepted and bounced later (a DSN) ...
smtpd_reject_unlisted_recipient = no
# ... except those the access table refuses at RCPT.
smtpd_recipient_restrictions = check_recipient_access texthash:{{dir}}/conf/rcpt, permit_mynetworks, reject_unauth_destination
relay_domains = full.test
transport_maps = texthash:{{dir}}/conf/transport"#,
            base = mail_base.display()
        ),
        services: r#"127.0.0.1:{port0} inet n - n - - smtpd
127.0.0.1:{port1} inet n - n - - smtpd -o cleanup_service_name=cleanup-strip
cleanup-strip unix n - n - 0 cleanup -o header_checks=regexp:{dir}/conf/strip"#
            .into(),
        files: vec![
            ("vmailbox", "bounces@site.test bounces/Maildir/\nalice@site.test alice/Maildir/\n".into()),
            (
                "rcpt",
                "ghost@site.test 550 5.1.1 User unknown in virtual mailbox table\n\
                 ghost2@site.test 550 5.1.1 User unknown in virtual mailbox table\n\
                 later@site.test 450 4.2.1 Mailbox temporarily unavailable\n"
                    .into(),
            ),
            ("transport", format!("full.test smtp:[127.0.0.1]:{full_port}\n")),
            ("strip", "/^X-Listmonk-/ IGNORE\n".into()),
        ],
    }
}

struct Loop {
    t: TestServer,
    list: i64,
}

impl Loop {
    async fn subscriber(&self, email: &str) -> (i64, String) {
        self.t.create_subscriber(email, &[self.list]).await
    }

    async fn campaign(&self, name: &str) -> (i64, String) {
        let d = self
            .t
            .post_ok(
                "/api/campaigns",
                &json!({"name": name, "subject": name, "from_email": "Site News <news@site.test>",
                        "body": "<p>Hello from rebound's end-to-end test.</p>", "lists": [self.list]}),
            )
            .await;
        (d["id"].as_i64().unwrap(), d["uuid"].as_str().unwrap().to_string())
    }

    async fn bounces(&self) -> Vec<Value> {
        let b = self.t.get_json("/api/bounces?per_page=all&order_by=created_at&order=asc").await;
        b["data"]["results"].as_array().cloned().unwrap_or_default()
    }

    async fn subscriber_json(&self, id: i64) -> Value {
        self.t.get_json(&format!("/api/subscribers/{id}")).await["data"].clone()
    }

    /// Sends the test and waits until each of `expect` has a bounce of
    /// this campaign; returns the milliseconds from the send to the moment
    /// each was seen recorded (polled every 10 ms), and the send's answer.
    async fn send_and_wait(
        &self,
        campaign: i64,
        to: &[&str],
        expect: &[&str],
    ) -> (BTreeMap<String, u128>, Value, u128) {
        let t0 = Instant::now();
        let path = format!("/api/campaigns/{campaign}/test");
        let body = json!({"subscribers": to});
        // The bounces are watched while the call runs: a refusal at RCPT is
        // recorded before the slowest send of the call has ended.
        let send = async {
            let r = self.t.send_json(Method::POST, &path, &body).await;
            (r, t0.elapsed().as_millis())
        };
        let watch = async {
            let mut seen = BTreeMap::new();
            let deadline = t0 + Duration::from_secs(90);
            while seen.len() < expect.len() {
                for b in self.bounces().await {
                    let email = b["email"].as_str().unwrap_or_default().to_string();
                    if b["campaign"]["id"] == campaign && expect.contains(&email.as_str()) {
                        seen.entry(email).or_insert_with(|| t0.elapsed().as_millis());
                    }
                }
                assert!(Instant::now() < deadline, "bounces seen so far {seen:?}; expected {expect:?}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            seen
        };
        let (((status, res), answered), seen) = tokio::join!(send, watch);
        assert_eq!(status, 200, "{res}");
        (seen, res, answered)
    }
}

fn result<'a>(res: &'a Value, email: &str) -> &'a Value {
    res["results"]
        .as_array()
        .and_then(|r| r.iter().find(|x| x["email"] == email))
        .unwrap_or_else(|| panic!("{email}: {res}"))
}

fn bounces_of<'a>(all: &'a [Value], email: &str) -> Vec<&'a Value> {
    all.iter().filter(|b| b["email"] == email).collect()
}

/// Messages delivered to alice@site.test, oldest first, with their
/// delivery times.
fn alice_mail(base: &Path) -> Vec<(SystemTime, String)> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        let Ok(entries) = std::fs::read_dir(base.join("alice/Maildir").join(sub)) else { continue };
        for p in entries.flatten().map(|e| e.path()) {
            let at = std::fs::metadata(&p).and_then(|m| m.modified()).unwrap_or(SystemTime::UNIX_EPOCH);
            out.push((at, std::fs::read_to_string(&p).unwrap_or_default()));
        }
    }
    out.sort_by_key(|(at, _)| *at);
    out
}

/// Waits for alice's `n`th message; the milliseconds from `since` to its delivery.
async fn wait_for_alice(base: &Path, n: usize, since: SystemTime) -> u128 {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((at, _)) = alice_mail(base).get(n - 1) {
            return at.duration_since(since).unwrap_or_default().as_millis();
        }
        assert!(Instant::now() < deadline, "alice@site.test's message {n} was not delivered");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Watches the bounce Maildir (new/ and cur/) every 10 ms and notes when
/// the DSN for each failed recipient (its Final-Recipient) first appears,
/// in milliseconds from `since`.
fn watch_dsns(maildir: PathBuf, since: SystemTime) -> (Arc<Mutex<BTreeMap<String, u128>>>, Arc<AtomicBool>) {
    let seen = Arc::new(Mutex::new(BTreeMap::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let (s, st) = (seen.clone(), stop.clone());
    std::thread::spawn(move || {
        while !st.load(Ordering::Relaxed) {
            for sub in ["new", "cur"] {
                let Ok(entries) = std::fs::read_dir(maildir.join(sub)) else { continue };
                for p in entries.flatten().map(|e| e.path()) {
                    let Ok(text) = std::fs::read_to_string(&p) else { continue };
                    let at = std::fs::metadata(&p).and_then(|m| m.modified()).unwrap_or(SystemTime::now());
                    for line in text.lines() {
                        if let Some(r) = line.strip_prefix("Final-Recipient: rfc822;") {
                            let ms = at.duration_since(since).unwrap_or_default().as_millis();
                            s.lock().unwrap().entry(r.trim().to_ascii_lowercase()).or_insert(ms);
                        }
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    });
    (seen, stop)
}

fn header<'a>(msg: &'a str, name: &str) -> Option<&'a str> {
    let head = msg.split("\n\n").next().unwrap_or("");
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn campaign_test_bounces_come_back_through_postfix_and_dovecot() {
    let started = Instant::now();
    let dovecot = Dovecot::start();
    let mail_base = dovecot.maildir().parent().and_then(Path::parent).expect("mail base").to_path_buf();
    let mut full = Postfix::start("full", full_spec());
    let mut mx = Postfix::start("mx", mx_spec(&mail_base, full.ports[0]));
    let servers_up = started.elapsed();

    let config = ServerConfig {
        sender: SenderOptions {
            io_timeout: Duration::from_secs(30),
            retry_delay: Duration::from_millis(200),
        },
        ..Default::default()
    };
    let t = TestServer::start_with(Backend::Sqlite, config).await;
    let list = t.create_list("Newsletter").await;
    let l = Loop { t, list };
    let a = l.subscriber("alice@site.test").await;
    let b = l.subscriber("nobody@site.test").await;
    let c = l.subscriber("carol@full.test").await;
    let d = l.subscriber("ghost@site.test").await;
    let e = l.subscriber("later@site.test").await;
    let b2 = l.subscriber("nobody2@site.test").await;
    let d2 = l.subscriber("ghost2@site.test").await;
    let (c1, c1_uuid) = l.campaign("Spring").await;
    let (c2, c2_uuid) = l.campaign("Summer").await;

    // The SES recipe's rules; POP3 scanned every second.
    let mut pop = dovecot.mailbox(MailboxKind::Pop, Mode::Plain);
    pop.scan_interval = Duration::from_secs(1);
    let smtp = |port: u16| {
        json!({"enabled": true, "host": "127.0.0.1", "port": port, "hello_hostname": "rebound.site.test",
               "auth_protocol": "none", "tls_type": "none", "max_conns": 2, "max_msg_retries": 2,
               "idle_timeout": "15s", "wait_timeout": "5s",
               "email_headers": [{"Return-Path": "bounces@site.test"}, {"Reply-To": "bounces@site.test"}]})
    };
    l.t.put_settings(&json!({
        "bounce.enabled": true,
        "bounce.actions": {"soft": {"count": 2, "action": "none"}, "hard": {"count": 1, "action": "blocklist"},
                           "complaint": {"count": 1, "action": "blocklist"}},
        "bounce.mailboxes": [serde_json::to_value(&pop).unwrap()],
        "smtp": [smtp(mx.ports[0])],
    }))
    .await;

    // ---- Run 1: the original's headers come back in the DSNs. ----
    let run1_at = SystemTime::now();
    let (dsn1, stop1) = watch_dsns(dovecot.maildir(), run1_at);
    let to1 =
        ["alice@site.test", "nobody@site.test", "carol@full.test", "ghost@site.test", "later@site.test"];
    let expect1 = ["nobody@site.test", "carol@full.test", "ghost@site.test", "later@site.test"];
    let (t1, res1, answered1) = l.send_and_wait(c1, &to1, &expect1).await;
    let alice1 = wait_for_alice(&mail_base, 1, run1_at).await;
    stop1.store(true, Ordering::Relaxed);

    assert_eq!(res1["data"], json!(true));
    for (email, outcome) in [
        ("alice@site.test", "sent"),
        ("nobody@site.test", "sent"),
        ("carol@full.test", "sent"),
        ("ghost@site.test", "bounced"),
        ("later@site.test", "bounced"),
    ] {
        assert_eq!(result(&res1, email)["outcome"], outcome, "{email}: {res1}");
    }
    assert_eq!(result(&res1, "later@site.test")["delivery"]["attempts"], 3, "{res1}");

    let all = l.bounces().await;
    // (a) delivered, with the headers and the envelope sender asked for.
    assert!(bounces_of(&all, "alice@site.test").is_empty());
    let msg = &alice_mail(&mail_base)[0].1;
    assert_eq!(header(msg, "Return-Path"), Some("<bounces@site.test>"), "{msg}");
    assert_eq!(header(msg, "Reply-To"), Some("bounces@site.test"), "{msg}");
    assert_eq!(header(msg, "X-Listmonk-Subscriber"), Some(a.1.as_str()), "{msg}");
    assert_eq!(header(msg, "X-Listmonk-Campaign"), Some(c1_uuid.as_str()), "{msg}");
    assert!(header(msg, "List-Unsubscribe").is_some_and(|v| v.contains(&a.1)), "{msg}");

    // (b) hard 5.1.1 from a DSN: blocklisted and unsubscribed after one bounce.
    let bb = bounces_of(&all, "nobody@site.test");
    assert_eq!(bb.len(), 1, "{all:?}");
    assert_eq!(bb[0]["type"], "hard");
    assert_eq!(bb[0]["source"], "127.0.0.1", "the mailbox host, as listmonk records it");
    assert_eq!(bb[0]["meta"]["status"], "5.1.1");
    let sb = l.subscriber_json(b.0).await;
    assert_eq!(sb["status"], "blocklisted", "{sb}");
    for list in sb["lists"].as_array().unwrap() {
        assert_eq!(list["subscription_status"], "unsubscribed", "{sb}");
    }

    // (c) soft 5.2.2 mailbox full: recorded, still enabled and subscribed.
    let cb = bounces_of(&all, "carol@full.test");
    assert_eq!(cb.len(), 1, "{all:?}");
    assert_eq!(cb[0]["type"], "soft");
    assert_eq!(cb[0]["meta"]["status"], "5.2.2");
    assert_eq!(cb[0]["meta"]["reason"], "mailboxfull");
    let sc = l.subscriber_json(c.0).await;
    assert_eq!(sc["status"], "enabled", "{sc}");
    assert!(
        sc["lists"].as_array().unwrap().iter().all(|l| l["subscription_status"] != "unsubscribed"),
        "{sc}"
    );

    // (d) refused at RCPT: recorded by the sender, source smtp.
    let db = bounces_of(&all, "ghost@site.test");
    assert_eq!(db.len(), 1, "{all:?}");
    assert_eq!((&db[0]["type"], &db[0]["source"]), (&json!("hard"), &json!("smtp")));
    assert_eq!(db[0]["meta"]["stage"], "rcpt");
    assert_eq!(db[0]["meta"]["reply_code"], 550);
    assert!(db[0]["meta"]["diagnostic"].as_str().unwrap().contains("User unknown"), "{}", db[0]);
    assert_eq!(l.subscriber_json(d.0).await["status"], "blocklisted");

    // (e) a 450 on every try: soft, source smtp, still enabled.
    let eb = bounces_of(&all, "later@site.test");
    assert_eq!(eb.len(), 1, "{all:?}");
    assert_eq!((&eb[0]["type"], &eb[0]["source"]), (&json!("soft"), &json!("smtp")));
    assert_eq!(eb[0]["meta"]["attempts"], 3);
    assert_eq!(l.subscriber_json(e.0).await["status"], "enabled");

    for bounce in &all {
        assert_eq!(bounce["campaign"]["id"], c1, "every bounce names its campaign: {bounce}");
    }

    // ---- Run 2: VERP, the X-Listmonk headers stripped by Postfix, IMAP. ----
    let mut imap = dovecot.mailbox(MailboxKind::Imap, Mode::StartTls);
    imap.uuid = pop.uuid;
    imap.scan_interval = Duration::from_secs(60);
    imap.after_processing = AfterProcessing::Move;
    imap.move_to = "Processed".into();
    l.t.put_settings(&json!({
        "bounce.verp": {"enabled": true, "address": VERP},
        "bounce.mailboxes": [serde_json::to_value(&imap).unwrap()],
        "smtp": [smtp(mx.ports[1])],
    }))
    .await;
    let run2_at = SystemTime::now();
    let (dsn2, stop2) = watch_dsns(dovecot.maildir(), run2_at);
    let to2 = ["alice@site.test", "nobody2@site.test", "carol@full.test", "ghost2@site.test"];
    let expect2 = ["nobody2@site.test", "carol@full.test", "ghost2@site.test"];
    let (t2, res2, answered2) = l.send_and_wait(c2, &to2, &expect2).await;
    let alice2 = wait_for_alice(&mail_base, 2, run2_at).await;
    stop2.store(true, Ordering::Relaxed);

    // What reached alice had no X-Listmonk header left and the VERP sender.
    let msg = &alice_mail(&mail_base)[1].1;
    assert!(!msg.contains("X-Listmonk-"), "header_checks did not strip: {msg}");
    let rp = header(msg, "Return-Path").unwrap_or_default().trim_matches(['<', '>']).to_string();
    let ids = rebound_dsn::verp::decode(VERP, &rp).unwrap_or_else(|| panic!("not a VERP sender: {rp}"));
    assert_eq!(ids.subscriber_uuid.to_string(), a.1);
    assert_eq!(ids.campaign_uuid.map(|u| u.to_string()), Some(c2_uuid.clone()));
    assert!(rp.split('@').next().unwrap().len() <= 64, "{rp}");
    assert_eq!(
        result(&res2, "nobody2@site.test")["delivery"]["envelope_from"].as_str().unwrap().len(),
        rp.len()
    );

    let all = l.bounces().await;
    let run2: Vec<&Value> = all.iter().filter(|b| b["campaign"]["id"] == c2).collect();
    assert_eq!(run2.len(), 3, "{all:?}");
    // Every bounce of run 2 names campaign 2: only the VERP address could.
    let b2b = bounces_of(&all, "nobody2@site.test");
    assert_eq!((b2b.len(), &b2b[0]["type"], &b2b[0]["campaign"]["id"]), (1, &json!("hard"), &json!(c2)));
    assert_eq!(l.subscriber_json(b2.0).await["status"], "blocklisted");
    let d2b = bounces_of(&all, "ghost2@site.test");
    assert_eq!((&d2b[0]["source"], &d2b[0]["campaign"]["id"]), (&json!("smtp"), &json!(c2)));
    assert_eq!(l.subscriber_json(d2.0).await["status"], "blocklisted");
    // (c)'s second soft bounce reaches the soft rule (2/none): still enabled.
    let cb = bounces_of(&all, "carol@full.test");
    assert_eq!(cb.len(), 2, "{all:?}");
    assert!(cb.iter().all(|b| b["type"] == "soft"));
    assert_eq!(cb[1]["campaign"]["id"], c2);
    assert_eq!(l.subscriber_json(c.0).await["status"], "enabled");

    // The DSNs the scanner read (kept in Processed) carried no X-Listmonk
    // header: the attribution came from the VERP address they were sent to.
    let processed = dovecot.messages_in(Some(".Processed"));
    assert_eq!(processed.len(), 2, "two DSNs in run 2");
    for raw in &processed {
        let text = String::from_utf8_lossy(raw);
        assert!(!text.contains("X-Listmonk-"), "{text}");
        assert!(header(&text, "Delivered-To").is_some_and(|v| v.starts_with("bounces+")), "{text}");
    }
    let unmatched = l.t.get_json("/api/bounces/unmatched").await;
    assert_eq!(unmatched["data"]["total"], 0, "{unmatched}");

    let report = |t: &BTreeMap<String, u128>,
                  dsn: &Arc<Mutex<BTreeMap<String, u128>>>,
                  cases: &[(&str, &str)]| {
        let dsn = dsn.lock().unwrap();
        for (case, email) in cases {
            let refused =
                if email.starts_with("later") { "450 at RCPT on all 3 tries" } else { "refused at RCPT" };
            let arrived =
                dsn.get(*email).map_or(refused.to_string(), |ms| format!("DSN in the mailbox at {ms} ms"));
            eprintln!("    ({case}) {email:<18} recorded {:>5} ms   ({arrived})", t[*email]);
        }
    };
    eprintln!(
        "\nend-to-end: servers up in {:.1} s; from the send (POST .../test) to the recorded bounce:",
        servers_up.as_secs_f64()
    );
    eprintln!("  run 1: headers, POP3 every 1 s; the test call answered after {answered1} ms");
    eprintln!("    (a) alice@site.test    delivered to her Maildir after {alice1} ms, no bounce");
    report(
        &t1,
        &dsn1,
        &[
            ("b", "nobody@site.test"),
            ("c", "carol@full.test"),
            ("d", "ghost@site.test"),
            ("e", "later@site.test"),
        ],
    );
    eprintln!(
        "  run 2: VERP, X-Listmonk headers stripped by Postfix, IMAP IDLE; the test call answered after {answered2} ms"
    );
    eprintln!("    (a) alice@site.test    delivered to her Maildir after {alice2} ms, no bounce");
    report(&t2, &dsn2, &[("b", "nobody2@site.test"), ("c", "carol@full.test"), ("d", "ghost2@site.test")]);
    eprintln!("  whole test: {:.1} s", started.elapsed().as_secs_f64());
    assert!(started.elapsed() < Duration::from_secs(180), "the end-to-end test must stay under 3 minutes");
    let stopping = Instant::now();
    Postfix::stop_all(&mut [&mut mx, &mut full]);
    drop(dovecot);
    eprintln!("  mail servers stopped in {:.1} s", stopping.elapsed().as_secs_f64());
}
