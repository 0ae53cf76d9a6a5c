//! What every page shares: the header (navigation by permission, the logout
//! form with its CSRF token), flash messages after a change, pagination, and
//! how times and links are written.

use askama::Template;
use axum::response::{Html, IntoResponse, Response};
use chrono::{DateTime, Utc};

use super::session::Ui;
use super::{BASE, UiError, assets};
use crate::auth::perm;
use crate::extract::QueryPairs;

/// The frame around every page.
pub struct Chrome {
    pub title: String,
    /// Which navigation entry is current ("dashboard", "bounces", ...).
    pub active: &'static str,
    pub username: String,
    pub csrf: String,
    pub can_bounces: bool,
    pub can_subscribers: bool,
    pub can_campaigns: bool,
    pub can_settings: bool,
    pub flash: Option<Flash>,
    pub asset_version: &'static str,
    /// Failing sources, in a banner on every page.
    pub failing: Vec<crate::service::mailboxes::FailingMailbox>,
}

impl Ui {
    pub fn chrome(&self, title: impl Into<String>, active: &'static str, q: Option<&QueryPairs>) -> Chrome {
        let p = &self.principal;
        Chrome {
            title: title.into(),
            active,
            username: p.username.clone(),
            csrf: self.csrf.clone(),
            can_bounces: p.can(perm::BOUNCES_GET),
            can_subscribers: p.can(perm::SUBSCRIBERS_GET),
            can_campaigns: p.can(perm::CAMPAIGNS_GET),
            can_settings: p.can(perm::SETTINGS_GET),
            flash: q.and_then(Flash::from_query),
            asset_version: assets::version(),
            failing: self.failing.clone(),
        }
    }
}

/// A one-line report after a change (post, redirect, get). Built from a code
/// and numbers in the query, never from free text, so a link cannot make the
/// page say anything else.
pub struct Flash {
    /// "ok" or "warn" (a CSS class).
    pub kind: &'static str,
    pub message: String,
}

impl Flash {
    fn from_query(q: &QueryPairs) -> Option<Flash> {
        let n = |k: &str| q.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        let plural =
            |n: u64, one: &str, many: &str| if n == 1 { format!("1 {one}") } else { format!("{n} {many}") };
        let (kind, message) = match q.get("done")? {
            "deleted" => ("ok", format!("Deleted {}.", plural(n("n"), "bounce", "bounces"))),
            "deleted-unmatched" => {
                ("ok", format!("Deleted {}.", plural(n("n"), "unmatched bounce", "unmatched bounces")))
            }
            "blocklisted" => ("ok", format!("Blocklisted {}.", plural(n("n"), "subscriber", "subscribers"))),
            "retried" => (
                "ok",
                format!("Matched {}; {} still unmatched.", plural(n("n"), "bounce", "bounces"), n("left")),
            ),
            "reclassified" => ("ok", "Bounce reclassified; its rule was evaluated again.".to_string()),
            "reclassified-deleted" => {
                ("ok", "Bounce reclassified; its rule deleted the subscriber and its bounces.".to_string())
            }
            "none-selected" => ("warn", "Nothing was selected.".to_string()),
            "saved" => ("ok", "Settings saved. They apply right away.".to_string()),
            "authorized" => (
                "ok",
                "Mailbox authorized: rebound keeps the grant and renews its access tokens itself."
                    .to_string(),
            ),
            "created" => ("ok", "Campaign created.".to_string()),
            "scan-queued" => ("ok", "Scan started. Reload this page to see its result.".to_string()),
            "scan-bounce-off" => ("warn", "Bounce processing is off: nothing is scanned.".to_string()),
            "scan-disabled" => ("warn", "That mailbox is disabled.".to_string()),
            "scan-not-running" => {
                ("warn", "The mailbox's scanner is starting; try again in a moment.".to_string())
            }
            "scan-busy" => ("warn", "A scan of that mailbox is already queued.".to_string()),
            "reactivated" => (
                "ok",
                "Reactivated: the address may be mailed again and its bounces count from zero.".to_string(),
            ),
            "suppressed" => ("ok", "Address suppressed.".to_string()),
            "paused" => ("ok", "Endpoint paused: events queue until it is resumed.".to_string()),
            "resumed" => ("ok", "Endpoint resumed: queued events are being sent.".to_string()),
            "endpoint-deleted" => ("ok", "Endpoint deleted.".to_string()),
            "redelivered" => ("ok", "Delivery queued again.".to_string()),
            _ => return None,
        };
        Some(Flash { kind, message })
    }
}

/// Renders a page template.
pub fn html<T: Template>(t: &T) -> Result<Response, UiError> {
    Ok(Html(t.render()?).into_response())
}

/// "2026-05-03 14:22 UTC"
pub fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// RFC 3339, for `<time datetime>`.
pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A UI path with query parameters (empty values left out).
pub fn link(path: &str, params: &[(&str, String)]) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in params.iter().filter(|(_, v)| !v.is_empty()) {
        q.append_pair(k, v);
    }
    let q = q.finish();
    if q.is_empty() { format!("{BASE}{path}") } else { format!("{BASE}{path}?{q}") }
}

/// Previous / next links and "page X of Y".
pub struct Pager {
    pub page: u32,
    pub pages: u32,
    pub total: i64,
    pub first: Option<String>,
    pub prev: Option<String>,
    pub next: Option<String>,
    pub last: Option<String>,
}

impl Pager {
    /// `at(page)` makes the link to a page.
    pub fn new(page: u32, per_page: u32, total: i64, at: impl Fn(u32) -> String) -> Pager {
        let per_page = i64::from(per_page.max(1));
        let pages = u32::try_from(((total + per_page - 1) / per_page).max(1)).unwrap_or(u32::MAX);
        let page = page.clamp(1, pages);
        Pager {
            page,
            pages,
            total,
            first: (page > 2).then(|| at(1)),
            prev: (page > 1).then(|| at(page - 1)),
            next: (page < pages).then(|| at(page + 1)),
            last: (page + 1 < pages).then(|| at(pages)),
        }
    }
}

/// "1 bounce", "3 bounces"
pub fn count(n: i64, one: &str, many: &str) -> String {
    if n == 1 { format!("1 {one}") } else { format!("{n} {many}") }
}

/// A bounce source as people call it: "Amazon SES" for `ses`, "the API"
/// for `api`; a mailbox's host (listmonk's source for mailbox bounces) and
/// anything else as it is.
pub fn source_name(id: &str) -> String {
    let name = match id {
        "ses" => "Amazon SES",
        "sendgrid" => "SendGrid",
        "postmark" => "Postmark",
        "forwardemail" => "Forward Email",
        "azure" => "Azure Communication Services",
        "lettermint" => "Lettermint",
        "mailgun" => "Mailgun",
        "resend" => "Resend",
        "brevo" => "Brevo",
        "mailjet" => "Mailjet",
        "sparkpost" => "SparkPost",
        "postal" => "Postal",
        "api" => "API",
        "smtp" => "SMTP refusal",
        other => return other.to_string(),
    };
    name.to_string()
}
