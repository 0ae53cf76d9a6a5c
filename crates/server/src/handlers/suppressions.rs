//! GET/POST /api/suppressions, GET/DELETE /api/suppressions/{email}, and the
//! CSV export. The operations are crate::service::suppressions.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use rebound_store::SuppressionQuery;
use serde::Deserialize;
use serde_json::json;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs};
use crate::service::suppressions;
use crate::state::AppState;

fn query(q: &QueryPairs) -> ApiResult<SuppressionQuery> {
    let since = q
        .get("since")
        .map(|v| {
            DateTime::parse_from_rfc3339(v).map(|t| t.with_timezone(&Utc)).map_err(|_| {
                ApiError::bad_request(format!(
                    "invalid since {v:?}: an RFC 3339 time, e.g. 2026-03-01T00:00:00Z"
                ))
            })
        })
        .transpose()?;
    Ok(SuppressionQuery { since, search: q.get("search").map(str::to_string), pagination: q.pagination()? })
}

/// GET /api/suppressions[?since=...&search=...&page=&per_page=]
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_GET)?;
    let page = suppressions::list(&state, &p, &query(&q)?).await?;
    Ok(data(json!({
        "results": page.results, "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}

/// GET /api/suppressions/export.csv
pub async fn export_csv(State(state): State<AppState>, p: Principal, q: QueryPairs) -> ApiResult<Response> {
    p.require(perm::BOUNCES_GET)?;
    Ok(suppressions::csv(&state, &p, query(&q)?)?.into_response())
}

/// GET /api/suppressions/{email}: 200 whether or not it is suppressed.
pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(email): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(suppressions::lookup(&state, &p, &email).await?))
}

#[derive(Deserialize)]
pub struct AddBody {
    email: String,
    #[serde(default)]
    reason: Option<String>,
}

/// POST /api/suppressions {"email", "reason"}
pub async fn add(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<AddBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    Ok(data(suppressions::add(&state, &p, &body.email, body.reason.as_deref().unwrap_or("")).await?))
}

/// DELETE /api/suppressions/{email}: reactivates.
pub async fn reactivate(
    State(state): State<AppState>,
    p: Principal,
    Path(email): Path<String>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(suppressions::reactivate(&state, &p, &email).await?))
}
