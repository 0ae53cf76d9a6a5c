//! The database half of rebound's test harness. Every test gets its own
//! database (a temporary SQLite file, or a freshly created PostgreSQL
//! database dropped afterwards), so tests run in parallel. PostgreSQL tests
//! FAIL when the server is missing: CI must not pass by skipping them.
//!
//! This crate knows database URLs and rebound's table names, not the
//! `Store`: it depends on no rebound crate but `rebound-core`, so
//! `rebound-store`'s own tests can use it without a dependency cycle.
//! `rebound-testkit` re-exports all of it and adds a running server.

pub mod fixtures;
pub mod listmonk;

/// The two real backends every storage behaviour is tested on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Where the PostgreSQL test databases are created (override with
/// REBOUND_TEST_POSTGRES_URL; it must be a superuser or have CREATEDB).
pub fn postgres_admin_url() -> String {
    std::env::var("REBOUND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

/// One test's own, empty database. Dropping it removes the database.
pub struct TestDb {
    pub url: String,
    backend: Backend,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("rebound.db").display());
                TestDb { url, backend, pg_name: None, _dir: Some(dir) }
            }
            Backend::Postgres => {
                let name = format!("rebound_test_{}", uuid::Uuid::new_v4().simple());
                let admin = postgres_admin_url();
                let mut conn =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&admin).await.unwrap_or_else(|e| {
                        panic!(
                            "PostgreSQL is required for this test and is not reachable at {admin}: {e}. \
                         Start it, or set REBOUND_TEST_POSTGRES_URL."
                        )
                    });
                sqlx::query(&format!("CREATE DATABASE {name}"))
                    .execute(&mut conn)
                    .await
                    .expect("CREATE DATABASE for the test");
                let url = match admin.rfind('/') {
                    Some(i) if i > "postgres://".len() => format!("{}/{name}", &admin[..i]),
                    _ => panic!("REBOUND_TEST_POSTGRES_URL must end with /DATABASE"),
                };
                TestDb { url, backend, pg_name: Some(name), _dir: None }
            }
        }
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some(name) = self.pg_name.take() else { return };
        // Drop runs inside the test's runtime; use a thread with its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let mut conn =
                    <sqlx::PgConnection as sqlx::Connection>::connect(&postgres_admin_url()).await.ok()?;
                sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut conn)
                    .await
                    .ok()
            })
        })
        .join();
    }
}

/// Runs each named `async fn(Backend)` once per backend:
/// `backend_tests!(records_a_bounce, ...)` makes `sqlite::records_a_bounce`
/// and `postgres::records_a_bounce`.
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::Backend::Sqlite).await }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() { super::$name($crate::Backend::Postgres).await }
            )*
        }
    };
}

/// Inserts `emails` as subscribers straight into the (migrated) table, in
/// one statement or transaction, exactly as given (no lower-casing): benchmarks
/// need thousands, faster than the API creates them, and tests need rows as
/// another program sharing listmonk's tables may have written them.
pub async fn insert_subscribers(database_url: &str, emails: &[String]) {
    let uuids: Vec<String> = emails.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect();
    if database_url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(database_url).await.expect("connect");
        let mut tx = pool.begin().await.expect("begin");
        for (e, u) in emails.iter().zip(&uuids) {
            sqlx::query("INSERT INTO subscribers (uuid, email, name) VALUES (?1, ?2, ?2)")
                .bind(u)
                .bind(e)
                .execute(&mut *tx)
                .await
                .expect("insert subscriber");
        }
        tx.commit().await.expect("commit");
    } else {
        let pool = sqlx::PgPool::connect(database_url).await.expect("connect");
        sqlx::query(
            "INSERT INTO subscribers (uuid, email, name) \
             SELECT u::uuid, e, e FROM UNNEST($1::text[], $2::text[]) AS t(u, e)",
        )
        .bind(&uuids)
        .bind(emails)
        .execute(&pool)
        .await
        .expect("insert subscribers");
    }
}

/// Sets a campaign's status straight in the table, as listmonk does when it
/// starts, pauses or finishes sending one (rebound itself never does).
pub async fn set_campaign_status(database_url: &str, campaign_id: i64, status: &str) {
    if database_url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(database_url).await.expect("connect");
        sqlx::query("UPDATE campaigns SET status = ?2 WHERE id = ?1")
            .bind(campaign_id)
            .bind(status)
            .execute(&pool)
            .await
            .expect("set campaign status");
    } else {
        let pool = sqlx::PgPool::connect(database_url).await.expect("connect");
        sqlx::query("UPDATE campaigns SET status = $2::campaign_status WHERE id = $1")
            .bind(campaign_id)
            .bind(status)
            .execute(&pool)
            .await
            .expect("set campaign status");
    }
}

/// Sets a campaign's `sent` count straight in the table, as listmonk's
/// sending pipeline does (rebound itself never sends campaigns).
pub async fn set_campaign_sent(database_url: &str, campaign_id: i64, sent: i64) {
    let query = "UPDATE campaigns SET sent = $2 WHERE id = $1";
    if database_url.starts_with("sqlite") {
        let pool = sqlx::SqlitePool::connect(database_url).await.expect("connect");
        sqlx::query(query).bind(campaign_id).bind(sent).execute(&pool).await.expect("set campaign sent");
    } else {
        let pool = sqlx::PgPool::connect(database_url).await.expect("connect");
        sqlx::query(query).bind(campaign_id).bind(sent).execute(&pool).await.expect("set campaign sent");
    }
}
