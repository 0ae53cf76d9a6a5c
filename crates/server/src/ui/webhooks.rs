//! Outgoing event webhooks (docs/events.md): the endpoints with their last
//! deliveries and failures, registering one (its secret shown once),
//! pausing, resuming, deleting, and sending a delivery again. The
//! operations are crate::service::webhooks.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use rebound_store::webhooks::event_type;
use rebound_store::{DeliveryQuery, Pagination, PerPage};

use super::form::{ask_first, back, redirect_done};
use super::page::{Chrome, html, iso, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::extract::QueryPairs;
use crate::service::webhooks::{self, EndpointInput};
use crate::state::AppState;

/// Deliveries shown per endpoint.
const RECENT: u32 = 10;

pub struct DeliveryRow {
    pub id: i64,
    pub event_type: String,
    pub status: &'static str,
    pub attempts: i64,
    pub code: String,
    pub error: String,
    pub at: String,
    pub at_iso: String,
}

pub struct EndpointRow {
    pub id: i64,
    pub url: String,
    pub description: String,
    pub event_types: String,
    pub enabled: bool,
    pub paused: bool,
    pub paused_reason: String,
    pub paused_at: String,
    pub failures: i64,
    pub pending: i64,
    pub delivered: i64,
    pub failed: i64,
    pub recent: Vec<DeliveryRow>,
}

#[derive(Template)]
#[template(path = "webhooks.html")]
struct WebhooksPage {
    chrome: Chrome,
    rows: Vec<EndpointRow>,
    types: Vec<&'static str>,
    can_manage: bool,
    /// Just registered: (url, secret), shown this once.
    created: Option<(String, String)>,
}

async fn page(
    state: &AppState,
    ui: &Ui,
    q: Option<&QueryPairs>,
    created: Option<(String, String)>,
) -> Result<Response, UiError> {
    let endpoints = webhooks::list(state, &ui.principal).await?;
    let mut rows = Vec::with_capacity(endpoints.len());
    for e in endpoints {
        let q = DeliveryQuery {
            endpoint_id: Some(e.id),
            status: None,
            pagination: Pagination { page: 1, per_page: PerPage::Count(RECENT) },
        };
        let recent = webhooks::deliveries(state, &ui.principal, &q)
            .await?
            .results
            .into_iter()
            .map(|d| {
                let at = d.last_attempt_at.unwrap_or(d.created_at);
                DeliveryRow {
                    id: d.id,
                    event_type: d.event_type,
                    status: d.status.as_str(),
                    attempts: d.attempts,
                    code: d.last_status_code.map(|c| c.to_string()).unwrap_or_default(),
                    error: d.last_error.unwrap_or_default(),
                    at: when(at),
                    at_iso: iso(at),
                }
            })
            .collect();
        rows.push(EndpointRow {
            id: e.id,
            url: e.url,
            description: e.description,
            event_types: e.event_types.join(", "),
            enabled: e.enabled,
            paused: e.paused,
            paused_reason: e.paused_reason.unwrap_or_default(),
            paused_at: e.paused_at.map(when).unwrap_or_default(),
            failures: e.consecutive_failures,
            pending: e.pending,
            delivered: e.delivered,
            failed: e.failed,
            recent,
        });
    }
    html(&WebhooksPage {
        chrome: ui.chrome("Webhooks", "webhooks", q),
        rows,
        types: event_type::ALL.to_vec(),
        can_manage: ui.principal.can(perm::SETTINGS_MANAGE),
        created,
    })
}

/// GET /admin/webhooks
pub async fn list(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    ui.principal.require(perm::SETTINGS_GET)?;
    page(&state, &ui, Some(&q), None).await
}

/// POST /admin/webhooks: registers; the answer is the page with the secret.
pub async fn create(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    f.ui.principal.require(perm::SETTINGS_MANAGE)?;
    let mut types: Vec<String> = f.form.all("event_type").map(str::to_string).collect();
    if types.is_empty() || f.form.get("all_types") == Some("1") {
        types = vec![event_type::WILDCARD.to_string()];
    }
    let input = EndpointInput {
        url: f.form.get("url").map(str::to_string),
        secret: f.form.get("secret").map(str::to_string),
        description: f.form.get("description").map(str::to_string),
        event_types: Some(types),
        enabled: Some(true),
        paused: None,
    };
    let created = webhooks::create(&state, &f.ui.principal, input).await?;
    page(&state, &f.ui, None, Some((created.endpoint.url, created.secret))).await
}

/// POST /admin/webhooks/{id}/resume and /pause
pub async fn resume(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    set_paused(state, id, f, false).await
}

pub async fn pause(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    set_paused(state, id, f, true).await
}

async fn set_paused(state: AppState, id: i64, f: UiForm, paused: bool) -> Result<Response, UiError> {
    f.ui.principal.require(perm::SETTINGS_MANAGE)?;
    let input = EndpointInput { paused: Some(paused), ..Default::default() };
    webhooks::update(&state, &f.ui.principal, id, input).await?;
    Ok(redirect_done(&back(&f, "/webhooks"), if paused { "paused" } else { "resumed" }, &[]))
}

/// POST /admin/webhooks/{id}/delete: asks first.
pub async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    f.ui.principal.require(perm::SETTINGS_MANAGE)?;
    let e = webhooks::get(&state, &f.ui.principal, id).await?;
    let message =
        format!("Delete the endpoint {} and its deliveries? Events not yet sent are dropped.", e.url);
    if let Some(ask) = ask_first(&f, "webhooks", &format!("{BASE}/webhooks/{id}/delete"), message, "Delete") {
        return ask;
    }
    webhooks::delete(&state, &f.ui.principal, id).await?;
    Ok(redirect_done(&back(&f, "/webhooks"), "endpoint-deleted", &[]))
}

/// POST /admin/webhooks/deliveries/{id}/redeliver
pub async fn redeliver(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    f.ui.principal.require(perm::SETTINGS_MANAGE)?;
    webhooks::redeliver(&state, &f.ui.principal, id).await?;
    Ok(redirect_done(&back(&f, "/webhooks"), "redelivered", &[]))
}
