//! Test harness with a running server: `TestServer` is the library
//! `rebound serve` runs, on an ephemeral port, over its own database. The
//! database half (fresh databases, fixtures) is `rebound-testkit-db`,
//! re-exported here so tests need one import; `OpenStore` adds the `Store`
//! on a `TestDb`, which the database half cannot name without depending on
//! `rebound-store`.

pub mod receiver;

use std::sync::Arc;

use rebound_server::{App, ServerConfig};
use rebound_store::Store;
pub use rebound_testkit_db::{
    Backend, TestDb, backend_tests, fixtures, insert_subscribers, listmonk, postgres_admin_url,
    set_campaign_sent, set_campaign_status,
};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// The store on a test database.
pub trait OpenStore {
    /// A connected, migrated store.
    fn store(&self) -> impl Future<Output = Arc<dyn Store>> + Send;
}

impl OpenStore for TestDb {
    async fn store(&self) -> Arc<dyn Store> {
        let store = rebound_store::connect(&self.url).await.expect("connect");
        store.migrate().await.expect("migrate");
        store
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
    running: Running,
    pub db: TestDb,
}

/// The serving task; dropping it asks the server to stop.
struct Running {
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<std::io::Result<()>>>,
}

impl Running {
    async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
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
            running: Running { shutdown: Some(tx), task: Some(task) },
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

    /// A subscriber with confirmed subscriptions to `lists` (pre-confirmed:
    /// without it listmonk, and rebound, leave them unconfirmed). Returns (id, uuid).
    pub async fn create_subscriber(&self, email: &str, lists: &[i64]) -> (i64, String) {
        let d = self
            .post_ok(
                "/api/subscribers",
                &json!({"email": email, "name": email, "lists": lists,
                "preconfirm_subscriptions": true}),
            )
            .await;
        (d["id"].as_i64().expect("id"), d["uuid"].as_str().expect("uuid").to_string())
    }

    /// Returns (id, uuid). A campaign goes to at least one list (listmonk
    /// requires it): this one to a new list of its own, "<name> list".
    pub async fn create_campaign(&self, name: &str) -> (i64, String) {
        let list = self.create_list(&format!("{name} list")).await;
        let d =
            self.post_ok("/api/campaigns", &json!({"name": name, "subject": name, "lists": [list]})).await;
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
    pub async fn stop(self) -> TestDb {
        let TestServer { mut running, db, .. } = self;
        running.stop().await;
        db
    }
}
