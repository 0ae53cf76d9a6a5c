//! "Authorize" on an OAuth2 mailbox: sends the browser to the provider's
//! consent page and takes it back (service::mailbox_oauth). Both are GETs,
//! as the authorization-code grant is: the callback acts only on a `state`
//! this user started, which is what stands in for a CSRF token here.

use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};

use super::session::{Ui, base_url};
use super::{BASE, UiError};
use crate::extract::QueryPairs;
use crate::service::{ServiceError, mailbox_oauth, mailboxes};
use crate::state::AppState;
use crate::ui::form::redirect_done;

/// The callback as the browser reaches this server (Host, or the proxy's
/// X-Forwarded-Host): it must be the redirect URI registered with the provider.
pub fn callback_url(headers: &HeaderMap) -> String {
    format!("{}{BASE}/oauth/callback", base_url(headers))
}

/// GET /admin/settings/bounces/mailboxes/{uuid}/authorize
pub async fn start(
    State(state): State<AppState>,
    ui: Ui,
    Path(uuid): Path<String>,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    let mailbox = mailboxes::parse_uuid(&uuid)?;
    let url = mailbox_oauth::start(&state, &ui.principal, mailbox, &callback_url(&headers))?;
    // A plain 303 to another origin (the provider's consent page).
    Ok(([(LOCATION, url)], axum::http::StatusCode::SEE_OTHER).into_response())
}

/// GET /admin/oauth/callback?code=...&state=... (or ?error=...)
pub async fn callback(State(state): State<AppState>, ui: Ui, q: QueryPairs) -> Result<Response, UiError> {
    if let Some(error) = q.get("error") {
        return Err(ServiceError::Upstream(mailbox_oauth::refusal(error, q.get("error_description"))).into());
    }
    let (Some(code), Some(oauth_state)) = (q.get("code"), q.get("state")) else {
        return Err(ServiceError::invalid("code", "the provider's answer has no code and state").into());
    };
    mailbox_oauth::finish(&state, &ui.principal, oauth_state, code).await?;
    Ok(redirect_done(&format!("{BASE}/settings/bounces"), "authorized", &[]))
}
