//! A `rebound serve` child process on a fresh port, and the HTTP calls the
//! proofs make.

use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

pub const ADMIN: (&str, &str) = ("admin", "ops-test-admin-password");
/// REBOUND_METRICS_TOKEN of every server started here (/metrics needs one).
pub const METRICS_TOKEN: &str = "ops-test-metrics-token";

pub struct Server {
    pub child: Child,
    pub base: String,
    pub client: reqwest::Client,
    log: std::path::PathBuf,
    _logdir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Server {
    /// Starts `rebound serve` on `database` and waits until /health answers.
    pub async fn start(database: &str) -> Server {
        Self::start_with(database, &[]).await
    }

    /// With extra environment variables.
    pub async fn start_with(database: &str, env: &[(&str, &str)]) -> Server {
        Self::start_configured(database, env, None).await
    }

    /// With environment variables and a rebound.toml in the working directory.
    pub async fn start_configured(database: &str, env: &[(&str, &str)], toml: Option<&str>) -> Server {
        Self::spawn(&["--database", database], env, toml).await
    }

    /// `rebound serve --listmonk URL`: companion mode in listmonk's database.
    pub async fn start_companion(listmonk: &str, env: &[(&str, &str)], toml: Option<&str>) -> Server {
        Self::spawn(&["--listmonk", listmonk], env, toml).await
    }

    async fn spawn(database: &[&str], env: &[(&str, &str)], toml: Option<&str>) -> Server {
        let port = free_port();
        let logdir = tempfile::tempdir().unwrap();
        if let Some(toml) = toml {
            std::fs::write(logdir.path().join("rebound.toml"), toml).unwrap();
        }
        let log = logdir.path().join("rebound.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_rebound"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}")])
            .args(database)
            .env("REBOUND_ADMIN_USER", ADMIN.0)
            .env("REBOUND_ADMIN_PASSWORD", ADMIN.1)
            .env("RUST_LOG", "info,sqlx=warn")
            .env("REBOUND_METRICS_TOKEN", METRICS_TOKEN)
            .envs(env.iter().copied())
            .current_dir(logdir.path())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start rebound serve");
        let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
        let mut server =
            Server { child, base: format!("http://127.0.0.1:{port}"), client, log, _logdir: logdir };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                panic!("rebound serve exited with {status}:\n{}", server.log());
            }
            let ok = server.client.get(server.url("/health")).send().await.is_ok_and(|r| r.status() == 200);
            if ok {
                return server;
            }
            assert!(Instant::now() < deadline, "rebound serve did not become healthy:\n{}", server.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("wait");
    }

    /// SIGTERM, then waits (at most `limit`) for the exit.
    pub fn terminate(&mut self, limit: Duration) -> ExitStatus {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(ok.success());
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(Instant::now() < deadline, "rebound serve did not exit within {limit:?} of SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// GET /metrics with the token.
    pub async fn metrics(&self) -> String {
        let res = self
            .client
            .get(self.url("/metrics"))
            .bearer_auth(METRICS_TOKEN)
            .send()
            .await
            .expect("GET /metrics");
        assert_eq!(res.status(), 200);
        res.text().await.expect("metrics text")
    }

    pub fn admin(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, self.url(path)).basic_auth(ADMIN.0, Some(ADMIN.1))
    }

    pub async fn ok(&self, method: reqwest::Method, path: &str, body: &Value) -> Value {
        let res = self.admin(method.clone(), path).json(body).send().await.expect("request");
        let status = res.status();
        let v: Value = res.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{method} {path} {body}: {status} {v}");
        v["data"].clone()
    }

    pub async fn put_settings(&self, body: Value) {
        self.ok(reqwest::Method::PUT, "/api/settings", &body).await;
    }

    /// An API user allowed to post bounces; returns the Authorization header value.
    pub async fn webhook_token(&self, name: &str) -> String {
        let d = self
            .ok(
                reqwest::Method::POST,
                "/api/users",
                &json!({"username": name, "type": "api", "permissions": ["webhooks:post_bounce"]}),
            )
            .await;
        format!("token {name}:{}", d["token"].as_str().expect("token"))
    }

    /// Creates `n` subscribers sub{i}@ops.test; returns nothing (they are found by e-mail).
    pub async fn subscribers(&self, n: usize) {
        futures_lite_join(
            (0..n)
                .map(|i| {
                    let body = json!({"email": sub(i), "name": format!("sub {i}")});
                    async move { self.ok(reqwest::Method::POST, "/api/subscribers", &body).await }
                })
                .collect(),
            16,
        )
        .await;
    }
}

pub fn sub(i: usize) -> String {
    format!("sub{i}@ops.test")
}

/// Runs the futures with at most `width` at a time.
async fn futures_lite_join<F: std::future::Future>(futs: Vec<F>, width: usize) {
    use futures::StreamExt;
    futures::stream::iter(futs).buffer_unordered(width).collect::<Vec<_>>().await;
}

/// One bounce as the load sends it; the event id is also kept in meta, so
/// the bounces table alone shows which events it holds.
pub fn event(eid: &str, email: &str, kind: &str) -> Value {
    json!({"email": email, "source": "ops", "type": kind, "event_id": eid, "meta": {"eid": eid}})
}

/// What one POST got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// 200, with the rebound-outcome header.
    Ok(String),
    /// Any other status.
    Status(u16),
    /// No HTTP answer (connection refused or cut).
    Silent,
}

/// Postmark's webhook credentials the crash test configures.
pub const POSTMARK: (&str, &str) = ("hooks", "postmark-hook-pass");

/// The same kind of bounce as Postmark sends it: its `ID` is the event id;
/// the whole record is kept as meta, `eid` included.
pub fn postmark_event(eid: &str, email: &str) -> Value {
    json!({"RecordType": "Bounce", "ID": eid, "Type": "SoftBounce", "TypeCode": 4096, "eid": eid,
           "MessageID": format!("m-{eid}"), "Email": email, "BouncedAt": "2026-11-27T10:00:00Z",
           "Details": "smtp;452 4.2.2 mailbox full"})
}

/// POST /webhooks/bounce with `token`, or /webhooks/service/postmark for a
/// Postmark record (a body with a RecordType).
pub async fn post(client: &reqwest::Client, base: &str, token: &str, body: &Value) -> Answer {
    let req = if body.get("RecordType").is_some() {
        client.post(format!("{base}/webhooks/service/postmark")).basic_auth(POSTMARK.0, Some(POSTMARK.1))
    } else {
        client.post(format!("{base}/webhooks/bounce")).header("Authorization", token)
    };
    let res = req.json(body).send().await;
    match res {
        Ok(r) if r.status() == 200 => {
            let outcome =
                r.headers().get("rebound-outcome").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
            // The answer counts only once its body has arrived whole.
            match r.bytes().await {
                Ok(_) => Answer::Ok(outcome),
                Err(_) => Answer::Silent,
            }
        }
        Ok(r) => Answer::Status(r.status().as_u16()),
        Err(_) => Answer::Silent,
    }
}

/// Sustained load: `clients` tasks, each posting its own sequence of events
/// (`make(client, i)` gives the body, `bases(client, i)` the server) until
/// `stop` is set. Returns every (event, answer) in the order sent.
pub async fn load(
    bases: Arc<dyn Fn(usize, usize) -> String + Send + Sync>,
    token: Arc<dyn Fn(usize) -> String + Send + Sync>,
    clients: usize,
    make: Arc<dyn Fn(usize, usize) -> Option<Value> + Send + Sync>,
    stop: Arc<AtomicBool>,
) -> Vec<(Value, Answer)> {
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (bases, token, make, stop) = (bases.clone(), token.clone(), make.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build().unwrap();
            let mut out = Vec::new();
            let mut i = 0;
            while !stop.load(Ordering::Relaxed) {
                let Some(body) = make(c, i) else { break };
                let answer = post(&client, &bases(c, i), &token(c), &body).await;
                // A client that got no answer (the server is gone) stops, as
                // a provider backs off: only requests that could be served count as sent.
                let gone = answer == Answer::Silent;
                out.push((body, answer));
                if gone {
                    break;
                }
                i += 1;
            }
            out
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("load task"));
    }
    all
}

/// (event id, rows) for every bounce row of source "ops", read straight from the database.
pub async fn rows_by_eid(database: &str) -> std::collections::HashMap<String, i64> {
    use sqlx::Row;
    let sql_pg = "SELECT meta->>'eid' AS eid, COUNT(*) AS n FROM bounces WHERE source IN ('ops', 'postmark') GROUP BY 1";
    let sql_lite = "SELECT json_extract(meta, '$.eid') AS eid, COUNT(*) AS n FROM bounces WHERE source IN ('ops', 'postmark') GROUP BY 1";
    let rows: Vec<(String, i64)> = if database.starts_with("postgres") {
        let pool = sqlx::PgPool::connect(database).await.unwrap();
        let r = sqlx::query(sql_pg).fetch_all(&pool).await.unwrap();
        r.iter().map(|r| (r.get::<String, _>("eid"), r.get::<i64, _>("n"))).collect()
    } else {
        let pool = sqlx::SqlitePool::connect(database).await.unwrap();
        let r = sqlx::query(sql_lite).fetch_all(&pool).await.unwrap();
        r.iter().map(|r| (r.get::<String, _>("eid"), r.get::<i64, _>("n"))).collect()
    };
    rows.into_iter().collect()
}
