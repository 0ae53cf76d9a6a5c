//! /api/webhooks/endpoints and /api/webhooks/deliveries: outgoing event
//! webhooks. The operations are crate::service::webhooks.

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use rebound_store::{DeliveryQuery, DeliveryStatus};
use serde::Deserialize;
use serde_json::json;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs};
use crate::service::webhooks::{self, EndpointInput};
use crate::state::AppState;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EndpointBody {
    url: Option<String>,
    secret: Option<String>,
    description: Option<String>,
    event_types: Option<Vec<String>>,
    enabled: Option<bool>,
    paused: Option<bool>,
}

impl From<EndpointBody> for EndpointInput {
    fn from(b: EndpointBody) -> Self {
        EndpointInput {
            url: b.url,
            secret: b.secret,
            description: b.description,
            event_types: b.event_types,
            enabled: b.enabled,
            paused: b.paused,
        }
    }
}

pub async fn list(State(state): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(data(webhooks::list(&state, &p).await?))
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(webhooks::get(&state, &p, id).await?))
}

/// POST: the answer carries the secret, this once.
pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<EndpointBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SETTINGS_MANAGE)?;
    let created = webhooks::create(&state, &p, body.into()).await?;
    let mut value = serde_json::to_value(&created.endpoint).map_err(ApiError::internal)?;
    value["secret"] = json!(created.secret);
    Ok(data(value))
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<EndpointBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SETTINGS_MANAGE)?;
    Ok(data(webhooks::update(&state, &p, id, body.into()).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    webhooks::delete(&state, &p, id).await?;
    Ok(data(true))
}

/// GET /api/webhooks/deliveries?endpoint_id=&status=&page=&per_page=, newest first.
pub async fn deliveries(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SETTINGS_GET)?;
    let status = q
        .get("status")
        .map(|s| {
            DeliveryStatus::parse(s).ok_or_else(|| {
                ApiError::bad_request(format!("invalid status {s:?}: pending, delivered or failed"))
            })
        })
        .transpose()?;
    let query = DeliveryQuery { endpoint_id: q.int("endpoint_id")?, status, pagination: q.pagination()? };
    let page = webhooks::deliveries(&state, &p, &query).await?;
    Ok(data(json!({
        "results": page.results, "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}

pub async fn delivery(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(webhooks::delivery(&state, &p, id).await?))
}

pub async fn redeliver(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(webhooks::redeliver(&state, &p, id).await?))
}
