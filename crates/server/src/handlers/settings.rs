use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::{Map, Value};

use super::data;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::service::settings;
use crate::state::AppState;

/// The flat settings object, secrets masked.
pub async fn get(State(state): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(data(settings::get(&state, &p)?))
}

/// Takes the same object back (whole or partial); the masked placeholder
/// keeps a stored secret. Answers with the new settings, masked.
pub async fn put(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(update): JsonBody<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    let next = settings::update(&state, &p, &update).await?;
    tracing::info!(by = ?p.username, keys = update.len(), "settings updated");
    Ok(data(next.masked()))
}

/// listmonk's PUT /api/settings/{key}: the body is the key's new value.
/// Answers `{"data": true}` as listmonk does when it needs no restart:
/// rebound applies settings live, so it never needs one.
pub async fn put_key(
    State(state): State<AppState>,
    p: Principal,
    Path(key): Path<String>,
    JsonBody(value): JsonBody<Value>,
) -> ApiResult<impl IntoResponse> {
    settings::update_key(&state, &p, &key, value).await?;
    tracing::info!(by = ?p.username, key, "setting updated");
    Ok(data(true))
}
