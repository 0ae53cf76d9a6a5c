//! An operator corrects a bounce's type. The store changes it, records the
//! correction in the bounce's `meta.corrections` and evaluates the new
//! type's rule again with the current `bounce.actions`
//! (`rebound_store::reclassify` has the rules).

use chrono::Utc;
use rebound_core::BounceType;
use rebound_store::{Reclassification, Reclassified};

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// The type asked for, or a refusal naming the field `type`.
pub fn requested_type(value: Option<&str>) -> ServiceResult<BounceType> {
    let t = value.map(str::trim).filter(|t| !t.is_empty());
    let t = t.ok_or_else(|| ServiceError::invalid("type", "type is required: hard, soft or complaint"))?;
    t.parse().map_err(|_| {
        ServiceError::invalid("type", format!("invalid type {t:?}: expected hard, soft or complaint"))
    })
}

/// Reclassifies bounce `id` as `to`; the answer holds the bounce as it now
/// is (None when the new type's rule deleted the subscriber, and the bounce
/// with it) and the correction.
pub async fn reclassify(
    state: &AppState,
    p: &Principal,
    id: i64,
    to: BounceType,
    note: Option<String>,
) -> ServiceResult<Reclassified> {
    p.require(perm::BOUNCES_MANAGE)?;
    let actions = state.settings.get().bounce_actions();
    let request = Reclassification { bounce_id: id, to, by: p.username.clone(), note };
    let done = state.store.reclassify_bounce(&request, &actions, Utc::now()).await?;
    let c = &done.correction;
    tracing::info!(
        id,
        by = %p.username,
        from = %c.from,
        to = %c.to,
        count = c.count,
        action = c.action.map(|a| a.as_str()),
        "bounce reclassified"
    );
    Ok(done)
}
