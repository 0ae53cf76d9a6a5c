//! Campaigns: the list, a form that creates one, and "Send a test" (a page
//! with the recipients' addresses and the per-recipient results), each
//! through the API's own handler (same validation, same permission).

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rebound_store::{Pagination, PerPage, StoreError};
use serde_json::{Value, json};

use super::bounces::Choice;
use super::form::redirect_done;
use super::page::{Chrome, Pager, html, iso, link, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::error::ApiError;
use crate::extract::{JsonBody, QueryPairs};
use crate::handlers::{campaign_test, campaigns, pagination};
use crate::state::AppState;

pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub subject: String,
    pub status: String,
    pub created: String,
    pub created_iso: String,
    pub bounces_href: String,
    pub test_href: String,
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
            test_href: format!("{BASE}/campaigns/{}/test", c.id),
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

/// One recipient of a test send, as the results table shows it.
pub struct TestResultRow {
    pub email: String,
    /// sent, bounced or failed.
    pub outcome: String,
    /// The badge's CSS class for the outcome.
    pub outcome_class: &'static str,
    /// The SMTP server's reply ("250 2.0.0 Ok: queued", "550 5.1.1 ..."),
    /// or why the message could not be handed over.
    pub reply: String,
    /// The command the reply answered ("RCPT TO", "DATA"), for a refusal.
    pub stage: String,
    /// "127.0.0.1:25, 1 attempt"
    pub via: String,
    pub bounce: Option<TestBounce>,
}

/// The bounce a refusal became.
pub struct TestBounce {
    pub kind: String,
    pub reason: String,
    pub status: String,
    /// What recording did ("recorded count=1 action=blocklist", ...).
    pub recorded: String,
}

#[derive(Template)]
#[template(path = "campaign_test.html")]
struct TestPage {
    chrome: Chrome,
    id: i64,
    /// None when the campaign does not exist (a 404 from the handler).
    campaign: Option<(String, String)>,
    bounces_href: String,
    /// The textarea, exactly as typed.
    subscribers: String,
    /// A refused address list (the handler's 400), shown at the field.
    field_error: Option<String>,
    /// Unknown campaign (404) or a message not handed over (502).
    top_error: Option<String>,
    results: Option<Vec<TestResultRow>>,
    summary: String,
}

impl TestPage {
    fn new(ui: &Ui, id: i64, campaign: Option<&rebound_store::Campaign>, subscribers: String) -> TestPage {
        TestPage {
            chrome: ui.chrome("Send a test", "campaigns", None),
            id,
            campaign: campaign.map(|c| (c.name.clone(), c.subject.clone())),
            bounces_href: link("/bounces", &[("campaign_id", id.to_string())]),
            subscribers,
            field_error: None,
            top_error: None,
            results: None,
            summary: String::new(),
        }
    }
}

/// The addresses in the textarea: one per line, or separated by commas,
/// semicolons or spaces (an address cannot contain any of them).
fn addresses(raw: &str) -> Vec<String> {
    raw.split(|c: char| c == ',' || c == ';' || c.is_whitespace())
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// GET /admin/campaigns/{id}/test: the form.
pub async fn test_form(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    ui: Ui,
) -> Result<Response, UiError> {
    ui.principal.require(perm::CAMPAIGNS_MANAGE)?;
    let campaign = state.store.get_campaign(id).await?;
    html(&TestPage::new(&ui, id, Some(&campaign), String::new()))
}

/// POST /admin/campaigns/{id}/test: sends through the API handler
/// (POST /api/campaigns/{id}/test) and shows its per-recipient results;
/// what the handler refuses is shown with the addresses kept.
pub async fn send_test(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    f.ui.principal.require(perm::CAMPAIGNS_MANAGE)?;
    let raw = f.form.get("subscribers").unwrap_or("").to_string();
    let body =
        serde_json::from_value(json!({ "subscribers": addresses(&raw) })).map_err(ApiError::internal)?;
    let sent =
        campaign_test::send(State(state.clone()), f.ui.principal.clone(), Path(id), JsonBody(body)).await;
    let (status, results, field_error, top_error) = match sent {
        Ok(ok) => (StatusCode::OK, Some(test_results(ok.into_response()).await?), None, None),
        Err(ApiError::BadRequest(m)) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(m), None),
        Err(e @ (ApiError::NotFound(_) | ApiError::BadGateway(_))) => {
            (e.status(), None, None, Some(e.to_string()))
        }
        Err(e) => return Err(e.into()),
    };
    let campaign = match state.store.get_campaign(id).await {
        Ok(c) => Some(c),
        Err(StoreError::NotFound(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let mut page = TestPage::new(&f.ui, id, campaign.as_ref(), raw);
    if let Some(rows) = &results {
        let n = |o: &str| rows.iter().filter(|r| r.outcome == o).count();
        page.summary =
            format!("Test sent: {} accepted by the SMTP server, {} bounced.", n("sent"), n("bounced"));
    }
    page.results = results;
    page.field_error = field_error;
    page.top_error = top_error;
    let mut res = html(&page)?;
    *res.status_mut() = status;
    Ok(res)
}

/// The handler's `results`, as table rows.
async fn test_results(res: Response) -> Result<Vec<TestResultRow>, UiError> {
    let bytes = axum::body::to_bytes(res.into_body(), 16 << 20).await.map_err(ApiError::internal)?;
    let v: Value = serde_json::from_slice(&bytes).map_err(ApiError::internal)?;
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        v => v.to_string(),
    };
    let rows = v["results"].as_array().map(Vec::as_slice).unwrap_or_default();
    Ok(rows
        .iter()
        .map(|r| {
            let d = &r["delivery"];
            let outcome = s(&r["outcome"]);
            let reply = match d["reply"]["text"].as_str() {
                Some(t) => t.to_string(),
                None => s(&d["error"]),
            };
            let stage = match d["stage"].as_str() {
                Some("rcpt") => "RCPT TO".to_string(),
                Some("data") => "DATA".to_string(),
                Some("mail_from") => "MAIL FROM".to_string(),
                Some(other) => other.to_uppercase(),
                None => String::new(),
            };
            let attempts = d["attempts"].as_u64().unwrap_or(0);
            let via = format!(
                "{}, {attempts} {}",
                s(&d["server"]),
                if attempts == 1 { "attempt" } else { "attempts" }
            );
            let b = &r["bounce"];
            let bounce = b.is_object().then(|| TestBounce {
                kind: s(&b["type"]),
                reason: s(&b["reason"]),
                status: s(&b["status"]),
                recorded: s(&b["recorded"]),
            });
            TestResultRow {
                email: s(&r["email"]),
                outcome_class: match outcome.as_str() {
                    "sent" => "ok",
                    "bounced" => "type-hard",
                    _ => "status-blocklisted",
                },
                outcome,
                reply,
                stage,
                via,
                bounce,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::addresses;

    #[test]
    fn addresses_one_per_line_or_comma_separated() {
        assert_eq!(
            addresses(" a@x.org\r\nb@x.org, c@x.org;d@x.org\n\n,e@x.org "),
            ["a@x.org", "b@x.org", "c@x.org", "d@x.org", "e@x.org"]
        );
        assert!(addresses(" \n , ").is_empty());
    }
}
