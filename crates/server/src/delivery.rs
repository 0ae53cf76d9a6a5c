//! The delivery worker of outgoing event webhooks (docs/events.md): it
//! drains the outbox the recording transactions write, so delivery never
//! slows ingest. Each endpoint has at most [`DeliveryConfig::per_endpoint`]
//! requests in flight; rows are claimed with a lease (and `FOR UPDATE SKIP
//! LOCKED` on PostgreSQL), so several instances never send the same
//! delivery at once, and one that dies mid-request leaves it to be sent
//! again once the lease runs out (at least once, with the same id).
//!
//! Requests are signed with the Standard Webhooks scheme, never follow
//! redirects, use no proxy, and by default never connect to loopback,
//! private, link-local or otherwise internal addresses: the DNS answers are
//! filtered ([`GuardedResolver`]) and IP-literal hosts are checked before
//! connecting, unless an address is in [`DeliveryConfig::allow_private`].

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chrono::{DateTime, Utc};
use ipnet::IpNet;
use rand::Rng;
use rebound_store::{AttemptOutcome, Claimed, EndpointEffect, Store};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tokio::sync::{Notify, Semaphore};

use crate::metrics::Metrics;

/// Delivery tuning (`[webhooks]` in the configuration file).
#[derive(Debug, Clone)]
pub struct DeliveryConfig {
    /// Whether this instance delivers at all.
    pub enabled: bool,
    /// How often the outbox is looked at when nothing wakes the worker.
    pub poll: Duration,
    /// One request's time limit (connect to last byte of the answer).
    pub timeout: Duration,
    /// Attempts of one delivery before it is marked failed.
    pub max_attempts: u32,
    /// The wait before the second attempt; doubled for each further one
    /// (±25 % jitter), up to `backoff_max`.
    pub backoff_base: Duration,
    pub backoff_max: Duration,
    /// Requests in flight per endpoint.
    pub per_endpoint: usize,
    /// Consecutive failed attempts after which an endpoint is paused (0: never).
    pub pause_after: u32,
    /// How long a claimed delivery stays reserved for this instance; one
    /// claimed by an instance that died is sent again after this (at least
    /// 3 × `timeout`).
    pub lease: Duration,
    /// Internal addresses that may be delivered to anyway (e.g. 127.0.0.1/32).
    pub allow_private: Vec<IpNet>,
    /// Delivered rows are deleted this long after delivery (failed ones stay).
    pub retention: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            enabled: true,
            poll: Duration::from_secs(1),
            timeout: Duration::from_secs(10),
            max_attempts: 10,
            backoff_base: Duration::from_secs(5),
            backoff_max: Duration::from_secs(3600),
            per_endpoint: 4,
            pause_after: 50,
            lease: Duration::from_secs(60),
            allow_private: Vec::new(),
            retention: Duration::from_secs(7 * 24 * 3600),
        }
    }
}

/// Whether `ip` may be connected to: a public address, or one the allow-list admits.
pub fn allowed(ip: IpAddr, allow: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    allow.iter().any(|net| net.contains(&ip)) || is_public(ip)
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                // 100.64.0.0/10 (carrier-grade NAT), 198.18.0.0/15 (benchmarking), 240.0.0.0/4.
                || (a == 100 && (64..128).contains(&b))
                || (a == 198 && (b == 18 || b == 19))
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (first & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (first & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (first & 0xffc0) == 0xfec0) // site-local (deprecated)
        }
    }
}

/// Resolves names with the system resolver and keeps only the addresses
/// [`allowed`] admits: a name that resolves to internal addresses alone
/// cannot be connected to.
struct GuardedResolver {
    allow: Arc<Vec<IpNet>>,
}

/// The error of a refused target, recognised to fail without retrying.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.allow.clone();
        Box::pin(async move {
            let host = name.as_str().to_string();
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found.iter().copied().filter(|a| allowed(a.ip(), &allow)).collect();
            if kept.is_empty() {
                let err: Box<dyn std::error::Error + Send + Sync> = Box::new(Refused(format!(
                    "refused: {host} resolves only to internal addresses ({}); allow them with \
                     [webhooks] allow_private",
                    found.iter().map(|a| a.ip().to_string()).collect::<Vec<_>>().join(", ")
                )));
                return Err(err);
            }
            Ok(Box::new(kept.into_iter()) as Addrs)
        })
    }
}

/// The HTTP client deliveries use.
pub fn client(config: &DeliveryConfig) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .timeout(config.timeout)
        .connect_timeout(config.timeout)
        .dns_resolver(Arc::new(GuardedResolver { allow: Arc::new(config.allow_private.clone()) }))
        .user_agent(concat!("rebound/", env!("CARGO_PKG_VERSION"), " (webhooks)"))
        .build()
}

/// The key a `whsec_` secret stands for.
pub fn secret_key(secret: &str) -> Option<Vec<u8>> {
    B64.decode(secret.strip_prefix("whsec_")?).ok().filter(|k| !k.is_empty())
}

/// `v1,<base64 HMAC-SHA256 of "id.timestamp.body">` (Standard Webhooks).
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    let tag = ring::hmac::sign(&key, format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", B64.encode(tag.as_ref()))
}

/// A new secret: `whsec_` and the base64 of 32 random bytes.
pub fn new_secret() -> String {
    let key: [u8; 32] = rand::rng().random();
    format!("whsec_{}", B64.encode(key))
}

/// The wait after `attempts` failed attempts: exponential, with jitter.
pub fn backoff(config: &DeliveryConfig, attempts: u32) -> Duration {
    let exp = config.backoff_base.saturating_mul(1u32 << attempts.saturating_sub(1).min(20));
    let capped = exp.min(config.backoff_max);
    capped.mul_f64(rand::rng().random_range(0.75..1.25)).min(config.backoff_max)
}

/// A Retry-After header's wait: seconds, or an HTTP date.
fn retry_after(res: &reqwest::Response) -> Option<Duration> {
    let v = res.headers().get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&Utc);
    (at - Utc::now()).to_std().ok()
}

/// How one attempt went, before the attempt count is applied.
enum Attempt {
    Delivered(u16),
    /// Retryable: a timeout, a connection failure, 5xx or 429.
    Again {
        code: Option<u16>,
        error: String,
        at_least: Option<Duration>,
    },
    /// Not retried: another 4xx, a redirect, a refused target.
    Refused {
        code: Option<u16>,
        error: String,
        pause: Option<String>,
    },
}

async fn attempt(client: &reqwest::Client, allow: &[IpNet], url: &str, secret: &str, c: &Claimed) -> Attempt {
    let Some(key) = secret_key(secret) else {
        return Attempt::Refused {
            code: None,
            error: "the endpoint's secret is not whsec_<base64>".into(),
            pause: None,
        };
    };
    let parsed = match reqwest::Url::parse(url) {
        Ok(u) => u,
        Err(e) => return Attempt::Refused { code: None, error: format!("invalid URL: {e}"), pause: None },
    };
    // An IP-literal host is never resolved: check it here.
    let literal = parsed
        .host_str()
        .and_then(|h| h.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>().ok());
    if let Some(ip) = literal.filter(|ip| !allowed(*ip, allow)) {
        return Attempt::Refused {
            code: None,
            error: format!("refused: {ip} is an internal address; allow it with [webhooks] allow_private"),
            pause: None,
        };
    }
    let ts = Utc::now().timestamp();
    let res = client
        .post(parsed)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("webhook-id", &c.event_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature(&key, &c.event_id, ts, &c.payload))
        .body(c.payload.clone())
        .send()
        .await;
    match res {
        Ok(res) => {
            let code = res.status().as_u16();
            if res.status().is_success() {
                return Attempt::Delivered(code);
            }
            let wait = retry_after(&res);
            let text: String = res.text().await.unwrap_or_default().chars().take(200).collect();
            let error =
                format!("HTTP {code}{}", if text.is_empty() { String::new() } else { format!(": {text}") });
            match code {
                429 | 500..=599 => Attempt::Again { code: Some(code), error, at_least: wait },
                410 => Attempt::Refused {
                    code: Some(code),
                    error,
                    pause: Some("the endpoint answered 410 Gone".into()),
                },
                300..=399 => Attempt::Refused {
                    code: Some(code),
                    error: format!("{error} (redirects are not followed)"),
                    pause: None,
                },
                _ => Attempt::Refused { code: Some(code), error, pause: None },
            }
        }
        Err(e) => {
            let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            while let Some(s) = source {
                if let Some(r) = s.downcast_ref::<Refused>() {
                    return Attempt::Refused { code: None, error: r.0.clone(), pause: None };
                }
                source = s.source();
            }
            let kind = if e.is_timeout() { "timed out" } else { "could not connect" };
            let mut detail = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                detail = format!("{detail}: {s}");
                source = s.source();
            }
            Attempt::Again { code: None, error: format!("{kind}: {detail}"), at_least: None }
        }
    }
}

/// The running worker. Dropping the handle does not stop it; [`Worker::stop`] does.
pub struct Worker {
    task: tokio::task::JoinHandle<()>,
    wake: Arc<Notify>,
}

impl Worker {
    /// Wakes the worker (an endpoint was changed, a delivery requeued).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// Stops claiming; requests in flight are dropped (their leases run
    /// out and they are sent again, with the same id).
    pub fn stop(&self) {
        self.task.abort();
    }
}

/// A handle the state keeps to wake the worker (none when delivery is off).
#[derive(Clone, Default)]
pub struct Waker(Option<Arc<Notify>>);

impl Waker {
    pub fn wake(&self) {
        if let Some(n) = &self.0 {
            n.notify_one();
        }
    }
}

impl Worker {
    pub fn waker(&self) -> Waker {
        Waker(Some(self.wake.clone()))
    }
}

/// Starts the worker.
pub fn start(
    store: Arc<dyn Store>,
    mut config: DeliveryConfig,
    metrics: Arc<Metrics>,
) -> anyhow::Result<Worker> {
    // A lease must outlive the request it covers, or another worker sends it too.
    config.lease = config.lease.max(config.timeout.saturating_mul(3));
    let client = client(&config)?;
    let wake = Arc::new(Notify::new());
    let owner = format!("{}-{}", std::process::id(), uuid::Uuid::new_v4().simple());
    let ctx = Arc::new(Ctx { store, config, metrics, client, owner, wake: wake.clone() });
    let task = tokio::spawn(run(ctx));
    Ok(Worker { task, wake })
}

struct Ctx {
    store: Arc<dyn Store>,
    config: DeliveryConfig,
    metrics: Arc<Metrics>,
    client: reqwest::Client,
    owner: String,
    wake: Arc<Notify>,
}

async fn run(ctx: Arc<Ctx>) {
    let mut slots: HashMap<i64, Arc<Semaphore>> = HashMap::new();
    let mut pruned_at: Option<std::time::Instant> = None;
    loop {
        if pruned_at.is_none_or(|t| t.elapsed() > Duration::from_secs(3600)) {
            pruned_at = Some(std::time::Instant::now());
            let before = Utc::now() - chrono::Duration::from_std(ctx.config.retention).unwrap_or_default();
            match ctx.store.prune_deliveries(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "old webhook deliveries pruned"),
                Err(e) => tracing::warn!(error = e.to_string(), "could not prune webhook deliveries"),
            }
        }
        let mut claimed_any = false;
        match ctx.store.deliverable_endpoints().await {
            Ok(endpoints) => {
                slots.retain(|id, _| endpoints.iter().any(|(e, ..)| e == id));
                for (id, url, secret) in endpoints {
                    let sem =
                        slots.entry(id).or_insert_with(|| Arc::new(Semaphore::new(ctx.config.per_endpoint)));
                    let free = sem.available_permits();
                    if free == 0 {
                        continue;
                    }
                    let now = Utc::now();
                    let lease_until = now + chrono::Duration::from_std(ctx.config.lease).unwrap_or_default();
                    let claimed =
                        match ctx.store.claim_deliveries(id, &ctx.owner, now, lease_until, free as u32).await
                        {
                            Ok(c) => c,
                            Err(e) => {
                                tracing::warn!(error = e.to_string(), "could not claim webhook deliveries");
                                continue;
                            }
                        };
                    claimed_any |= claimed.len() == free;
                    let (url, secret) = (Arc::new(url), Arc::new(secret));
                    for c in claimed {
                        let Ok(permit) = sem.clone().try_acquire_owned() else { break };
                        let (ctx, url, secret) = (ctx.clone(), url.clone(), secret.clone());
                        tokio::spawn(async move {
                            deliver(&ctx, &url, &secret, c).await;
                            drop(permit);
                            ctx.wake.notify_one();
                        });
                    }
                }
            }
            Err(e) => tracing::warn!(error = e.to_string(), "could not read the webhook endpoints"),
        }
        if claimed_any {
            // More may be due: look again as soon as a slot frees.
            tokio::task::yield_now().await;
        }
        tokio::select! {
            _ = tokio::time::sleep(ctx.config.poll) => {}
            _ = ctx.wake.notified() => {}
        }
    }
}

async fn deliver(ctx: &Ctx, url: &str, secret: &str, c: Claimed) {
    let attempts = u32::try_from(c.attempts).unwrap_or(u32::MAX).saturating_add(1);
    let now = Utc::now();
    let (outcome, effect, result) = match attempt(&ctx.client, &ctx.config.allow_private, url, secret, &c)
        .await
    {
        Attempt::Delivered(code) => {
            (AttemptOutcome::Delivered { status_code: code }, EndpointEffect::default(), "delivered")
        }
        Attempt::Again { code, error, .. } if attempts >= ctx.config.max_attempts => (
            AttemptOutcome::Failed {
                status_code: code,
                error: format!("gave up after {attempts} attempts; last: {error}"),
            },
            EndpointEffect::default(),
            "failed",
        ),
        Attempt::Again { code, error, at_least } => {
            let wait = backoff(&ctx.config, attempts).max(at_least.unwrap_or_default());
            let next = now + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::hours(1));
            (
                AttemptOutcome::Retry { status_code: code, error, next_attempt_at: next },
                EndpointEffect::default(),
                "retry",
            )
        }
        Attempt::Refused { code, error, pause } => {
            (AttemptOutcome::Failed { status_code: code, error }, EndpointEffect { pause }, "failed")
        }
    };
    ctx.metrics.delivery(result);
    match ctx
        .store
        .finish_delivery(c.id, &ctx.owner, &outcome, &effect, ctx.config.pause_after, Utc::now())
        .await
    {
        Ok(true) => {
            ctx.metrics.delivery("paused");
            tracing::warn!(endpoint = c.endpoint_id, "webhook endpoint paused");
        }
        Ok(false) => {}
        Err(e) => {
            tracing::warn!(error = e.to_string(), delivery = c.id, "could not record a webhook attempt")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let none: Vec<IpNet> = Vec::new();
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "100.64.0.1",
        ] {
            assert!(!allowed(ip.parse().unwrap(), &none), "{ip} allowed");
        }
        for ip in ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946", "8.8.8.8"] {
            assert!(allowed(ip.parse().unwrap(), &none), "{ip} refused");
        }
        let local: Vec<IpNet> = vec!["127.0.0.1/32".parse().unwrap()];
        assert!(allowed("127.0.0.1".parse().unwrap(), &local));
        assert!(!allowed("127.0.0.2".parse().unwrap(), &local));
    }

    #[test]
    fn signs_like_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification.
        let key = secret_key("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = r#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let c = DeliveryConfig {
            backoff_base: Duration::from_secs(10),
            backoff_max: Duration::from_secs(100),
            ..Default::default()
        };
        let first = backoff(&c, 1);
        assert!((Duration::from_millis(7500)..=Duration::from_millis(12500)).contains(&first), "{first:?}");
        let third = backoff(&c, 3);
        assert!((Duration::from_secs(30)..=Duration::from_secs(50)).contains(&third), "{third:?}");
        assert!(backoff(&c, 30) <= Duration::from_secs(100));
    }
}
