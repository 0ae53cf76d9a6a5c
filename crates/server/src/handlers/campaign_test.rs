//! POST /api/campaigns/{id}/test: listmonk's test send. The body is the
//! campaign as edited (subject, from_email, body, content_type and headers
//! override the stored ones for this send; other campaign fields are
//! accepted and ignored) plus `subscribers`, a list of subscribers' e-mail
//! addresses. The campaign goes to each through the live `smtp` settings;
//! a refusal of a recipient is recorded as a bounce with source "smtp"
//! (see rebound_sender).
//!
//! 200 `{"data": true, "results": [...]}`: listmonk's answer, and beside
//! it one result per subscriber (`outcome` sent / bounced, the SMTP
//! reply, the bounce and what recording did). When a message could not be
//! handed over for a reason that is not the recipient's (no server,
//! connection, TLS, authentication, refused sender): 502 naming it.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use rebound_sender::{CampaignOverrides, TestSend, TestSendError};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct TestBody {
    #[serde(default)]
    subscribers: Vec<String>,
    subject: Option<String>,
    from_email: Option<String>,
    body: Option<String>,
    content_type: Option<String>,
    headers: Option<Value>,
}

#[tracing::instrument(skip_all, fields(campaign = id))]
pub async fn send(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(b): JsonBody<TestBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::CAMPAIGNS_MANAGE)?;
    let headers = match b.headers {
        None | Some(Value::Null) => None,
        Some(h @ Value::Array(_)) => Some(rebound_sender::headers_of(&h)),
        Some(_) => {
            return Err(ApiError::bad_request(
                "headers must be a JSON array of {\"Name\": \"value\"} objects",
            ));
        }
    };
    let nonempty = |s: Option<String>| s.filter(|s| !s.trim().is_empty());
    let req = TestSend {
        campaign_id: id,
        emails: b.subscribers,
        overrides: CampaignOverrides {
            subject: nonempty(b.subject),
            from_email: nonempty(b.from_email),
            body: b.body,
            content_type: nonempty(b.content_type),
            headers,
        },
    };
    let settings = state.settings.get();
    let report =
        rebound_sender::send_test(state.store.as_ref(), &state.sender, &settings, &state.intake, req)
            .await
            .map_err(|e| match e {
            TestSendError::Invalid(m) => ApiError::BadRequest(m),
            TestSendError::NotFound(m) => ApiError::NotFound(m),
            TestSendError::Store(e) => e.into(),
            e @ TestSendError::Record(_) => ApiError::internal(e),
        })?;
    let failed: Vec<String> = report
        .failures()
        .map(|r| match &r.delivery.result {
            rebound_sender::DeliveryResult::Failed { error } => format!("{}: {error}", r.email),
            _ => r.email.clone(),
        })
        .collect();
    if !failed.is_empty() {
        return Err(ApiError::BadGateway(format!("the test could not be sent to {}", failed.join("; "))));
    }
    Ok(Json(json!({ "data": true, "results": report.results })))
}
