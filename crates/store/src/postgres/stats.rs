use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::PgStore;
use crate::stats::BounceTypeCounts;
use crate::stats::DomainBounces;
use crate::stats::daily_row;
use crate::{CampaignBounces, DailyBounces, Result, SourceCount, StatsStore};

#[async_trait]
impl StatsStore for PgStore {
    async fn bounces_per_day(&self, since: DateTime<Utc>) -> Result<Vec<DailyBounces>> {
        // The same expression as listmonk's idx_bounces_date, so the index serves the range.
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT to_char(TIMEZONE('UTC', created_at)::DATE, 'YYYY-MM-DD') AS day, type::text, COUNT(*)
             FROM bounces WHERE TIMEZONE('UTC', created_at)::DATE >= TIMEZONE('UTC', $1::timestamptz)::DATE
             GROUP BY 1, 2",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<DailyBounces> = rows.iter().filter_map(|(d, t, n)| daily_row(d, t, *n)).collect();
        out.sort_by_key(|r| (r.day, r.bounce_type));
        Ok(out)
    }

    async fn bounces_by_domain(&self, since: DateTime<Utc>, top: usize) -> Result<Vec<DomainBounces>> {
        let rows: Vec<(String, String, String, i64)> = sqlx::query_as(
            "SELECT lower(split_part(subscribers.email, '@', 2)) AS domain, bounces.type::text, COALESCE(bounces.meta->>'reason', '') AS reason, COUNT(*)
             FROM bounces JOIN subscribers ON subscribers.id = bounces.subscriber_id
             WHERE bounces.created_at >= $1 GROUP BY 1, 2, 3",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        Ok(crate::stats::domain_rows(rows, top))
    }

    async fn bounces_by_source(&self) -> Result<Vec<SourceCount>> {
        Ok(sqlx::query_as(
            "SELECT source, COUNT(*) AS count FROM bounces GROUP BY source ORDER BY count DESC, source",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn bounces_by_reason(&self) -> Result<Vec<SourceCount>> {
        Ok(sqlx::query_as(
            "SELECT meta->>'reason' AS source, COUNT(*) AS count FROM bounces
             WHERE meta->>'reason' IS NOT NULL AND meta->>'reason' <> ''
             GROUP BY 1 ORDER BY count DESC, source",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    async fn top_bounced_campaigns(&self, limit: u32) -> Result<Vec<CampaignBounces>> {
        Ok(sqlx::query_as(
            "SELECT campaigns.id::int8 AS id, campaigns.name, COUNT(*) AS count
             FROM bounces JOIN campaigns ON campaigns.id = bounces.campaign_id
             GROUP BY campaigns.id, campaigns.name ORDER BY count DESC, campaigns.id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn bounce_counts_of_campaign(&self, campaign_id: i64) -> Result<BounceTypeCounts> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT type::text, COUNT(*) FROM bounces WHERE campaign_id = $1 GROUP BY 1")
                .bind(campaign_id)
                .fetch_all(&self.pool)
                .await?;
        Ok(BounceTypeCounts::from_rows(&rows))
    }
}
