use async_trait::async_trait;
use sqlx::PgConnection;

use super::PgStore;
use super::bounces::apply_blocklist;
use crate::bulk::{distinct, require_all};
use crate::nul;
use crate::{BulkSubscriberStore, Result, SubscriberFilter, SubscriptionChange};

#[async_trait]
impl BulkSubscriberStore for PgStore {
    async fn blocklist_subscribers(&self, ids: &[i64]) -> Result<u64> {
        let mut tx = self.pool.begin().await?;
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
        let (subs, lists) = (distinct(subscriber_ids), distinct(list_ids));
        let mut tx = self.pool.begin().await?;
        let r = match change {
            SubscriptionChange::Add { status, update_existing } => {
                // The rows found stay locked (FOR KEY SHARE) until the insert
                // is done: a concurrent delete cannot turn the refusal into
                // a foreign-key error.
                require_all("subscriber", &subs, &existing(&mut tx, "subscribers", &subs).await?)?;
                require_all("list", &lists, &existing(&mut tx, "lists", &lists).await?)?;
                let on_conflict = match (status, update_existing) {
                    (Some(_), true) => "DO UPDATE SET status = EXCLUDED.status, updated_at = NOW()",
                    _ => "DO NOTHING",
                };
                let sql = format!(
                    "INSERT INTO subscriber_lists (subscriber_id, list_id, status)
                     SELECT s, l, $3::subscription_status FROM UNNEST($1::int8[]) s, UNNEST($2::int8[]) l
                     ON CONFLICT (subscriber_id, list_id) {on_conflict}"
                );
                sqlx::query(&sql)
                    .bind(&subs)
                    .bind(&lists)
                    .bind(status.map_or("unconfirmed", |s| s.as_str()))
                    .execute(&mut *tx)
                    .await?
            }
            SubscriptionChange::Remove => {
                sqlx::query(
                    "DELETE FROM subscriber_lists WHERE subscriber_id = ANY($1) AND list_id = ANY($2)",
                )
                .bind(&subs)
                .bind(&lists)
                .execute(&mut *tx)
                .await?
            }
            SubscriptionChange::Unsubscribe => {
                sqlx::query(
                    "UPDATE subscriber_lists SET status = 'unsubscribed', updated_at = NOW()
                     WHERE subscriber_id = ANY($1) AND list_id = ANY($2) AND status <> 'unsubscribed'",
                )
                .bind(&subs)
                .bind(&lists)
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
            "SELECT id::int8 FROM subscribers WHERE ($1::text IS NULL OR email ILIKE $1 OR name ILIKE $1)
             AND (CARDINALITY($2::int8[]) = 0 OR id IN (SELECT subscriber_id FROM subscriber_lists
                  WHERE list_id = ANY($2) AND ($3::text IS NULL OR status = $3::subscription_status)))
             ORDER BY id",
        )
        .bind(pattern)
        .bind(&f.list_ids)
        .bind(f.subscription_status.map(|s| s.as_str()))
        .fetch_all(&self.pool)
        .await?)
    }
}

/// Those of `ids` that are rows of `table`, sorted, locked against deletion
/// until the transaction ends.
async fn existing(conn: &mut PgConnection, table: &str, ids: &[i64]) -> Result<Vec<i64>> {
    Ok(sqlx::query_scalar(&format!(
        "SELECT id::int8 FROM {table} WHERE id = ANY($1) ORDER BY id FOR KEY SHARE"
    ))
    .bind(ids)
    .fetch_all(conn)
    .await?)
}
