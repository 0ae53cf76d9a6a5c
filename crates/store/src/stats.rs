//! Aggregates for the dashboard: bounces per day by type, by source, and the
//! campaigns with the most bounces. Days are UTC calendar days.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use rebound_core::BounceType;
use serde::Serialize;

use crate::Result;

/// How many bounces of one type were recorded on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DailyBounces {
    pub day: NaiveDate,
    #[serde(rename = "type")]
    pub bounce_type: BounceType,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SourceCount {
    pub source: String,
    pub count: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct CampaignBounces {
    pub id: i64,
    pub name: String,
    pub count: i64,
}

/// One campaign's recorded bounces by type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct BounceTypeCounts {
    pub soft: i64,
    pub hard: i64,
    pub complaint: i64,
}

impl BounceTypeCounts {
    pub(crate) fn from_rows(rows: &[(String, i64)]) -> Self {
        let mut counts = BounceTypeCounts::default();
        for (bounce_type, n) in rows {
            match bounce_type.parse() {
                Ok(BounceType::Soft) => counts.soft += n,
                Ok(BounceType::Hard) => counts.hard += n,
                Ok(BounceType::Complaint) => counts.complaint += n,
                Err(_) => {}
            }
        }
        counts
    }
}

#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Bounces created on `since`'s UTC day or later, counted per UTC day and
    /// type, ordered by day then type. Days without bounces are absent.
    async fn bounces_per_day(&self, since: DateTime<Utc>) -> Result<Vec<DailyBounces>>;
    /// Every source with its bounce count, most bounces first.
    async fn bounces_by_source(&self) -> Result<Vec<SourceCount>>;
    /// Every parser reason (`meta.reason`) with its bounce count, most first
    /// (in `SourceCount.source`); bounces without one are left out.
    async fn bounces_by_reason(&self) -> Result<Vec<SourceCount>>;
    /// The `limit` campaigns with the most bounces, most first.
    async fn top_bounced_campaigns(&self, limit: u32) -> Result<Vec<CampaignBounces>>;
    /// The bounces recorded against one campaign, by type (zeros for a
    /// campaign without bounces or one that does not exist).
    async fn bounce_counts_of_campaign(&self, campaign_id: i64) -> Result<BounceTypeCounts>;
}

/// The flat row both backends select for [`StatsStore::bounces_per_day`].
pub(crate) fn daily_row(day: &str, bounce_type: &str, count: i64) -> Option<DailyBounces> {
    Some(DailyBounces {
        day: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
        bounce_type: bounce_type.parse().ok()?,
        count,
    })
}
