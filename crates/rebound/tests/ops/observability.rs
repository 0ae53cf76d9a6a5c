//! Logs and health as an operator sees them from the real binary.

use std::time::{Duration, Instant};

use rebound_testkit::{Backend, TestDb};

use crate::support::Server;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line() {
    let db = TestDb::new(Backend::Sqlite).await;
    let mut server = Server::start_with(&db.url, &[("REBOUND_LOG_FORMAT", "json")]).await;
    assert_eq!(server.terminate(Duration::from_secs(30)).code(), Some(0));
    let log = server.log();
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "{log}");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["timestamp"].is_string(), "{line}");
    }
    assert!(log.contains("rebound is serving") && log.contains("\"stopped\""), "{log}");
    assert!(!log.contains(crate::support::ADMIN.1), "the admin password reached the log");
}

/// A log that is not a terminal (a file, journald, a pipe) gets no ANSI
/// colour codes: `grep` and log shippers see plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_logs_to_a_file_have_no_colour_codes() {
    let db = TestDb::new(Backend::Sqlite).await;
    // An empty NO_COLOR does not turn colours off: only the terminal check may.
    let mut server = Server::start_with(&db.url, &[("NO_COLOR", "")]).await;
    assert_eq!(server.terminate(Duration::from_secs(30)).code(), Some(0));
    let log = server.log();
    assert!(log.contains("INFO") && log.contains("rebound is serving"), "{log}");
    assert!(!log.contains('\x1b'), "escape codes in a log written to a file:\n{log:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn captured_scan_output_has_no_colour_codes() {
    let db = TestDb::new(Backend::Sqlite).await;
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rebound"))
        .args(["scan", "--force", "--database", &db.url])
        // Debug logging makes the database layer log while the store opens.
        .env("RUST_LOG", "debug")
        .env("NO_COLOR", "")
        .output()
        .expect("run rebound scan");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("DEBUG") && stderr.contains("no enabled mailbox"), "{stderr}");
    assert!(!stderr.contains('\x1b'), "escape codes in captured output:\n{stderr:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_fails_when_the_database_is_gone() {
    let db = TestDb::new(Backend::Postgres).await;
    let server = Server::start(&db.url).await;
    let health = || server.client.get(server.url("/health")).send();
    assert_eq!(health().await.unwrap().status(), 200);
    // Drop the database under the running server.
    let name = db.url.rsplit('/').next().unwrap().to_string();
    let admin = rebound_testkit::postgres_admin_url();
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap();
    sqlx::query(&format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut conn).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let res = health().await.unwrap();
        if res.status() == 503 {
            let body: serde_json::Value = res.json().await.unwrap();
            assert_eq!(body["message"], "database is not answering");
            break;
        }
        assert!(Instant::now() < deadline, "/health kept answering {}", res.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A refused UI login logs the username it was given, quoted and escaped:
/// a newline cannot start a forged log line, an escape sequence cannot
/// reach the operator's terminal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_logins_cannot_forge_log_lines() {
    let db = TestDb::new(Backend::Sqlite).await;
    let mut server = Server::start(&db.url).await;
    let forged = "2026-01-01T00:00:00.000000Z  INFO rebound_server::ui::session: UI login username=admin";
    let username = format!("ghost\n{forged}\r\x1b[2J\x1b[31m");
    let page = server.client.get(server.url("/admin/login")).send().await.unwrap();
    let cookie = page
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok()?.split(';').next()?.strip_prefix("rebound_login_csrf="))
        .next()
        .expect("login CSRF cookie")
        .to_string();
    let res = server
        .client
        .post(server.url("/admin/login"))
        .header(reqwest::header::COOKIE, format!("rebound_login_csrf={cookie}"))
        .form(&[("csrf", cookie.as_str()), ("username", &username), ("password", "wrong-password")])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(server.terminate(Duration::from_secs(30)).code(), Some(0));
    let log = server.log();
    let refused = log.lines().find(|l| l.contains("UI login refused")).unwrap_or_else(|| panic!("{log}"));
    assert!(refused.contains(r#"ghost\n2026-01-01"#), "the newline is shown escaped: {refused}");
    assert!(!log.lines().any(|l| l.starts_with(forged)), "a forged line reached the log:\n{log}");
    assert!(!log.contains('\x1b') && !log.contains('\r'), "raw control characters in the log:\n{log:?}");
}
