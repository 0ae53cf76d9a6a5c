//! The suppression list (docs/events.md "Suppressions"): search, add by
//! hand, reactivate. The operations are crate::service::suppressions.

use askama::Template;
use axum::extract::State;
use axum::response::Response;
use rebound_store::{PerPage, SuppressionQuery};

use super::form::{ask_first, back, redirect_done};
use super::page::{Chrome, Pager, html, iso, link, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::extract::QueryPairs;
use crate::service::suppressions;
use crate::state::AppState;

pub struct Row {
    pub email: String,
    pub kind: String,
    pub action: String,
    pub reason: String,
    pub source: String,
    pub first_seen: String,
    pub last_seen: String,
    pub last_seen_iso: String,
    pub count: i64,
    pub subscriber_href: String,
}

#[derive(Template)]
#[template(path = "suppressions.html")]
struct Page {
    chrome: Chrome,
    rows: Vec<Row>,
    search: String,
    here: String,
    pager: Pager,
    can_manage: bool,
}

/// GET /admin/suppressions?search=&page=
pub async fn list(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    ui.principal.require(perm::BOUNCES_GET)?;
    let search = q.get("search").unwrap_or("").trim().to_string();
    let mut pagination = q.pagination()?;
    if pagination.per_page == PerPage::All {
        pagination.per_page = PerPage::Count(50);
    }
    let query = SuppressionQuery { since: None, search: Some(search.clone()), pagination };
    let page = suppressions::list(&state, &ui.principal, &query).await?;
    let per_page = match pagination.per_page {
        PerPage::Count(n) => n,
        PerPage::All => 50,
    };
    let at = |n: u32| {
        link(
            "/suppressions",
            &[("search", search.clone()), ("page", if n > 1 { n.to_string() } else { String::new() })],
        )
    };
    let rows = page
        .results
        .into_iter()
        .map(|s| Row {
            subscriber_href: s.subscriber_id.map(|id| format!("{BASE}/subscribers/{id}")).unwrap_or_default(),
            email: s.email,
            kind: s.kind,
            action: s.action,
            reason: s.reason,
            source: s.source,
            first_seen: when(s.first_seen),
            last_seen: when(s.last_seen),
            last_seen_iso: iso(s.last_seen),
            count: s.count,
        })
        .collect();
    let pager = Pager::new(page.page, per_page, page.total, at);
    html(&Page {
        chrome: ui.chrome("Suppressions", "suppressions", Some(&q)),
        rows,
        here: at(pager.page),
        search,
        pager,
        can_manage: ui.principal.can(perm::BOUNCES_MANAGE),
    })
}

/// POST /admin/suppressions/reactivate (email): asks first.
pub async fn reactivate(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let to = back(&f, "/suppressions");
    let email = f.form.get("email").unwrap_or("").to_string();
    let message = format!(
        "Reactivate {email}? Its subscriber is enabled again and its bounces start counting from zero."
    );
    if let Some(ask) =
        ask_first(&f, "suppressions", &format!("{BASE}/suppressions/reactivate"), message, "Reactivate")
    {
        return ask;
    }
    suppressions::reactivate(&state, &f.ui.principal, &email).await?;
    Ok(redirect_done(&to, "reactivated", &[]))
}

/// POST /admin/suppressions/add (email, reason)
pub async fn add(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let to = back(&f, "/suppressions");
    let email = f.form.get("email").unwrap_or("");
    suppressions::add(&state, &f.ui.principal, email, f.form.get("reason").unwrap_or("")).await?;
    Ok(redirect_done(&to, "suppressed", &[]))
}
