//! Campaigns: the list, and a form that creates one through the API's own
//! handler (same validation, same permission). "Send a test" waits for the
//! sending feature and is shown disabled.

use askama::Template;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use rebound_store::{Pagination, PerPage};
use serde_json::json;

use super::bounces::Choice;
use super::form::redirect_done;
use super::page::{Chrome, Pager, html, iso, link, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryPairs};
use crate::handlers::{campaigns, pagination};
use crate::state::AppState;

pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub subject: String,
    pub status: String,
    pub created: String,
    pub created_iso: String,
    pub bounces_href: String,
}

/// The create form's values and its errors.
#[derive(Default)]
pub struct NewCampaignForm {
    pub name: String,
    pub subject: String,
    pub from_email: String,
    pub body: String,
    pub lists: Vec<Choice>,
    pub content_types: Vec<Choice>,
    /// (field, message)
    pub error: Option<(&'static str, String)>,
}

impl NewCampaignForm {
    /// The error message when it belongs to `field`.
    pub fn error_for(&self, field: &str) -> Option<&str> {
        self.error.as_ref().filter(|(f, _)| *f == field).map(|(_, m)| m.as_str())
    }
}

#[derive(Template)]
#[template(path = "campaigns.html")]
struct CampaignsPage {
    chrome: Chrome,
    rows: Vec<CampaignRow>,
    pager: Pager,
    can_manage: bool,
    form: NewCampaignForm,
}

const CONTENT_TYPES: [&str; 5] = ["richtext", "html", "plain", "markdown", "visual"];

async fn page(
    state: &AppState,
    ui: &Ui,
    q: &QueryPairs,
    form: NewCampaignForm,
) -> Result<CampaignsPage, UiError> {
    let p = pagination(q)?;
    let page = state.store.query_campaigns(p).await?;
    let per_page = match p.per_page {
        PerPage::Count(n) => n,
        PerPage::All => page.total.max(1) as u32,
    };
    let rows = page
        .results
        .iter()
        .map(|c| CampaignRow {
            id: c.id,
            name: c.name.clone(),
            subject: c.subject.clone(),
            status: c.status.clone(),
            created: when(c.created_at),
            created_iso: iso(c.created_at),
            bounces_href: link("/bounces", &[("campaign_id", c.id.to_string())]),
        })
        .collect();
    let pager =
        Pager::new(page.page, per_page, page.total, |n| link("/campaigns", &[("page", n.to_string())]));
    Ok(CampaignsPage {
        chrome: ui.chrome("Campaigns", "campaigns", Some(q)),
        rows,
        pager,
        can_manage: ui.principal.can(perm::CAMPAIGNS_MANAGE),
        form,
    })
}

async fn blank_form(
    state: &AppState,
    chosen: &[i64],
    content_type: &str,
) -> Result<NewCampaignForm, UiError> {
    let lists = state.store.query_lists(Pagination { page: 1, per_page: PerPage::All }).await?;
    Ok(NewCampaignForm {
        lists: lists
            .results
            .iter()
            .map(|l| Choice {
                value: l.id.to_string(),
                label: l.name.clone(),
                selected: chosen.contains(&l.id),
            })
            .collect(),
        content_types: CONTENT_TYPES
            .iter()
            .map(|t| Choice { value: t.to_string(), label: t.to_string(), selected: *t == content_type })
            .collect(),
        ..Default::default()
    })
}

/// GET /admin/campaigns
pub async fn list(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    ui.principal.require(perm::CAMPAIGNS_GET)?;
    let form = blank_form(&state, &[], "richtext").await?;
    html(&page(&state, &ui, &q, form).await?)
}

/// POST /admin/campaigns: creates through the API handler, so the UI
/// accepts exactly what POST /api/campaigns accepts.
pub async fn create(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    let get = |k: &str| f.form.get(k).unwrap_or("").to_string();
    let lists = f.form.ids("lists")?;
    let body = json!({
        "name": get("name"), "subject": get("subject"), "from_email": get("from_email"),
        "content_type": get("content_type"), "body": get("body"), "lists": lists,
    });
    let body = serde_json::from_value(body).map_err(ApiError::internal)?;
    match campaigns::create(State(state.clone()), f.ui.principal.clone(), JsonBody(body)).await {
        Ok(created) => {
            drop(created.into_response());
            Ok(redirect_done(&format!("{BASE}/campaigns"), "created", &[]))
        }
        Err(ApiError::BadRequest(msg)) => {
            let field = if msg.contains("content_type") {
                "content_type"
            } else if msg.starts_with("name") {
                "name"
            } else {
                "form"
            };
            let mut form = blank_form(&state, &lists, &get("content_type")).await?;
            form.name = get("name");
            form.subject = get("subject");
            form.from_email = get("from_email");
            form.body = get("body");
            form.error = Some((field, msg));
            let q = QueryPairs(Vec::new());
            let mut res = html(&page(&state, &f.ui, &q, form).await?)?;
            *res.status_mut() = axum::http::StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        }
        Err(e) => Err(e.into()),
    }
}
