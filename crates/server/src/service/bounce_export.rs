//! Every bounce a query selects, streamed a page at a time so memory stays
//! flat however many there are: the CSV export and the API's
//! large pages and `per_page=all`.

use std::sync::Arc;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use rebound_store::{Bounce, BounceFilter, BounceQuery, PerPage, Store};

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// Rows per page of the streaming exports.
const EXPORT_PAGE: u32 = 1000;

/// Pages of GET /api/bounces larger than this are streamed ([`json_page`]).
pub const STREAMED_PAGE: u32 = EXPORT_PAGE;

/// A body written as it is read from the store. A store error mid-stream
/// is logged and cuts the body short (the status has been sent).
pub struct Streamed {
    content_type: &'static str,
    /// The file name a browser saves it as.
    attachment: Option<&'static str>,
    body: BoxStream<'static, Result<Bytes, std::io::Error>>,
}

impl Streamed {
    pub(crate) fn new(
        content_type: &'static str,
        attachment: Option<&'static str>,
        body: BoxStream<'static, Result<Bytes, std::io::Error>>,
    ) -> Self {
        Streamed { content_type, attachment, body }
    }
}

impl IntoResponse for Streamed {
    fn into_response(self) -> Response {
        let body = Body::from_stream(self.body);
        match self.attachment {
            Some(name) => (
                [
                    (header::CONTENT_TYPE, self.content_type.to_string()),
                    (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
                ],
                body,
            )
                .into_response(),
            None => ([(header::CONTENT_TYPE, self.content_type)], body).into_response(),
        }
    }
}

/// The bounces `filter` selects as CSV (Bounce::CSV_HEADER), paged by id.
pub fn csv(state: &AppState, p: &Principal, filter: BounceFilter) -> ServiceResult<Streamed> {
    p.require(perm::BOUNCES_GET)?;
    let header_row = csv_header().map_err(ServiceError::internal)?;
    let store = state.store.clone();
    let pages = stream::unfold(Some(0i64), move |after| {
        let (store, filter): (Arc<dyn Store>, BounceFilter) = (store.clone(), filter.clone());
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
    Ok(Streamed {
        content_type: "text/csv; charset=utf-8",
        attachment: Some("bounces.csv"),
        body: body.boxed(),
    })
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

/// One page of GET /api/bounces (or every bounce, `per_page=all`) as JSON,
/// written in chunks of [`EXPORT_PAGE`] rows: only the matching ids (8 bytes
/// each) are held, so a client asking for a million rows per page costs flat
/// memory. `total` is the number of matching bounces, as in a normal page;
/// with `per_page=all` it is the number written (rows deleted meanwhile are
/// not counted). The keys come in the order serde_json writes a normal page
/// (alphabetical).
pub async fn json_page(
    state: &AppState,
    p: &Principal,
    query: &BounceQuery,
    search: &str,
) -> ServiceResult<Streamed> {
    p.require(perm::BOUNCES_GET)?;
    let store = state.store.clone();
    let ids: Arc<[i64]> = store.bounce_ids(query).await?.into();
    let page = query.pagination.page.max(1);
    let (start, end, total) = match query.pagination.per_page {
        PerPage::All => (0, ids.len(), None),
        PerPage::Count(n) => {
            let start = (page as usize - 1).saturating_mul(n as usize).min(ids.len());
            (start, start.saturating_add(n as usize).min(ids.len()), Some(ids.len()))
        }
    };
    let head = format!(
        r#"{{"data":{{"page":{page},"per_page":{},"query":{},"results":["#,
        serde_json::to_string(&query.pagination.per_page).map_err(ServiceError::internal)?,
        serde_json::to_string(search).map_err(ServiceError::internal)?
    );
    let pages = stream::unfold(Some((start, 0usize)), move |at| {
        let (store, ids) = (store.clone(), ids.clone());
        async move {
            let (from, written) = at?;
            if from >= end {
                let total = total.unwrap_or(written);
                return Some((Ok(Bytes::from(format!(r#"],"total":{total}}}}}"#))), None));
            }
            let to = (from + EXPORT_PAGE as usize).min(end);
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
    Ok(Streamed { content_type: "application/json", attachment: None, body: body.boxed() })
}
