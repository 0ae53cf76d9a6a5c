use async_trait::async_trait;
use chrono::Utc;
use rebound_core::{SubscriberRef, SubscriberStatus};
use sqlx::types::Json;
use sqlx::{Sqlite, SqliteConnection, Transaction};
use uuid::Uuid;

use super::{SqliteStore, json_list, ts};
use crate::{
    NewSubscriber, Paged, Result, StoreError, Subscriber, SubscriberList, SubscriberQuery, SubscriberStore,
    SubscriberUpdate,
};

const SUB_COLUMNS: &str = "id, uuid, email, name, attribs, status, created_at, updated_at";

#[async_trait]
impl SubscriberStore for SqliteStore {
    async fn create_subscriber(&self, new: NewSubscriber) -> Result<Subscriber> {
        let mut tx = self.begin_write().await?;
        let now = ts(Utc::now());
        let sql = format!(
            "INSERT INTO subscribers (uuid, email, name, attribs, status, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) RETURNING {SUB_COLUMNS}"
        );
        let mut sub: Subscriber = sqlx::query_as(&sql)
            .bind(Uuid::new_v4().to_string())
            .bind(new.email.as_str())
            .bind(&new.name)
            .bind(Json(&new.attribs))
            .bind(new.status.as_str())
            .bind(&now)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| StoreError::from_unique(e, &format!("subscriber {}", new.email)))?;
        add_lists(&mut tx, sub.id, &new.lists, new.status, new.preconfirm).await?;
        sub.lists = lists_of(&mut tx, &[sub.id]).await?;
        tx.commit().await?;
        Ok(sub)
    }

    async fn get_subscriber(&self, id: i64) -> Result<Subscriber> {
        let mut conn = self.pool.acquire().await?;
        let sql = format!("SELECT {SUB_COLUMNS} FROM subscribers WHERE id = ?1");
        let mut sub: Subscriber = sqlx::query_as(&sql)
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("subscriber {id}")))?;
        sub.lists = lists_of(&mut conn, &[id]).await?;
        Ok(sub)
    }

    async fn find_subscriber(&self, key: &SubscriberRef) -> Result<Option<Subscriber>> {
        let sql = format!(
            "SELECT {SUB_COLUMNS} FROM subscribers WHERE uuid = ?1 OR email = ?2 ORDER BY uuid = ?1 DESC LIMIT 1"
        );
        let found: Option<Subscriber> = sqlx::query_as(&sql)
            .bind(key.uuid.map(|u| u.to_string()))
            .bind(key.email.as_ref().map(|e| e.as_str()))
            .fetch_optional(&self.pool)
            .await?;
        match found {
            Some(s) => Ok(Some(self.get_subscriber(s.id).await?)),
            None => Ok(None),
        }
    }

    async fn query_subscribers(&self, q: &SubscriberQuery) -> Result<Paged<Subscriber>> {
        super::subscriber_query::query(self, q).await
    }

    async fn update_subscriber(&self, id: i64, u: SubscriberUpdate) -> Result<Subscriber> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE subscribers SET email = COALESCE(?1, email), name = COALESCE(?2, name),
             attribs = COALESCE(?3, attribs), status = COALESCE(?4, status), updated_at = ?5 WHERE id = ?6",
        )
        .bind(u.email.as_ref().map(|e| e.as_str()))
        .bind(&u.name)
        .bind(u.attribs.as_ref().map(Json))
        .bind(u.status.map(|s| s.as_str()))
        .bind(ts(Utc::now()))
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_unique(e, "a subscriber with this e-mail"))?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("subscriber {id}")));
        }
        let status: String = sqlx::query_scalar("SELECT status FROM subscribers WHERE id = ?1")
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
        let status: SubscriberStatus = status.parse().map_err(|e| StoreError::Invalid(format!("{e}")))?;
        if let Some(lists) = &u.lists {
            sqlx::query(
                "DELETE FROM subscriber_lists WHERE subscriber_id = ?1
                 AND list_id NOT IN (SELECT value FROM json_each(?2))",
            )
            .bind(id)
            .bind(json_list(lists))
            .execute(&mut *tx)
            .await?;
            add_lists(&mut tx, id, lists, status, u.preconfirm).await?;
        }
        if status == SubscriberStatus::Blocklisted {
            sqlx::query(
                "UPDATE subscriber_lists SET status = 'unsubscribed', updated_at = ?2
                 WHERE subscriber_id = ?1 AND status <> 'unsubscribed'",
            )
            .bind(id)
            .bind(ts(Utc::now()))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        self.get_subscriber(id).await
    }

    async fn delete_subscribers(&self, ids: &[i64]) -> Result<u64> {
        let r = sqlx::query("DELETE FROM subscribers WHERE id IN (SELECT value FROM json_each(?1))")
            .bind(json_list(ids))
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}

/// Subscribes to lists that exist (unknown ids are ignored, as listmonk does),
/// with listmonk's statuses (insert-subscriber, update-subscriber-with-lists):
/// unconfirmed, whatever the list's opt-in, unless pre-confirmed; a
/// blocklisted subscriber as unsubscribed. An existing subscription changes
/// only from unconfirmed: a confirmed or unsubscribed one stays as it is.
async fn add_lists(
    tx: &mut Transaction<'static, Sqlite>,
    sub_id: i64,
    lists: &[i64],
    status: SubscriberStatus,
    preconfirm: bool,
) -> Result<()> {
    if lists.is_empty() {
        return Ok(());
    }
    let now = ts(Utc::now());
    sqlx::query(
        "INSERT INTO subscriber_lists (subscriber_id, list_id, status, created_at, updated_at)
         SELECT ?1, id,
           CASE WHEN ?3 = 'blocklisted' THEN 'unsubscribed'
                WHEN ?4 THEN 'confirmed'
                ELSE 'unconfirmed' END,
           ?5, ?5
         FROM lists WHERE id IN (SELECT value FROM json_each(?2))
         ON CONFLICT (subscriber_id, list_id) DO UPDATE
           SET status = excluded.status, updated_at = excluded.updated_at
           WHERE subscriber_lists.status = 'unconfirmed' AND excluded.status <> 'unconfirmed'",
    )
    .bind(sub_id)
    .bind(json_list(lists))
    .bind(status.as_str())
    .bind(preconfirm)
    .bind(&now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(super) async fn lists_of(conn: &mut SqliteConnection, sub_ids: &[i64]) -> Result<Vec<SubscriberList>> {
    Ok(sqlx::query_as(
        "SELECT sl.subscriber_id, l.id, l.uuid, l.name, l.type, l.optin,
                sl.status AS subscription_status,
                sl.created_at AS subscription_created_at, sl.updated_at AS subscription_updated_at
         FROM subscriber_lists sl JOIN lists l ON l.id = sl.list_id
         WHERE sl.subscriber_id IN (SELECT value FROM json_each(?1))
         ORDER BY sl.subscriber_id, l.id",
    )
    .bind(json_list(sub_ids))
    .fetch_all(conn)
    .await?)
}
