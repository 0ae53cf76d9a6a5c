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
use rebound_mailbox::ScanNowError;
use rebound_store::Selection;
use serde_json::json;
use uuid::Uuid;

use super::{data, pagination};
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
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
    p.require(perm::BOUNCES_GET)?;
    let settings = state.settings.get();
    let status = rebound_mailbox::overview(&settings, state.store.as_ref(), &state.mailboxes.live()).await?;
    Ok(data(status))
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
    let uuid = Uuid::parse_str(&uuid)
        .map_err(|_| ApiError::bad_request(format!("invalid mailbox uuid {uuid:?}")))?;
    let report = state.mailboxes.scan_now(uuid).await.map_err(|e| match e {
        ScanNowError::NotFound(_) => ApiError::NotFound(e.to_string()),
        ScanNowError::BounceDisabled | ScanNowError::NotRunning(_) => ApiError::Unavailable(e.to_string()),
        ScanNowError::MailboxDisabled(_) | ScanNowError::Busy(_) => ApiError::Conflict(e.to_string()),
    })?;
    tracing::info!(mailbox = ?uuid, by = ?p.username, "mailbox scan requested");
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
    let mailbox = q
        .get("mailbox")
        .map(|m| Uuid::parse_str(m).map_err(|_| ApiError::bad_request(format!("invalid mailbox uuid {m:?}"))))
        .transpose()?;
    let page = state.store.query_mailbox_messages(mailbox, pagination(&q)?).await?;
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
    p.require(perm::BOUNCES_GET)?;
    Ok(data(state.store.get_mailbox_message(id).await?))
}

/// The kept bytes, as a message an e-mail client opens.
pub async fn raw_message(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<Response> {
    p.require(perm::BOUNCES_GET)?;
    let m = state.store.get_mailbox_message(id).await?;
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
    let n = state.store.delete_mailbox_messages(&sel).await?;
    tracing::info!(deleted = n, by = ?p.username, "kept mailbox messages deleted");
    Ok(data(true))
}
