//! Receiving domains: which domains bounce, how, and why (the parser's
//! reasons, most first), over a chosen window. One glance tells a list
//! problem (userunknown everywhere) from a reputation or authentication
//! problem at one provider (outlook.com: blocked, badreputation).

use askama::Template;
use axum::extract::State;
use axum::response::Response;

use super::UiError;
use super::bounces::reason_words;
use super::page::{Chrome, html, link};
use super::session::Ui;
use crate::extract::QueryPairs;
use crate::service::deliverability;
use crate::state::AppState;

pub struct ReasonChip {
    pub words: String,
    pub count: i64,
    pub href: String,
}

pub struct DomainRow {
    pub domain: String,
    pub hard: i64,
    pub soft: i64,
    pub complaint: i64,
    pub total: i64,
    pub reasons: Vec<ReasonChip>,
}

pub struct Window {
    pub days: i64,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "domains.html")]
struct DomainsPage {
    chrome: Chrome,
    rows: Vec<DomainRow>,
    windows: Vec<Window>,
    days: i64,
}

/// Reasons shown per domain at most (the rest are in the API).
const REASONS_SHOWN: usize = 4;

/// GET /admin/domains[?days=30]
pub async fn list(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    let days = q.get("days").and_then(|d| d.parse::<i64>().ok()).unwrap_or(30);
    let domains = deliverability::domains(&state, &ui.principal, days).await?;
    let rows = domains
        .iter()
        .map(|d| DomainRow {
            domain: d.domain.clone(),
            hard: d.counts.hard,
            soft: d.counts.soft,
            complaint: d.counts.complaint,
            total: d.total(),
            reasons: d
                .reasons
                .iter()
                .take(REASONS_SHOWN)
                .map(|r| ReasonChip {
                    words: reason_words(&r.reason),
                    count: r.count,
                    href: link("/bounces", &[("reason", r.reason.clone())]),
                })
                .collect(),
        })
        .collect();
    let windows = [7, 30, 90]
        .into_iter()
        .map(|n| Window { days: n, href: link("/domains", &[("days", n.to_string())]), current: n == days })
        .collect();
    html(&DomainsPage { chrome: ui.chrome("Receiving domains", "domains", Some(&q)), rows, windows, days })
}
