//! GET /metrics: what [`crate::metrics::Metrics`] counts, plus the mailbox
//! scanners' live state, for a scraper holding the bearer token.

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::state::AppState;

/// GET /metrics
pub async fn serve(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(refused) = state.metrics.refusal(&headers) {
        return refused;
    }
    let body = state.metrics.render(&state.mailboxes);
    (StatusCode::OK, [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], body)
        .into_response()
}
