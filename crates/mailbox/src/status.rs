//! The mailbox status the API shows: every configured mailbox, with what
//! the database knows of its last scan (written by whichever rebound process
//! scanned it) and what this process's scanner is doing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rebound_core::Settings;
use rebound_core::settings::{AfterProcessing, MailboxKind};
use rebound_store::{MailboxStore, Result};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::scan::{MailboxConfig, ScanCounts};
use crate::supervisor::{LiveState, LiveStatus};

#[derive(Debug, Clone, Serialize)]
pub struct MailboxStatus {
    pub uuid: Uuid,
    /// "user at host:port (POP3)"
    pub label: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub host: String,
    pub port: u16,
    pub username: String,
    /// IMAP only.
    pub folder: Option<String>,
    /// IMAP only: "delete", or "move:<folder>".
    pub after_processing: Option<String>,
    pub return_path: String,
    pub enabled: bool,
    /// enabled and bounce.enabled: a scanner should be running.
    pub active: bool,
    /// e.g. "15m"
    pub scan_interval: String,

    /// Last scan (any process): when it started and ended, whether it
    /// succeeded, its counts.
    pub last_scan_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_ok: Option<bool>,
    pub last_counts: Value,
    /// The most recent error, kept after later successes (see last_error_at).
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
    /// Which process holds the mailbox (several instances on PostgreSQL).
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,

    /// This process's scanner, when it runs one for the mailbox.
    pub state: Option<LiveState>,
    pub next_scan_at: Option<DateTime<Utc>>,
    pub consecutive_failures: u32,
    /// Counts added up over this process's scans since it started.
    pub totals: ScanCounts,
}

/// Every configured mailbox with its state.
pub async fn overview(
    settings: &Settings,
    store: &dyn MailboxStore,
    live: &HashMap<Uuid, LiveStatus>,
) -> Result<Vec<MailboxStatus>> {
    let stored: HashMap<String, _> =
        store.mailbox_states().await?.into_iter().map(|s| (s.mailbox_uuid.clone(), s)).collect();
    Ok(settings
        .mailboxes
        .iter()
        .map(|m| {
            let cfg = MailboxConfig::new(m);
            let db = stored.get(&cfg.uuid.to_string());
            let here = live.get(&cfg.uuid);
            let imap = m.kind == MailboxKind::Imap;
            MailboxStatus {
                uuid: cfg.uuid,
                label: cfg.label(),
                kind: if imap { "imap" } else { "pop" },
                host: m.host.clone(),
                port: m.port,
                username: m.username.clone(),
                folder: imap.then(|| m.folder.clone()),
                after_processing: imap.then(|| match m.after_processing {
                    AfterProcessing::Delete => "delete".to_string(),
                    AfterProcessing::Move => format!("move:{}", m.move_to),
                }),
                return_path: m.return_path.clone(),
                enabled: m.enabled,
                active: m.enabled && settings.bounce_enabled,
                scan_interval: humantime::format_duration(m.scan_interval).to_string(),
                last_scan_at: db.and_then(|d| d.last_scan_at),
                last_finished_at: db.and_then(|d| d.last_finished_at),
                last_ok: db.and_then(|d| d.last_ok),
                last_counts: db.map(|d| d.last_counts.clone()).unwrap_or(Value::Null),
                last_error: db.and_then(|d| d.last_error.clone()),
                last_error_at: db.and_then(|d| d.last_error_at),
                lease_owner: db.and_then(|d| d.lease_owner.clone()),
                lease_until: db.and_then(|d| d.lease_until),
                state: here.map(|h| h.state),
                next_scan_at: here.and_then(|h| h.next_scan_at),
                consecutive_failures: here.map(|h| h.consecutive_failures).unwrap_or(0),
                totals: here.map(|h| h.totals).unwrap_or_default(),
            }
        })
        .collect())
}
