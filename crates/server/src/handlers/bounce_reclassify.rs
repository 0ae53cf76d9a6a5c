//! POST /api/bounces/{id}/reclassify: an operator corrects a bounce's type.
//! The store changes it, records the correction in the bounce's
//! `meta.corrections` and evaluates the new type's rule again with the
//! current `bounce.actions` (rebound_store::reclassify has the rules).

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use chrono::Utc;
use rebound_core::BounceType;
use rebound_store::Reclassification;
use serde::Deserialize;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ReclassifyBody {
    #[serde(rename = "type")]
    bounce_type: Option<String>,
    note: Option<String>,
}

/// The type asked for, or a 400 naming the field.
pub fn parse_type(value: Option<&str>) -> ApiResult<BounceType> {
    let t = value.map(str::trim).filter(|t| !t.is_empty());
    let t = t.ok_or_else(|| ApiError::bad_request("type is required: hard, soft or complaint"))?;
    t.parse()
        .map_err(|_| ApiError::bad_request(format!("invalid type {t:?}: expected hard, soft or complaint")))
}

pub async fn reclassify(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ReclassifyBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    let to = parse_type(body.bounce_type.as_deref())?;
    Ok(data(apply(&state, &p, id, to, body.note).await?))
}

/// The one path API and UI reclassify through.
pub async fn apply(
    state: &AppState,
    p: &Principal,
    id: i64,
    to: BounceType,
    note: Option<String>,
) -> ApiResult<rebound_store::Reclassified> {
    let actions = state.settings.get().actions.clone();
    let request = Reclassification { bounce_id: id, to, by: p.username.clone(), note };
    let done = state.store.reclassify_bounce(&request, &actions, Utc::now()).await?;
    let c = &done.correction;
    tracing::info!(
        id,
        by = %p.username,
        from = %c.from,
        to = %c.to,
        count = c.count,
        action = c.action.map(|a| a.as_str()),
        "bounce reclassified"
    );
    Ok(done)
}
