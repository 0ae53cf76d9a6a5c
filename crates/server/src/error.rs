//! The one place errors become HTTP responses: `{"message": "..."}` with a
//! fitting status, as listmonk answers. 5xx bodies are generic; the cause is
//! logged once, here. Every error type a handler meets (the service's, the
//! store's, the providers', the scanners') has its `From` impl below the
//! status table, so handlers only use `?`; the pages (ui/error.rs) take the
//! status from the same table.

use axum::Json;
use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rebound_core::CoreError;
use rebound_intake::IntakeError;
use rebound_mailbox::ScanNowError;
use rebound_providers::{ProviderError, Providers};
use rebound_store::StoreError;
use serde_json::json;
use thiserror::Error;

use crate::service::ServiceError;

#[derive(Debug, Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    RequestTimeout(String),
    #[error("request body is larger than the limit of {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// A per-client limit reached; answered with `Retry-After: retry_after` (seconds).
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: u64 },
    /// A feature switched off in the settings, or the store unavailable for a while.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    BadGateway(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    pub fn bad_request(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }

    pub fn internal(e: impl Into<anyhow::Error>) -> Self {
        ApiError::Internal(e.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::RequestTimeout(_) => StatusCode::REQUEST_TIMEOUT,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = format!("{e:#}"), "request failed");
        }
        let mut res = (status, Json(json!({ "message": self.to_string() }))).into_response();
        let headers = res.headers_mut();
        match &self {
            // Not `Basic`: a browser that got a Basic challenge asks for a
            // password and then sends it with every request to this site,
            // also from other sites' pages. curl -u, reqwest, Python requests
            // and Go send basic credentials without being asked; listmonk's
            // `token` scheme is the challenge's name.
            ApiError::Unauthorized(_) => {
                headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Token realm=\"rebound\""));
            }
            ApiError::TooManyRequests { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            _ => {}
        }
        res
    }
}

/// axum's own rejections (a path segment that is not a number, a method the
/// route does not have) answer in plain text or with an empty body; this
/// gives them the `{"message": ...}` every other API error has, keeping
/// their status and headers (`Allow`). For the API and the webhooks only:
/// the pages answer in HTML.
pub async fn json_rejections(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    let status = res.status();
    let json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.contains("json"));
    if !(status.is_client_error() || status.is_server_error()) || json {
        return res;
    }
    let (parts, body) = res.into_parts();
    // Rejection texts are a line; anything longer is cut, not buffered.
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&text).trim().to_string();
    let message =
        if text.is_empty() { status.canonical_reason().unwrap_or("error").to_string() } else { text };
    let mut out = (status, Json(json!({ "message": message }))).into_response();
    for (name, value) in &parts.headers {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            out.headers_mut().append(name, value.clone());
        }
    }
    out
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            StoreError::Conflict(msg) => ApiError::Conflict(msg),
            StoreError::Invalid(msg) => ApiError::BadRequest(msg),
            e @ (StoreError::Database(_) | StoreError::Migrate(_)) => ApiError::Internal(e.into()),
        }
    }
}

impl From<IntakeError> for ApiError {
    fn from(e: IntakeError) -> Self {
        match e {
            IntakeError::Closed => ApiError::Unavailable("rebound is shutting down; retry".into()),
            IntakeError::Record(e) => ApiError::internal(anyhow::anyhow!("{e}")),
            IntakeError::Write(e) => e.into(),
        }
    }
}

impl From<CoreError> for ApiError {
    fn from(e: CoreError) -> Self {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        match e {
            ServiceError::Invalid { message, .. } => ApiError::BadRequest(message),
            ServiceError::Forbidden(m) => ApiError::Forbidden(m),
            ServiceError::NotFound(m) => ApiError::NotFound(m),
            ServiceError::Conflict(m) => ApiError::Conflict(m),
            ServiceError::Unavailable(m) => ApiError::Unavailable(m),
            ServiceError::Upstream(m) => ApiError::BadGateway(m),
            ServiceError::Scan(e) => e.into(),
            ServiceError::Store(e) => e.into(),
            ServiceError::Intake(e) => e.into(),
            ServiceError::Internal(e) => ApiError::Internal(e),
        }
    }
}

/// "Scan now" (POST /api/bounces/mailboxes/{uuid}/scan).
impl From<ScanNowError> for ApiError {
    fn from(e: ScanNowError) -> Self {
        match e {
            ScanNowError::NotFound(_) => ApiError::NotFound(e.to_string()),
            ScanNowError::BounceDisabled | ScanNowError::NotRunning(_) => {
                ApiError::Unavailable(e.to_string())
            }
            ScanNowError::MailboxDisabled(_) | ScanNowError::Busy(_) => ApiError::Conflict(e.to_string()),
        }
    }
}

/// A provider webhook refused (handlers/providers.rs).
impl From<ProviderError> for ApiError {
    fn from(e: ProviderError) -> Self {
        match e {
            ProviderError::UnknownProvider(p) => ApiError::NotFound(format!(
                "unknown provider {p:?}; known providers: {}",
                Providers::names().join(", ")
            )),
            e @ (ProviderError::Disabled(_) | ProviderError::MappedDisabled(_)) => {
                ApiError::NotFound(e.to_string())
            }
            ProviderError::Unauthorized(m) => ApiError::Unauthorized(m),
            ProviderError::Forbidden(m) => ApiError::Forbidden(m),
            ProviderError::BadRequest(m) => ApiError::BadRequest(m),
            ProviderError::Upstream(m) => ApiError::BadGateway(m),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_errors_answer_with_their_status_and_message() {
        let cases = [
            (ServiceError::invalid("name", "name is required"), 400, "name is required"),
            (ServiceError::Forbidden("permission denied".into()), 403, "permission denied"),
            (StoreError::NotFound("campaign 9".into()).into(), 404, "campaign 9 not found"),
            (StoreError::Conflict("taken".into()).into(), 409, "taken"),
            (StoreError::Invalid("no such list".into()).into(), 400, "no such list"),
            (ServiceError::Unavailable("off".into()), 503, "off"),
            (ServiceError::Upstream("refused".into()), 502, "refused"),
            (ScanNowError::Busy(uuid::Uuid::nil()).into(), 409, "a scan of mailbox"),
            (ScanNowError::BounceDisabled.into(), 503, "bounce processing is disabled"),
            (ServiceError::internal(anyhow::anyhow!("secret cause")), 500, "internal error"),
        ];
        for (e, status, message) in cases {
            let e = ApiError::from(e);
            assert_eq!(e.status().as_u16(), status, "{e}");
            assert!(e.to_string().starts_with(message), "{e}");
        }
    }
}
