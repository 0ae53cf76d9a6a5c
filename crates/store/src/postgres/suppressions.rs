use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::PgStore;
use super::bounces::apply_blocklist;
use crate::record::SuppressionWrite;
use crate::suppressions::BLOCKLISTED_REASON;
use crate::webhooks::{self, event_type};
use crate::{Paged, Result, Suppression, SuppressionChange, SuppressionQuery, SuppressionStore};

/// See the SQLite backend.
const ENTRIES: &str = "WITH entries AS (
  SELECT r.email, (r.active OR EXISTS (SELECT 1 FROM subscribers s WHERE LOWER(s.email) = r.email
           AND s.status = 'blocklisted')) AS suppressed,
         r.type, r.action, r.reason, r.source, r.first_seen, r.last_seen, r.count::int8 AS count,
         r.subscriber_id::int8 AS subscriber_id, r.reset_at AS reactivated_at, r.updated_at
  FROM rebound_suppressions r
  UNION ALL
  SELECT LOWER(s.email), TRUE, 'manual', 'blocklist', '%BLOCKLISTED%', 'subscriber', s.updated_at, s.updated_at,
         0::int8, s.id::int8, NULL::timestamptz, s.updated_at
  FROM subscribers s WHERE s.status = 'blocklisted'
    AND NOT EXISTS (SELECT 1 FROM rebound_suppressions r WHERE r.email = LOWER(s.email)))";

/// $1 since, $2 search pattern.
const FILTER: &str = "(CASE WHEN $1::timestamptz IS NULL THEN suppressed ELSE updated_at > $1 END)
  AND ($2::text IS NULL OR email LIKE $2)";

fn entries() -> String {
    ENTRIES.replace("%BLOCKLISTED%", BLOCKLISTED_REASON)
}

fn pattern(q: &SuppressionQuery) -> Option<String> {
    q.search.as_deref().filter(|s| !s.is_empty()).map(|s| {
        let escaped = s.to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
        format!("%{escaped}%")
    })
}

#[async_trait]
impl SuppressionStore for PgStore {
    async fn query_suppressions(&self, q: &SuppressionQuery) -> Result<Paged<Suppression>> {
        let pattern = pattern(q);
        let total: i64 =
            sqlx::query_scalar(&format!("{} SELECT COUNT(*) FROM entries WHERE {FILTER}", entries()))
                .bind(q.since)
                .bind(&pattern)
                .fetch_one(&self.pool)
                .await?;
        let order = if q.since.is_some() { "updated_at, email COLLATE \"C\"" } else { "email COLLATE \"C\"" };
        let (limit, offset) = q.pagination.limit_offset();
        let rows = sqlx::query_as(&format!(
            "{} SELECT * FROM entries WHERE {FILTER} ORDER BY {order} LIMIT $3 OFFSET $4",
            entries()
        ))
        .bind(q.since)
        .bind(&pattern)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(q.pagination.paged(rows, total))
    }

    async fn suppressions_after(
        &self,
        q: &SuppressionQuery,
        after: &str,
        limit: u32,
    ) -> Result<Vec<Suppression>> {
        Ok(sqlx::query_as(&format!(
            "{} SELECT * FROM entries WHERE {FILTER} AND email COLLATE \"C\" > $3 ORDER BY email COLLATE \"C\" LIMIT $4",
            entries()
        ))
        .bind(q.since)
        .bind(pattern(q))
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?)
    }

    async fn get_suppression(&self, email: &str) -> Result<Option<Suppression>> {
        Ok(sqlx::query_as(&format!("{} SELECT * FROM entries WHERE email = $1 LIMIT 1", entries()))
            .bind(email.to_lowercase())
            .fetch_optional(&self.pool)
            .await?)
    }

    async fn add_suppression(
        &self,
        email: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<SuppressionChange> {
        let email = email.to_lowercase();
        let mut tx = self.pool.begin().await?;
        lock_address(&mut tx, &email).await?;
        let before = entry(&mut tx, &email).await?;
        let changed = !before.as_ref().is_some_and(|b| b.suppressed);
        let sub: Option<i64> =
            sqlx::query_scalar("SELECT id::int8 FROM subscribers WHERE LOWER(email) = $1 FOR UPDATE")
                .bind(&email)
                .fetch_optional(&mut *tx)
                .await?;
        if changed {
            sqlx::query(
                "INSERT INTO rebound_suppressions
                   (email, subscriber_id, type, action, reason, source, first_seen, last_seen, count, active,
                    created_at, updated_at)
                 VALUES ($1, $2, 'manual', 'manual', $3, 'api', $4, $4, 0, TRUE, $4, $4)
                 ON CONFLICT (email) DO UPDATE SET
                   subscriber_id = COALESCE(excluded.subscriber_id, rebound_suppressions.subscriber_id),
                   type = 'manual', action = 'manual', reason = excluded.reason, source = 'api',
                   first_seen = excluded.first_seen, last_seen = excluded.last_seen, count = 0, active = TRUE,
                   updated_at = excluded.updated_at",
            )
            .bind(&email)
            .bind(sub)
            .bind(reason)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(id) = sub {
            apply_blocklist(&mut tx, &[id]).await?;
        }
        let suppression = entry(&mut tx, &email).await?.expect("the row just written");
        if changed {
            emit(&mut tx, event_type::SUPPRESSION_ADDED, &suppression, now).await?;
        }
        tx.commit().await?;
        Ok(SuppressionChange { suppression, changed })
    }

    async fn reactivate_suppression(
        &self,
        email: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<SuppressionChange>> {
        let email = email.to_lowercase();
        let mut tx = self.pool.begin().await?;
        lock_address(&mut tx, &email).await?;
        let Some(before) = entry(&mut tx, &email).await?.filter(|e| e.suppressed) else {
            return Ok(None);
        };
        sqlx::query(
            "INSERT INTO rebound_suppressions
               (email, subscriber_id, type, action, reason, source, first_seen, last_seen, count, active,
                reset_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, FALSE, $10, $10, $10)
             ON CONFLICT (email) DO UPDATE SET active = FALSE, reset_at = excluded.reset_at,
               updated_at = excluded.updated_at",
        )
        .bind(&email)
        .bind(before.subscriber_id)
        .bind(&before.kind)
        .bind(&before.action)
        .bind(&before.reason)
        .bind(&before.source)
        .bind(before.first_seen)
        .bind(before.last_seen)
        .bind(before.count)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE subscribers SET status = 'enabled', updated_at = $2
             WHERE LOWER(email) = $1 AND status = 'blocklisted'",
        )
        .bind(&email)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let suppression = entry(&mut tx, &email).await?.expect("the row just written");
        emit(&mut tx, event_type::SUPPRESSION_REMOVED, &suppression, now).await?;
        tx.commit().await?;
        Ok(Some(SuppressionChange { suppression, changed: true }))
    }
}

/// Serialises changes of one address by hand (two instances, two clicks).
async fn lock_address(conn: &mut PgConnection, email: &str) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended('rebound_suppression:' || $1, 0))")
        .bind(email)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The event of a change by hand, in its transaction.
async fn emit(conn: &mut PgConnection, t: &'static str, s: &Suppression, now: DateTime<Utc>) -> Result<()> {
    let routes = super::webhooks::load_routes(conn).await?;
    let rows = webhooks::route(&routes, t, now, webhooks::suppression_data(s));
    super::webhooks::insert_outbox(conn, &rows, now).await
}

async fn entry(conn: &mut PgConnection, email: &str) -> Result<Option<Suppression>> {
    Ok(sqlx::query_as(&format!("{} SELECT * FROM entries WHERE email = $1 LIMIT 1", entries()))
        .bind(email)
        .fetch_optional(&mut *conn)
        .await?)
}

/// Writes what a batch decided about suppressions (record.rs).
pub(super) async fn write_suppressions(
    conn: &mut PgConnection,
    writes: &[SuppressionWrite],
    keep_unmatched: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    for w in writes.iter().filter(|w| keep_unmatched || !w.from_unmatched) {
        if w.added {
            sqlx::query(
                "INSERT INTO rebound_suppressions
                   (email, subscriber_id, type, action, reason, source, first_seen, last_seen, count, active,
                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, TRUE, $9, $9)
                 ON CONFLICT (email) DO UPDATE SET
                   subscriber_id = COALESCE(excluded.subscriber_id, rebound_suppressions.subscriber_id),
                   type = excluded.type, action = excluded.action, reason = excluded.reason,
                   source = excluded.source, first_seen = excluded.first_seen, last_seen = excluded.last_seen,
                   count = excluded.count, active = TRUE, updated_at = excluded.updated_at",
            )
            .bind(&w.email)
            .bind(w.subscriber_id)
            .bind(w.bounce_type.as_str())
            .bind(w.action.as_str())
            .bind(&w.reason)
            .bind(&w.source)
            .bind(w.at)
            .bind(i64::from(w.count))
            .bind(now)
            .execute(&mut *conn)
            .await?;
        } else {
            sqlx::query(
                "UPDATE rebound_suppressions SET last_seen = GREATEST(last_seen, $2), count = count + 1,
                   updated_at = $3
                 WHERE email = $1 AND active",
            )
            .bind(&w.email)
            .bind(w.at)
            .bind(now)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}
