//! The dashboard: bounces per day (chart), counts by source, the campaigns
//! with the most bounces, and unmatched bounces waiting.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, Utc};

use super::chart::{self, Chart};
use super::page::{Chrome, html, link};
use super::session::Ui;
use super::{BASE, UiError};
use crate::auth::perm;
use crate::service::dashboard;
use crate::state::AppState;

pub struct Count {
    pub label: String,
    pub href: String,
    pub count: i64,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    chrome: Chrome,
    stats: Option<Stats>,
    bounce_enabled: bool,
    webhooks_enabled: bool,
    mailboxes: usize,
    /// Of them, failing at their last scan.
    mailboxes_failing: usize,
}

struct Stats {
    chart: Chart,
    sources: Vec<Count>,
    campaigns: Vec<Count>,
    unmatched: i64,
    unmatched_href: String,
}

/// GET /admin/
pub async fn show(State(state): State<AppState>, ui: Ui) -> Result<Response, UiError> {
    // People without bounces:get still get a page, with what they may see.
    let stats = if ui.principal.can(perm::BOUNCES_GET) {
        let now = Utc::now();
        let since = now - Duration::days(chart::DAYS - 1);
        let stats = dashboard::bounce_stats(&state, &ui.principal, since).await?;
        Some(Stats {
            chart: chart::build(&stats.days, now.date_naive()),
            sources: stats
                .sources
                .into_iter()
                .map(|s| Count {
                    href: link("/bounces", &[("source", s.source.clone())]),
                    label: super::page::source_name(&s.source),
                    count: s.count,
                })
                .collect(),
            campaigns: stats
                .campaigns
                .into_iter()
                .map(|c| Count {
                    href: link("/bounces", &[("campaign_id", c.id.to_string())]),
                    label: c.name,
                    count: c.count,
                })
                .collect(),
            unmatched: stats.unmatched,
            unmatched_href: format!("{BASE}/bounces/unmatched"),
        })
    } else {
        None
    };
    let settings = state.settings.get();
    let page = DashboardPage {
        chrome: ui.chrome("Dashboard", "dashboard", None),
        stats,
        bounce_enabled: settings.bounce_enabled,
        webhooks_enabled: settings.webhooks_enabled,
        mailboxes: settings.mailboxes.iter().filter(|m| m.enabled).count(),
        mailboxes_failing: ui.failing.len(),
    };
    html(&page)
}
