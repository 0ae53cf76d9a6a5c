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
//!
//! The operation is crate::service::campaigns::send_test.

use axum::Json;
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::json;

use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::service::campaigns::{self, TestInput};
use crate::state::AppState;

#[tracing::instrument(skip_all, fields(campaign = id))]
pub async fn send(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<TestInput>,
) -> ApiResult<impl IntoResponse> {
    let report = campaigns::send_test(&state, &p, id, input).await?;
    Ok(Json(json!({ "data": true, "results": report.results })))
}
