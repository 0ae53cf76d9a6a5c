//! POST /api/bounces/{id}/reclassify: an operator corrects a bounce's type
//! (the operation is `service::bounce_reclassify`).

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde::Deserialize;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::service::bounce_reclassify::{reclassify as apply, requested_type};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ReclassifyBody {
    #[serde(rename = "type")]
    bounce_type: Option<String>,
    note: Option<String>,
}

pub async fn reclassify(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<ReclassifyBody>,
) -> ApiResult<impl IntoResponse> {
    // The permission before the body's validity, as everywhere.
    p.require(perm::BOUNCES_MANAGE)?;
    let to = requested_type(body.bounce_type.as_deref())?;
    Ok(data(apply(&state, &p, id, to, body.note).await?))
}
