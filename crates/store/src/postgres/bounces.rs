use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::{BounceActions, BounceEvent, BounceType, SubscriberStatus};
use sqlx::PgConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use crate::models::BounceRow;
use crate::nul;
use crate::record::{self, Plan, PlanInput, SubscriberState};
use crate::sqlite::bounces::unmatched_to_event;
use crate::{
    Bounce, BounceFilter, BounceQuery, BounceStore, Paged, Pagination, RecordOutcome, Result, Selection,
    StoreError, UnmatchedBounce,
};

/// The joins every bounce query reads (the order columns live in them).
macro_rules! bounce_from {
    () => {
        " FROM bounces JOIN subscribers ON subscribers.id = bounces.subscriber_id
  LEFT JOIN campaigns ON campaigns.id = bounces.campaign_id"
    };
}

const BOUNCE_SELECT: &str = concat!(
    "SELECT bounces.id::int8 AS id, bounces.type::text AS bounce_type, bounces.source,
    bounces.meta, bounces.created_at, subscribers.email, subscribers.uuid::text AS subscriber_uuid,
    bounces.subscriber_id::int8 AS subscriber_id, subscribers.status::text AS subscriber_status,
    bounces.campaign_id::int8 AS campaign_id, campaigns.name AS campaign_name",
    bounce_from!()
);

/// Parameters $1..$4 of every filtered bounce query.
const BOUNCE_FILTER: &str = "($1::int8 IS NULL OR bounces.campaign_id = $1)
  AND ($2::int8 IS NULL OR bounces.subscriber_id = $2)
  AND ($3::text IS NULL OR bounces.source = $3)
  AND ($4::text IS NULL OR bounces.type = $4::bounce_type)
  AND ($5::text IS NULL OR bounces.meta->>'reason' = $5)";

const UNMATCHED_COLUMNS: &str = "id, email, subscriber_uuid::text AS subscriber_uuid,
    campaign_uuid::text AS campaign_uuid, type::text AS bounce_type, source, meta, event_id, reason, unverified,
    created_at";

macro_rules! bind_filter {
    ($q:expr, $f:expr) => {
        $q.bind($f.campaign_id)
            .bind($f.subscriber_id)
            .bind($f.source.as_deref())
            .bind($f.bounce_type.map(|t| t.as_str()))
            .bind($f.reason.as_deref())
    };
}

#[async_trait]
impl BounceStore for PgStore {
    async fn record_bounces(
        &self,
        events: &[BounceEvent],
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>> {
        let mut tx = self.pool.begin().await?;
        let events = nul::clean_events(events);
        let plan = plan_batch(&mut tx, &events, actions, now).await?;
        write_plan(&mut tx, &plan, true, now).await?;
        tx.commit().await?;
        Ok(plan.outcomes)
    }

    async fn query_bounces(&self, q: &BounceQuery) -> Result<Paged<Bounce>> {
        let total: i64 = bind_filter!(
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM bounces WHERE {BOUNCE_FILTER}")),
            q.filter
        )
        .fetch_one(&self.pool)
        .await?;
        let (limit, offset) = q.pagination.limit_offset();
        let sql = format!(
            "{BOUNCE_SELECT} WHERE {BOUNCE_FILTER} ORDER BY {} LIMIT $6 OFFSET $7",
            q.order_by.order_by(q.desc)
        );
        let rows: Vec<BounceRow> = bind_filter!(sqlx::query_as(&sql), q.filter)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        Ok(q.pagination.paged(rows.into_iter().map(Bounce::from).collect(), total))
    }

    async fn bounces_after(&self, filter: &BounceFilter, after_id: i64, limit: u32) -> Result<Vec<Bounce>> {
        let sql =
            format!("{BOUNCE_SELECT} WHERE {BOUNCE_FILTER} AND bounces.id > $6 ORDER BY bounces.id LIMIT $7");
        let rows: Vec<BounceRow> = bind_filter!(sqlx::query_as(&sql), filter)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(Bounce::from).collect())
    }

    async fn bounce_ids(&self, q: &BounceQuery) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT bounces.id::int8 {} WHERE {BOUNCE_FILTER} ORDER BY {}",
            bounce_from!(),
            q.order_by.order_by(q.desc)
        );
        Ok(bind_filter!(sqlx::query_scalar(&sql), q.filter).fetch_all(&self.pool).await?)
    }

    async fn bounces_by_ids(&self, ids: &[i64]) -> Result<Vec<Bounce>> {
        let sql = format!("{BOUNCE_SELECT} WHERE bounces.id = ANY($1)");
        let rows: Vec<BounceRow> = sqlx::query_as(&sql).bind(ids).fetch_all(&self.pool).await?;
        Ok(crate::models::in_order_of(ids, rows.into_iter().map(Bounce::from)))
    }

    async fn get_bounce(&self, id: i64) -> Result<Bounce> {
        let row: Option<BounceRow> = sqlx::query_as(&format!("{BOUNCE_SELECT} WHERE bounces.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Bounce::from).ok_or_else(|| StoreError::not_found(format!("bounce {id}")))
    }

    async fn delete_bounces(&self, selection: &Selection) -> Result<u64> {
        let r = match selection {
            Selection::All => sqlx::query("DELETE FROM bounces").execute(&self.pool).await?,
            Selection::Ids(ids) => {
                sqlx::query("DELETE FROM bounces WHERE id = ANY($1)").bind(ids).execute(&self.pool).await?
            }
        };
        Ok(r.rows_affected())
    }

    async fn delete_subscriber_bounces(&self, subscriber_id: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM bounces WHERE subscriber_id = $1")
            .bind(subscriber_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn blocklist_bounced_subscribers(&self) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id::int8 FROM subscribers WHERE status <> 'blocklisted'
             AND id IN (SELECT DISTINCT subscriber_id FROM bounces) ORDER BY id FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await?;
        apply_blocklist(&mut tx, &ids).await?;
        tx.commit().await?;
        Ok(ids.len() as u64)
    }

    async fn query_unmatched(&self, p: Pagination) -> Result<Paged<UnmatchedBounce>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rebound_unmatched_bounces")
            .fetch_one(&self.pool)
            .await?;
        let (limit, offset) = p.limit_offset();
        let rows = sqlx::query_as(&format!(
            "SELECT {UNMATCHED_COLUMNS} FROM rebound_unmatched_bounces ORDER BY id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(p.paged(rows, total))
    }

    async fn delete_unmatched(&self, selection: &Selection) -> Result<u64> {
        let r = match selection {
            Selection::All => {
                sqlx::query("DELETE FROM rebound_unmatched_bounces").execute(&self.pool).await?
            }
            Selection::Ids(ids) => {
                sqlx::query("DELETE FROM rebound_unmatched_bounces WHERE id = ANY($1)")
                    .bind(ids)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(r.rows_affected())
    }

    async fn retry_unmatched(
        &self,
        selection: &Selection,
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>> {
        let mut tx = self.pool.begin().await?;
        let ids: Option<&[i64]> = match selection {
            Selection::All => None,
            Selection::Ids(ids) => Some(ids),
        };
        let rows: Vec<UnmatchedBounce> = sqlx::query_as(&format!(
            "SELECT {UNMATCHED_COLUMNS} FROM rebound_unmatched_bounces
             WHERE ($1::int8[] IS NULL OR id = ANY($1)) AND NOT unverified ORDER BY id FOR UPDATE"
        ))
        .bind(ids)
        .fetch_all(&mut *tx)
        .await?;
        let events: Vec<BounceEvent> = rows.iter().map(unmatched_to_event).collect();
        let plan = plan_batch(&mut tx, &events, actions, now).await?;
        write_plan(&mut tx, &plan, false, now).await?;
        let matched: Vec<i64> = rows
            .iter()
            .zip(&plan.outcomes)
            .filter(|(_, o)| !matches!(o, RecordOutcome::Unmatched | RecordOutcome::Unverified))
            .map(|(r, _)| r.id)
            .collect();
        sqlx::query("DELETE FROM rebound_unmatched_bounces WHERE id = ANY($1)")
            .bind(&matched)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(plan.outcomes)
    }
}

/// Loads what the planner needs. The subscribers are locked (in id order, so
/// concurrent batches cannot deadlock) before counting their bounces: a batch
/// on another connection or another rebound instance waits, and every count
/// sees the bounces committed before it.
async fn plan_batch(
    conn: &mut PgConnection,
    events: &[BounceEvent],
    actions: &BounceActions,
    now: DateTime<Utc>,
) -> Result<Plan> {
    let uuids: Vec<Uuid> = events.iter().filter_map(|e| e.subscriber.uuid).collect();
    let emails: Vec<&str> =
        events.iter().filter_map(|e| e.subscriber.email.as_ref().map(|e| e.as_str())).collect();
    // Written as one index probe per key (LATERAL ... LIMIT 1) rather than
    // `uuid = ANY($1) OR LOWER(email) = ANY($2)`: with a few dozen keys and
    // a modest table the planner prefers a sequential scan computing
    // LOWER(email) for every subscriber, on every batch. The matches are then
    // locked one by one in id order, so concurrent batches cannot deadlock.
    let rows: Vec<(i64, String, String, String)> = sqlx::query_as(
        "WITH ids AS (
           SELECT x.id FROM UNNEST($2::text[]) AS e(addr)
             CROSS JOIN LATERAL (SELECT id FROM subscribers WHERE LOWER(email) = e.addr LIMIT 1) x
           UNION
           SELECT x.id FROM UNNEST($1::uuid[]) AS u(v)
             CROSS JOIN LATERAL (SELECT id FROM subscribers WHERE uuid = u.v LIMIT 1) x
         )
         SELECT l.* FROM (SELECT id FROM ids ORDER BY id) o
           CROSS JOIN LATERAL (SELECT s.id::int8, s.uuid::text, s.email, s.status::text
                               FROM subscribers s WHERE s.id = o.id FOR UPDATE) l",
    )
    .bind(&uuids)
    .bind(&emails)
    .fetch_all(&mut *conn)
    .await?;
    let subscribers: Vec<SubscriberState> = rows
        .into_iter()
        .map(|(id, uuid, email, status)| SubscriberState {
            id,
            uuid,
            email,
            status: status.parse().unwrap_or(SubscriberStatus::Enabled),
        })
        .collect();

    // Sorted, so two batches insert shared ids in the same order.
    let mut keyed: Vec<(&str, &str)> =
        events.iter().filter_map(|e| e.event_id.as_deref().map(|id| (e.source.as_str(), id))).collect();
    keyed.sort_unstable();
    keyed.dedup();
    let new_event_ids: HashSet<(String, String)> = if keyed.is_empty() {
        HashSet::new()
    } else {
        let (sources, ids): (Vec<&str>, Vec<&str>) = keyed.into_iter().unzip();
        sqlx::query_as(
            "INSERT INTO rebound_bounce_events (source, event_id)
             SELECT * FROM UNNEST($1::text[], $2::text[]) ON CONFLICT DO NOTHING RETURNING source, event_id",
        )
        .bind(sources)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect()
    };

    let campaign_uuids: Vec<Uuid> = events.iter().filter_map(|e| e.campaign_uuid).collect();
    let campaigns: HashMap<Uuid, i64> = if campaign_uuids.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as("SELECT uuid, id::int8 FROM campaigns WHERE uuid = ANY($1)")
            .bind(&campaign_uuids)
            .fetch_all(&mut *conn)
            .await?
            .into_iter()
            .collect()
    };

    // The batch's addresses on the suppression list, and their resets.
    let mut addresses: Vec<String> = emails.iter().map(|e| e.to_lowercase()).collect();
    addresses.extend(subscribers.iter().map(|s| s.email.to_lowercase()));
    addresses.sort_unstable();
    addresses.dedup();
    let rows: Vec<(String, bool, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT email, active, reset_at FROM rebound_suppressions WHERE email = ANY($1)")
            .bind(&addresses)
            .fetch_all(&mut *conn)
            .await?;
    let suppressed: HashMap<String, bool> = rows.iter().map(|(e, a, _)| (e.clone(), *a)).collect();
    let resets: HashMap<String, DateTime<Utc>> =
        rows.into_iter().filter_map(|(e, _, r)| r.map(|r| (e, r))).collect();
    let since = record::count_since(actions, now).map(|(_, s)| s);

    // Addresses no subscriber has: their unmatched bounces count for the rules.
    let known: HashSet<String> = subscribers.iter().map(|s| s.email.to_lowercase()).collect();
    let strangers: Vec<&str> = addresses
        .iter()
        .filter(|a| !known.contains(*a) && emails.iter().any(|e| e.eq_ignore_ascii_case(a)))
        .map(String::as_str)
        .collect();
    let unmatched_counts: HashMap<(String, BounceType), u32> = if strangers.is_empty() {
        HashMap::new()
    } else {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT a.e, c.type::text, c.n FROM UNNEST($1::text[]) AS a(e)
             LEFT JOIN rebound_suppressions r ON r.email = a.e
             CROSS JOIN LATERAL (
               SELECT type, COUNT(*) AS n FROM rebound_unmatched_bounces u
               WHERE LOWER(u.email) = a.e AND NOT u.unverified
                 AND u.created_at >= COALESCE(CASE u.type WHEN 'soft' THEN $2 WHEN 'hard' THEN $3 ELSE $4 END,
                                              '-infinity'::timestamptz)
                 AND u.created_at >= COALESCE(r.reset_at, '-infinity'::timestamptz)
               GROUP BY type) c",
        )
        .bind(&strangers)
        .bind(since[0])
        .bind(since[1])
        .bind(since[2])
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter()
            .filter_map(|(e, t, n)| Some(((e, t.parse::<BounceType>().ok()?), u32::try_from(n).ok()?)))
            .collect()
    };

    let mut counts = if subscribers.is_empty() {
        HashMap::new()
    } else {
        let ids: Vec<i64> = subscribers.iter().map(|s| s.id).collect();
        // One index range per subscriber, for the same reason as above.
        let rows: Vec<(i64, String, i64)> = sqlx::query_as(
            "SELECT s.id, c.type::text, c.n FROM UNNEST($1::int8[]) AS s(id)
             CROSS JOIN LATERAL (
               SELECT type, COUNT(*) AS n FROM bounces
               WHERE subscriber_id = s.id
                 AND created_at >= COALESCE(CASE type WHEN 'soft' THEN $2 WHEN 'hard' THEN $3 ELSE $4 END,
                                            '-infinity'::timestamptz)
               GROUP BY type) c",
        )
        .bind(&ids)
        .bind(since[0])
        .bind(since[1])
        .bind(since[2])
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter()
            .filter_map(|(id, t, n)| Some(((id, t.parse::<BounceType>().ok()?), u32::try_from(n).ok()?)))
            .collect::<HashMap<_, _>>()
    };
    // A reactivated subscriber's bounces count from its reset on (rare:
    // counted again, one subscriber at a time).
    for sub in subscribers.iter().filter(|s| resets.contains_key(&s.email.to_lowercase())) {
        let reset = resets[&sub.email.to_lowercase()];
        counts.retain(|(id, _), _| *id != sub.id);
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT type::text, COUNT(*) FROM bounces WHERE subscriber_id = $1
               AND created_at >= COALESCE(CASE type WHEN 'soft' THEN $2 WHEN 'hard' THEN $3 ELSE $4 END,
                                          '-infinity'::timestamptz)
               AND created_at >= $5
             GROUP BY type",
        )
        .bind(sub.id)
        .bind(since[0])
        .bind(since[1])
        .bind(since[2])
        .bind(reset)
        .fetch_all(&mut *conn)
        .await?;
        for (t, n) in rows {
            if let (Ok(t), Ok(n)) = (t.parse::<BounceType>(), u32::try_from(n)) {
                counts.insert((sub.id, t), n);
            }
        }
    }

    let routes = super::webhooks::load_routes(conn).await?;

    Ok(record::plan(&PlanInput {
        events,
        new_event_ids: &new_event_ids,
        subscribers: &subscribers,
        counts: &counts,
        campaigns: &campaigns,
        actions,
        now,
        suppressed: &suppressed,
        unmatched_counts: &unmatched_counts,
        routes: &routes,
    }))
}

pub(super) async fn write_plan(
    conn: &mut PgConnection,
    plan: &Plan,
    keep_unmatched: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    if !plan.bounces.is_empty() {
        let b = &plan.bounces;
        sqlx::query(
            "INSERT INTO bounces (subscriber_id, campaign_id, type, source, meta, created_at)
             SELECT s, c, t::bounce_type, src, m, ts
             FROM UNNEST($1::int8[], $2::int8[], $3::text[], $4::text[], $5::jsonb[], $6::timestamptz[])
               AS x(s, c, t, src, m, ts)",
        )
        .bind(b.iter().map(|r| r.subscriber_id).collect::<Vec<_>>())
        .bind(b.iter().map(|r| r.campaign_id).collect::<Vec<_>>())
        .bind(b.iter().map(|r| r.bounce_type.as_str()).collect::<Vec<_>>())
        .bind(b.iter().map(|r| r.source.as_str()).collect::<Vec<_>>())
        .bind(b.iter().map(|r| Json(&r.meta)).collect::<Vec<_>>())
        .bind(b.iter().map(|r| r.created_at).collect::<Vec<_>>())
        .execute(&mut *conn)
        .await?;
    }
    if keep_unmatched {
        for u in &plan.unmatched {
            sqlx::query(
                "INSERT INTO rebound_unmatched_bounces
                   (email, subscriber_uuid, campaign_uuid, type, source, meta, event_id, reason, unverified, created_at)
                 VALUES ($1, $2, $3, $4::bounce_type, $5, $6, $7, $8, $9, $10)",
            )
            .bind(&u.email)
            .bind(u.subscriber_uuid)
            .bind(u.campaign_uuid)
            .bind(u.bounce_type.as_str())
            .bind(&u.source)
            .bind(Json(&u.meta))
            .bind(&u.event_id)
            .bind(u.reason)
            .bind(u.unverified)
            .bind(u.created_at)
            .execute(&mut *conn)
            .await?;
        }
    }
    unsubscribe_all(conn, &plan.unsubscribe).await?;
    set_blocklisted(conn, &plan.blocklist).await?;
    if plan.semantics.blocklist_unsubscribes() {
        unsubscribe_all(conn, &plan.blocklist).await?;
    }
    if !plan.delete.is_empty() {
        sqlx::query("DELETE FROM subscribers WHERE id = ANY($1)")
            .bind(&plan.delete)
            .execute(&mut *conn)
            .await?;
    }
    super::suppressions::write_suppressions(conn, &plan.suppressions, keep_unmatched, now).await?;
    super::webhooks::insert_outbox(conn, &plan.outbox, now).await?;
    if keep_unmatched {
        super::webhooks::insert_outbox(conn, &plan.outbox_unmatched, now).await?;
    }
    Ok(())
}

async fn unsubscribe_all(conn: &mut PgConnection, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE subscriber_lists SET status = 'unsubscribed', updated_at = NOW()
         WHERE subscriber_id = ANY($1) AND status <> 'unsubscribed'",
    )
    .bind(ids)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Blocklists and unsubscribes every list, whatever `bounce.action_semantics`
/// says: listmonk's blocklisting outside `record-bounce` does both.
pub(super) async fn apply_blocklist(conn: &mut PgConnection, ids: &[i64]) -> Result<()> {
    set_blocklisted(conn, ids).await?;
    unsubscribe_all(conn, ids).await
}

async fn set_blocklisted(conn: &mut PgConnection, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query("UPDATE subscribers SET status = 'blocklisted', updated_at = NOW() WHERE id = ANY($1)")
        .bind(ids)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
