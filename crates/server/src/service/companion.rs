//! What companion mode (docs/companion.md) changes in the operations: in
//! listmonk's database, listmonk's subscribers, lists and campaigns are
//! listmonk's. rebound writes only what listmonk's own bounce processing
//! writes (bounce rows and the actions of its record-bounce, the bounce
//! endpoints' deletes and blocklists); every other write is refused here,
//! once, for the API and the pages alike.

use super::{ServiceError, ServiceResult};
use crate::state::AppState;

/// Whose data an operation would change.
#[derive(Debug, Clone, Copy)]
pub enum ListmonkData {
    Subscribers,
    Lists,
    Campaigns,
}

impl ListmonkData {
    fn name(self) -> &'static str {
        match self {
            ListmonkData::Subscribers => "subscribers",
            ListmonkData::Lists => "lists",
            ListmonkData::Campaigns => "campaigns",
        }
    }
}

/// Whether rebound runs inside listmonk's database.
pub fn is_companion(state: &AppState) -> bool {
    state.store.listmonk().is_some()
}

/// 409 in companion mode: listmonk owns this data.
pub fn refuse_in_companion(state: &AppState, data: ListmonkData) -> ServiceResult<()> {
    if is_companion(state) {
        return Err(ServiceError::Conflict(format!(
            "rebound runs as listmonk's companion: listmonk owns its {}; change them in listmonk \
             (rebound records bounces and applies their actions only)",
            data.name()
        )));
    }
    Ok(())
}
