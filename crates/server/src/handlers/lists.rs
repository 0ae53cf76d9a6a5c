use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::json;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::ApiResult;
use crate::extract::{JsonBody, QueryPairs};
use crate::service::lists::{self, ListInput};
use crate::state::AppState;

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(input): JsonBody<ListInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(lists::create(&state, &p, input).await?))
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(lists::get(&state, &p, id).await?))
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::LISTS_GET)?;
    let page = lists::list(&state, &p, q.pagination()?).await?;
    Ok(data(json!({
        "results": page.results, "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(input): JsonBody<ListInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(lists::update(&state, &p, id, input).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    lists::delete(&state, &p, id).await?;
    Ok(data(true))
}
