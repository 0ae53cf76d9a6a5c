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

#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Bounces created on `since`'s UTC day or later, counted per UTC day and
    /// type, ordered by day then type. Days without bounces are absent.
    async fn bounces_per_day(&self, since: DateTime<Utc>) -> Result<Vec<DailyBounces>>;
    /// Every source with its bounce count, most bounces first.
    async fn bounces_by_source(&self) -> Result<Vec<SourceCount>>;
    /// The `limit` campaigns with the most bounces, most first.
    async fn top_bounced_campaigns(&self, limit: u32) -> Result<Vec<CampaignBounces>>;
}

/// The flat row both backends select for [`StatsStore::bounces_per_day`].
pub(crate) fn daily_row(day: &str, bounce_type: &str, count: i64) -> Option<DailyBounces> {
    Some(DailyBounces {
        day: NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?,
        bounce_type: bounce_type.parse().ok()?,
        count,
    })
}
