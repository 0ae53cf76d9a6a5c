//! Request extractors whose failures use the same JSON error shape as
//! everything else (axum's own rejections answer in plain text).

use axum::body::{Body, Bytes};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rebound_core::BounceType;
use rebound_store::{BounceFilter, Pagination, PerPage};
use serde::de::DeserializeOwned;

use crate::connections::BodyTimedOut;
use crate::error::ApiError;

/// The limit on request bodies (docs/design.md "HTTP conventions": over 1 MiB is 413).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON body sent as `application/json` (or a `+json` type). Other
/// content types are 415: a browser may send a cross-site form
/// (`enctype="text/plain"`) or a no-cors `fetch` without a preflight, but
/// never with a JSON content type, so this is half of the API's CSRF defence
/// (the other half is [`crate::cross_site`]). listmonk's API asks the same.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        require_json(req.headers())?;
        let bytes = RawBody::from_request(req, state).await?.0;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

/// 415 unless Content-Type is `application/json` or `application/<x>+json`.
fn require_json(headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = given.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    let json = essence == "application/json"
        || essence.strip_prefix("application/").is_some_and(|sub| sub.ends_with("+json"));
    if json {
        return Ok(());
    }
    let given = if given.is_empty() { "none".to_string() } else { format!("{given:?}") };
    Err(ApiError::UnsupportedMediaType(format!(
        "the body must be JSON sent with Content-Type: application/json (got {given})"
    )))
}

/// The raw body bytes, limited to [`BODY_LIMIT`]; webhook signatures are
/// checked over exactly these bytes.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _state: &S) -> Result<Self, ApiError> {
        read_body(req.into_body()).await.map(RawBody)
    }
}

/// Reads a whole request body of at most [`BODY_LIMIT`] bytes: 413 over the
/// limit, 408 when it does not arrive within the body timeout
/// ([`crate::connections::DeadlineBody`]), 400 when the client broke off.
pub async fn read_body(body: Body) -> Result<Bytes, ApiError> {
    axum::body::to_bytes(body, BODY_LIMIT).await.map_err(|e| {
        let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(c) = cause {
            if let Some(t) = c.downcast_ref::<BodyTimedOut>() {
                return ApiError::RequestTimeout(t.to_string());
            }
            if c.is::<http_body_util::LengthLimitError>() {
                return ApiError::PayloadTooLarge(BODY_LIMIT);
            }
            cause = c.source();
        }
        ApiError::BadRequest(format!("could not read the request body: {e}"))
    })
}

/// 413 before the body is read when its Content-Length is over
/// [`BODY_LIMIT`] (the limit on reading catches bodies without one).
/// tower-http's `RequestBodyLimitLayer` does the same check but answers in
/// plain text; every error here is `{"message": ...}`.
pub async fn refuse_oversized_bodies(req: Request, next: Next) -> Response {
    let declared =
        req.headers().get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return ApiError::PayloadTooLarge(BODY_LIMIT).into_response();
    }
    next.run(req).await
}

/// Query parameters as (key, value) pairs, keeping repeated keys
/// (`?id=1&id=2`), which serde's urlencoded deserialiser cannot.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        Ok(QueryPairs(form_urlencoded::parse(q.as_bytes()).into_owned().collect()))
    }
}

impl QueryPairs {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty())
    }

    pub fn all(&self, key: &str) -> impl Iterator<Item = &str> {
        self.0.iter().filter(move |(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// An optional integer parameter; a malformed one is a 400, not ignored.
    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        self.get(key)
            .map(|v| {
                v.parse::<i64>()
                    .map_err(|_| ApiError::bad_request(format!("invalid {key} {v:?}: not a number")))
            })
            .transpose()
    }

    /// Every `key=N` value (and comma-separated lists), as ids.
    pub fn ids(&self, key: &str) -> Result<Vec<i64>, ApiError> {
        self.all(key)
            .flat_map(|v| v.split(','))
            .filter(|v| !v.trim().is_empty())
            .map(|v| {
                v.trim().parse::<i64>().map_err(|_| ApiError::bad_request(format!("invalid {key} {v:?}")))
            })
            .collect()
    }

    pub fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1" | "yes"))
    }

    /// The bounce listing's filters (`campaign_id`, `subscriber_id`,
    /// `source`, `type`), as the API and the CSV export take them.
    pub fn bounce_filter(&self) -> Result<BounceFilter, ApiError> {
        Ok(BounceFilter {
            campaign_id: self.int("campaign_id")?,
            subscriber_id: self.int("subscriber_id")?,
            source: self.get("source").map(str::to_string),
            bounce_type: self.get("type").map(|t| t.parse::<BounceType>()).transpose()?,
            reason: self.get("reason").map(str::to_string),
        })
    }

    /// `page` and `per_page` (a number or "all") as listmonk's paginator takes
    /// them: never refused. A `page` that is not a number from 1 is page 1; a
    /// `per_page` that is not a number from 1 is listmonk's default, 20.
    /// listmonk clamps `per_page` to 50, which silently cuts short a client
    /// that asks for 1000000 to get everything; rebound honours the number
    /// (docs/listmonk.md), and the handlers stream large pages.
    pub fn pagination(&self) -> Result<Pagination, ApiError> {
        let page =
            self.get("page").and_then(|p| p.trim().parse::<u32>().ok()).filter(|p| *p >= 1).unwrap_or(1);
        let per_page = match self.get("per_page") {
            Some("all") => PerPage::All,
            Some(n) => PerPage::Count(
                n.trim()
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n >= 1)
                    .map_or(20, |n| n.min(u64::from(u32::MAX)) as u32),
            ),
            None => PerPage::Count(20),
        };
        Ok(Pagination { page, per_page })
    }
}
