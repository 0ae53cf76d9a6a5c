//! What GET /metrics (handlers/metrics.rs) reports, in Prometheus text
//! format. The intake tells [`Metrics`] about each commit through
//! [`rebound_intake::CommitObserver`].
//!
//! One [`Metrics`] per [`crate::App`] (its own `prometheus::Registry`, not
//! the crate's global one), so several servers in one process — the tests —
//! never mix their numbers. The `prometheus` crate is used without its
//! protobuf feature: text exposition only.
//!
//! The route requires `Authorization: Bearer <token>` with the token from
//! `[metrics] token` (or REBOUND_METRICS_TOKEN), which Prometheus sends with
//! `authorization: {credentials: ...}` in its scrape config; with no token
//! configured it is refused (403), never open. Mailboxes are labelled with
//! their uuid (as in the settings and the status API), never their login or
//! host.
//!
//! Mailbox scans are read at scrape time from the scanners' live status
//! (their cumulative counts, number of scans, last duration), so the mailbox
//! crate needs no hook into this registry.

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};
use rebound_core::BounceEvent;
use rebound_intake::CommitObserver;
use rebound_store::RecordOutcome;
use subtle::ConstantTimeEq;

use crate::error::ApiError;

/// Distinct `source` label values kept; later new sources count as "other",
/// so a client inventing sources cannot grow the registry without bound.
const MAX_SOURCES: usize = 100;

pub struct Metrics {
    registry: Registry,
    bounces: IntCounterVec,
    actions: IntCounterVec,
    rejections: IntCounterVec,
    auth_checks: IntCounterVec,
    batch_size: Histogram,
    commit_seconds: HistogramVec,
    deliveries: IntCounterVec,
    sources: Mutex<HashSet<String>>,
    /// Bearer token /metrics requires, when set.
    token: Option<String>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").field("token", &self.token.as_ref().map(|_| "[redacted]")).finish()
    }
}

fn counter(registry: &Registry, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric");
    registry.register(Box::new(c.clone())).expect("unique metric");
    c
}

impl Metrics {
    pub fn new(token: Option<String>) -> Metrics {
        let registry = Registry::new();
        let bounces = counter(
            &registry,
            "rebound_bounces_total",
            "Bounce events by outcome (recorded, duplicate, unmatched, blocklisted), source and type.",
            &["outcome", "source", "type"],
        );
        let actions = counter(
            &registry,
            "rebound_actions_total",
            "Threshold actions applied (unsubscribe, blocklist, delete) by bounce type.",
            &["type", "action"],
        );
        let rejections = counter(
            &registry,
            "rebound_webhook_rejections_total",
            "Webhook requests refused, by provider (\"bounce\" for POST /webhooks/bounce) and reason.",
            &["provider", "reason"],
        );
        let auth_checks = counter(
            &registry,
            "rebound_auth_checks_total",
            "Credential checks by result: cached (no hashing), verified and invalid (argon2 ran), \
             rate_limited (refused without hashing).",
            &["result"],
        );
        let batch_size = Histogram::with_opts(
            HistogramOpts::new("rebound_ingest_batch_size", "Bounce events per group-commit transaction.")
                .buckets(vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0]),
        )
        .expect("valid metric");
        registry.register(Box::new(batch_size.clone())).expect("unique metric");
        let commit_seconds = HistogramVec::new(
            HistogramOpts::new(
                "rebound_ingest_commit_seconds",
                "Time to record and commit one group-commit transaction, by result (ok, error).",
            )
            .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["result"],
        )
        .expect("valid metric");
        registry.register(Box::new(commit_seconds.clone())).expect("unique metric");
        let deliveries = counter(
            &registry,
            "rebound_webhook_deliveries_total",
            "Outgoing event webhook attempts by result: delivered, retry (will be tried again), \
             failed (given up or refused), and paused (endpoints paused).",
            &["result"],
        );
        Metrics {
            deliveries,
            registry,
            bounces,
            actions,
            rejections,
            auth_checks,
            batch_size,
            commit_seconds,
            sources: Mutex::new(HashSet::new()),
            token: token.filter(|t| !t.is_empty()),
        }
    }

    /// A webhook refused: `provider` is "bounce" for the generic webhook.
    pub fn rejected(&self, provider: &str, reason: &str) {
        self.rejections.with_label_values(&[provider, reason]).inc();
    }

    /// One outgoing webhook attempt's result (delivery.rs).
    pub fn delivery(&self, result: &str) {
        self.deliveries.with_label_values(&[result]).inc();
    }

    /// One credential check (auth.rs).
    pub fn auth_check(&self, result: &str) {
        self.auth_checks.with_label_values(&[result]).inc();
    }

    fn source_label(&self, source: &str) -> String {
        let Ok(mut seen) = self.sources.lock() else { return "other".into() };
        if seen.contains(source) {
            return source.to_string();
        }
        if seen.len() < MAX_SOURCES {
            seen.insert(source.to_string());
            return source.to_string();
        }
        "other".into()
    }

    /// The registry plus the mailbox scanners' state, in text format.
    pub fn render(&self, mailboxes: &rebound_mailbox::Scanners) -> String {
        let mut families = self.registry.gather();
        families.extend(mailbox_families(mailboxes));
        let mut out = Vec::new();
        if let Err(e) = TextEncoder::new().encode(&families, &mut out) {
            tracing::warn!(error = e.to_string(), "could not encode the metrics");
        }
        String::from_utf8(out).unwrap_or_default()
    }

    /// The answer to a scrape without the right token, if it lacks it.
    pub fn refusal(&self, headers: &HeaderMap) -> Option<Response> {
        let Some(token) = &self.token else {
            return Some(
                ApiError::Forbidden(
                    "/metrics is off until a bearer token is configured: set [metrics] token \
                 (or REBOUND_METRICS_TOKEN)"
                        .into(),
                )
                .into_response(),
            );
        };
        let given = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if bool::from(given.as_bytes().ct_eq(token.as_bytes())) {
            return None;
        }
        let mut res =
            ApiError::Unauthorized("a bearer token is required for /metrics".into()).into_response();
        res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
        Some(res)
    }
}

impl CommitObserver for Metrics {
    /// One group commit: its size, how long it took, and what became of each event.
    fn committed(&self, events: &[BounceEvent], outcomes: &[RecordOutcome], took: Duration) {
        self.batch_size.observe(events.len() as f64);
        self.commit_seconds.with_label_values(&["ok"]).observe(took.as_secs_f64());
        for (e, o) in events.iter().zip(outcomes) {
            let source = self.source_label(&e.source);
            let kind = e.bounce_type.as_str();
            self.bounces.with_label_values(&[o.as_str(), &source, kind]).inc();
            if let RecordOutcome::Recorded { action: Some(a), .. } = o
                && *a != rebound_core::Action::None
            {
                self.actions.with_label_values(&[kind, a.as_str()]).inc();
            }
        }
    }

    fn commit_failed(&self, took: Duration) {
        self.commit_seconds.with_label_values(&["error"]).observe(took.as_secs_f64());
    }
}

/// Built fresh at each scrape from the scanners' live status.
fn mailbox_families(scanners: &rebound_mailbox::Scanners) -> Vec<prometheus::proto::MetricFamily> {
    let registry = Registry::new();
    // Counters rebuilt at each scrape from the scanners' running totals.
    let scans = IntCounterVec::new(
        Opts::new("rebound_mailbox_scans_total", "Scans this process ran, by mailbox."),
        &["mailbox"],
    )
    .expect("valid metric");
    let messages = IntCounterVec::new(
        Opts::new(
            "rebound_mailbox_messages_total",
            "Mailbox messages and events by outcome, added up over this process's scans.",
        ),
        &["mailbox", "outcome"],
    )
    .expect("valid metric");
    let last_ok = IntGaugeVec::new(
        Opts::new("rebound_mailbox_last_scan_success", "1 when the mailbox's last scan succeeded, else 0."),
        &["mailbox"],
    )
    .expect("valid metric");
    let failures = IntGaugeVec::new(
        Opts::new("rebound_mailbox_consecutive_failures", "Failed scans in a row, by mailbox."),
        &["mailbox"],
    )
    .expect("valid metric");
    let duration = prometheus::GaugeVec::new(
        Opts::new("rebound_mailbox_last_scan_duration_seconds", "How long the mailbox's last scan took."),
        &["mailbox"],
    )
    .expect("valid metric");
    let _ = registry.register(Box::new(scans.clone()));
    let _ = registry.register(Box::new(messages.clone()));
    let _ = registry.register(Box::new(last_ok.clone()));
    let _ = registry.register(Box::new(failures.clone()));
    let _ = registry.register(Box::new(duration.clone()));
    for (uuid, status) in scanners.live() {
        let Some(report) = &status.last_report else { continue };
        let label = uuid.to_string();
        let label = label.as_str();
        scans.with_label_values(&[label]).inc_by(status.scans);
        failures.with_label_values(&[label]).set(i64::from(status.consecutive_failures));
        last_ok.with_label_values(&[label]).set(i64::from(!report.failed()));
        duration.with_label_values(&[label]).set(report.elapsed().as_secs_f64());
        let t = &status.totals;
        for (outcome, n) in [
            ("seen", t.seen),
            ("recorded", t.recorded),
            ("duplicates", t.duplicates),
            ("unmatched", t.unmatched),
            ("blocklisted", t.blocklisted),
            ("not_bounces", t.not_bounces),
            ("removed", t.removed),
            ("left", t.left),
            ("too_large", t.too_large),
            ("deferred", t.deferred),
            ("errors", t.errors),
        ] {
            messages.with_label_values(&[label, outcome]).inc_by(n);
        }
    }
    registry.gather()
}
