//! The live settings (crate::settings), read with secrets masked and
//! updated whole or in part, and what the provider webhooks make of them.

use std::sync::Arc;

use rebound_core::Settings;
use rebound_providers::ProviderStatus;
use serde_json::{Map, Value};

use super::ServiceResult;
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// The settings, secrets masked (they serialise as listmonk's flat object).
pub fn get(state: &AppState, p: &Principal) -> ServiceResult<Settings> {
    p.require(perm::SETTINGS_GET)?;
    Ok(state.settings.get().masked())
}

/// Applies `update` (the flat object, whole or partial; the masked
/// placeholder keeps a stored secret), saves what changed and publishes
/// the result. A refused value is invalid at "settings", its message
/// naming the setting by its path ("bounce.mailboxes[0].host is required").
pub async fn update(
    state: &AppState,
    p: &Principal,
    update: &Map<String, Value>,
) -> ServiceResult<Arc<Settings>> {
    p.require(perm::SETTINGS_MANAGE)?;
    state.settings.update(state.store.as_ref(), update).await
}

/// Each provider's webhook path, whether it is enabled, and why its
/// settings refuse every request when they do.
pub fn provider_statuses(state: &AppState, p: &Principal) -> ServiceResult<Vec<ProviderStatus>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(rebound_providers::statuses(&state.settings.get()))
}
