//! Mailbox status (every configured bounce mailbox with its last scan, counts
//! and last error, as GET /api/bounces/mailboxes reports them) and "scan now".
//! "Test connection" is on Settings -> Bounces (settings/pages.rs).

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rebound_mailbox::{LiveState, ScanNowError};
use serde_json::Value;

use super::form::redirect_done;
use super::page::{Chrome, html, iso, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::extract::QueryPairs;
use crate::service::{ServiceError, mailboxes};
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
    let overview = mailboxes::overview(&state, &ui.principal).await?;
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
    let uuid = mailboxes::parse_uuid(&uuid)?;
    let to = format!("{BASE}/mailboxes");
    let code = match mailboxes::scan_now(&state, &f.ui.principal, uuid).await {
        Ok(_report) => "scan-queued",
        Err(ServiceError::Scan(e)) => match e {
            ScanNowError::NotFound(_) => return Err(UiError::NotFound("There is no such mailbox.".into())),
            ScanNowError::BounceDisabled => "scan-bounce-off",
            ScanNowError::MailboxDisabled(_) => "scan-disabled",
            ScanNowError::NotRunning(_) => "scan-not-running",
            ScanNowError::Busy(_) => "scan-busy",
        },
        Err(e) => return Err(e.into()),
    };
    Ok(redirect_done(&to, code, &[]))
}
