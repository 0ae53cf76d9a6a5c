use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use crate::mailbox::lease_expiry;
use crate::nul;
use crate::{
    Disposition, MailboxMessage, MailboxScan, MailboxState, MailboxStore, NewMailboxMessage, Paged,
    Pagination, Result, Selection, StoreError,
};

const MESSAGE_COLUMNS: &str = "id, mailbox_uuid::text AS mailbox_uuid, source, digest, kind, reason, meta,
    size, truncated, left_on_server, created_at";

#[async_trait]
impl MailboxStore for PgStore {
    async fn keep_mailbox_messages(&self, messages: &[NewMailboxMessage]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut tx = self.pool.begin().await?;
        for m in messages {
            let m = nul::clean_message(m);
            sqlx::query(
                "INSERT INTO rebound_mailbox_messages
                   (mailbox_uuid, source, digest, kind, reason, meta, raw, size, truncated, left_on_server)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (mailbox_uuid, digest) DO NOTHING",
            )
            .bind(m.mailbox_uuid)
            .bind(&m.source)
            .bind(&m.digest)
            .bind(m.kind.as_str())
            .bind(&m.reason)
            .bind(Json(&m.meta))
            .bind(&m.raw)
            .bind(i64::try_from(m.size).unwrap_or(i64::MAX))
            .bind(m.truncated)
            .bind(m.left_on_server)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn query_mailbox_messages(
        &self,
        mailbox: Option<Uuid>,
        p: Pagination,
    ) -> Result<Paged<MailboxMessage>> {
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM rebound_mailbox_messages WHERE $1::uuid IS NULL OR mailbox_uuid = $1",
        )
        .bind(mailbox)
        .fetch_one(&self.pool)
        .await?;
        let (limit, offset) = p.limit_offset();
        let rows = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM rebound_mailbox_messages WHERE $1::uuid IS NULL OR mailbox_uuid = $1
             ORDER BY id DESC LIMIT $2 OFFSET $3"
        ))
        .bind(mailbox)
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(p.paged(rows, total))
    }

    async fn get_mailbox_message(&self, id: i64) -> Result<MailboxMessage> {
        let row: Option<MailboxMessage> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS}, raw FROM rebound_mailbox_messages WHERE id = $1"
        ))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.ok_or_else(|| StoreError::not_found(format!("mailbox message {id}")))
    }

    async fn delete_mailbox_messages(&self, selection: &Selection) -> Result<u64> {
        let r = match selection {
            Selection::All => sqlx::query("DELETE FROM rebound_mailbox_messages").execute(&self.pool).await?,
            Selection::Ids(ids) => {
                sqlx::query("DELETE FROM rebound_mailbox_messages WHERE id = ANY($1)")
                    .bind(ids)
                    .execute(&self.pool)
                    .await?
            }
        };
        Ok(r.rows_affected())
    }

    async fn mark_mailbox_handled(&self, mailbox: Uuid, handled: &[(String, Disposition)]) -> Result<()> {
        // One row per key: ON CONFLICT DO UPDATE may not touch a row twice.
        let unique: HashMap<&str, &str> = handled.iter().map(|(k, d)| (k.as_str(), d.as_str())).collect();
        if unique.is_empty() {
            return Ok(());
        }
        let (keys, dispositions): (Vec<&str>, Vec<&str>) = unique.into_iter().unzip();
        sqlx::query(
            "INSERT INTO rebound_mailbox_handled (mailbox_uuid, message_key, disposition)
             SELECT $1, k, d FROM UNNEST($2::text[], $3::text[]) AS t(k, d)
             ON CONFLICT (mailbox_uuid, message_key) DO UPDATE SET disposition = EXCLUDED.disposition",
        )
        .bind(mailbox)
        .bind(keys)
        .bind(dispositions)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mailbox_handled(&self, mailbox: Uuid) -> Result<HashMap<String, Disposition>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT message_key, disposition FROM rebound_mailbox_handled WHERE mailbox_uuid = $1",
        )
        .bind(mailbox)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(k, d)| (k, Disposition::parse(&d))).collect())
    }

    async fn forget_mailbox_handled(&self, mailbox: Uuid, keys: &[String]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let r = sqlx::query(
            "DELETE FROM rebound_mailbox_handled WHERE mailbox_uuid = $1 AND message_key = ANY($2)",
        )
        .bind(mailbox)
        .bind(keys)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected())
    }

    async fn acquire_mailbox_lease(
        &self,
        mailbox: Uuid,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        // One statement: the row lock taken by the upsert serialises
        // competing instances, and only one of them sees its update apply.
        let r = sqlx::query(
            "INSERT INTO rebound_mailbox_state (mailbox_uuid, lease_owner, lease_until) VALUES ($1, $2, $3)
             ON CONFLICT (mailbox_uuid) DO UPDATE SET lease_owner = EXCLUDED.lease_owner,
               lease_until = EXCLUDED.lease_until
             WHERE rebound_mailbox_state.lease_owner IS NULL OR rebound_mailbox_state.lease_owner = $2
               OR rebound_mailbox_state.lease_until IS NULL OR rebound_mailbox_state.lease_until < $4",
        )
        .bind(mailbox)
        .bind(owner)
        .bind(lease_expiry(now, ttl))
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    async fn release_mailbox_lease(&self, mailbox: Uuid, owner: &str) -> Result<()> {
        sqlx::query(
            "UPDATE rebound_mailbox_state SET lease_owner = NULL, lease_until = NULL
             WHERE mailbox_uuid = $1 AND lease_owner = $2",
        )
        .bind(mailbox)
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn save_mailbox_scan(&self, mailbox: Uuid, scan: &MailboxScan) -> Result<()> {
        sqlx::query(
            "INSERT INTO rebound_mailbox_state
               (mailbox_uuid, label, last_scan_at, last_finished_at, last_ok, last_counts, last_error, last_error_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $7::text IS NULL THEN NULL ELSE $4 END)
             ON CONFLICT (mailbox_uuid) DO UPDATE SET
               label = EXCLUDED.label, last_scan_at = EXCLUDED.last_scan_at,
               last_finished_at = EXCLUDED.last_finished_at, last_ok = EXCLUDED.last_ok,
               last_counts = EXCLUDED.last_counts,
               last_error = COALESCE(EXCLUDED.last_error, rebound_mailbox_state.last_error),
               last_error_at = COALESCE(EXCLUDED.last_error_at, rebound_mailbox_state.last_error_at)",
        )
        .bind(mailbox)
        .bind(nul::clean_str(&scan.label))
        .bind(scan.started_at)
        .bind(scan.finished_at)
        .bind(scan.error.is_none())
        .bind(Json(nul::clean_json(&scan.counts)))
        .bind(scan.error.as_deref().map(nul::clean_str))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn rotated_refresh_token(&self, mailbox: Uuid, issued_for: &str) -> Result<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT oauth_refresh_token FROM rebound_mailbox_state
             WHERE mailbox_uuid = $1 AND oauth_issued_for = $2 AND oauth_refresh_token IS NOT NULL",
        )
        .bind(mailbox)
        .bind(issued_for)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn save_rotated_refresh_token(&self, mailbox: Uuid, issued_for: &str, token: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO rebound_mailbox_state (mailbox_uuid, oauth_issued_for, oauth_refresh_token)
             VALUES ($1, $2, $3)
             ON CONFLICT (mailbox_uuid) DO UPDATE SET
               oauth_issued_for = excluded.oauth_issued_for, oauth_refresh_token = excluded.oauth_refresh_token",
        )
        .bind(mailbox)
        .bind(issued_for)
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mailbox_states(&self) -> Result<Vec<MailboxState>> {
        Ok(sqlx::query_as(
            "SELECT mailbox_uuid::text AS mailbox_uuid, label, lease_owner, lease_until, last_scan_at,
                    last_finished_at, last_ok, last_counts, last_error, last_error_at
             FROM rebound_mailbox_state ORDER BY mailbox_uuid",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
