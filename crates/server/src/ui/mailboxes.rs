//! Mailbox status: every configured bounce mailbox with how its scans go.

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::page::{Chrome, html};
use super::session::Ui;
use super::{BASE, UiError};
use crate::auth::perm;
use crate::state::AppState;

pub struct MailboxRow {
    pub label: String,
    pub kind: String,
    pub enabled: bool,
    pub interval: String,
    pub last_scan: String,
    pub last_scan_iso: String,
    pub ok: Option<bool>,
    pub counts: Vec<(String, String)>,
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "mailboxes.html")]
struct MailboxesPage {
    chrome: Chrome,
    rows: Vec<MailboxRow>,
    bounce_enabled: bool,
    settings_href: String,
    /// False until the scanner's status is stored (see docs/ui.md).
    has_status: bool,
}

/// GET /admin/mailboxes
pub async fn status(State(state): State<AppState>, ui: Ui) -> Result<Response, UiError> {
    ui.principal.require(perm::SETTINGS_GET)?;
    let settings = state.settings.get();
    let rows = settings
        .mailboxes
        .iter()
        .map(|m| MailboxRow {
            label: m.label(),
            kind: serde_json::to_value(m.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_uppercase))
                .unwrap_or_default(),
            enabled: m.enabled,
            interval: humanize(m.scan_interval),
            last_scan: String::new(),
            last_scan_iso: String::new(),
            ok: None,
            counts: Vec::new(),
            last_error: String::new(),
        })
        .collect();
    html(&MailboxesPage {
        chrome: ui.chrome("Mailboxes", "mailboxes", None),
        rows,
        bounce_enabled: settings.bounce_enabled,
        settings_href: format!("{BASE}/settings/bounces#mailboxes"),
        has_status: false,
    })
}

fn humanize(d: std::time::Duration) -> String {
    let s = d.as_secs();
    match s {
        s if s % 3600 == 0 && s >= 3600 => format!("every {} h", s / 3600),
        s if s % 60 == 0 && s >= 60 => format!("every {} min", s / 60),
        s => format!("every {s} s"),
    }
}
