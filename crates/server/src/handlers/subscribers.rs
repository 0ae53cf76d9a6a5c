use axum::extract::{Path, State};
use axum::response::IntoResponse;
use rebound_store::SubscriberQuery;
use serde_json::json;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::ApiResult;
use crate::extract::{JsonBody, QueryPairs};
use crate::service::subscribers::{self, SubscriberInput};
use crate::state::AppState;

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(input): JsonBody<SubscriberInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(subscribers::create(&state, &p, input).await?))
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(subscribers::get(&state, &p, id).await?))
}

/// GET /api/subscribers?query=text&list_id=N&status=S&page&per_page. Unlike
/// listmonk, `query` is a plain search in e-mail and name, not an SQL expression.
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SUBSCRIBERS_GET)?;
    let query = SubscriberQuery {
        search: q.get("query").or(q.get("search")).map(str::to_string),
        list_id: q.int("list_id")?,
        status: q.get("status").map(str::parse).transpose()?,
        pagination: q.pagination()?,
    };
    let page = subscribers::list(&state, &p, &query).await?;
    Ok(data(json!({
        "results": page.results, "query": q.get("query").unwrap_or(""),
        "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<SubscriberInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(subscribers::update(&state, &p, id, input).await?))
}

/// PATCH /api/subscribers/{id}: only the fields given change.
pub async fn patch(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<serde_json::Value>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(subscribers::patch(&state, &p, id, &body).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    subscribers::delete(&state, &p, id).await?;
    Ok(data(true))
}

/// DELETE /api/subscribers?id=1&id=2
pub async fn delete_many(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    subscribers::delete_many(&state, &p, &q.ids("id")?).await?;
    Ok(data(true))
}
