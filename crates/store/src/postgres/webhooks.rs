use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;
use sqlx::types::Json;

use super::PgStore;
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
    Json<Vec<String>>,
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

const ENDPOINT_SELECT: &str = "SELECT e.id::int8, e.uuid, e.url, e.secret, e.description, e.event_types,
    e.enabled, e.paused_at, e.paused_reason, e.consecutive_failures::int8, e.created_at, e.updated_at,
    (SELECT COUNT(*) FROM rebound_webhook_outbox o WHERE o.endpoint_id = e.id AND o.status = 'pending'),
    (SELECT COUNT(*) FROM rebound_webhook_outbox o WHERE o.endpoint_id = e.id AND o.status = 'delivered'),
    (SELECT COUNT(*) FROM rebound_webhook_outbox o WHERE o.endpoint_id = e.id AND o.status = 'failed')
    FROM rebound_webhook_endpoints e";

const DELIVERY_COLUMNS: &str = "id::int8, event_id, endpoint_id::int8, event_type, status, attempts::int8,
    next_attempt_at, last_status_code, last_error, last_attempt_at, delivered_at, created_at,
    payload::jsonb AS payload";

fn endpoint(r: EndpointRow) -> Endpoint {
    Endpoint {
        id: r.0,
        uuid: r.1,
        url: r.2,
        secret: r.3,
        description: r.4,
        event_types: r.5.0,
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
pub(super) async fn load_routes(conn: &mut PgConnection) -> Result<Vec<Route>> {
    let rows: Vec<(i64, Json<Vec<String>>)> =
        sqlx::query_as("SELECT id::int8, event_types FROM rebound_webhook_endpoints WHERE enabled")
            .fetch_all(&mut *conn)
            .await?;
    Ok(rows.into_iter().map(|(id, t)| Route { endpoint_id: id, event_types: t.0 }).collect())
}

pub(super) async fn insert_outbox(
    conn: &mut PgConnection,
    rows: &[OutboxInsert],
    now: DateTime<Utc>,
) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO rebound_webhook_outbox (event_id, endpoint_id, event_type, payload, next_attempt_at, created_at)
         SELECT e, ep, t, p, $5, $5 FROM UNNEST($1::text[], $2::int8[], $3::text[], $4::text[]) AS x(e, ep, t, p)
         ON CONFLICT DO NOTHING",
    )
    .bind(rows.iter().map(|r| r.event_id.as_str()).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.endpoint_id).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.event_type).collect::<Vec<_>>())
    .bind(rows.iter().map(|r| r.payload.as_str()).collect::<Vec<_>>())
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn create_endpoint(&self, new: NewEndpoint) -> Result<Endpoint> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO rebound_webhook_endpoints (uuid, url, secret, description, event_types, enabled)
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id::int8",
        )
        .bind(uuid::Uuid::new_v4().to_string())
        .bind(&new.url)
        .bind(&new.secret)
        .bind(&new.description)
        .bind(Json(&new.event_types))
        .bind(new.enabled)
        .fetch_one(&self.pool)
        .await?;
        self.get_endpoint(id).await
    }

    async fn deliverable_endpoints(&self) -> Result<Vec<(i64, String, String)>> {
        Ok(sqlx::query_as("SELECT id::int8, url, secret FROM rebound_webhook_endpoints WHERE enabled AND paused_at IS NULL ORDER BY id").fetch_all(&self.pool).await?)
    }

    async fn list_endpoints(&self) -> Result<Vec<Endpoint>> {
        let rows: Vec<EndpointRow> =
            sqlx::query_as(&format!("{ENDPOINT_SELECT} ORDER BY e.id")).fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(endpoint).collect())
    }

    async fn get_endpoint(&self, id: i64) -> Result<Endpoint> {
        let row: Option<EndpointRow> = sqlx::query_as(&format!("{ENDPOINT_SELECT} WHERE e.id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.map(endpoint).ok_or_else(|| StoreError::not_found(format!("webhook endpoint {id}")))
    }

    async fn update_endpoint(&self, id: i64, u: EndpointUpdate) -> Result<Endpoint> {
        let r = sqlx::query(
            "UPDATE rebound_webhook_endpoints SET
               url = COALESCE($2, url), secret = COALESCE($3, secret), description = COALESCE($4, description),
               event_types = COALESCE($5, event_types), enabled = COALESCE($6, enabled),
               paused_at = CASE WHEN $7::bool IS NULL THEN paused_at WHEN $7 THEN COALESCE(paused_at, NOW()) ELSE NULL END,
               paused_reason = CASE WHEN $7::bool IS NULL THEN paused_reason
                                    WHEN $7 THEN COALESCE(paused_reason, 'paused by hand') ELSE NULL END,
               consecutive_failures = CASE WHEN $7::bool = FALSE THEN 0 ELSE consecutive_failures END,
               updated_at = NOW()
             WHERE id = $1",
        )
        .bind(id)
        .bind(&u.url)
        .bind(&u.secret)
        .bind(&u.description)
        .bind(u.event_types.as_ref().map(Json))
        .bind(u.enabled)
        .bind(u.paused)
        .execute(&self.pool)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("webhook endpoint {id}")));
        }
        self.get_endpoint(id).await
    }

    async fn delete_endpoint(&self, id: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query("DELETE FROM rebound_webhook_endpoints WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("webhook endpoint {id}")));
        }
        sqlx::query("DELETE FROM rebound_webhook_outbox WHERE endpoint_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn query_deliveries(&self, q: &DeliveryQuery) -> Result<Paged<Delivery>> {
        let status = q.status.map(|s| s.as_str());
        let filter = "($1::int8 IS NULL OR endpoint_id = $1) AND ($2::text IS NULL OR status = $2)";
        let total: i64 =
            sqlx::query_scalar(&format!("SELECT COUNT(*) FROM rebound_webhook_outbox WHERE {filter}"))
                .bind(q.endpoint_id)
                .bind(status)
                .fetch_one(&self.pool)
                .await?;
        let (limit, offset) = q.pagination.limit_offset();
        let rows = sqlx::query_as(&format!(
            "SELECT {DELIVERY_COLUMNS} FROM rebound_webhook_outbox WHERE {filter} ORDER BY id DESC LIMIT $3 OFFSET $4"
        ))
        .bind(q.endpoint_id)
        .bind(status)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(q.pagination.paged(rows, total))
    }

    async fn get_delivery(&self, id: i64) -> Result<Delivery> {
        sqlx::query_as(&format!("SELECT {DELIVERY_COLUMNS} FROM rebound_webhook_outbox WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("delivery {id}")))
    }

    async fn prune_deliveries(&self, before: DateTime<Utc>) -> Result<u64> {
        Ok(sqlx::query("DELETE FROM rebound_webhook_outbox WHERE status = 'delivered' AND delivered_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }

    async fn redeliver(&self, id: i64, now: DateTime<Utc>) -> Result<Delivery> {
        let r = sqlx::query(
            "UPDATE rebound_webhook_outbox SET status = 'pending', attempts = 0, next_attempt_at = $2,
               lease_owner = NULL, lease_until = NULL, delivered_at = NULL
             WHERE id = $1",
        )
        .bind(id)
        .bind(now)
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
        // SKIP LOCKED: another instance claiming at the same moment takes
        // other rows instead of waiting; the lease keeps them out of reach
        // after this transaction while the delivery runs.
        let rows = sqlx::query_as(
            "UPDATE rebound_webhook_outbox SET lease_owner = $2, lease_until = $3
             WHERE id IN (
               SELECT o.id FROM rebound_webhook_outbox o
               WHERE o.endpoint_id = $1 AND o.status = 'pending' AND o.next_attempt_at <= $4
                 AND (o.lease_until IS NULL OR o.lease_until < $4)
                 AND EXISTS (SELECT 1 FROM rebound_webhook_endpoints e
                             WHERE e.id = o.endpoint_id AND e.enabled AND e.paused_at IS NULL)
               ORDER BY o.next_attempt_at, o.id LIMIT $5
               FOR UPDATE SKIP LOCKED)
             RETURNING id::int8, event_id, endpoint_id::int8, event_type, payload, attempts::int8",
        )
        .bind(endpoint_id)
        .bind(owner)
        .bind(lease_until)
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
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
        let mut tx = self.pool.begin().await?;
        let (status, code, error, next, delivered) = match outcome {
            AttemptOutcome::Delivered { status_code } => ("delivered", Some(*status_code), None, None, true),
            AttemptOutcome::Retry { status_code, error, next_attempt_at } => {
                ("pending", *status_code, Some(error.as_str()), Some(*next_attempt_at), false)
            }
            AttemptOutcome::Failed { status_code, error } => {
                ("failed", *status_code, Some(error.as_str()), None, false)
            }
        };
        let endpoint_id: Option<i64> = sqlx::query_scalar(
            "UPDATE rebound_webhook_outbox SET status = $3, attempts = attempts + 1,
               last_status_code = $4, last_error = $5, last_attempt_at = $6,
               next_attempt_at = COALESCE($7, next_attempt_at),
               delivered_at = CASE WHEN $8 THEN $6 ELSE delivered_at END,
               lease_owner = NULL, lease_until = NULL
             WHERE id = $1 AND lease_owner = $2 RETURNING endpoint_id::int8",
        )
        .bind(id)
        .bind(owner)
        .bind(status)
        .bind(code.map(i32::from))
        .bind(error)
        .bind(now)
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
                 WHERE id = $1 AND consecutive_failures <> 0",
            )
            .bind(endpoint_id)
            .execute(&mut *tx)
            .await?;
            false
        } else {
            let failures: i64 = sqlx::query_scalar(
                "UPDATE rebound_webhook_endpoints SET consecutive_failures = consecutive_failures + 1
                 WHERE id = $1 RETURNING consecutive_failures::int8",
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
                        "UPDATE rebound_webhook_endpoints SET paused_at = $2, paused_reason = $3, updated_at = $2
                         WHERE id = $1 AND paused_at IS NULL",
                    )
                    .bind(endpoint_id)
                    .bind(now)
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
