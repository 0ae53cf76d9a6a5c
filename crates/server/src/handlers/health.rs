use axum::extract::State;
use axum::response::IntoResponse;

use super::data;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// 200 when the database answers, 503 when it does not.
pub async fn health(State(state): State<AppState>) -> ApiResult<impl IntoResponse> {
    state.store.ping().await.map_err(|e| {
        tracing::warn!(error = e.to_string(), "health check: database is not answering");
        ApiError::Unavailable("database is not answering".into())
    })?;
    Ok(data("ok"))
}
