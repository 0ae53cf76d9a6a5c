//! Errors as pages: the API's [`ApiError`] (and so its status for every
//! error type, error.rs) with an HTML body, plus the two cases only a
//! browser has (log in first; a form without a valid CSRF token).

use askama::Template;
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use rebound_core::CoreError;
use rebound_store::StoreError;

use super::BASE;
use crate::error::ApiError;
use crate::service::ServiceError;

#[derive(Debug)]
pub enum UiError {
    /// No valid session: go to the login page, then back to `next`.
    Login {
        next: Option<String>,
    },
    /// The form's CSRF token is missing or wrong.
    Csrf,
    NotFound(String),
    Api(ApiError),
}

impl From<ApiError> for UiError {
    fn from(e: ApiError) -> Self {
        UiError::Api(e)
    }
}

impl From<ServiceError> for UiError {
    fn from(e: ServiceError) -> Self {
        UiError::Api(e.into())
    }
}

impl From<StoreError> for UiError {
    fn from(e: StoreError) -> Self {
        UiError::Api(e.into())
    }
}

impl From<CoreError> for UiError {
    fn from(e: CoreError) -> Self {
        UiError::Api(e.into())
    }
}

impl From<askama::Error> for UiError {
    fn from(e: askama::Error) -> Self {
        UiError::Api(ApiError::internal(e))
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
    asset_version: &'a str,
}

impl IntoResponse for UiError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            UiError::Login { next } => {
                let to = match next {
                    Some(n) => format!(
                        "{BASE}/login?next={}",
                        form_urlencoded::byte_serialize(n.as_bytes()).collect::<String>()
                    ),
                    None => format!("{BASE}/login"),
                };
                return Redirect::to(&to).into_response();
            }
            UiError::Csrf => (
                StatusCode::FORBIDDEN,
                "The form has expired",
                "This form was not sent from a current rebound page (its security token is missing \
                 or out of date). Go back, reload the page and try again."
                    .to_string(),
            ),
            UiError::NotFound(m) => (StatusCode::NOT_FOUND, "Not found", m),
            UiError::Api(e) => {
                let status = e.status();
                if let ApiError::Internal(cause) = &e {
                    tracing::error!(error = format!("{cause:#}"), "UI request failed");
                }
                let title = match status {
                    StatusCode::FORBIDDEN => {
                        // The title says it already; the message says which permission and what to do.
                        let m = e.to_string();
                        let which = m.strip_prefix("permission denied: ").unwrap_or(&m).to_string();
                        return render_error(
                            StatusCode::FORBIDDEN,
                            "Permission denied",
                            &format!(
                                "Your user may not open this: {which}. Ask an administrator to grant it."
                            ),
                        );
                    }
                    StatusCode::NOT_FOUND => "Not found",
                    StatusCode::UNAUTHORIZED => "Not logged in",
                    s if s.is_server_error() => "Something went wrong",
                    _ => "That did not work",
                };
                (status, title, e.to_string())
            }
        };
        render_error(status, title, &message)
    }
}

fn render_error(status: StatusCode, title: &str, message: &str) -> Response {
    let page = ErrorPage { title, message, asset_version: super::assets::version() };
    match page.render() {
        Ok(body) => (status, Html(body)).into_response(),
        Err(_) => (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message.to_string())
            .into_response(),
    }
}
