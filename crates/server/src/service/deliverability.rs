//! Deliverability by receiving domain: which domains bounce, how, and why
//! (docs/deliverability.md). The reasons per domain tell a reputation or
//! authentication problem (outlook.com: blocked, badreputation) from a list
//! problem (userunknown everywhere).

use chrono::{Duration, Utc};
use rebound_store::DomainBounces;

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// Domains listed by name at most; the rest are one "(other)" row, so the
/// answer stays small whatever the list holds.
pub const TOP_DOMAINS: usize = 50;

/// The window a request may ask for, in days.
pub const MAX_DAYS: i64 = 366;

/// The bounces of the last `days` days per receiving domain, most first.
pub async fn domains(state: &AppState, p: &Principal, days: i64) -> ServiceResult<Vec<DomainBounces>> {
    p.require(perm::BOUNCES_GET)?;
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ServiceError::invalid("days", format!("days must be from 1 to {MAX_DAYS}")));
    }
    Ok(state.store.bounces_by_domain(Utc::now() - Duration::days(days), TOP_DOMAINS).await?)
}
