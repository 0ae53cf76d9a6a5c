use axum::extract::{Path, State};
use axum::response::IntoResponse;
use serde_json::json;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::ApiResult;
use crate::extract::{JsonBody, QueryPairs};
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
