use async_trait::async_trait;
use chrono::Utc;
use sqlx::SqliteConnection;

use super::bounces::apply_blocklist;
use super::{SqliteStore, json_list, ts};
use crate::bulk::{distinct, require_all};
use crate::nul;
use crate::{BulkSubscriberStore, Result, SubscriberFilter, SubscriptionChange};

#[async_trait]
impl BulkSubscriberStore for SqliteStore {
    async fn blocklist_subscribers(&self, ids: &[i64]) -> Result<u64> {
        let mut tx = self.begin_write().await?;
        let found = existing(&mut tx, "subscribers", &distinct(ids)).await?;
        apply_blocklist(&mut tx, &found).await?;
        tx.commit().await?;
        Ok(found.len() as u64)
    }

    async fn change_subscriptions(
        &self,
        subscriber_ids: &[i64],
        list_ids: &[i64],
        change: SubscriptionChange,
    ) -> Result<u64> {
        let (subs, lists) = (json_list(&distinct(subscriber_ids)), json_list(&distinct(list_ids)));
        let now = ts(Utc::now());
        let mut tx = self.begin_write().await?;
        let r =
            match change {
                SubscriptionChange::Add { status, update_existing } => {
                    let subscriber_ids = distinct(subscriber_ids);
                    let found = existing(&mut tx, "subscribers", &subscriber_ids).await?;
                    require_all("subscriber", &subscriber_ids, &found)?;
                    let list_ids = distinct(list_ids);
                    require_all("list", &list_ids, &existing(&mut tx, "lists", &list_ids).await?)?;
                    let on_conflict = match (status, update_existing) {
                        (Some(_), true) => {
                            "DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at"
                        }
                        _ => "DO NOTHING",
                    };
                    // `WHERE true`: SQLite's parser needs it before an upsert's ON CONFLICT.
                    let sql = format!(
                    "INSERT INTO subscriber_lists (subscriber_id, list_id, status, created_at, updated_at)
                     SELECT s.value, l.value, ?4, ?3, ?3 FROM json_each(?1) s, json_each(?2) l
                     WHERE true ON CONFLICT (subscriber_id, list_id) {on_conflict}"
                );
                    sqlx::query(&sql)
                        .bind(&subs)
                        .bind(&lists)
                        .bind(&now)
                        .bind(status.map_or("unconfirmed", |s| s.as_str()))
                        .execute(&mut *tx)
                        .await?
                }
                SubscriptionChange::Remove => sqlx::query(
                    "DELETE FROM subscriber_lists WHERE subscriber_id IN (SELECT value FROM json_each(?1))
                     AND list_id IN (SELECT value FROM json_each(?2))",
                )
                .bind(&subs)
                .bind(&lists)
                .execute(&mut *tx)
                .await?,
                SubscriptionChange::Unsubscribe => {
                    sqlx::query(
                        "UPDATE subscriber_lists SET status = 'unsubscribed', updated_at = ?3
                     WHERE subscriber_id IN (SELECT value FROM json_each(?1))
                     AND list_id IN (SELECT value FROM json_each(?2)) AND status <> 'unsubscribed'",
                    )
                    .bind(&subs)
                    .bind(&lists)
                    .bind(&now)
                    .execute(&mut *tx)
                    .await?
                }
            };
        tx.commit().await?;
        Ok(r.rows_affected())
    }

    async fn filtered_subscriber_ids(&self, f: &SubscriberFilter) -> Result<Vec<i64>> {
        // U+0000 as stored text has it (nul.rs): PostgreSQL refuses it in a parameter.
        let pattern = f.search.as_ref().map(|s| format!("%{}%", nul::clean_str(s.trim())));
        Ok(sqlx::query_scalar(
            "SELECT id FROM subscribers WHERE (?1 IS NULL OR email LIKE ?1 OR name LIKE ?1)
             AND (json_array_length(?2) = 0 OR id IN (SELECT subscriber_id FROM subscriber_lists
                  WHERE list_id IN (SELECT value FROM json_each(?2)) AND (?3 IS NULL OR status = ?3)))
             ORDER BY id",
        )
        .bind(pattern)
        .bind(json_list(&f.list_ids))
        .bind(f.subscription_status.map(|s| s.as_str()))
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Those of `ids` (sorted) that are rows of `table`, sorted.
async fn existing(conn: &mut SqliteConnection, table: &str, ids: &[i64]) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT id FROM {table} WHERE id IN (SELECT value FROM json_each(?1)) ORDER BY id"
    ))
    .bind(json_list(ids))
    .fetch_all(conn)
    .await?)
}
