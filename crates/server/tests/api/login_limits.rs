//! Failed authentications are limited per username and per client address,
//! with a doubling wait, and over the limit nothing is hashed; a token that
//! was verified before keeps working during a flood.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use rebound_server::ServerConfig;
use rebound_server::login_limit::LoginLimits;
use rebound_testkit::{Backend, METRICS_TOKEN, TestServer};

fn config(failures_per_ip: u32, failures_per_user: u32) -> ServerConfig {
    ServerConfig {
        login: LoginLimits { failures_per_ip, failures_per_user },
        ..rebound_testkit::test_config()
    }
}

/// A client whose connections come from `ip` (any 127.x.y.z is loopback).
fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder().local_address(ip.parse::<IpAddr>().unwrap()).build().unwrap()
}

async fn try_login(c: &reqwest::Client, s: &TestServer, user: &str, secret: &str) -> reqwest::Response {
    c.get(s.url("/api/bounces")).basic_auth(user, Some(secret)).send().await.unwrap()
}

/// (cached, verified, invalid, rate_limited) from /metrics.
async fn checks(s: &TestServer) -> [u64; 4] {
    let text = s
        .client
        .get(s.url("/metrics"))
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    ["cached", "verified", "invalid", "rate_limited"].map(|r| {
        let prefix = format!("rebound_auth_checks_total{{result=\"{r}\"}} ");
        text.lines().find_map(|l| l.strip_prefix(&prefix)).map_or(0, |v| v.parse().unwrap())
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_per_username_back_off_without_hashing() {
    let s = TestServer::start_with(Backend::Sqlite, config(0, 3)).await;
    let c = reqwest::Client::new();
    for i in 0..3 {
        assert_eq!(try_login(&c, &s, "admin", &format!("wrong-{i}")).await.status(), 401);
    }
    // Wrong or right, the username now waits: 429 with Retry-After, unhashed.
    let before = checks(&s).await;
    for secret in ["wrong-again", s.admin_password.as_str()] {
        let res = try_login(&c, &s, "admin", secret).await;
        assert_eq!(res.status(), 429, "{secret}");
        assert_eq!(res.headers()["retry-after"], "1");
        let body: serde_json::Value = res.json().await.unwrap();
        assert!(body["message"].as_str().unwrap().contains("too many failed logins"), "{body}");
    }
    let after = checks(&s).await;
    assert_eq!(
        after[1] + after[2],
        before[1] + before[2],
        "a refused attempt ran argon2: {before:?} -> {after:?}"
    );
    assert_eq!(after[3], before[3] + 2);
    // Another username is not affected.
    assert_eq!(try_login(&c, &s, "someone", "x").await.status(), 401);
    // After the wait, one attempt; a failure doubles the wait.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(try_login(&c, &s, "admin", "wrong-3").await.status(), 401);
    let res = try_login(&c, &s, "admin", &s.admin_password).await;
    assert_eq!((res.status().as_u16(), res.headers()["retry-after"].to_str().unwrap()), (429, "2"));
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // The right password then clears the count.
    assert_eq!(try_login(&c, &s, "admin", &s.admin_password).await.status(), 200);
    for i in 0..3 {
        assert_eq!(try_login(&c, &s, "admin", &format!("again-{i}")).await.status(), 401);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failures_per_address_back_off_and_other_addresses_pass() {
    let s = TestServer::start_with(Backend::Sqlite, config(4, 0)).await;
    let attacker = client_from("127.0.0.2");
    for i in 0..4 {
        assert_eq!(try_login(&attacker, &s, &format!("guess{i}"), "x").await.status(), 401);
    }
    assert_eq!(try_login(&attacker, &s, "guess-next", "x").await.status(), 429);
    assert_eq!(try_login(&attacker, &s, "admin", &s.admin_password).await.status(), 429);
    // Another address logs in.
    let other = client_from("127.0.0.3");
    assert_eq!(try_login(&other, &s, "admin", &s.admin_password).await.status(), 200);
}

/// 200 simultaneous wrong guesses get the free verifications, not 200; a
/// token verified before the flood answers at once throughout, and is
/// forgotten when its user is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_token_passes_a_flood_of_wrong_passwords() {
    let s = TestServer::start(Backend::Sqlite).await;
    let token = s.api_user("script", &["bounces:get"]).await;
    let c = reqwest::Client::new();
    assert_eq!(try_login(&c, &s, "script", &token).await.status(), 200);
    let before = checks(&s).await;
    let wrong: Vec<String> = (0..200).map(|i| format!("wrong-{i}")).collect();
    let flood: Vec<_> = wrong.iter().map(|w| try_login(&c, &s, "script", w)).collect();
    let started = Instant::now();
    let (answers, known) =
        tokio::join!(futures::future::join_all(flood), try_login(&c, &s, "script", &token));
    assert_eq!(known.status(), 200);
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");
    let after = checks(&s).await;
    let hashed = (after[1] + after[2]) - (before[1] + before[2]);
    let defaults = LoginLimits::default();
    // The free failures, and at most a few probes if the flood outlasts a wait.
    assert!(hashed <= u64::from(defaults.failures_per_user) + 3, "{hashed} of 200 wrong guesses were hashed");
    println!("flood of 200: {hashed} hashed, answered in {:?}", started.elapsed());
    assert_eq!(try_login(&c, &s, "script", &token).await.status(), 200, "still cached after the flood");
    let users = s.get_json("/api/users").await;
    let id = users["data"].as_array().unwrap().iter().find(|u| u["username"] == "script").unwrap()["id"]
        .as_i64()
        .unwrap();
    let (status, _) =
        s.send_json(reqwest::Method::DELETE, &format!("/api/users/{id}"), &serde_json::json!(null)).await;
    assert_eq!(status, 200);
    assert_ne!(
        try_login(&c, &s, "script", &token).await.status(),
        200,
        "a deleted user's token stays cached"
    );
}

/// Many requests at once with a token nobody has used yet: they wait for
/// the first verification and find it cached; none is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_with_a_new_token_is_not_refused() {
    let s = TestServer::start(Backend::Sqlite).await;
    let token = s.api_user("burst", &["bounces:get"]).await;
    let c = reqwest::Client::new();
    let burst: Vec<_> = (0..100).map(|_| try_login(&c, &s, "burst", &token)).collect();
    let statuses: Vec<u16> =
        futures::future::join_all(burst).await.iter().map(|r| r.status().as_u16()).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let [_, verified, invalid, _] = checks(&s).await;
    assert!(verified <= 10 && invalid == 0, "verified {verified}, invalid {invalid}");
}

/// Measurement, not a test of behaviour (`cargo test -p rebound-server
/// --test api login_latency -- --ignored --nocapture`): 200 connections
/// from another address send wrong passwords as fast as they are answered;
/// meanwhile ten users log in for the first time (nothing cached). Prints
/// each login's latency, with the limits off (as before they existed) and
/// with the defaults.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn login_latency_under_a_flood() {
    for (name, limits) in [("limits off", config(0, 0)), ("default limits", rebound_testkit::test_config())] {
        println!("{name}:");
        flood_and_log_in(TestServer::start_with(Backend::Sqlite, limits).await).await;
    }
}

async fn flood_and_log_in(s: TestServer) {
    let mut tokens = Vec::new();
    for i in 0..10 {
        tokens.push((format!("user{i}"), s.api_user(&format!("user{i}"), &["bounces:get"]).await));
    }
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut attackers = Vec::new();
    for i in 0..200 {
        let (url, stop) = (s.url("/api/bounces"), stop.clone());
        attackers.push(tokio::spawn(async move {
            let c = client_from("127.0.0.2");
            let mut n = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let _ = c
                    .get(&url)
                    .basic_auth(format!("victim{}", i % 20), Some(format!("guess-{n}")))
                    .send()
                    .await;
                n += 1;
            }
            n
        }));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let legit = client_from("127.0.0.1");
    let mut took = Vec::new();
    for (user, token) in &tokens {
        let started = Instant::now();
        let status = try_login(&legit, &s, user, token).await.status();
        took.push(started.elapsed());
        assert_eq!(status, 200);
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sent = 0;
    for a in attackers {
        sent += a.await.unwrap();
    }
    took.sort();
    println!(
        "first logins under 200 attacking connections ({sent} attacking requests): median {:?}, max {:?}, all {took:?}",
        took[took.len() / 2],
        took[took.len() - 1]
    );
}
