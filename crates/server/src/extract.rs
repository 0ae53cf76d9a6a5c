//! Request extractors whose failures use the same JSON error shape as
//! everything else (axum's own rejections answer in plain text).

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The limit on request bodies (SPEC.md: over 1 MiB is 413).
pub const BODY_LIMIT: usize = 1024 * 1024;

/// A JSON body, whatever the Content-Type says (listmonk's clients and curl's
/// `-d` often send form content types with a JSON body).
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let bytes = RawBody::from_request(req, state).await?.0;
        serde_json::from_slice(&bytes)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("invalid JSON body: {e}")))
    }
}

/// The raw body bytes, limited to [`BODY_LIMIT`]; webhook signatures are
/// checked over exactly these bytes.
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(BODY_LIMIT)
            } else {
                ApiError::BadRequest(format!("could not read the request body: {rej}"))
            }
        })
    }
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
}
