use axum::extract::{Path, State};
use axum::response::IntoResponse;
use rebound_store::NewList;
use serde::Deserialize;
use serde_json::json;

use super::{data, pagination};
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct ListBody {
    name: Option<String>,
    #[serde(rename = "type")]
    list_type: Option<String>,
    optin: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    description: String,
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<ListBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::LISTS_MANAGE)?;
    let name = body
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ApiError::bad_request("name is required"))?;
    let list_type = body.list_type.unwrap_or_else(|| "private".into());
    if !["public", "private", "temporary"].contains(&list_type.as_str()) {
        return Err(ApiError::bad_request(format!(
            "invalid type {list_type:?}: expected public, private or temporary"
        )));
    }
    let optin = body.optin.unwrap_or_else(|| "single".into());
    if !["single", "double"].contains(&optin.as_str()) {
        return Err(ApiError::bad_request(format!("invalid optin {optin:?}: expected single or double")));
    }
    let list = state
        .store
        .create_list(NewList { name, list_type, optin, tags: body.tags, description: body.description })
        .await?;
    Ok(data(list))
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::LISTS_GET)?;
    Ok(data(state.store.get_list(id).await?))
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::LISTS_GET)?;
    let page = state.store.query_lists(pagination(&q)?).await?;
    Ok(data(json!({
        "results": page.results, "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}

pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::LISTS_MANAGE)?;
    state.store.delete_list(id).await?;
    Ok(data(true))
}
