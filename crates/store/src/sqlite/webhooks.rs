use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;

use super::{SqliteStore, json_list, ts};
use crate::webhooks::{OutboxInsert, Route};
use crate::{
    AttemptOutcome, Claimed, Delivery, DeliveryQuery, Endpoint, EndpointEffect, EndpointUpdate, NewEndpoint,
    Paged, Result, StoreError, WebhookStore,
};

type EndpointRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    bool,
    Option<DateTime<Utc>>,
    Option<String>,
    i64,
    DateTime<Utc>,
    DateTime<Utc>,
    i64,
    i64,
    i64,
);

const ENDPOINT_SELECT: &str = "SELECT e.id, e.uuid, e.url, e.secret, e.description, e.event_types, e.enabled,
    e.paused_at, e.paused_reason, e.consecutive_failures, e.created_at, e.updated_at,
    (SELECT COUNT(*) FROM rebound_webhook_outbox o WHERE o.endpoint_id = e.id AND o.status = 'pending'),
    (SELECT COUNT(*) FROM rebound_webhook_outbox o WHERE o.endpoint_id = e.id AND o.status = 'delivered'),
    (SELECT COUNT(*) FROM rebound_webhook_outbox o WHERE o.endpoint_id = e.id AND o.status = 'failed')
    FROM rebound_webhook_endpoints e";

const DELIVERY_COLUMNS: &str = "id, event_id, endpoint_id, event_type, status, attempts, next_attempt_at,
    last_status_code, last_error, last_attempt_at, delivered_at, created_at, payload";

fn endpoint(r: EndpointRow) -> Endpoint {
    Endpoint {
        id: r.0,
        uuid: r.1,
        url: r.2,
        secret: r.3,
        description: r.4,
        event_types: serde_json::from_str(&r.5).unwrap_or_default(),
        enabled: r.6,
        paused: r.7.is_some(),
        paused_at: r.7,
        paused_reason: r.8,
        consecutive_failures: r.9,
        created_at: r.10,
        updated_at: r.11,
        pending: r.12,
        delivered: r.13,
        failed: r.14,
    }
}

/// The enabled endpoints, inside the recording transaction.
pub(super) async fn load_routes(conn: &mut SqliteConnection) -> Result<Vec<Route>> {
    let rows: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, event_types FROM rebound_webhook_endpoints WHERE enabled = 1")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(id, t)| Route { endpoint_id: id, event_types: serde_json::from_str(&t).unwrap_or_default() })
        .collect())
}

pub(super) async fn insert_outbox(
    conn: &mut SqliteConnection,
    rows: &[OutboxInsert],
    now: DateTime<Utc>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = rows.iter().map(|r| (&r.event_id, r.endpoint_id, r.event_type, &r.payload)).collect();
    sqlx::query(
        "INSERT INTO rebound_webhook_outbox (event_id, endpoint_id, event_type, payload, next_attempt_at, created_at)
         SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'),
                json_extract(value, '$[3]'), ?2, ?2
         FROM json_each(?1) WHERE true ON CONFLICT DO NOTHING",
    )
    .bind(json_list(&rows))
    .bind(ts(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl WebhookStore for SqliteStore {
    async fn create_endpoint(&self, new: NewEndpoint) -> Result<Endpoint> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rebound_webhook_endpoints (uuid, url, secret, description, event_types, enabled)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&new.url)
        .bind(&new.secret)
        .bind(&new.description)
        .bind(json_list(&new.event_types))
        .bind(new.enabled)
        .fetch_one(&self.pool)
        .await?;
        self.get_endpoint(id).await
    }

    async fn deliverable_endpoints(&self) -> Result<Vec<(i64, String, String)>> {
        Ok(sqlx::query_as("SELECT id, url, secret FROM rebound_webhook_endpoints WHERE enabled = 1 AND paused_at IS NULL ORDER BY id").fetch_all(&self.pool).await?)
    }

    async fn list_endpoints(&self) -> Result<Vec<Endpoint>> {
        let rows: Vec<EndpointRow> =
            sqlx::query_as(&format!("{ENDPOINT_SELECT} ORDER BY e.id")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(endpoint).collect())
    }

    async fn get_endpoint(&self, id: i64) -> Result<Endpoint> {
        let row: Option<EndpointRow> = sqlx::query_as(&format!("{ENDPOINT_SELECT} WHERE e.id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(endpoint).ok_or_else(|| StoreError::not_found(format!("webhook endpoint {id}")))
    }

    async fn update_endpoint(&self, id: i64, u: EndpointUpdate) -> Result<Endpoint> {
        let now = ts(Utc::now());
        let r = sqlx::query(
            "UPDATE rebound_webhook_endpoints SET
               url = COALESCE(?2, url), secret = COALESCE(?3, secret), description = COALESCE(?4, description),
               event_types = COALESCE(?5, event_types), enabled = COALESCE(?6, enabled),
               paused_at = CASE WHEN ?7 IS NULL THEN paused_at WHEN ?7 THEN COALESCE(paused_at, ?8) ELSE NULL END,
               paused_reason = CASE WHEN ?7 IS NULL THEN paused_reason WHEN ?7 THEN COALESCE(paused_reason, 'paused by hand') ELSE NULL END,
               consecutive_failures = CASE WHEN ?7 = 0 THEN 0 ELSE consecutive_failures END,
               updated_at = ?8
             WHERE id = ?1",
        )
        .bind(id)
        .bind(&u.url)
        .bind(&u.secret)
        .bind(&u.description)
        .bind(u.event_types.as_ref().map(|t| json_list(t)))
        .bind(u.enabled)
        .bind(u.paused)
        .bind(&now)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("webhook endpoint {id}")));
        }
        self.get_endpoint(id).await
    }

    async fn delete_endpoint(&self, id: i64) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query("DELETE FROM rebound_webhook_endpoints WHERE id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("webhook endpoint {id}")));
        }
        sqlx::query("DELETE FROM rebound_webhook_outbox WHERE endpoint_id = ?1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn query_deliveries(&self, q: &DeliveryQuery) -> Result<Paged<Delivery>> {
        let status = q.status.map(|s| s.as_str());
        let filter = "(?1 IS NULL OR endpoint_id = ?1) AND (?2 IS NULL OR status = ?2)";
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM rebound_webhook_outbox WHERE {filter}"))
                .bind(q.endpoint_id)
                .bind(status)
                .fetch_one(&self.pool)
                .await?;
        let (limit, offset) = q.pagination.limit_offset();
        let rows = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM rebound_webhook_outbox WHERE {filter} ORDER BY id DESC LIMIT ?3 OFFSET ?4"
        ))
        .bind(q.endpoint_id)
        .bind(status)
        .bind(limit.unwrap_or(-1))
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(q.pagination.paged(rows, total))
    }

    async fn get_delivery(&self, id: i64) -> Result<Delivery> {
        sqlx::query_as(&format!("SELECT {DELIVERY_COLUMNS} FROM rebound_webhook_outbox WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("delivery {id}")))
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM rebound_webhook_outbox WHERE status = 'delivered' AND delivered_at < ?1")
            .bind(ts(before))
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn redeliver(&self, id: i64, now: DateTime<Utc>) -> Result<Delivery> {
        let r = sqlx::query(
            "UPDATE rebound_webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = ?2,
               lease_owner = NULL, lease_until = NULL, delivered_at = NULL
             WHERE id = ?1",
        )
        .bind(id)
        .bind(ts(now))
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("delivery {id}")));
        }
        self.get_delivery(id).await
    }

    async fn claim_deliveries(
        &self,
        endpoint_id: i64,
        owner: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
    ) -> Result<Vec<Claimed>> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query_as(
            "UPDATE rebound_webhook_outbox SET lease_owner = ?2, lease_until = ?3
             WHERE id IN (
               SELECT o.id FROM rebound_webhook_outbox o JOIN rebound_webhook_endpoints e ON e.id = o.endpoint_id
               WHERE o.endpoint_id = ?1 AND e.enabled = 1 AND e.paused_at IS NULL
                 AND o.status = 'pending' AND o.next_attempt_at <= ?4
                 AND (o.lease_until IS NULL OR o.lease_until < ?4)
               ORDER BY o.next_attempt_at, o.id LIMIT ?5)
             RETURNING id, event_id, endpoint_id, event_type, payload, attempts",
        )
        .bind(endpoint_id)
        .bind(owner)
        .bind(ts(lease_until))
        .bind(ts(now))
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(rows)
    }

    async fn finish_delivery(
        &self,
        id: i64,
        owner: &str,
        outcome: &AttemptOutcome,
        effect: &EndpointEffect,
        pause_after: u32,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let (status, code, error, next, delivered) = match outcome {
            AttemptOutcome::Delivered { status_code } => ("delivered", Some(*status_code), None, None, true),
            AttemptOutcome::Retry { status_code, error, next_attempt_at } => {
                ("pending", *status_code, Some(error.as_str()), Some(ts(*next_attempt_at)), false)
            }
            AttemptOutcome::Failed { status_code, error } => {
                ("failed", *status_code, Some(error.as_str()), None, false)
            }
        };
        let endpoint_id: Option<i64> = sqlx::query_scalar(
            "UPDATE rebound_webhook_outbox SET status = ?3, attempts = attempts + 1,
               last_status_code = ?4, last_error = ?5, last_attempt_at = ?6,
               next_attempt_at = COALESCE(?7, next_attempt_at),
               delivered_at = CASE WHEN ?8 THEN ?6 ELSE delivered_at END,
               lease_owner = NULL, lease_until = NULL
             WHERE id = ?1 AND lease_owner = ?2 RETURNING endpoint_id",
        )
        .bind(id)
        .bind(owner)
        .bind(status)
        .bind(code.map(i32::from))
        .bind(error)
        .bind(ts(now))
        .bind(next)
        .bind(delivered)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(endpoint_id) = endpoint_id else {
            tx.commit().await?;
            return Ok(false);
        };
        // Only a failure streak ends here: a success leaves the endpoint's row
        // alone (concurrent deliveries would queue on its lock otherwise).
        let paused = if delivered {
            sqlx::query(
                "UPDATE rebound_webhook_endpoints SET consecutive_failures = 0
                 WHERE id = ?1 AND consecutive_failures <> 0",
            )
            .bind(endpoint_id)
            .execute(&mut *tx)
            .await?;
            false
        } else {
            let failures: i64 = sqlx::query_scalar(
                "UPDATE rebound_webhook_endpoints SET consecutive_failures = consecutive_failures + 1
                 WHERE id = ?1 RETURNING consecutive_failures",
            )
            .bind(endpoint_id)
            .fetch_one(&mut *tx)
            .await?;
            let reason = effect.pause.clone().or_else(|| {
                (pause_after > 0 && failures >= i64::from(pause_after)).then(|| {
                    format!("{failures} consecutive failed attempts; last: {}", error.unwrap_or("unknown"))
                })
            });
            match reason {
                Some(reason) => {
                    let r = sqlx::query(
                        "UPDATE rebound_webhook_endpoints SET paused_at = ?2, paused_reason = ?3, updated_at = ?2
                         WHERE id = ?1 AND paused_at IS NULL",
                    )
                    .bind(endpoint_id)
                    .bind(ts(now))
                    .bind(reason)
                    .execute(&mut *tx)
                    .await?;
                    r.rows_affected() > 0
                }
                None => false,
            }
        };
        tx.commit().await?;
        Ok(paused)
    }
}
