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

/// The bounces of one receiving domain (the part of the subscribers'
/// addresses after the "@"), by type, with the parser's reasons.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct DomainBounces {
    pub domain: String,
    pub counts: BounceTypeCounts,
    /// Most first; bounces without a reason are left out.
    pub reasons: Vec<ReasonCount>,
}

/// How many bounces had one parser reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReasonCount {
    pub reason: String,
    pub count: i64,
}

fn add_reason(reasons: &mut Vec<ReasonCount>, reason: String, n: i64) {
    match reasons.iter_mut().find(|r| r.reason == reason) {
        Some(r) => r.count += n,
        None => reasons.push(ReasonCount { reason, count: n }),
    }
}

fn sort_reasons(reasons: &mut [ReasonCount]) {
    reasons.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.reason.cmp(&b.reason)));
}

impl DomainBounces {
    pub fn total(&self) -> i64 {
        self.counts.soft + self.counts.hard + self.counts.complaint
    }
}

/// What both backends select for [`StatsStore::bounces_by_domain`]:
/// (domain, type, reason or "", count).
pub(crate) fn domain_rows(rows: Vec<(String, String, String, i64)>, top: usize) -> Vec<DomainBounces> {
    let mut by: std::collections::HashMap<String, DomainBounces> = std::collections::HashMap::new();
    for (domain, bounce_type, reason, n) in rows {
        let d = by.entry(domain.clone()).or_insert_with(|| DomainBounces { domain, ..Default::default() });
        let add = BounceTypeCounts::from_rows(&[(bounce_type, n)]);
        d.counts.soft += add.soft;
        d.counts.hard += add.hard;
        d.counts.complaint += add.complaint;
        if !reason.is_empty() {
            add_reason(&mut d.reasons, reason, n);
        }
    }
    let mut all: Vec<DomainBounces> = by.into_values().collect();
    all.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.domain.cmp(&b.domain)));
    for d in &mut all {
        sort_reasons(&mut d.reasons);
    }
    // A bounded list: the top domains, then one "other" row for the rest.
    if all.len() > top {
        let rest = all.split_off(top);
        let mut other = DomainBounces { domain: OTHER_DOMAINS.to_string(), ..Default::default() };
        for d in rest {
            other.counts.soft += d.counts.soft;
            other.counts.hard += d.counts.hard;
            other.counts.complaint += d.counts.complaint;
            for r in d.reasons {
                add_reason(&mut other.reasons, r.reason, r.count);
            }
        }
        sort_reasons(&mut other.reasons);
        all.push(other);
    }
    all
}

/// The row that sums the domains beyond the top ones.
pub const OTHER_DOMAINS: &str = "(other)";

#[async_trait]
pub trait StatsStore: Send + Sync {
    /// Bounces created at `since` or later per receiving domain, most first:
    /// the `top` domains, and the rest summed as [`OTHER_DOMAINS`].
    async fn bounces_by_domain(&self, since: DateTime<Utc>, top: usize) -> Result<Vec<DomainBounces>>;
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
