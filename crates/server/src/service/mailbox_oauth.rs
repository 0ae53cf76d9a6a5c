//! Authorizing an OAuth2 mailbox from the UI (the authorization-code grant
//! with PKCE), so an operator never mints a refresh token by hand: `start`
//! gives the provider's consent page to send the browser to; the provider
//! sends it back to the callback, and `finish` trades the code for a
//! refresh token and saves it into the mailbox's settings.
//!
//! A started authorization lives in this process's memory for ten minutes,
//! bound to the user who started it: the callback must reach the same
//! instance (behind a load balancer, use sticky sessions for /admin/).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rebound_core::settings::MailboxAuth;
use serde_json::Map;
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// How long a started authorization waits for its callback.
const PENDING_FOR: Duration = Duration::from_secs(10 * 60);

struct Pending {
    mailbox: Uuid,
    user_id: i64,
    verifier: String,
    redirect_uri: String,
    started: Instant,
}

/// Authorizations started and not yet called back, by `state`.
#[derive(Default)]
pub struct PendingAuthorizations(Mutex<HashMap<String, Pending>>);

impl PendingAuthorizations {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Pending>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The consent page of the saved OAuth2 mailbox `mailbox`'s provider.
/// `redirect_uri` is rebound's callback as the browser reaches it.
pub fn start(state: &AppState, p: &Principal, mailbox: Uuid, redirect_uri: &str) -> ServiceResult<String> {
    p.require(perm::SETTINGS_MANAGE)?;
    let settings = state.settings.get();
    let m = settings
        .mailboxes
        .iter()
        .find(|m| m.uuid == Some(mailbox))
        .ok_or_else(|| ServiceError::NotFound("There is no such mailbox (save it first).".into()))?;
    if m.auth_protocol != MailboxAuth::Oauth2 {
        return Err(ServiceError::invalid(
            "mailbox",
            "the mailbox's authentication is not OAuth2 (save it as OAuth2 first)",
        ));
    }
    let auth = rebound_mailbox::authorization(&m.oauth2, redirect_uri)
        .map_err(|e| ServiceError::invalid("mailbox", e.to_string()))?;
    let mut pending = state.oauth_pending.lock();
    pending.retain(|_, p| p.started.elapsed() < PENDING_FOR);
    pending.insert(
        auth.state,
        Pending {
            mailbox,
            user_id: p.user_id,
            verifier: auth.verifier,
            redirect_uri: redirect_uri.to_string(),
            started: Instant::now(),
        },
    );
    tracing::info!(mailbox = %mailbox, by = ?p.username, "mailbox OAuth2 authorization started");
    Ok(auth.url)
}

/// The callback: `state` must be one this user started; the code is traded
/// for a refresh token, which replaces the mailbox's. Returns the mailbox's label.
pub async fn finish(state: &AppState, p: &Principal, oauth_state: &str, code: &str) -> ServiceResult<String> {
    p.require(perm::SETTINGS_MANAGE)?;
    let pending = {
        let mut all = state.oauth_pending.lock();
        match all.remove(oauth_state) {
            Some(x) if x.user_id == p.user_id && x.started.elapsed() < PENDING_FOR => x,
            _ => {
                return Err(ServiceError::invalid(
                    "state",
                    "this authorization is unknown or has expired (ten minutes): start it again",
                ));
            }
        }
    };
    let settings = state.settings.get();
    let m = settings
        .mailboxes
        .iter()
        .find(|m| m.uuid == Some(pending.mailbox))
        .ok_or_else(|| ServiceError::NotFound("the mailbox was removed meanwhile".into()))?;
    let refresh = state
        .mailboxes
        .oauth()
        .exchange_code(&m.oauth2, &pending.redirect_uri, code, &pending.verifier)
        .await
        .map_err(|e| ServiceError::Upstream(e.to_string()))?;
    let label = m.label();
    let mut mailboxes = settings.mailboxes.clone();
    for entry in &mut mailboxes {
        if entry.uuid == Some(pending.mailbox) {
            entry.oauth2.refresh_token = rebound_core::Secret::new(refresh.clone());
        }
    }
    let value = serde_json::to_value(&mailboxes).map_err(ServiceError::internal)?;
    state
        .settings
        .update(state.store.as_ref(), &Map::from_iter([("bounce.mailboxes".to_string(), value)]))
        .await?;
    tracing::info!(mailbox = %pending.mailbox, by = ?p.username, "mailbox OAuth2 authorization saved");
    Ok(label)
}

/// A provider's error redirect (`error`, `error_description`) as a message.
pub fn refusal(error: &str, description: Option<&str>) -> String {
    let mut m = format!("the provider did not authorize the mailbox: {error}");
    if let Some(d) = description.filter(|d| !d.is_empty()) {
        m.push_str(": ");
        m.push_str(d);
    }
    m
}
