//! Provider webhook benchmark (not a timed test):
//! `cargo bench -p rebound-server --bench webhooks [sqlite|postgres] [provider...]`.
//!
//! Verified events per second for each of the twelve providers through the
//! full HTTP path: 64 keep-alive clients POST signed requests to
//! /webhooks/service/{provider} of a real server on loopback, which verifies
//! the signature over the raw body, parses, records the bounce and answers
//! after the group commit. Every request carries a new event id and one
//! bounce of one of 10,000 subscribers, and every answer must say
//! `recorded=1`; the totals are checked at the end. The requests are signed
//! before the clock starts, so the figures are the server's cost (RSA for
//! SES and Postal, ECDSA for SendGrid show here), not the load generator's.
//!
//! The server runs in this process so SES's certificate can come from memory
//! through the `HttpFetch` interface (the production fetcher accepts only
//! AWS hosts); everything from the socket to the database commit is the
//! production code.
//!
//! Environment: REBOUND_BENCH_EVENTS (requests per provider, default 10000),
//! REBOUND_BENCH_CLIENTS (default 64), REBOUND_TEST_POSTGRES_URL.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use rebound_core::Settings;
use rebound_providers::{HttpFetch, Providers};
use rebound_server::ServerConfig;
use rebound_testkit::{Backend, TestServer};
use serde_json::{Value, json};

#[path = "../../providers/benches/support/signed.rs"]
mod signed;
use signed::{SignedRequest, Signer, test_data};

const SUBSCRIBERS: usize = 10_000;

/// Serves the test certificate for SES's SigningCertURL.
struct MemFetch(Bytes);

#[async_trait::async_trait]
impl HttpFetch for MemFetch {
    async fn get(&self, _url: &url::Url) -> Result<Bytes, String> {
        Ok(self.0.clone())
    }
}

struct Run {
    ok: usize,
    errors: usize,
    first_error: Option<String>,
    elapsed: Duration,
    latencies_us: Vec<u32>,
}

impl Run {
    fn pct(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }
}

async fn prepare(s: &TestServer, settings: &Settings) {
    let mut body: serde_json::Map<String, Value> =
        settings.to_map().into_iter().filter(|(k, _)| k.starts_with("bounce.")).collect();
    body.insert("bounce.enabled".into(), json!(true));
    body.insert("bounce.webhooks_enabled".into(), json!(true));
    // Every event is inserted: nobody reaches a threshold during the run.
    let never = json!({"count": 1_000_000_000u32, "action": "none"});
    body.insert("bounce.actions".into(), json!({"soft": never, "hard": never, "complaint": never}));
    s.put_settings(&Value::Object(body)).await;

    let emails: Vec<String> = (0..SUBSCRIBERS).map(|i| format!("sub{i}@bench.example")).collect();
    rebound_testkit::insert_subscribers(&s.db.url, &emails).await;
}

/// `clients` keep-alive connections share the requests until none is left.
async fn drive(base: &str, requests: Arc<Vec<SignedRequest>>, clients: usize) -> Run {
    use http_body_util::{BodyExt, Full};

    let addr = base.trim_start_matches("http://").to_string();
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (addr, next, requests) = (addr.clone(), next.clone(), requests.clone());
        tasks.push(tokio::spawn(async move {
            let stream = tokio::net::TcpStream::connect(&addr).await.expect("connect");
            stream.set_nodelay(true).unwrap();
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.unwrap();
            tokio::spawn(conn);
            let (mut ok, mut errors, mut first_error, mut lat) = (0, 0, None, Vec::new());
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(r) = requests.get(i) else { break };
                let uri = match &r.query {
                    Some(q) => format!("/webhooks/service/{}?{q}", r.provider),
                    None => format!("/webhooks/service/{}", r.provider),
                };
                let mut req = hyper::Request::post(uri)
                    .header("host", &addr)
                    .header("content-type", "application/json")
                    .body(Full::new(Bytes::copy_from_slice(&r.body)))
                    .unwrap();
                req.headers_mut().extend(r.headers.clone());
                let t0 = Instant::now();
                let res = sender.send_request(req).await.expect("send");
                let status = res.status();
                let outcome = res
                    .headers()
                    .get("rebound-outcome")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("")
                    .to_string();
                let body = res.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
                if status == 200 && outcome == "recorded=1" {
                    ok += 1;
                    lat.push(t0.elapsed().as_micros().min(u32::MAX as u128) as u32);
                } else {
                    errors += 1;
                    first_error.get_or_insert_with(|| {
                        format!("{status} {outcome} {}", String::from_utf8_lossy(&body))
                    });
                }
            }
            (ok, errors, first_error, lat)
        }));
    }
    let mut run =
        Run { ok: 0, errors: 0, first_error: None, elapsed: Duration::ZERO, latencies_us: Vec::new() };
    for t in tasks {
        let (ok, errors, first_error, lat) = t.await.unwrap();
        run.ok += ok;
        run.errors += errors;
        if run.first_error.is_none() {
            run.first_error = first_error;
        }
        run.latencies_us.extend(lat);
    }
    run.elapsed = started.elapsed();
    run.latencies_us.sort_unstable();
    run
}

fn main() {
    // `cargo bench` passes --bench; other arguments select backends and providers.
    let filter: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    let all = Providers::names();
    let backends: Vec<Backend> = [("sqlite", Backend::Sqlite), ("postgres", Backend::Postgres)]
        .into_iter()
        .filter(|(n, _)| filter.iter().all(|f| all.contains(&f.as_str())) || filter.iter().any(|f| f == n))
        .map(|(_, b)| b)
        .collect();
    let providers: Vec<&'static str> = if filter.iter().any(|f| all.contains(&f.as_str())) {
        all.iter().copied().filter(|p| filter.iter().any(|f| f == p)).collect()
    } else {
        all.to_vec()
    };
    let events: usize =
        std::env::var("REBOUND_BENCH_EVENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let clients: usize =
        std::env::var("REBOUND_BENCH_CLIENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(64);

    let mut settings = Settings::default();
    let signer = Signer::new(&mut settings);
    let now = chrono::Utc::now();
    let signing = Instant::now();
    // Request numbers are unique across providers so every event id is new.
    let requests: Vec<Arc<Vec<SignedRequest>>> = providers
        .iter()
        .enumerate()
        .map(|(k, p)| {
            Arc::new(
                (0..events)
                    .map(|i| {
                        let n = (k * events + i) as u64;
                        signer.request(p, n, &format!("sub{}@bench.example", (i * 7919) % SUBSCRIBERS), now)
                    })
                    .collect(),
            )
        })
        .collect();
    println!(
        "rebound webhook benchmark: {clients} keep-alive clients, {events} signed requests per provider \
         (one bounce each; signed in {:.1} s before the runs), {SUBSCRIBERS} subscribers",
        signing.elapsed().as_secs_f64()
    );

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        for backend in backends {
            let config = ServerConfig {
                http_fetch: Some(Arc::new(MemFetch(test_data("rsa_a.cert.pem").into()))),
                webhook_concurrency_per_ip: 0,
                ..ServerConfig::default()
            };
            let s = TestServer::start_with(backend, config).await;
            prepare(&s, &settings).await;
            println!("{backend:?}:");
            let mut expected = 0;
            for (p, reqs) in providers.iter().zip(&requests) {
                let run = drive(&s.base, reqs.clone(), clients).await;
                expected += run.ok;
                println!(
                    "  {p:<13} {:>8.0} events/s  p50 {:>6.2} ms  p99 {:>6.2} ms  recorded {:>6}  errors {}{}",
                    run.ok as f64 / run.elapsed.as_secs_f64(),
                    run.pct(0.5),
                    run.pct(0.99),
                    run.ok,
                    run.errors,
                    run.first_error.map(|e| format!(" (first: {e})")).unwrap_or_default()
                );
            }
            let total = s.get_json("/api/bounces?per_page=1").await["data"]["total"].as_u64().unwrap();
            assert_eq!(total as usize, expected, "every recorded=1 answer is one stored bounce");
            println!("  stored bounces: {total}");
        }
    });
}
