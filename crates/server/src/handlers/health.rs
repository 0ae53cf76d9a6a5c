use axum::extract::State;
use axum::response::IntoResponse;

use super::data;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// GET /health, for load balancers: 200 when the database answers, 503
/// when it does not.
pub async fn health(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    database_answers(&state).await?;
    Ok(data("ok"))
}

/// GET /api/health: listmonk's authenticated health check (its API
/// clients call it at login), open to any authenticated user; listmonk's
/// `{"data": true}`, or 503 when the database does not answer.
pub async fn api_health(State(state): State<AppState>, _p: Principal) -> ApiResult<impl IntoResponse> {
    database_answers(&state).await?;
    Ok(data(true))
}

async fn database_answers(state: &AppState) -> ApiResult<()> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = e.to_string(), "health check: database is not answering");
        ApiError::Unavailable("database is not answering".into())
    })
}
