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
//! Events (docs/events.md): in the same run, ingest again with one webhook
//! endpoint subscribed to every event type (a local receiver in this
//! process), so every bounce also writes its outbox row and the worker
//! delivers while ingest goes on; then, with ingest stopped, how fast the
//! backlog is delivered (events/s).
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
    // REBOUND_BENCH_CONFIG: a rebound.toml to try other ingest settings;
    // by default one that lets events be delivered to the local receiver.
    let cfg = std::env::var("REBOUND_BENCH_CONFIG").unwrap_or_else(|_| {
        let path = std::env::temp_dir().join(format!("rebound-bench-{}.toml", std::process::id()));
        std::fs::write(&path, "[webhooks]\nallow_private = [\"127.0.0.1/32\"]\n").unwrap();
        path.display().to_string()
    });
    cmd.args(["--config", &cfg]);
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

/// A minimal HTTP/1.1 receiver on 127.0.0.1 that answers 200 to every
/// request and counts them; returns its URL.
async fn receiver(count: Arc<std::sync::atomic::AtomicUsize>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut stream, _)) = listener.accept().await else { continue };
            let count = count.clone();
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(8192);
                let mut chunk = [0u8; 8192];
                loop {
                    // One request: the head, then content-length bytes.
                    let head_end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
                    let len: usize = head
                        .lines()
                        .find_map(|l| l.strip_prefix("content-length:"))
                        .and_then(|v| v.trim().parse().ok())
                        .unwrap_or(0);
                    while buf.len() < head_end + len {
                        match stream.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    buf.drain(..head_end + len);
                    count.fetch_add(1, Ordering::Relaxed);
                    if stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

async fn pending_deliveries(server: &Server) -> i64 {
    let res = reqwest::Client::new()
        .get(format!("{}/api/webhooks/deliveries?status=pending&per_page=1", server.base))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .send()
        .await
        .unwrap();
    let v: serde_json::Value = res.json().await.unwrap();
    v["data"]["total"].as_i64().unwrap_or(0)
}

/// Ingest beside the same without events, then how fast the backlog drains.
async fn events_phase(label: &str, server: &Server, token: &str, clients: usize, secs: u64, without: &Run) {
    let count = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let url = receiver(count.clone()).await;
    let res = reqwest::Client::new()
        .post(format!("{}/api/webhooks/endpoints", server.base))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"url": url, "event_types": ["*"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "register the endpoint");
    let endpoint: serde_json::Value = res.json().await.unwrap();
    let id = endpoint["data"]["id"].as_i64().unwrap();
    let with = drive(&server.base, Some(token), clients, secs).await;
    let delivered_during = count.load(Ordering::Relaxed);
    let backlog = pending_deliveries(server).await;
    let t0 = Instant::now();
    let at_start = count.load(Ordering::Relaxed);
    while pending_deliveries(server).await > 0 && t0.elapsed() < Duration::from_secs(120) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let drained = count.load(Ordering::Relaxed) - at_start;
    let drain_rate = drained as f64 / t0.elapsed().as_secs_f64();
    // The same ingest again with the endpoint disabled (no outbox rows), so
    // both sides of the comparison run on an equally warm server.
    let res = reqwest::Client::new()
        .put(format!("{}/api/webhooks/endpoints/{id}", server.base))
        .basic_auth(ADMIN.0, Some(ADMIN.1))
        .json(&json!({"enabled": false}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200, "disable the endpoint");
    let again = drive(&server.base, Some(token), clients, secs).await;
    println!(
        "{label:<11} with one endpoint (every event): {:>8.0}/s  p50 {:>6.2} ms  p99 {:>6.2} ms  errors {} | {:.0}% of ingest without events before ({:.0}/s), {:.0}% of it after ({:.0}/s)",
        with.rate(),
        with.pct(0.50),
        with.pct(0.99),
        with.errors,
        100.0 * with.rate() / without.rate(),
        without.rate(),
        100.0 * with.rate() / again.rate(),
        again.rate()
    );
    println!(
        "            delivered during ingest: {delivered_during} ({:.0}/s); backlog after: {backlog}, delivered at {drain_rate:.0} events/s once ingest stopped",
        delivered_during as f64 / with.elapsed.as_secs_f64()
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
            events_phase("sqlite", &server, &token, clients, secs, &bounces).await;
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
                events_phase("postgres", &server, &token, clients, secs, &bounces).await;
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
