//! | Method | Path | Permission |
//! |---|---|---|
//! | GET | /api/deliverability/domains[?days=30] | bounces:get |

use axum::extract::State;
use axum::response::IntoResponse;

use super::data;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::service::deliverability;
use crate::state::AppState;

/// GET /api/deliverability/domains: bounces per receiving domain over the
/// last `days` (default 30), with their reasons.
pub async fn domains(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    let days = match q.get("days") {
        None => 30,
        Some(d) => {
            d.trim().parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid days {d:?}")))?
        }
    };
    Ok(data(deliverability::domains(&state, &p, days).await?))
}
