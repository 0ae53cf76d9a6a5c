//! Reclassifying a bounce on PostgreSQL ([`crate::reclassify`] decides).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::BounceActions;
use serde_json::Value;
use sqlx::types::Json;

use super::PgStore;
use super::bounces::write_plan;
use crate::reclassify::{self, Current, Reclassification, Reclassified, action_plan, since};
use crate::{CorrectionStore, Result, StoreError};

#[async_trait]
impl CorrectionStore for PgStore {
    async fn reclassify_bounce(
        &self,
        r: &Reclassification,
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Reclassified> {
        let mut tx = self.pool.begin().await?;
        let not_found = || StoreError::not_found(format!("bounce {}", r.bounce_id));
        // The subscriber is locked first, then the bounce: the order
        // recording locks in (its subscribers, then their bounces when a rule
        // deletes one), so the two cannot deadlock; and a batch recording for
        // this subscriber waits, so the count below stays true until commit.
        let subscriber_id: i64 = sqlx::query_scalar("SELECT subscriber_id::int8 FROM bounces WHERE id = $1")
            .bind(r.bounce_id)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(not_found)?;
        let status: String =
            sqlx::query_scalar("SELECT status::text FROM subscribers WHERE id = $1 FOR UPDATE")
                .bind(subscriber_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(not_found)?;
        let (bounce_type, Json(meta)): (String, Json<Value>) =
            sqlx::query_as("SELECT type::text, meta FROM bounces WHERE id = $1 FOR UPDATE")
                .bind(r.bounce_id)
                .fetch_optional(&mut *tx)
                .await?
                .ok_or_else(not_found)?;
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bounces
             WHERE subscriber_id = $1 AND type = $2::bounce_type AND id <> $3
               AND created_at >= COALESCE($4, '-infinity'::timestamptz)",
        )
        .bind(subscriber_id)
        .bind(r.to.as_str())
        .bind(r.bounce_id)
        .bind(since(actions, r.to, now))
        .fetch_one(&mut *tx)
        .await?;
        let current = Current::from_columns(&bounce_type, meta, &status, others)?;
        let d = reclassify::decide(r, current, actions, now)?;
        sqlx::query("UPDATE bounces SET type = $2::bounce_type, meta = $3 WHERE id = $1")
            .bind(r.bounce_id)
            .bind(r.to.as_str())
            .bind(Json(&d.meta))
            .execute(&mut *tx)
            .await?;
        write_plan(&mut tx, &action_plan(subscriber_id, d.correction.action, actions), false, now).await?;
        tx.commit().await?;
        reclassify::answer(self, r.bounce_id, d.correction).await
    }
}
