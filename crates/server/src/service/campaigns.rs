//! Campaigns: list, get, create, update, delete, and the test send (listmonk's
//! POST /api/campaigns/{id}/test), whose refusals are recorded as bounces.

use super::companion::{ListmonkData, refuse_in_companion};
use chrono::Utc;
use rebound_sender::{CampaignOverrides, TestReport, TestSend, TestSendError};
use rebound_store::{Campaign, EDITABLE_CAMPAIGN_STATUSES, List, Paged, Pagination, PerPage, StoreError};
use serde::Deserialize;
use serde_json::{Map, Value};

pub use super::campaign_input::{CONTENT_TYPES, CampaignInput};
use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

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

/// A new campaign, always a draft (listmonk's create-campaign).
pub async fn create(state: &AppState, p: &Principal, input: CampaignInput) -> ServiceResult<Campaign> {
    p.require(perm::CAMPAIGNS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Campaigns)?;
    let fields = input.into_fields(&default_from(state).await?, Utc::now())?;
    if fields.campaign_type == "optin" {
        require_double_optin_list(state, &fields.lists).await?;
    }
    Ok(state.store.create_campaign(fields).await?)
}

/// listmonk's update-campaign: the fields in `body` replace the stored
/// ones; `lists` must be sent. Refused (400, as listmonk) once the
/// campaign runs, is cancelled or finished.
pub async fn update(
    state: &AppState,
    p: &Principal,
    id: i64,
    body: Map<String, Value>,
) -> ServiceResult<Campaign> {
    p.require(perm::CAMPAIGNS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Campaigns)?;
    let stored = state.store.get_campaign(id).await?;
    if !EDITABLE_CAMPAIGN_STATUSES.contains(&stored.status.as_str()) {
        return Err(ServiceError::invalid(
            "status",
            format!(
                "a {} campaign cannot be changed (only draft, paused or scheduled ones can)",
                stored.status
            ),
        ));
    }
    let fields = CampaignInput::over(&stored, body)?.into_fields(&default_from(state).await?, Utc::now())?;
    Ok(state.store.update_campaign(id, fields).await?)
}

/// Deletes the campaign, whatever its status (listmonk); its bounces stay,
/// without a campaign.
pub async fn delete(state: &AppState, p: &Principal, id: i64) -> ServiceResult<()> {
    p.require(perm::CAMPAIGNS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Campaigns)?;
    Ok(state.store.delete_campaign(id).await?)
}

/// The `app.from_email` setting (listmonk's), for campaigns sent without a
/// From address; empty when it is not set.
async fn default_from(state: &AppState) -> ServiceResult<String> {
    let settings = state.store.load_settings().await?;
    Ok(settings.get("app.from_email").and_then(Value::as_str).unwrap_or_default().to_string())
}

/// listmonk refuses an opt-in campaign none of whose lists is double opt-in.
async fn require_double_optin_list(state: &AppState, ids: &[i64]) -> ServiceResult<()> {
    for id in ids {
        match state.store.get_list(*id).await {
            Ok(l) if l.optin == "double" => return Ok(()),
            Ok(_) | Err(StoreError::NotFound(_)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Err(ServiceError::invalid("lists", "an opt-in campaign needs at least one double opt-in list"))
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
        Some(_) => return Err(ServiceError::invalid("headers", super::campaign_input::HEADERS_SHAPE)),
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
