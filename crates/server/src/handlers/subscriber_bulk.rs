//! listmonk's bulk subscriber endpoints; every one answers `{"data": true}`.

use axum::extract::{Path, State};
use axum::response::IntoResponse;

use super::data;
use crate::auth::Principal;
use crate::error::ApiResult;
use crate::extract::JsonBody;
use crate::service::subscriber_bulk::{self, BulkRequest};
use crate::state::AppState;

/// PUT /api/subscribers/{id}/blocklist (any body is ignored, as in listmonk).
pub async fn blocklist_one(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    subscriber_bulk::blocklist_one(&state, &p, id).await?;
    Ok(data(true))
}

/// PUT /api/subscribers/blocklist `{"ids": [..]}`
pub async fn blocklist(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<BulkRequest>,
) -> ApiResult<impl IntoResponse> {
    subscriber_bulk::blocklist(&state, &p, &req).await?;
    Ok(data(true))
}

/// PUT /api/subscribers/lists `{"ids", "action", "target_list_ids", "status"}`
pub async fn change_lists(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<BulkRequest>,
) -> ApiResult<impl IntoResponse> {
    subscriber_bulk::change_lists(&state, &p, None, &req).await?;
    Ok(data(true))
}

/// PUT /api/subscribers/lists/{id}: the same for one subscriber.
pub async fn change_lists_of(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(req): JsonBody<BulkRequest>,
) -> ApiResult<impl IntoResponse> {
    subscriber_bulk::change_lists(&state, &p, Some(id), &req).await?;
    Ok(data(true))
}

/// PUT /api/subscribers/query/blocklist
pub async fn blocklist_by_query(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<BulkRequest>,
) -> ApiResult<impl IntoResponse> {
    subscriber_bulk::blocklist_by_query(&state, &p, &req).await?;
    Ok(data(true))
}

/// POST /api/subscribers/query/delete
pub async fn delete_by_query(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<BulkRequest>,
) -> ApiResult<impl IntoResponse> {
    subscriber_bulk::delete_by_query(&state, &p, &req).await?;
    Ok(data(true))
}

/// PUT /api/subscribers/query/lists
pub async fn change_lists_by_query(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(req): JsonBody<BulkRequest>,
) -> ApiResult<impl IntoResponse> {
    subscriber_bulk::change_lists_by_query(&state, &p, &req).await?;
    Ok(data(true))
}
