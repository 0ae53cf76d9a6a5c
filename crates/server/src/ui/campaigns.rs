//! Campaigns: the list, a form that creates one, and "Send a test" (a page
//! with the recipients' addresses and the per-recipient results), each
//! through the same operation as the API (crate::service::campaigns: same
//! validation, same permission); a refused field is shown at that field.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use rebound_sender::{DeliveryResult, Outcome, RecipientResult};
use rebound_store::PerPage;

use super::bounces::Choice;
use super::form::redirect_done;
use super::page::{Chrome, Pager, html, iso, link, when};
use super::session::{Ui, UiForm};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::service::ServiceError;
use crate::service::campaigns::{self, CONTENT_TYPES, CampaignInput, TestInput};
use crate::state::AppState;

pub struct CampaignRow {
    pub id: i64,
    pub name: String,
    pub subject: String,
    pub status: String,
    pub created: String,
    pub created_iso: String,
    pub href: String,
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
    /// Companion mode: listmonk's campaigns, read only here.
    listmonk_owned: bool,
    form: NewCampaignForm,
}

async fn page(
    state: &AppState,
    ui: &Ui,
    q: &QueryPairs,
    form: NewCampaignForm,
) -> Result<CampaignsPage, UiError> {
    let p = q.pagination()?;
    let page = campaigns::list(state, &ui.principal, p).await?;
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
            href: format!("{BASE}/campaigns/{}", c.id),
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
        listmonk_owned: crate::service::companion::is_companion(state),
        form,
    })
}

async fn blank_form(
    state: &AppState,
    ui: &Ui,
    chosen: &[i64],
    content_type: &str,
) -> Result<NewCampaignForm, UiError> {
    let lists = campaigns::list_choices(state, &ui.principal).await?;
    Ok(NewCampaignForm {
        lists: lists
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
    let form = blank_form(&state, &ui, &[], "richtext").await?;
    html(&page(&state, &ui, &q, form).await?)
}

/// POST /admin/campaigns: creates through the same operation as
/// POST /api/campaigns, so the UI accepts exactly what the API accepts.
pub async fn create(State(state): State<AppState>, f: UiForm) -> Result<Response, UiError> {
    let get = |k: &str| f.form.get(k).unwrap_or("").to_string();
    let lists = f.form.ids("lists")?;
    let input = CampaignInput {
        name: Some(get("name")),
        subject: Some(get("subject")),
        from_email: Some(get("from_email")),
        body: Some(get("body")),
        content_type: Some(get("content_type")),
        lists: Some(lists.clone()),
        ..Default::default()
    };
    let refused = match campaigns::create(&state, &f.ui.principal, input).await {
        Ok(_) => return Ok(redirect_done(&format!("{BASE}/campaigns"), "created", &[])),
        Err(e) => e,
    };
    let Some((field, msg)) = refused.invalid_field() else { return Err(refused.into()) };
    // The form's own fields; anything else is said above the form.
    let field = if ["name", "subject", "content_type"].contains(&field) { field } else { "form" };
    let mut form = blank_form(&state, &f.ui, &lists, &get("content_type")).await?;
    form.name = get("name");
    form.subject = get("subject");
    form.from_email = get("from_email");
    form.body = get("body");
    form.error = Some((field, msg.to_string()));
    let q = QueryPairs(Vec::new());
    let mut res = html(&page(&state, &f.ui, &q, form).await?)?;
    *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
    Ok(res)
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
    let campaign = campaigns::for_test(&state, &ui.principal, id).await?;
    html(&TestPage::new(&ui, id, Some(&campaign), String::new()))
}

/// POST /admin/campaigns/{id}/test: sends through the same operation as
/// POST /api/campaigns/{id}/test and shows its per-recipient results; a
/// refused address list is shown at the field, with the addresses kept.
pub async fn send_test(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    f: UiForm,
) -> Result<Response, UiError> {
    f.ui.principal.require(perm::CAMPAIGNS_MANAGE)?;
    let raw = f.form.get("subscribers").unwrap_or("").to_string();
    let input = TestInput { subscribers: addresses(&raw), ..Default::default() };
    let sent = campaigns::send_test(&state, &f.ui.principal, id, input).await;
    let (status, results, field_error, top_error) = match sent {
        Ok(report) => {
            (StatusCode::OK, Some(report.results.iter().map(test_result).collect::<Vec<_>>()), None, None)
        }
        Err(e) => match e.invalid_field() {
            Some((_, m)) => (StatusCode::UNPROCESSABLE_ENTITY, None, Some(m.to_string()), None),
            // An unknown campaign (404) or a message not handed over (502).
            None if matches!(e, ServiceError::NotFound(_) | ServiceError::Upstream(_)) => {
                let e = ApiError::from(e);
                (e.status(), None, None, Some(e.to_string()))
            }
            None => return Err(e.into()),
        },
    };
    let campaign = match campaigns::for_test(&state, &f.ui.principal, id).await {
        Ok(c) => Some(c),
        Err(ServiceError::NotFound(_)) => None,
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

/// One recipient's result as a table row.
fn test_result(r: &RecipientResult) -> TestResultRow {
    let d = &r.delivery;
    let (reply, stage) = match &d.result {
        DeliveryResult::Accepted { reply } => (reply.text.clone(), String::new()),
        DeliveryResult::Rejected { stage, reply } => (
            reply.text.clone(),
            match stage.as_str() {
                "rcpt" => "RCPT TO".to_string(),
                "data" => "DATA".to_string(),
                "mail_from" => "MAIL FROM".to_string(),
                other => other.to_uppercase(),
            },
        ),
        DeliveryResult::Failed { error } => (error.to_string(), String::new()),
    };
    let (outcome, outcome_class) = match r.outcome {
        Outcome::Sent => ("sent", "ok"),
        Outcome::Bounced => ("bounced", "type-hard"),
        Outcome::Failed => ("failed", "status-blocklisted"),
    };
    TestResultRow {
        email: r.email.clone(),
        outcome: outcome.to_string(),
        outcome_class,
        reply,
        stage,
        via: format!("{}, {} {}", d.server, d.attempts, if d.attempts == 1 { "attempt" } else { "attempts" }),
        bounce: r.bounce.as_ref().map(|b| TestBounce {
            kind: b.bounce_type.as_str().to_string(),
            reason: b.reason.clone(),
            status: b.status.clone().unwrap_or_default(),
            recorded: b.recorded.clone(),
        }),
    }
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
