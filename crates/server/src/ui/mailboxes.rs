//! Mailbox status (every configured bounce mailbox with its last scan, counts
//! and last error, as GET /api/bounces/mailboxes reports them), "scan now",
//! and "test connection" for Settings -> Bounces.

use std::time::Duration;

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rebound_core::settings::{MailboxAuth, MailboxKind, MailboxSettings};
use rebound_mailbox::pop3::Pop3;
use rebound_mailbox::{LiveState, MailboxConfig, ScanNowError, Timeouts};
use serde_json::Value;
use uuid::Uuid;

use super::form::redirect_done;
use super::page::{Chrome, html, iso, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::state::AppState;

pub struct MailboxRow {
    pub uuid: String,
    pub label: String,
    pub kind: String,
    pub enabled: bool,
    pub active: bool,
    pub interval: String,
    pub state: String,
    pub last_scan: String,
    pub last_scan_iso: String,
    pub ok: Option<bool>,
    pub counts: Vec<(String, String)>,
    pub last_error: String,
    pub last_error_at: String,
    pub next_scan: String,
}

#[derive(Template)]
#[template(path = "mailboxes.html")]
struct MailboxesPage {
    chrome: Chrome,
    rows: Vec<MailboxRow>,
    bounce_enabled: bool,
    settings_href: String,
    can_manage: bool,
}

/// GET /admin/mailboxes
pub async fn status(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    ui.principal.require(perm::BOUNCES_GET)?;
    let settings = state.settings.get();
    let overview =
        rebound_mailbox::overview(&settings, state.store.as_ref(), &state.mailboxes.live()).await?;
    let rows = overview
        .into_iter()
        .map(|m| MailboxRow {
            uuid: m.uuid.to_string(),
            label: m.label,
            kind: m.kind.to_uppercase(),
            enabled: m.enabled,
            active: m.active,
            interval: m.scan_interval,
            state: match m.state {
                Some(LiveState::Waiting) => "waiting",
                Some(LiveState::Scanning) => "scanning",
                Some(LiveState::Idle) => "idle (IMAP IDLE)",
                Some(LiveState::Backoff) => "retrying after an error",
                None => "",
            }
            .to_string(),
            last_scan: m.last_scan_at.map(when).unwrap_or_default(),
            last_scan_iso: m.last_scan_at.map(iso).unwrap_or_default(),
            ok: m.last_ok,
            counts: match &m.last_counts {
                Value::Object(c) => c
                    .iter()
                    .filter(|(_, v)| v.as_u64() != Some(0))
                    .map(|(k, v)| (k.replace('_', " "), v.to_string()))
                    .collect(),
                _ => Vec::new(),
            },
            last_error: m.last_error.unwrap_or_default(),
            last_error_at: m.last_error_at.map(when).unwrap_or_default(),
            next_scan: m.next_scan_at.map(when).unwrap_or_default(),
        })
        .collect();
    html(&MailboxesPage {
        chrome: ui.chrome("Mailboxes", "mailboxes", Some(&q)),
        rows,
        bounce_enabled: settings.bounce_enabled,
        settings_href: format!("{BASE}/settings/bounces#mailboxes"),
        can_manage: ui.principal.can(perm::BOUNCES_MANAGE),
    })
}

/// POST /admin/mailboxes/{uuid}/scan: queues a scan (the API's "scan now"
/// with ?wait=false) and comes back to the status page.
pub async fn scan_now(
    State(state): State<AppState>,
    Path(uuid): Path<String>,
    f: UiForm,
) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let uuid = Uuid::parse_str(&uuid)
        .map_err(|_| ApiError::bad_request(format!("invalid mailbox uuid {uuid:?}")))?;
    let to = format!("{BASE}/mailboxes");
    let code = match state.mailboxes.scan_now(uuid).await {
        Ok(_report) => "scan-queued",
        Err(ScanNowError::NotFound(_)) => return Err(UiError::NotFound("There is no such mailbox.".into())),
        Err(ScanNowError::BounceDisabled) => "scan-bounce-off",
        Err(ScanNowError::MailboxDisabled(_)) => "scan-disabled",
        Err(ScanNowError::NotRunning(_)) => "scan-not-running",
        Err(ScanNowError::Busy(_)) => "scan-busy",
    };
    tracing::info!(mailbox = ?uuid, by = ?f.ui.principal.username, "mailbox scan requested in the UI");
    Ok(redirect_done(&to, code, &[]))
}

/// How long a connection test may take in all.
const TEST_TIMEOUT: Duration = Duration::from_secs(30);

/// Connects to a saved mailbox and logs in, fetching and deleting nothing.
/// Returns what an operator should read: how many messages wait, or why it failed.
pub async fn test_connection(m: &MailboxSettings) -> Result<String, String> {
    let cfg = MailboxConfig::new(m);
    let timeouts = Timeouts {
        connect: Duration::from_secs(10),
        login: Duration::from_secs(15),
        read: Duration::from_secs(15),
    };
    let credentials =
        (m.auth_protocol == MailboxAuth::Userpass).then(|| (m.username.as_str(), m.password.expose()));
    let attempt = async {
        let waiting = match m.kind {
            MailboxKind::Pop => {
                let mut pop =
                    Pop3::connect(&m.host, m.port, cfg.security(), m.tls_skip_verify, timeouts, 1 << 20)
                        .await?;
                if let Some((user, password)) = credentials {
                    pop.login(user, password).await?;
                }
                let n = pop.list().await?.len();
                pop.quit().await?;
                n
            }
            MailboxKind::Imap => {
                let mut imap = rebound_mailbox::imap::Imap::connect(
                    &m.host,
                    m.port,
                    cfg.security(),
                    m.tls_skip_verify,
                    timeouts,
                    credentials,
                    &m.folder,
                    1 << 20,
                )
                .await?;
                let n = imap.list().await?.len();
                imap.logout().await?;
                n
            }
        };
        Ok::<usize, rebound_mailbox::MailboxError>(waiting)
    };
    match tokio::time::timeout(TEST_TIMEOUT, attempt).await {
        Ok(Ok(n)) => Ok(format!(
            "Connected to {} and logged in: {} waiting. Nothing was fetched or deleted.",
            cfg.label(),
            super::page::count(n as i64, "message", "messages")
        )),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer from {} within {} s", cfg.label(), TEST_TIMEOUT.as_secs())),
    }
}
