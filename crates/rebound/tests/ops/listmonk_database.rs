//! `rebound` pointed at a database that listmonk itself created (listmonk
//! v6.2.0's schema.sql, run as is) refuses to touch it, says how to choose,
//! and leaves listmonk's schema and settings rows exactly as they were.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rebound_testkit::TestDb;

/// `pg_dump --schema-only` of the database, and its settings rows as text.
async fn snapshot(url: &str) -> (String, Vec<(String, String)>) {
    let dump =
        Command::new("pg_dump").args(["--schema-only", "--no-owner", url]).output().expect("run pg_dump");
    assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
    let pool = sqlx::PgPool::connect(url).await.expect("connect");
    let settings: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value::text FROM settings ORDER BY key").fetch_all(&pool).await.unwrap();
    pool.close().await;
    // pg_dump brackets its output with a random `\restrict` key (CVE-2025-8714).
    let schema = String::from_utf8(dump.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("\\restrict") && !l.starts_with("\\unrestrict"))
        .collect::<Vec<_>>()
        .join("\n");
    (schema, settings)
}

/// Runs `rebound ARGS...`, which must exit by itself within 20 s.
fn exits(args: &[&str]) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(args)
        .env("RUST_LOG", "warn")
        .env("REBOUND_ADMIN_USER", "admin")
        .env("REBOUND_ADMIN_PASSWORD", "listmonk-database-test")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run rebound");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("`rebound {}` started on listmonk's database instead of refusing", args.join(" "));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    (status.success(), stderr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_a_database_listmonk_created_and_changes_nothing() {
    let Some(db) = TestDb::listmonk().await else { return };
    let before = snapshot(&db.url).await;
    assert!(before.1.iter().any(|(k, _)| k == "bounce.mailboxes"), "listmonk's settings rows are there");
    for args in [
        vec!["serve", "--listen", "127.0.0.1:0", "--database", &db.url],
        vec!["migrate", "--database", &db.url],
    ] {
        let (ok, stderr) = exits(&args);
        assert!(!ok, "rebound {args:?} succeeded on listmonk's database");
        assert!(
            stderr.contains("belongs to listmonk") && stderr.contains("database of its own"),
            "the refusal says what and how to choose: {stderr}"
        );
    }
    let after = snapshot(&db.url).await;
    assert_eq!(before.1, after.1, "listmonk's settings rows changed");
    assert!(before.0 == after.0, "listmonk's schema changed");
}
