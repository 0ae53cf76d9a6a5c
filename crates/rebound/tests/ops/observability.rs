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
