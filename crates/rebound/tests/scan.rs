//! `rebound scan` against a real Dovecot: one scan of every enabled
//! mailbox, a summary line each, exit 1 when one failed.

#[path = "../../mailbox/tests/mailboxes/dovecot.rs"]
#[allow(dead_code)]
mod dovecot;

use std::process::{Command, Output};

use rebound_core::Secret;
use rebound_core::settings::MailboxKind;
use serde_json::json;

use dovecot::{Dovecot, Mode};

fn rebound(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(args)
        .env("REBOUND_LOG_FORMAT", "text")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rebound")
}

async fn save_settings(url: &str, values: serde_json::Value) {
    let store = rebound_store::connect(url).await.expect("connect");
    store.migrate().await.expect("migrate");
    let map = values.as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    store.save_settings(&map).await.expect("save settings");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_scans_every_enabled_mailbox_and_fails_when_one_fails() {
    let dovecot = Dovecot::start();
    let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testkit/fixtures/sisimai");
    dovecot.deliver(&std::fs::read(corpus.join("bsd/rfc3464-01.eml")).expect("corpus"));
    dovecot.deliver(&std::fs::read(corpus.join("not/is-not-bounce-01.eml")).expect("corpus"));
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("rebound.db").display());

    let pop = dovecot.mailbox(MailboxKind::Pop, Mode::StartTls);
    let mut imap = dovecot.mailbox(MailboxKind::Imap, Mode::Plain);
    imap.password = Secret::new("wrong");
    save_settings(&url, json!({"bounce.enabled": true, "bounce.mailboxes": [pop, imap]})).await;

    let out = rebound(&["scan", "--database", &url]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stdout: {stdout}\nstderr: {stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert!(
        lines[0].starts_with("bounces at 127.0.0.1:")
            && lines[0].contains("(POP3)")
            && lines[0].contains(" ok seen=2 "),
        "{stdout}"
    );
    assert!(lines[0].contains("not_bounces=1") && lines[0].contains("removed=2"), "{stdout}");
    assert!(lines[1].contains("(IMAP)") && lines[1].contains("FAILED: login to"), "{stdout}");
    assert!(stderr.contains("1 of 2 mailbox(es) failed"), "{stderr}");
    assert!(!stdout.contains("wrong") && !stderr.contains("wrong"), "a password leaked");
    assert_eq!(dovecot.message_count(), 0);

    // Only the working mailbox: success.
    save_settings(&url, json!({"bounce.mailboxes": [pop]})).await;
    let out = rebound(&["scan", "--database", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // bounce.enabled off: refused unless --force.
    save_settings(&url, json!({"bounce.enabled": false})).await;
    let out = rebound(&["scan", "--database", &url]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("bounce.enabled is false"));
    let out = rebound(&["scan", "--force", "--database", &url]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}
