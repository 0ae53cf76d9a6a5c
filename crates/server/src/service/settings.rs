//! The live settings (crate::settings), read with secrets masked and
//! updated whole or in part, and what the provider webhooks make of them.

use std::sync::Arc;

use rebound_core::Settings;
use rebound_providers::ProviderStatus;
use serde_json::{Map, Value};

use super::{ServiceError, ServiceResult};
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

/// listmonk's PUT /api/settings/{key}: `value` replaces that one key, with
/// everything a whole update does (validation, secrets sent back as the
/// placeholder or "" kept). A key neither rebound nor the database has is
/// refused: listmonk answers 200 and saves nothing, which hides a typo.
pub async fn update_key(
    state: &AppState,
    p: &Principal,
    key: &str,
    value: Value,
) -> ServiceResult<Arc<Settings>> {
    p.require(perm::SETTINGS_MANAGE)?;
    let known = Settings::keys().iter().any(|k| k == key) || state.settings.get().other.contains_key(key);
    if !known {
        return Err(ServiceError::invalid("settings", format!("unknown setting {key:?}")));
    }
    update(state, p, &Map::from_iter([(key.to_string(), value)])).await
}

/// Each provider's webhook path, whether it is enabled, and why its
/// settings refuse every request when they do.
pub fn provider_statuses(state: &AppState, p: &Principal) -> ServiceResult<Vec<ProviderStatus>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(rebound_providers::statuses(&state.settings.get()))
}
