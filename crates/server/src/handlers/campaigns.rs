use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::{Map, Value, json};

use super::data;
use crate::auth::{Principal, perm};
use crate::error::ApiResult;
use crate::extract::{JsonBody, QueryPairs};
use crate::service::campaign_analytics::{self, AnalyticsQuery};
use crate::service::campaigns::{self, CampaignInput};
use crate::state::AppState;

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(input): JsonBody<CampaignInput>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(campaigns::create(&state, &p, input).await?))
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(campaigns::get(&state, &p, id).await?))
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<Map<String, Value>>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(campaigns::update(&state, &p, id, body).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    campaigns::delete(&state, &p, id).await?;
    Ok(data(true))
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::CAMPAIGNS_GET)?;
    let page = campaigns::list(&state, &p, q.pagination()?).await?;
    Ok(data(json!({
        "results": page.results, "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}

/// GET /api/campaigns/analytics/{type}?id=..&from=..&to=..
pub async fn analytics(
    State(state): State<AppState>,
    p: Principal,
    Path(kind): Path<String>,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::CAMPAIGNS_GET_ANALYTICS)?;
    let query = AnalyticsQuery { kind: &kind, ids: q.ids("id")?, from: q.get("from"), to: q.get("to") };
    Ok(data(campaign_analytics::get(&state, &p, query).await?))
}
