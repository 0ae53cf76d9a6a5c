//! Bounce mailboxes: their scan status, "scan now", and the messages the
//! scanners kept because they were not bounces (docs/mailboxes.md).
//!
//! | Method | Path | Permission |
//! |---|---|---|
//! | GET | /api/bounces/mailboxes | bounces:get |
//! | POST | /api/bounces/mailboxes/{uuid}/scan[?wait=false] | bounces:manage |
//! | GET | /api/bounces/mailboxes/messages[?mailbox=UUID] | bounces:get |
//! | GET | /api/bounces/mailboxes/messages/{id} | bounces:get |
//! | GET | /api/bounces/mailboxes/messages/{id}/raw | bounces:get |
//! | DELETE | /api/bounces/mailboxes/messages?id=N or ?all=true | bounces:manage |

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rebound_store::Selection;
use serde_json::json;

use super::data;
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::service::mailboxes;
use crate::state::AppState;

/// How long POST .../scan waits for the scan before answering anyway.
const SCAN_WAIT: Duration = Duration::from_secs(600);

/// The routes above; the router merges them.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/bounces/mailboxes", get(list))
        .route("/api/bounces/mailboxes/{uuid}/scan", post(scan))
        .route("/api/bounces/mailboxes/messages", get(list_messages).delete(delete_messages))
        .route("/api/bounces/mailboxes/messages/{id}", get(get_message))
        .route("/api/bounces/mailboxes/messages/{id}/raw", get(raw_message))
}

/// Every configured mailbox with its last scan (from whichever instance
/// scanned it) and this instance's scanner state.
pub async fn list(State(state): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(data(mailboxes::overview(&state, &p).await?))
}

/// Scans the mailbox now. Waits for the scan and returns its report
/// (`?wait=false`: answers 202 at once).
pub async fn scan(
    State(state): State<AppState>,
    p: Principal,
    Path(uuid): Path<String>,
    q: QueryPairs,
) -> ApiResult<Response> {
    p.require(perm::BOUNCES_MANAGE)?;
    let report = mailboxes::scan_now(&state, &p, mailboxes::parse_uuid(&uuid)?).await?;
    if matches!(q.get("wait"), Some("false" | "0" | "no")) {
        return Ok((StatusCode::ACCEPTED, data(json!({"queued": true}))).into_response());
    }
    match tokio::time::timeout(SCAN_WAIT, report).await {
        Ok(Ok(report)) => Ok(data(report).into_response()),
        Ok(Err(_)) => Err(ApiError::Unavailable("the scanner stopped before the scan finished".into())),
        Err(_) => {
            Ok((StatusCode::ACCEPTED, data(json!({"queued": true, "still_running": true}))).into_response())
        }
    }
}

pub async fn list_messages(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_GET)?;
    let mailbox = q.get("mailbox").map(mailboxes::parse_uuid).transpose()?;
    let page = mailboxes::messages(&state, &p, mailbox, q.pagination()?).await?;
    Ok(data(json!({
        "results": page.results,
        "total": page.total,
        "per_page": page.per_page,
        "page": page.page,
    })))
}

pub async fn get_message(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    Ok(data(mailboxes::message(&state, &p, id).await?))
}

/// The kept bytes, as a message an e-mail client opens.
pub async fn raw_message(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    let m = mailboxes::message(&state, &p, id).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "message/rfc822".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"mailbox-message-{id}.eml\"")),
        ],
        m.raw.unwrap_or_default(),
    )
        .into_response())
}

pub async fn delete_messages(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::BOUNCES_MANAGE)?;
    let sel = if q.flag("all") {
        Selection::All
    } else {
        let ids = q.ids("id")?;
        if ids.is_empty() {
            return Err(ApiError::bad_request("give one or more id=N parameters, or all=true"));
        }
        Selection::Ids(ids)
    };
    mailboxes::delete_messages(&state, &p, &sel).await?;
    Ok(data(true))
}
