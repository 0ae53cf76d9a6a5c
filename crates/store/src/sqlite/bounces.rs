use std::collections::{HashMap, HashSet};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::{BounceActions, BounceEvent, BounceType, EmailAddress, SubscriberRef, SubscriberStatus};
use sqlx::SqliteConnection;
use sqlx::types::Json;
use uuid::Uuid;

use super::{SqliteStore, json_list, ts};
use crate::models::BounceRow;
use crate::nul;
use crate::record::{self, Plan, PlanInput, SubscriberState};
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
    "SELECT bounces.id, bounces.type AS bounce_type, bounces.source, bounces.meta,
    bounces.created_at, subscribers.email, subscribers.uuid AS subscriber_uuid, bounces.subscriber_id,
    subscribers.status AS subscriber_status, bounces.campaign_id, campaigns.name AS campaign_name",
    bounce_from!()
);

/// Parameters ?1..?4 of every filtered bounce query.
const BOUNCE_FILTER: &str = "(?1 IS NULL OR bounces.campaign_id = ?1)
  AND (?2 IS NULL OR bounces.subscriber_id = ?2)
  AND (?3 IS NULL OR bounces.source = ?3)
  AND (?4 IS NULL OR bounces.type = ?4)
  AND (?5 IS NULL OR json_extract(bounces.meta, '$.reason') = ?5)";

const UNMATCHED_COLUMNS: &str = "id, email, subscriber_uuid, campaign_uuid, type AS bounce_type, source, meta, event_id, reason, unverified, created_at";

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
impl BounceStore for SqliteStore {
    async fn record_bounces(
        &self,
        events: &[BounceEvent],
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Vec<RecordOutcome>> {
        let mut tx = self.begin_write().await?;
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
            "{BOUNCE_SELECT} WHERE {BOUNCE_FILTER} ORDER BY {} LIMIT ?6 OFFSET ?7",
            q.order_by.order_by(q.desc)
        );
        let rows: Vec<BounceRow> = bind_filter!(sqlx::query_as(&sql), q.filter)
            .bind(limit.unwrap_or(-1))
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        Ok(q.pagination.paged(rows.into_iter().map(Bounce::from).collect(), total))
    }

    async fn bounces_after(&self, filter: &BounceFilter, after_id: i64, limit: u32) -> Result<Vec<Bounce>> {
        let sql =
            format!("{BOUNCE_SELECT} WHERE {BOUNCE_FILTER} AND bounces.id > ?6 ORDER BY bounces.id LIMIT ?7");
        let rows: Vec<BounceRow> = bind_filter!(sqlx::query_as(&sql), filter)
            .bind(after_id)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        Ok(rows.into_iter().map(Bounce::from).collect())
    }

    async fn bounce_ids(&self, q: &BounceQuery) -> Result<Vec<i64>> {
        let sql = format!(
            "SELECT bounces.id {} WHERE {BOUNCE_FILTER} ORDER BY {}",
            bounce_from!(),
            q.order_by.order_by(q.desc)
        );
        Ok(bind_filter!(sqlx::query_scalar(&sql), q.filter).fetch_all(&self.pool).await?)
    }

    async fn bounces_by_ids(&self, ids: &[i64]) -> Result<Vec<Bounce>> {
        let sql = format!("{BOUNCE_SELECT} WHERE bounces.id IN (SELECT value FROM json_each(?1))");
        let rows: Vec<BounceRow> = sqlx::query_as(&sql).bind(json_list(ids)).fetch_all(&self.pool).await?;
        Ok(crate::models::in_order_of(ids, rows.into_iter().map(Bounce::from)))
    }

    async fn get_bounce(&self, id: i64) -> Result<Bounce> {
        let row: Option<BounceRow> = sqlx::query_as(&format!("{BOUNCE_SELECT} WHERE bounces.id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(Bounce::from).ok_or_else(|| StoreError::not_found(format!("bounce {id}")))
    }

    async fn delete_bounces(&self, selection: &Selection) -> Result<u64> {
        let r = match selection {
            Selection::All => sqlx::query("DELETE FROM bounces").execute(&self.pool).await?,
            Selection::Ids(ids) => {
                sqlx::query("DELETE FROM bounces WHERE id IN (SELECT value FROM json_each(?1))")
                    .bind(json_list(ids))
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(r.rows_affected())
    }

    async fn delete_subscriber_bounces(&self, subscriber_id: i64) -> Result<u64> {
        let r = sqlx::query("DELETE FROM bounces WHERE subscriber_id = ?1")
            .bind(subscriber_id)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }

    async fn blocklist_bounced_subscribers(&self) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM subscribers WHERE status <> 'blocklisted'
             AND id IN (SELECT DISTINCT subscriber_id FROM bounces)",
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
            "SELECT {UNMATCHED_COLUMNS} FROM rebound_unmatched_bounces ORDER BY id DESC LIMIT ?1 OFFSET ?2"
        ))
        .bind(limit.unwrap_or(-1))
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
                sqlx::query(
                    "DELETE FROM rebound_unmatched_bounces WHERE id IN (SELECT value FROM json_each(?1))",
                )
                .bind(json_list(ids))
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
        let mut tx = self.begin_write().await?;
        let rows: Vec<UnmatchedBounce> = match selection {
            Selection::All => sqlx::query_as(&format!(
                "SELECT {UNMATCHED_COLUMNS} FROM rebound_unmatched_bounces WHERE unverified = 0 ORDER BY id"
            ))
            .fetch_all(&mut *tx)
            .await?,
            Selection::Ids(ids) => {
                sqlx::query_as(&format!(
                    "SELECT {UNMATCHED_COLUMNS} FROM rebound_unmatched_bounces
                 WHERE id IN (SELECT value FROM json_each(?1)) AND unverified = 0 ORDER BY id"
                ))
                .bind(json_list(ids))
                .fetch_all(&mut *tx)
                .await?
            }
        };
        let events: Vec<BounceEvent> = rows.iter().map(unmatched_to_event).collect();
        let plan = plan_batch(&mut tx, &events, actions, now).await?;
        // Still-unmatched rows stay where they are instead of being copied.
        write_plan(&mut tx, &plan, false, now).await?;
        let matched: Vec<i64> = rows
            .iter()
            .zip(&plan.outcomes)
            .filter(|(_, o)| !matches!(o, RecordOutcome::Unmatched | RecordOutcome::Unverified))
            .map(|(r, _)| r.id)
            .collect();
        sqlx::query("DELETE FROM rebound_unmatched_bounces WHERE id IN (SELECT value FROM json_each(?1))")
            .bind(json_list(&matched))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(plan.outcomes)
    }
}

/// An unmatched row as an event again. Its event id was recorded when it
/// first arrived, so it is left out: the retry must not look like a duplicate.
pub(crate) fn unmatched_to_event(r: &UnmatchedBounce) -> BounceEvent {
    BounceEvent {
        subscriber: SubscriberRef {
            uuid: r.subscriber_uuid.as_deref().and_then(|u| Uuid::parse_str(u).ok()),
            email: EmailAddress::parse(&r.email).ok(),
        },
        campaign_uuid: r.campaign_uuid.as_deref().and_then(|u| Uuid::parse_str(u).ok()),
        bounce_type: r.bounce_type,
        source: r.source.clone(),
        meta: r.meta.clone(),
        created_at: Some(r.created_at),
        event_id: None,
        unverified: r.unverified,
    }
}

/// Loads what the planner needs, inside the write transaction.
async fn plan_batch(
    conn: &mut SqliteConnection,
    events: &[BounceEvent],
    actions: &BounceActions,
    now: DateTime<Utc>,
) -> Result<Plan> {
    // Every lookup answers with ONE row holding a JSON array: sqlx hands each
    // SQLite row from its worker thread to the async task separately, and
    // under load those hand-offs, not SQLite, cost most of a batch.
    let keyed: Vec<(&str, &str)> = events
        .iter()
        .filter_map(|e| e.event_id.as_deref().map(|id| (e.source.as_str(), id)))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let new_event_ids: HashSet<(String, String)> = if keyed.is_empty() {
        HashSet::new()
    } else {
        // This transaction holds SQLite's write lock (BEGIN IMMEDIATE), so the
        // ids found here cannot change before the insert below.
        let seen: HashSet<(String, String)> = json_rows(
            sqlx::query_scalar(
                "SELECT json_group_array(json_array(source, event_id)) FROM rebound_bounce_events
                 WHERE (source, event_id) IN
                   (SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1))",
            )
            .bind(json_list(&keyed))
            .fetch_one(&mut *conn)
            .await?,
        )?
        .into_iter()
        .collect();
        sqlx::query(
            "INSERT INTO rebound_bounce_events (source, event_id, created_at)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ?2 FROM json_each(?1) WHERE true
             ON CONFLICT DO NOTHING",
        )
        .bind(json_list(&keyed))
        .bind(ts(now))
        .execute(&mut *conn)
        .await?;
        keyed
            .into_iter()
            .map(|(s, id)| (s.to_string(), id.to_string()))
            .filter(|k| !seen.contains(k))
            .collect()
    };

    let uuids: Vec<String> = events.iter().filter_map(|e| e.subscriber.uuid.map(|u| u.to_string())).collect();
    let emails: Vec<&str> =
        events.iter().filter_map(|e| e.subscriber.email.as_ref().map(|e| e.as_str())).collect();
    let rows: Vec<(i64, String, String, String)> = json_rows(
        sqlx::query_scalar(
            "SELECT json_group_array(json_array(id, uuid, email, status)) FROM subscribers
             WHERE uuid IN (SELECT value FROM json_each(?1)) OR email IN (SELECT value FROM json_each(?2))",
        )
        .bind(json_list(&uuids))
        .bind(json_list(&emails))
        .fetch_one(&mut *conn)
        .await?,
    )?;
    let subscribers: Vec<SubscriberState> = rows
        .into_iter()
        .map(|(id, uuid, email, status)| SubscriberState {
            id,
            uuid,
            email,
            status: status.parse().unwrap_or(SubscriberStatus::Enabled),
        })
        .collect();

    let campaign_uuids: Vec<String> =
        events.iter().filter_map(|e| e.campaign_uuid.map(|u| u.to_string())).collect();
    let campaigns: HashMap<Uuid, i64> = if campaign_uuids.is_empty() {
        HashMap::new()
    } else {
        let rows: Vec<(String, i64)> = json_rows(
            sqlx::query_scalar(
                "SELECT json_group_array(json_array(uuid, id)) FROM campaigns
                 WHERE uuid IN (SELECT value FROM json_each(?1))",
            )
            .bind(json_list(&campaign_uuids))
            .fetch_one(&mut *conn)
            .await?,
        )?;
        rows.into_iter().filter_map(|(u, id)| Uuid::parse_str(&u).ok().map(|u| (u, id))).collect()
    };

    // The batch's addresses on the suppression list, and their resets.
    let mut addresses: Vec<String> = emails.iter().map(|e| e.to_lowercase()).collect();
    addresses.extend(subscribers.iter().map(|s| s.email.to_lowercase()));
    addresses.sort_unstable();
    addresses.dedup();
    let rows: Vec<(String, i64, Option<String>)> = json_rows(
        sqlx::query_scalar(
            "SELECT json_group_array(json_array(LOWER(email), active, reset_at)) FROM rebound_suppressions
             WHERE email IN (SELECT value FROM json_each(?1))",
        )
        .bind(json_list(&addresses))
        .fetch_one(&mut *conn)
        .await?,
    )?;
    let suppressed: HashMap<String, bool> = rows.iter().map(|(e, a, _)| (e.clone(), *a == 1)).collect();
    let resets: HashMap<String, String> =
        rows.into_iter().filter_map(|(e, _, r)| r.map(|r| (e, r))).collect();
    let since = record::count_since(actions, now).map(|(_, s)| s.map(ts).unwrap_or_default());

    // Addresses no subscriber has: their unmatched bounces count for the rules.
    let known: HashSet<String> = subscribers.iter().map(|s| s.email.to_lowercase()).collect();
    let strangers: Vec<&String> = addresses
        .iter()
        .filter(|a| !known.contains(*a) && emails.iter().any(|e| e.eq_ignore_ascii_case(a)))
        .collect();
    let unmatched_counts: HashMap<(String, BounceType), u32> = if strangers.is_empty() {
        HashMap::new()
    } else {
        let rows: Vec<(String, String, i64)> = json_rows(
            sqlx::query_scalar(
                "SELECT json_group_array(json_array(e, type, n)) FROM (
                   SELECT j.value AS e, u.type AS type, COUNT(*) AS n FROM json_each(?1) j
                   JOIN rebound_unmatched_bounces u ON u.email = j.value COLLATE NOCASE
                   LEFT JOIN rebound_suppressions r ON r.email = j.value
                   WHERE u.unverified = 0
                     AND u.created_at >= CASE u.type WHEN 'soft' THEN ?2 WHEN 'hard' THEN ?3 ELSE ?4 END
                     AND u.created_at >= COALESCE(r.reset_at, '')
                   GROUP BY j.value, u.type)",
            )
            .bind(json_list(&strangers))
            .bind(&since[0])
            .bind(&since[1])
            .bind(&since[2])
            .fetch_one(&mut *conn)
            .await?,
        )?;
        rows.into_iter()
            .filter_map(|(e, t, n)| Some(((e, t.parse::<BounceType>().ok()?), u32::try_from(n).ok()?)))
            .collect()
    };

    let mut counts = if subscribers.is_empty() {
        HashMap::new()
    } else {
        let ids: Vec<i64> = subscribers.iter().map(|s| s.id).collect();
        let rows: Vec<(i64, String, i64)> = json_rows(
            sqlx::query_scalar(
                "SELECT json_group_array(json_array(subscriber_id, type, n)) FROM (
                   SELECT subscriber_id, type, COUNT(*) AS n FROM bounces
                   WHERE subscriber_id IN (SELECT value FROM json_each(?1))
                     AND created_at >= CASE type WHEN 'soft' THEN ?2 WHEN 'hard' THEN ?3 ELSE ?4 END
                   GROUP BY subscriber_id, type)",
            )
            .bind(json_list(&ids))
            .bind(&since[0])
            .bind(&since[1])
            .bind(&since[2])
            .fetch_one(&mut *conn)
            .await?,
        )?;
        rows.into_iter()
            .filter_map(|(id, t, n)| Some(((id, t.parse::<BounceType>().ok()?), u32::try_from(n).ok()?)))
            .collect::<HashMap<_, _>>()
    };
    // A reactivated subscriber's bounces count from its reset on (rare:
    // counted again, one subscriber at a time).
    for sub in subscribers.iter().filter(|s| resets.contains_key(&s.email.to_lowercase())) {
        let reset = &resets[&sub.email.to_lowercase()];
        counts.retain(|(id, _), _| *id != sub.id);
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT type, COUNT(*) FROM bounces WHERE subscriber_id = ?1
               AND created_at >= CASE type WHEN 'soft' THEN ?2 WHEN 'hard' THEN ?3 ELSE ?4 END
               AND created_at >= ?5
             GROUP BY type",
        )
        .bind(sub.id)
        .bind(&since[0])
        .bind(&since[1])
        .bind(&since[2])
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

/// Decodes a `json_group_array(json_array(...))` result.
fn json_rows<T: serde::de::DeserializeOwned>(json: String) -> Result<Vec<T>> {
    serde_json::from_str(&json).map_err(|e| StoreError::Invalid(format!("unexpected row shape: {e}")))
}

pub(super) async fn write_plan(
    conn: &mut SqliteConnection,
    plan: &Plan,
    keep_unmatched: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    if !plan.bounces.is_empty() {
        // One statement for the batch, rows passed as a JSON array.
        let rows: Vec<_> = plan
            .bounces
            .iter()
            .map(|b| {
                (b.subscriber_id, b.campaign_id, b.bounce_type.as_str(), &b.source, &b.meta, ts(b.created_at))
            })
            .collect();
        sqlx::query(
            "INSERT INTO bounces (subscriber_id, campaign_id, type, source, meta, created_at)
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                    json_extract(value, '$[3]'), json_extract(value, '$[4]'), json_extract(value, '$[5]')
             FROM json_each(?1)",
        )
        .bind(json_list(&rows))
        .execute(&mut *conn)
        .await?;
    }
    if keep_unmatched {
        for u in &plan.unmatched {
            sqlx::query(
                "INSERT INTO rebound_unmatched_bounces
                   (email, subscriber_uuid, campaign_uuid, type, source, meta, event_id, reason, unverified, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .bind(&u.email)
            .bind(u.subscriber_uuid.map(|x| x.to_string()))
            .bind(u.campaign_uuid.map(|x| x.to_string()))
            .bind(u.bounce_type.as_str())
            .bind(&u.source)
            .bind(Json(&u.meta))
            .bind(&u.event_id)
            .bind(u.reason)
            .bind(u.unverified)
            .bind(ts(u.created_at))
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
        sqlx::query("DELETE FROM subscribers WHERE id IN (SELECT value FROM json_each(?1))")
            .bind(json_list(&plan.delete))
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

/// Blocklists and unsubscribes every list, whatever `bounce.action_semantics`
/// says: listmonk's blocklisting outside `record-bounce` does both.
pub(super) async fn apply_blocklist(conn: &mut SqliteConnection, ids: &[i64]) -> Result<()> {
    set_blocklisted(conn, ids).await?;
    unsubscribe_all(conn, ids).await
}

async fn set_blocklisted(conn: &mut SqliteConnection, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE subscribers SET status = 'blocklisted', updated_at = ?2
         WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(json_list(ids))
    .bind(ts(Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

async fn unsubscribe_all(conn: &mut SqliteConnection, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE subscriber_lists SET status = 'unsubscribed', updated_at = ?2
         WHERE subscriber_id IN (SELECT value FROM json_each(?1)) AND status <> 'unsubscribed'",
    )
    .bind(json_list(ids))
    .bind(ts(Utc::now()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
