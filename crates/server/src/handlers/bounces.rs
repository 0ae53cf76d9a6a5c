//! The bounces API (listmonk's table), the unmatched bounces, and the CSV
//! export. The operations are crate::service::bounces and bounce_export.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use rebound_store::{BounceOrder, BounceQuery, PerPage, Selection};
use serde_json::json;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::service::{bounce_export, bounces};
use crate::state::AppState;

/// GET /api/bounces. An unknown `order_by` or `order` falls back to the
/// default (newest first), as listmonk's handler does. Pages larger than
/// [`bounce_export::STREAMED_PAGE`] and `per_page=all` are streamed.
pub async fn list(State(state): State<AppState>, p: Principal, q: QueryPairs) -> ApiResult<Response> {
    p.require(perm::BOUNCES_GET)?;
    let order_by = q.get("order_by").and_then(BounceOrder::parse).unwrap_or(BounceOrder::CreatedAt);
    let desc = !q.get("order").is_some_and(|o| o.eq_ignore_ascii_case("asc"));
    let query = BounceQuery { filter: q.bounce_filter()?, order_by, desc, pagination: q.pagination()? };
    let search = q.get("query").unwrap_or("");
    let streamed = match query.pagination.per_page {
        PerPage::All => true,
        PerPage::Count(n) => n > bounce_export::STREAMED_PAGE,
    };
    if streamed {
        return Ok(bounce_export::json_page(&state, &p, &query, search).await?.into_response());
    }
    let page = bounces::list(&state, &p, &query).await?;
    Ok(data(json!({
        "results": page.results,
        "query": search,
        "total": page.total,
        "per_page": page.per_page,
        "page": page.page,
    }))
    .into_response())
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(bounces::get(&state, &p, id).await?))
}

/// DELETE /api/bounces?id=1&id=2 or ?all=true
pub async fn delete_many(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    bounces::delete(&state, &p, &selection(&q)?).await?;
    Ok(data(true))
}

pub async fn delete_one(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    bounces::delete_one(&state, &p, id).await?;
    Ok(data(true))
}

pub async fn blocklist(State(state): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    bounces::blocklist(&state, &p).await?;
    Ok(data(true))
}

pub async fn of_subscriber(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(bounces::of_subscriber(&state, &p, id).await?))
}

pub async fn delete_of_subscriber(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    bounces::delete_of_subscriber(&state, &p, id).await?;
    Ok(data(true))
}

/// GET /api/bounces/export.csv: same filters as the listing, streamed page by
/// page (keyset on id), so memory stays flat however many bounces there are.
pub async fn export_csv(State(state): State<AppState>, p: Principal, q: QueryPairs) -> ApiResult<Response> {
    p.require(perm::BOUNCES_GET)?;
    Ok(bounce_export::csv(&state, &p, q.bounce_filter()?)?.into_response())
}

fn selection(q: &QueryPairs) -> ApiResult<Selection> {
    if q.flag("all") {
        return Ok(Selection::All);
    }
    let ids = q.ids("id")?;
    if ids.is_empty() {
        return Err(ApiError::bad_request("give one or more id=N parameters, or all=true"));
    }
    Ok(Selection::Ids(ids))
}

pub async fn list_unmatched(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_GET)?;
    let page = bounces::unmatched(&state, &p, q.pagination()?).await?;
    Ok(data(json!({
        "results": page.results, "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}

pub async fn delete_unmatched(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    bounces::delete_unmatched(&state, &p, &selection(&q)?).await?;
    Ok(data(true))
}

/// POST /api/bounces/unmatched/retry?id=..|all=true: match again, e.g. after
/// the subscriber was imported.
pub async fn retry_unmatched(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    let r = bounces::retry_unmatched(&state, &p, &selection(&q)?).await?;
    Ok(data(json!({ "matched": r.matched, "still_unmatched": r.still_unmatched })))
}
