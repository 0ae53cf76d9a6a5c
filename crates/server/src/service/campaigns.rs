//! Campaigns: list, get, create, and the test send (listmonk's
//! POST /api/campaigns/{id}/test), whose refusals are recorded as bounces.

use rebound_sender::{CampaignOverrides, TestReport, TestSend, TestSendError};
use rebound_store::{Campaign, List, NewCampaign, Paged, Pagination, PerPage};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

pub const CONTENT_TYPES: [&str; 5] = ["richtext", "html", "plain", "markdown", "visual"];

const HEADERS_SHAPE: &str = "headers must be a JSON array of {\"Name\": \"value\"} objects";

pub async fn list(state: &AppState, p: &Principal, page: Pagination) -> ServiceResult<Paged<Campaign>> {
    p.require(perm::CAMPAIGNS_GET)?;
    Ok(state.store.query_campaigns(page).await?)
}

pub async fn get(state: &AppState, p: &Principal, id: i64) -> ServiceResult<Campaign> {
    p.require(perm::CAMPAIGNS_GET)?;
    Ok(state.store.get_campaign(id).await?)
}

/// The lists a new campaign may go to (the create form's choices): with
/// campaigns:get alone, as the form is shown to every campaign reader.
pub async fn list_choices(state: &AppState, p: &Principal) -> ServiceResult<Vec<List>> {
    p.require(perm::CAMPAIGNS_GET)?;
    Ok(state.store.query_lists(Pagination { page: 1, per_page: PerPage::All }).await?.results)
}

/// A new campaign as the API's body and the create form give it.
#[derive(Debug, Default, Deserialize)]
pub struct CampaignInput {
    pub name: Option<String>,
    /// Empty: the name.
    pub subject: Option<String>,
    #[serde(default)]
    pub from_email: String,
    #[serde(default)]
    pub body: String,
    /// None: richtext.
    pub content_type: Option<String>,
    #[serde(default)]
    pub headers: Option<Value>,
    #[serde(default)]
    pub lists: Vec<i64>,
}

pub async fn create(state: &AppState, p: &Principal, input: CampaignInput) -> ServiceResult<Campaign> {
    p.require(perm::CAMPAIGNS_MANAGE)?;
    let name = input
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ServiceError::invalid("name", "name is required"))?;
    let subject = input.subject.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| name.clone());
    let content_type = input.content_type.unwrap_or_else(|| "richtext".into());
    if !CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(ServiceError::invalid(
            "content_type",
            format!("invalid content_type {content_type:?}: expected one of {}", CONTENT_TYPES.join(", ")),
        ));
    }
    let headers = match input.headers {
        None | Some(Value::Null) => json!([]),
        Some(h @ Value::Array(_)) => h,
        Some(_) => return Err(ServiceError::invalid("headers", HEADERS_SHAPE)),
    };
    let campaign = state
        .store
        .create_campaign(NewCampaign {
            name,
            subject,
            from_email: input.from_email,
            body: input.body,
            content_type,
            headers,
            lists: input.lists,
        })
        .await?;
    Ok(campaign)
}

/// A test send: the campaign as edited (these fields override the stored
/// ones for this send; other campaign fields are accepted and ignored) and
/// `subscribers`, the subscribers' e-mail addresses.
#[derive(Debug, Default, Deserialize)]
pub struct TestInput {
    #[serde(default)]
    pub subscribers: Vec<String>,
    pub subject: Option<String>,
    pub from_email: Option<String>,
    pub body: Option<String>,
    pub content_type: Option<String>,
    pub headers: Option<Value>,
}

/// Campaign `id` for its "send a test" page: with campaigns:manage, the
/// permission a test send takes.
pub async fn for_test(state: &AppState, p: &Principal, id: i64) -> ServiceResult<Campaign> {
    p.require(perm::CAMPAIGNS_MANAGE)?;
    Ok(state.store.get_campaign(id).await?)
}

/// Sends campaign `id` to each subscriber through the live `smtp` settings;
/// a refusal of a recipient is recorded as a bounce with source "smtp" (see
/// rebound_sender). When a message could not be handed over for a reason
/// that is not the recipient's (no server, connection, TLS,
/// authentication, refused sender): [`ServiceError::Upstream`] naming it.
pub async fn send_test(
    state: &AppState,
    p: &Principal,
    id: i64,
    input: TestInput,
) -> ServiceResult<TestReport> {
    p.require(perm::CAMPAIGNS_MANAGE)?;
    let headers = match input.headers {
        None | Some(Value::Null) => None,
        Some(h @ Value::Array(_)) => Some(rebound_sender::headers_of(&h)),
        Some(_) => return Err(ServiceError::invalid("headers", HEADERS_SHAPE)),
    };
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let req = TestSend {
        campaign_id: id,
        emails: input.subscribers,
        overrides: CampaignOverrides {
            subject: nonempty(input.subject),
            from_email: nonempty(input.from_email),
            body: input.body,
            content_type: nonempty(input.content_type),
            headers,
        },
    };
    let settings = state.settings.get();
    let report =
        rebound_sender::send_test(state.store.as_ref(), &state.sender, &settings, &state.intake, req)
            .await
            .map_err(|e| match e {
            // Every refusal of the input is about the addresses.
            TestSendError::Invalid(m) => ServiceError::invalid("subscribers", m),
            TestSendError::NotFound(m) => ServiceError::NotFound(m),
            TestSendError::Store(e) => e.into(),
            e @ TestSendError::Record(_) => ServiceError::internal(e),
        })?;
    let failed: Vec<String> = report
        .failures()
        .map(|r| match &r.delivery.result {
            rebound_sender::DeliveryResult::Failed { error } => format!("{}: {error}", r.email),
            _ => r.email.clone(),
        })
        .collect();
    if !failed.is_empty() {
        return Err(ServiceError::Upstream(format!("the test could not be sent to {}", failed.join("; "))));
    }
    Ok(report)
}
