//! Shared test harness. Every test gets its own database (a temporary SQLite
//! file, or a freshly created PostgreSQL database dropped afterwards), so
//! tests run in parallel. PostgreSQL tests FAIL when the server is missing:
//! CI must not pass by skipping them.

use std::sync::Arc;

use rebound_server::{App, ServerConfig};
use rebound_store::Store;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

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

pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    pub async fn new(backend: Backend) -> TestDb {
        match backend {
            Backend::Sqlite => {
                let dir = tempfile::tempdir().expect("temp dir");
                let url = format!("sqlite://{}", dir.path().join("rebound.db").display());
                TestDb { url, pg_name: None, _dir: Some(dir) }
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
                TestDb { url, pg_name: Some(name), _dir: None }
            }
        }
    }

    /// A connected, migrated store.
    pub async fn store(&self) -> Arc<dyn Store> {
        let store = rebound_store::connect(&self.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
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

pub const ADMIN_USER: &str = "admin";
/// The bearer token GET /metrics takes on servers started with [`test_config`].
pub const METRICS_TOKEN: &str = "test-metrics-token";

/// The defaults, plus a metrics token (GET /metrics is refused without one).
pub fn test_config() -> ServerConfig {
    ServerConfig { metrics_token: Some(METRICS_TOKEN.to_string()), ..ServerConfig::default() }
}

/// A real rebound server (the library `rebound serve` runs) on 127.0.0.1:0.
pub struct TestServer {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub admin_password: String,
    pub client: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
    pub db: TestDb,
}

impl TestServer {
    pub async fn start(backend: Backend) -> TestServer {
        Self::start_with(backend, test_config()).await
    }

    pub async fn start_with(backend: Backend, config: ServerConfig) -> TestServer {
        let db = TestDb::new(backend).await;
        Self::start_on(db, config).await
    }

    /// Starts a server on an existing database (e.g. a second instance).
    pub async fn start_on(db: TestDb, config: ServerConfig) -> TestServer {
        let store = db.store().await;
        let admin_password = "admin-test-password".to_string();
        rebound_server::ensure_admin(store.as_ref(), Some(ADMIN_USER), Some(&admin_password))
            .await
            .expect("admin user");
        let app = App::start(store.clone(), &config).await.expect("app start");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(app.serve(listener, async {
            let _ = rx.await;
        }));
        TestServer {
            base,
            store,
            admin_password,
            client: reqwest::Client::new(),
            shutdown: Some(tx),
            task: Some(task),
            db,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    /// A request authenticated as the admin.
    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).basic_auth(ADMIN_USER, Some(&self.admin_password))
    }

    pub async fn get_json(&self, path: &str) -> Value {
        let res = self.req(reqwest::Method::GET, path).send().await.expect("GET");
        let status = res.status();
        let body: Value = res.json().await.expect("JSON body");
        assert!(status.is_success(), "GET {path}: {status} {body}");
        body
    }

    /// Sends JSON and returns (status, body).
    pub async fn send_json(&self, method: reqwest::Method, path: &str, body: &Value) -> (u16, Value) {
        let res = self.req(method, path).json(body).send().await.expect("request");
        let status = res.status().as_u16();
        let body = res.json().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// POSTs and asserts success; returns `data`.
    pub async fn post_ok(&self, path: &str, body: &Value) -> Value {
        let (status, res) = self.send_json(reqwest::Method::POST, path, body).await;
        assert_eq!(status, 200, "POST {path} {body}: {res}");
        res["data"].clone()
    }

    pub async fn put_settings(&self, body: &Value) -> Value {
        let (status, res) = self.send_json(reqwest::Method::PUT, "/api/settings", body).await;
        assert_eq!(status, 200, "PUT /api/settings {body}: {res}");
        res["data"].clone()
    }

    /// bounce.enabled and bounce.webhooks_enabled on.
    pub async fn enable_webhooks(&self) {
        self.put_settings(&json!({"bounce.enabled": true, "bounce.webhooks_enabled": true})).await;
    }

    pub async fn create_list(&self, name: &str) -> i64 {
        self.post_ok("/api/lists", &json!({"name": name, "type": "public"})).await["id"]
            .as_i64()
            .expect("list id")
    }

    /// Returns (id, uuid).
    pub async fn create_subscriber(&self, email: &str, lists: &[i64]) -> (i64, String) {
        let d =
            self.post_ok("/api/subscribers", &json!({"email": email, "name": email, "lists": lists})).await;
        (d["id"].as_i64().expect("id"), d["uuid"].as_str().expect("uuid").to_string())
    }

    /// Returns (id, uuid).
    pub async fn create_campaign(&self, name: &str) -> (i64, String) {
        let d = self.post_ok("/api/campaigns", &json!({"name": name, "subject": name})).await;
        (d["id"].as_i64().expect("id"), d["uuid"].as_str().expect("uuid").to_string())
    }

    /// Creates an API user with the given permissions; returns its token.
    pub async fn api_user(&self, name: &str, permissions: &[&str]) -> String {
        let d = self
            .post_ok("/api/users", &json!({"username": name, "type": "api", "permissions": permissions}))
            .await;
        d["token"].as_str().expect("token").to_string()
    }

    /// Stops the server gracefully (in-flight requests finish, writers commit).
    pub async fn stop(mut self) -> TestDb {
        self.shutdown_now().await;
        std::mem::replace(&mut self.db, TestDb { url: String::new(), pg_name: None, _dir: None })
    }

    async fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
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

/// Inserts `emails` as subscribers straight into the table, in one
/// statement or transaction: benchmarks need thousands, faster than the API
/// creates them.
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
