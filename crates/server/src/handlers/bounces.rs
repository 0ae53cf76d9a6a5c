//! The bounces API (SPEC.md's table), the unmatched bounces, and the CSV export.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::{StreamExt, stream};
use rebound_core::BounceType;
use rebound_store::{Bounce, BounceFilter, BounceOrder, BounceQuery, PerPage, Selection, Store};
use serde_json::json;
use std::sync::Arc;

use super::{data, pagination};
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::state::AppState;

/// Rows per page of the streaming export.
const EXPORT_PAGE: u32 = 1000;

fn filter(q: &QueryPairs) -> ApiResult<BounceFilter> {
    Ok(BounceFilter {
        campaign_id: q.int("campaign_id")?,
        subscriber_id: q.int("subscriber_id")?,
        source: q.get("source").map(str::to_string),
        bounce_type: q.get("type").map(|t| t.parse::<BounceType>()).transpose()?,
    })
}

pub async fn list(State(state): State<AppState>, p: Principal, q: QueryPairs) -> ApiResult<Response> {
    p.require(perm::BOUNCES_GET)?;
    let order_by = match q.get("order_by") {
        None => BounceOrder::CreatedAt,
        Some(o) => BounceOrder::parse(o).ok_or_else(|| {
            ApiError::bad_request(format!(
                "invalid order_by {o:?}: expected email, campaign_name, source, created_at or type"
            ))
        })?,
    };
    let desc = match q.get("order").map(str::to_ascii_lowercase).as_deref() {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(o) => return Err(ApiError::bad_request(format!("invalid order {o:?}: expected asc or desc"))),
    };
    let query = BounceQuery { filter: filter(&q)?, order_by, desc, pagination: pagination(&q)? };
    let search = q.get("query").unwrap_or("");
    if query.pagination.per_page == PerPage::All {
        return stream_all(state.store.clone(), &query, search).await;
    }
    let page = state.store.query_bounces(&query).await?;
    Ok(data(json!({
        "results": page.results,
        "query": search,
        "total": page.total,
        "per_page": page.per_page,
        "page": page.page,
    }))
    .into_response())
}

/// `per_page=all`: the same JSON as a page, streamed [`EXPORT_PAGE`] rows
/// at a time, so memory holds the selected ids and one page, not every row.
/// The keys come in the order serde_json writes the paged answer
/// (alphabetical); `total` is the number of rows written, which is what the
/// count says unless bounces are deleted while the answer streams.
async fn stream_all(store: Arc<dyn Store>, query: &BounceQuery, search: &str) -> ApiResult<Response> {
    let ids: Arc<[i64]> = store.bounce_ids(query).await?.into();
    let head = format!(
        r#"{{"data":{{"page":{},"per_page":0,"query":{},"results":["#,
        query.pagination.page.max(1),
        serde_json::to_string(search).map_err(ApiError::internal)?
    );
    let pages = stream::unfold(Some((0usize, 0usize)), move |at| {
        let (store, ids) = (store.clone(), ids.clone());
        async move {
            let (from, written) = at?;
            if from >= ids.len() {
                return Some((Ok(Bytes::from(format!(r#"],"total":{written}}}}}"#))), None));
            }
            let to = (from + EXPORT_PAGE as usize).min(ids.len());
            match store.bounces_by_ids(&ids[from..to]).await {
                Ok(rows) => {
                    let mut out = Vec::with_capacity(rows.len() * 512);
                    for (i, b) in rows.iter().enumerate() {
                        if written + i > 0 {
                            out.push(b',');
                        }
                        if let Err(e) = serde_json::to_writer(&mut out, b) {
                            return Some((Err(std::io::Error::other(e)), None));
                        }
                    }
                    Some((Ok(Bytes::from(out)), Some((to, written + rows.len()))))
                }
                Err(e) => {
                    tracing::error!(error = e.to_string(), "bounce listing failed mid-stream");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let body = stream::once(async move { Ok::<Bytes, std::io::Error>(Bytes::from(head)) }).chain(pages);
    Ok(([(header::CONTENT_TYPE, "application/json")], Body::from_stream(body)).into_response())
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_GET)?;
    Ok(data(state.store.get_bounce(id).await?))
}

/// DELETE /api/bounces?id=1&id=2 or ?all=true
pub async fn delete_many(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    let sel = selection(&q)?;
    let n = state.store.delete_bounces(&sel).await?;
    tracing::info!(deleted = n, by = ?p.username, "bounces deleted");
    Ok(data(true))
}

pub async fn delete_one(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    if state.store.delete_bounces(&Selection::Ids(vec![id])).await? == 0 {
        return Err(ApiError::NotFound(format!("bounce {id} not found")));
    }
    Ok(data(true))
}

pub async fn blocklist(State(state): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    let n = state.store.blocklist_bounced_subscribers().await?;
    tracing::info!(blocklisted = n, by = ?p.username, "bounced subscribers blocklisted");
    Ok(data(true))
}

pub async fn of_subscriber(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_GET)?;
    state.store.get_subscriber(id).await?;
    let query = BounceQuery {
        filter: BounceFilter { subscriber_id: Some(id), ..Default::default() },
        pagination: rebound_store::Pagination { page: 1, per_page: rebound_store::PerPage::All },
        desc: true,
        ..Default::default()
    };
    Ok(data(state.store.query_bounces(&query).await?.results))
}

pub async fn delete_of_subscriber(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    state.store.get_subscriber(id).await?;
    state.store.delete_subscriber_bounces(id).await?;
    Ok(data(true))
}

/// GET /api/bounces/export.csv: same filters as the listing, streamed page by
/// page (keyset on id), so memory stays flat however many bounces there are.
pub async fn export_csv(State(state): State<AppState>, p: Principal, q: QueryPairs) -> ApiResult<Response> {
    p.require(perm::BOUNCES_GET)?;
    let filter = filter(&q)?;
    let header_row = csv_header().map_err(ApiError::internal)?;
    let pages = stream::unfold(Some(0i64), move |after| {
        let (store, filter): (Arc<dyn Store>, BounceFilter) = (state.store.clone(), filter.clone());
        async move {
            let after = after?;
            match store.bounces_after(&filter, after, EXPORT_PAGE).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let next = rows.last().map(|b| b.id);
                    let more = rows.len() as u32 == EXPORT_PAGE;
                    Some((csv_page(&rows), next.filter(|_| more)))
                }
                Err(e) => {
                    tracing::error!(error = e.to_string(), "bounce export failed mid-stream");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let body = stream::once(async move { Ok::<Bytes, std::io::Error>(header_row) }).chain(pages);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CONTENT_DISPOSITION, "attachment; filename=\"bounces.csv\""),
        ],
        Body::from_stream(body),
    )
        .into_response())
}

fn csv_page(rows: &[Bounce]) -> Result<Bytes, std::io::Error> {
    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
    for b in rows {
        w.write_record(b.csv_record())?;
    }
    w.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()))
}

fn csv_header() -> Result<Bytes, std::io::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(Bounce::CSV_HEADER)?;
    w.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()))
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
    let page = state.store.query_unmatched(pagination(&q)?).await?;
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
    state.store.delete_unmatched(&selection(&q)?).await?;
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
    let outcomes = state.intake.retry_unmatched(&selection(&q)?).await?;
    let matched = outcomes.iter().filter(|o| !matches!(o, rebound_store::RecordOutcome::Unmatched)).count();
    Ok(data(json!({ "matched": matched, "still_unmatched": outcomes.len() - matched })))
}
