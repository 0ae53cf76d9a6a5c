//! Ingest benchmark (not a timed test): `cargo bench -p rebound --bench ingest`.
//!
//! Starts the real `rebound serve` binary as a separate process, once on
//! SQLite and once on PostgreSQL, and drives POST /webhooks/bounce over
//! loopback with 64 concurrent keep-alive clients. In the same run it drives
//! the server's /health route (a database ping) as the ceiling of what the
//! HTTP stack can answer. Every accepted bounce is durable: the server answers
//! only after its group commit. Then, on the same PostgreSQL, it records
//! bounces the way listmonk does (one statement, so one transaction and one
//! commit, per bounce, from a single connection) and prints the ratio.
//! Last, companion mode: `rebound serve --listmonk` in a database made by
//! listmonk's own schema.sql (filter: `companion`).
//!
//! Environment: REBOUND_BENCH_SECONDS (default 10 per phase),
//! REBOUND_BENCH_CLIENTS (default 64), REBOUND_TEST_POSTGRES_URL (admin URL
//! where a throwaway database is created and dropped).

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::json;

const ADMIN: (&str, &str) = ("admin", "bench-admin-password");
const SUBSCRIBERS: usize = 10_000;

struct Run {
    requests: usize,
    errors: usize,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Run {
    fn rate(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    fn peak_rss_mib(&self) -> Option<f64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb / 1024.0)
    }
}

/// `database_flag` is `--database` (rebound's own) or `--listmonk` (companion mode).
async fn start_server(database_flag: &str, database: &str) -> Server {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rebound"));
    cmd.args(["serve", "--listen", &format!("127.0.0.1:{port}"), database_flag, database]);
    // REBOUND_BENCH_CONFIG: a rebound.toml to try other ingest settings.
    if let Ok(cfg) = std::env::var("REBOUND_BENCH_CONFIG") {
        cmd.args(["--config", &cfg]);
    }
    let child = cmd
        .env("REBOUND_ADMIN_USER", ADMIN.0)
        .env("REBOUND_ADMIN_PASSWORD", ADMIN.1)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .expect("start rebound serve");
    let server = Server { child, base: format!("http://127.0.0.1:{port}") };
    let client = reqwest::Client::new();
    for _ in 0..200 {
        if client.get(format!("{}/health", server.base)).send().await.is_ok_and(|r| r.status() == 200) {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rebound serve did not become healthy");
}

/// Settings for the run, subscribers inserted in bulk, an API token.
async fn prepare(server: &Server, database: &str) -> String {
    let client = reqwest::Client::new();
    let put = client
        .put(format!("{}/api/settings", server.base))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"bounce.enabled": true, "bounce.webhooks_enabled": true,
            // Every bounce is inserted: nobody crosses a threshold during the run.
            "bounce.actions": {"soft": {"count": 1_000_000_000u32, "action": "none"},
                               "hard": {"count": 1, "action": "blocklist"},
                               "complaint": {"count": 1, "action": "blocklist"}}}))
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 200, "settings");
    let user = client
        .post(format!("{}/api/users", server.base))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"username": "bench", "type": "api", "permissions": ["webhooks:post_bounce"]}))
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = user.json().await.unwrap();
    let token = body["data"]["token"].as_str().expect("token").to_string();

    let emails: Vec<String> = (0..SUBSCRIBERS).map(|i| format!("sub{i}@bench.example")).collect();
    rebound_testkit::insert_subscribers(database, &emails).await;
    token
}

/// `clients` tasks, each with its own keep-alive HTTP/1.1 connection, for
/// `secs`. A bare hyper client, so the load generator takes as little of
/// the machine's two cores as it can.
async fn drive(base: &str, token: Option<&str>, clients: usize, secs: u64) -> Run {
    use http_body_util::{BodyExt, Full};
    use hyper::body::Bytes;

    let addr = base.trim_start_matches("http://").to_string();
    let auth = token.map(|t| format!("token bench:{t}"));
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let (stop, addr, auth) = (stop.clone(), addr.clone(), auth.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            let (mut n, mut errors, mut lat) = (0usize, 0usize, Vec::with_capacity(1 << 16));
            let mut i = c;
            while !stop.load(Ordering::Relaxed) {
                let t0 = Instant::now();
                let req = match &auth {
                    Some(auth) => {
                        let body = format!(
                            r#"{{"email":"sub{}@bench.example","source":"bench","type":"soft","event_id":"{c}-{i}","meta":{{"n":{i}}}}}"#,
                            (i * 7919) % SUBSCRIBERS
                        );
                        hyper::Request::post("/webhooks/bounce")
                            .header("host", &addr)
                            .header("authorization", auth)
                            .header("content-type", "application/json")
                            .body(Full::new(Bytes::from(body)))
                    }
                    None => hyper::Request::get("/health").header("host", &addr).body(Full::new(Bytes::new())),
                }
                .unwrap();
                match sender.send_request(req).await {
                    Ok(res) => {
                        let ok = res.status() == 200;
                        let _ = res.into_body().collect().await;
                        if ok {
                            n += 1;
                            lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                        } else {
                            errors += 1;
                        }
                    }
                    Err(_) => {
                        errors += 1;
                        break;
                    }
                }
                i += clients;
            }
            (n, errors, lat)
        }));
    }
    tokio::time::sleep(Duration::from_secs(secs)).await;
    stop.store(true, Ordering::Relaxed);
    let mut run = Run { requests: 0, errors: 0, elapsed: Duration::ZERO, latencies_us: Vec::new() };
    for t in tasks {
        let (n, e, lat) = t.await.unwrap();
        run.requests += n;
        run.errors += e;
        run.latencies_us.extend(lat);
    }
    run.elapsed = started.elapsed();
    run.latencies_us.sort_unstable();
    run
}

/// listmonk's way: one statement per bounce in autocommit mode (so one
/// transaction and one WAL flush each) from a single connection. The
/// statement does what listmonk's record-bounce does: find the subscriber,
/// count its bounces of the type, insert, apply the action.
async fn one_per_transaction(database: &str, secs: u64) -> Run {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(database).await.unwrap();
    let sql = "WITH sub AS (SELECT id, status FROM subscribers WHERE email = $1),
        num AS (SELECT COUNT(*) + 1 AS n FROM bounces WHERE subscriber_id = (SELECT id FROM sub) AND type = 'soft'),
        blk AS (UPDATE subscribers SET status = 'blocklisted'
                WHERE $3 = 'blocklist' AND (SELECT n FROM num) >= $2 AND id = (SELECT id FROM sub))
        INSERT INTO bounces (subscriber_id, type, source, meta)
        SELECT (SELECT id FROM sub), 'soft', 'bench-single', $4
        WHERE (SELECT status FROM sub) <> 'blocklisted'";
    let started = Instant::now();
    let mut lat = Vec::new();
    let mut i = 0usize;
    while started.elapsed() < Duration::from_secs(secs) {
        let t0 = Instant::now();
        sqlx::query(sql)
            .bind(format!("sub{}@bench.example", (i * 7919) % SUBSCRIBERS))
            .bind(1_000_000_000i64)
            .bind("none")
            .bind(sqlx::types::Json(json!({"n": i})))
            .execute(&mut conn)
            .await
            .unwrap();
        lat.push(t0.elapsed().as_micros() as u32);
        i += 1;
    }
    lat.sort_unstable();
    Run { requests: i, errors: 0, elapsed: started.elapsed(), latencies_us: lat }
}

fn report(label: &str, bounces: &Run, ceiling: &Run) {
    println!(
        "{label:<11} bounces: {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {}  | ceiling (GET /health): {:>8.0}/s p50 {:.2} ms p99 {:.2} ms | ratio to ceiling {:.2}",
        bounces.rate(),
        bounces.pct(0.50),
        bounces.pct(0.99),
        bounces.errors,
        ceiling.rate(),
        ceiling.pct(0.50),
        ceiling.pct(0.99),
        bounces.rate() / ceiling.rate()
    );
}

fn pg_admin_url() -> String {
    std::env::var("REBOUND_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// Companion mode on the same PostgreSQL: a database made by listmonk
/// v6.2.0's own schema.sql (../shared; the phase is skipped with a note
/// without it), `rebound serve --listmonk`.
async fn companion(clients: usize, secs: u64) {
    use sqlx::Connection;
    let Some(schema) = rebound_testkit::listmonk::file("schema.sql") else { return };
    let admin = pg_admin_url();
    let name = format!("rebound_bench_{}", uuid::Uuid::new_v4().simple());
    let mut conn = sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL for the benchmark");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
    let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
    {
        let mut db = sqlx::PgConnection::connect(&url).await.unwrap();
        sqlx::raw_sql(&std::fs::read_to_string(schema).unwrap())
            .execute(&mut db)
            .await
            .expect("listmonk's schema.sql");
        let server = start_server("--listmonk", &url).await;
        let token = prepare(&server, &url).await;
        drive(&server.base, Some(&token), clients, 1).await;
        let bounces = drive(&server.base, Some(&token), clients, secs).await;
        let ceiling = drive(&server.base, None, clients, secs).await;
        report("companion", &bounces, &ceiling);
        println!("            server peak RSS: {:.1} MiB", server.peak_rss_mib().unwrap_or(0.0));
    }
    sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.unwrap();
}

fn main() {
    // `cargo bench` passes --bench; a filter argument selects backends.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let wants = |name: &str| filter.is_empty() || filter.iter().any(|f| name.contains(f.as_str()));
    let secs: u64 = std::env::var("REBOUND_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let clients: usize =
        std::env::var("REBOUND_BENCH_CLIENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(64);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        println!("rebound ingest benchmark: {clients} keep-alive clients, {secs} s per phase, {SUBSCRIBERS} subscribers");
        if wants("sqlite") {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite://{}", dir.path().join("bench.db").display());
            let server = start_server("--database", &url).await;
            let token = prepare(&server, &url).await;
            drive(&server.base, Some(&token), clients, 1).await; // warm-up
            let bounces = drive(&server.base, Some(&token), clients, secs).await;
            let ceiling = drive(&server.base, None, clients, secs).await;
            report("sqlite", &bounces, &ceiling);
            println!("            server peak RSS: {:.1} MiB", server.peak_rss_mib().unwrap_or(0.0));
        }
        if wants("postgres") {
            use sqlx::Connection;
            let admin = pg_admin_url();
            let name = format!("rebound_bench_{}", uuid::Uuid::new_v4().simple());
            let mut conn = sqlx::PgConnection::connect(&admin).await.expect("PostgreSQL for the benchmark");
            sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut conn).await.unwrap();
            let url = format!("{}/{name}", &admin[..admin.rfind('/').unwrap()]);
            {
                let server = start_server("--database", &url).await;
                let token = prepare(&server, &url).await;
                drive(&server.base, Some(&token), clients, 1).await;
                let bounces = drive(&server.base, Some(&token), clients, secs).await;
                let ceiling = drive(&server.base, None, clients, secs).await;
                report("postgres", &bounces, &ceiling);
                println!("            server peak RSS: {:.1} MiB", server.peak_rss_mib().unwrap_or(0.0));
                drop(server);
                let single = one_per_transaction(&url, secs).await;
                println!(
                    "postgres one bounce per transaction, one connection (listmonk's way): {:>8.0}/s  p50 {:.2} ms  p99 {:.2} ms | group commit is {:.1}x",
                    single.rate(),
                    single.pct(0.5),
                    single.pct(0.99),
                    bounces.rate() / single.rate()
                );
            }
            sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).execute(&mut conn).await.unwrap();
        }
        if wants("companion") {
            companion(clients, secs).await;
        }
    });
}
