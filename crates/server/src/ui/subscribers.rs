//! Subscribers: search, and one subscriber's page with its status, lists and bounces.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rebound_store::{PerPage, SubscriberQuery};

use super::bounces::Row;
use super::form::{ask_first, redirect_done};
use super::page::{Chrome, Pager, count, html, iso, link, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::extract::QueryPairs;
use crate::service::{bounces, subscribers};
use crate::state::AppState;

pub struct SubscriberRow {
    pub href: String,
    pub email: String,
    pub name: String,
    pub status: String,
    pub lists: String,
    pub created: String,
    pub created_iso: String,
}

#[derive(Template)]
#[template(path = "subscribers.html")]
struct SubscribersPage {
    chrome: Chrome,
    query: String,
    rows: Vec<SubscriberRow>,
    pager: Pager,
}

/// GET /admin/subscribers?query=
pub async fn list(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    ui.principal.require(perm::SUBSCRIBERS_GET)?;
    let p = q.pagination()?;
    let query = q.get("query").unwrap_or("").trim().to_string();
    let search = SubscriberQuery {
        search: (!query.is_empty()).then(|| query.clone()),
        pagination: p,
        ..Default::default()
    };
    let page = subscribers::list(&state, &ui.principal, &search).await?;
    let per_page = match p.per_page {
        PerPage::Count(n) => n,
        PerPage::All => page.total.max(1) as u32,
    };
    let rows = page
        .results
        .iter()
        .map(|s| SubscriberRow {
            href: format!("{BASE}/subscribers/{}", s.id),
            email: s.email.clone(),
            name: s.name.clone(),
            status: s.status.as_str().to_string(),
            lists: s.lists.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", "),
            created: when(s.created_at),
            created_iso: iso(s.created_at),
        })
        .collect();
    let pager = Pager::new(page.page, per_page, page.total, |n| {
        link("/subscribers", &[("query", query.clone()), ("page", n.to_string())])
    });
    html(&SubscribersPage { chrome: ui.chrome("Subscribers", "subscribers", None), query, rows, pager })
}

pub struct ListRow {
    pub name: String,
    pub status: String,
}

#[derive(Template)]
#[template(path = "subscriber.html")]
struct SubscriberPage {
    chrome: Chrome,
    id: i64,
    email: String,
    name: String,
    uuid: String,
    status: String,
    created: String,
    attribs: String,
    lists: Vec<ListRow>,
    /// None without bounces:get.
    bounces: Option<Vec<Row>>,
    can_manage_bounces: bool,
}

/// GET /admin/subscribers/{id}
pub async fn detail(
    State(state): State<AppState>,
    ui: Ui,
    q: QueryPairs,
    Path(id): Path<i64>,
) -> Result<Response, UiError> {
    ui.principal.require(perm::SUBSCRIBERS_GET)?;
    let s = subscribers::get(&state, &ui.principal, id).await?;
    let bounces = if ui.principal.can(perm::BOUNCES_GET) {
        Some(
            bounces::of_subscriber(&state, &ui.principal, id)
                .await?
                .into_iter()
                .map(|b| Row {
                    id: b.id,
                    reason: super::bounces::reason_cells(&b.meta, &[]).0,
                    why: super::bounces::explanation(&b.meta),
                    subscriber_href: None,
                    subscriber_status: b.subscriber_status.as_str().to_string(),
                    campaign: b
                        .campaign
                        .as_ref()
                        .map(|c| (c.name.clone(), link("/bounces", &[("campaign_id", c.id.to_string())]))),
                    source_href: link("/bounces", &[("source", b.source.clone())]),
                    source: b.source,
                    kind: b.bounce_type.as_str(),
                    created: when(b.created_at),
                    created_iso: iso(b.created_at),
                    href: format!("{BASE}/bounces/{}", b.id),
                    email: b.email,
                })
                .collect(),
        )
    } else {
        None
    };
    let page = SubscriberPage {
        chrome: ui.chrome(s.email.clone(), "subscribers", Some(&q)),
        id,
        email: s.email,
        name: s.name,
        uuid: s.uuid,
        status: s.status.as_str().to_string(),
        created: when(s.created_at),
        attribs: serde_json::to_string_pretty(&s.attribs).unwrap_or_default(),
        lists: s
            .lists
            .iter()
            .map(|l| ListRow { name: l.name.clone(), status: l.subscription_status.as_str().to_string() })
            .collect(),
        bounces,
        can_manage_bounces: ui.principal.can(perm::BOUNCES_MANAGE),
    };
    html(&page)
}

/// POST /admin/subscribers/{id}/bounces/delete
pub async fn delete_bounces(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    f.ui.principal.require(perm::BOUNCES_MANAGE)?;
    let (s, n) = bounces::before_delete_of_subscriber(&state, &f.ui.principal, id).await?;
    let message =
        format!("Delete the {} of {}? This cannot be undone.", count(n, "bounce", "bounces"), s.email);
    let action = format!("{BASE}/subscribers/{id}/bounces/delete");
    if let Some(ask) = ask_first(&f, "subscribers", &action, message, "Delete") {
        return ask;
    }
    let n = bounces::delete_of_subscriber(&state, &f.ui.principal, id).await?;
    Ok(redirect_done(&format!("{BASE}/subscribers/{id}"), "deleted", &[("n", n)]))
}
