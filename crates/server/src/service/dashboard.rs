//! What the dashboard counts: bounces per day, per source, the campaigns
//! with the most bounces, and the unmatched bounces waiting.

use chrono::{DateTime, Utc};
use rebound_store::{CampaignBounces, DailyBounces, Pagination, PerPage, SourceCount};

use super::ServiceResult;
use crate::auth::{Principal, perm};
use crate::state::AppState;

pub struct BounceStats {
    /// Per UTC day and type since `since`'s day; days without bounces are absent.
    pub days: Vec<DailyBounces>,
    /// Most bounces first.
    pub sources: Vec<SourceCount>,
    /// The five campaigns with the most bounces, most first.
    pub campaigns: Vec<CampaignBounces>,
    pub unmatched: i64,
}

pub async fn bounce_stats(
    state: &AppState,
    p: &Principal,
    since: DateTime<Utc>,
) -> ServiceResult<BounceStats> {
    p.require(perm::BOUNCES_GET)?;
    let days = state.store.bounces_per_day(since).await?;
    let sources = state.store.bounces_by_source().await?;
    let campaigns = state.store.top_bounced_campaigns(5).await?;
    let unmatched = state.store.query_unmatched(Pagination { page: 1, per_page: PerPage::Count(1) }).await?;
    Ok(BounceStats { days, sources, campaigns, unmatched: unmatched.total })
}
