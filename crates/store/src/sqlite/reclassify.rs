//! Reclassifying a bounce on SQLite ([`crate::reclassify`] decides).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rebound_core::BounceActions;
use serde_json::Value;
use sqlx::types::Json;

use super::bounces::write_plan;
use super::{SqliteStore, ts};
use crate::reclassify::{self, Current, Reclassification, Reclassified, action_plan, since};
use crate::{CorrectionStore, Result, StoreError};

#[async_trait]
impl CorrectionStore for SqliteStore {
    async fn reclassify_bounce(
        &self,
        r: &Reclassification,
        actions: &BounceActions,
        now: DateTime<Utc>,
    ) -> Result<Reclassified> {
        // BEGIN IMMEDIATE: no other write (a batch counting this subscriber's
        // bounces) runs between the count and the update.
        let mut tx = self.begin_write().await?;
        let row: Option<(i64, String, Json<Value>, String)> = sqlx::query_as(
            "SELECT bounces.subscriber_id, bounces.type, bounces.meta, subscribers.status
             FROM bounces JOIN subscribers ON subscribers.id = bounces.subscriber_id WHERE bounces.id = ?1",
        )
        .bind(r.bounce_id)
        .fetch_optional(&mut *tx)
        .await?;
        let (subscriber_id, bounce_type, Json(meta), status) =
            row.ok_or_else(|| StoreError::not_found(format!("bounce {}", r.bounce_id)))?;
        let since = since(actions, r.to, now);
        let others: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM bounces
             WHERE subscriber_id = ?1 AND type = ?2 AND id <> ?3 AND (?4 IS NULL OR created_at >= ?4)",
        )
        .bind(subscriber_id)
        .bind(r.to.as_str())
        .bind(r.bounce_id)
        .bind(since.map(ts))
        .fetch_one(&mut *tx)
        .await?;
        let current = Current::from_columns(&bounce_type, meta, &status, others)?;
        let d = reclassify::decide(r, current, actions, now)?;
        sqlx::query("UPDATE bounces SET type = ?2, meta = ?3 WHERE id = ?1")
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
