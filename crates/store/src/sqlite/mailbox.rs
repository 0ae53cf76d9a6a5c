use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use uuid::Uuid;

use super::{SqliteStore, json_list, ts};
use crate::mailbox::lease_expiry;
use crate::nul;
use crate::{
    Disposition, MailboxMessage, MailboxScan, MailboxState, MailboxStore, NewMailboxMessage, Paged,
    Pagination, Result, Selection, StoreError,
};

const MESSAGE_COLUMNS: &str =
    "id, mailbox_uuid, source, digest, kind, reason, meta, size, truncated, left_on_server, created_at";

#[async_trait]
impl MailboxStore for SqliteStore {
    async fn keep_mailbox_messages(&self, messages: &[NewMailboxMessage]) -> Result<()> {
        if messages.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let now = ts(Utc::now());
        for m in messages {
            let m = nul::clean_message(m);
            sqlx::query(
                "INSERT INTO rebound_mailbox_messages
                   (mailbox_uuid, source, digest, kind, reason, meta, raw, size, truncated, left_on_server, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (mailbox_uuid, digest) DO NOTHING",
            )
            .bind(m.mailbox_uuid.to_string())
            .bind(&m.source)
            .bind(&m.digest)
            .bind(m.kind.as_str())
            .bind(&m.reason)
            .bind(Json(&m.meta))
            .bind(&m.raw)
            .bind(i64::try_from(m.size).unwrap_or(i64::MAX))
            .bind(m.truncated)
            .bind(m.left_on_server)
            .bind(&now)
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
        let mailbox = mailbox.map(|u| u.to_string());
        let total: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM rebound_mailbox_messages WHERE ?1 IS NULL OR mailbox_uuid = ?1",
        )
        .bind(&mailbox)
        .fetch_one(&self.pool)
        .await?;
        let (limit, offset) = p.limit_offset();
        let rows = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM rebound_mailbox_messages WHERE ?1 IS NULL OR mailbox_uuid = ?1
             ORDER BY id DESC LIMIT ?2 OFFSET ?3"
        ))
        .bind(&mailbox)
        .bind(limit.unwrap_or(-1))
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(p.paged(rows, total))
    }

    async fn get_mailbox_message(&self, id: i64) -> Result<MailboxMessage> {
        let row: Option<MailboxMessage> = sqlx::query_as(&format!(
            "SELECT {MESSAGE_COLUMNS}, raw FROM rebound_mailbox_messages WHERE id = ?1"
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
                sqlx::query(
                    "DELETE FROM rebound_mailbox_messages WHERE id IN (SELECT value FROM json_each(?1))",
                )
                .bind(json_list(ids))
                .execute(&self.pool)
                .await?
            }
        };
        Ok(r.rows_affected())
    }

    async fn mark_mailbox_handled(&self, mailbox: Uuid, handled: &[(String, Disposition)]) -> Result<()> {
        if handled.is_empty() {
            return Ok(());
        }
        let (keys, dispositions): (Vec<&str>, Vec<&str>) =
            handled.iter().map(|(k, d)| (k.as_str(), d.as_str())).unzip();
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO rebound_mailbox_handled (mailbox_uuid, message_key, disposition, handled_at)
             SELECT ?1, k.value, d.value, ?4 FROM json_each(?2) AS k JOIN json_each(?3) AS d ON d.key = k.key
             WHERE true
             ON CONFLICT (mailbox_uuid, message_key) DO UPDATE SET disposition = excluded.disposition",
        )
        .bind(mailbox.to_string())
        .bind(json_list(&keys))
        .bind(json_list(&dispositions))
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mailbox_handled(&self, mailbox: Uuid) -> Result<HashMap<String, Disposition>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT message_key, disposition FROM rebound_mailbox_handled WHERE mailbox_uuid = ?1",
        )
        .bind(mailbox.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(|(k, d)| (k, Disposition::parse(&d))).collect())
    }

    async fn forget_mailbox_handled(&self, mailbox: Uuid, keys: &[String]) -> Result<u64> {
        if keys.is_empty() {
            return Ok(0);
        }
        let r = sqlx::query(
            "DELETE FROM rebound_mailbox_handled
             WHERE mailbox_uuid = ?1 AND message_key IN (SELECT value FROM json_each(?2))",
        )
        .bind(mailbox.to_string())
        .bind(json_list(keys))
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
        let mut tx = self.begin_write().await?;
        sqlx::query("INSERT INTO rebound_mailbox_state (mailbox_uuid) VALUES (?1) ON CONFLICT DO NOTHING")
            .bind(mailbox.to_string())
            .execute(&mut *tx)
            .await?;
        let r = sqlx::query(
            "UPDATE rebound_mailbox_state SET lease_owner = ?2, lease_until = ?3
             WHERE mailbox_uuid = ?1 AND (lease_owner IS NULL OR lease_owner = ?2 OR lease_until IS NULL OR lease_until < ?4)",
        )
        .bind(mailbox.to_string())
        .bind(owner)
        .bind(ts(lease_expiry(now, ttl)))
        .bind(ts(now))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(r.rows_affected() == 1)
    }

    async fn release_mailbox_lease(&self, mailbox: Uuid, owner: &str) -> Result<()> {
        sqlx::query(
            "UPDATE rebound_mailbox_state SET lease_owner = NULL, lease_until = NULL
             WHERE mailbox_uuid = ?1 AND lease_owner = ?2",
        )
        .bind(mailbox.to_string())
        .bind(owner)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn save_mailbox_scan(&self, mailbox: Uuid, scan: &MailboxScan) -> Result<()> {
        sqlx::query(
            "INSERT INTO rebound_mailbox_state
               (mailbox_uuid, label, last_scan_at, last_finished_at, last_ok, last_counts, last_error, last_error_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?7 IS NULL THEN NULL ELSE ?4 END)
             ON CONFLICT (mailbox_uuid) DO UPDATE SET
               label = excluded.label, last_scan_at = excluded.last_scan_at,
               last_finished_at = excluded.last_finished_at, last_ok = excluded.last_ok,
               last_counts = excluded.last_counts,
               last_error = COALESCE(excluded.last_error, rebound_mailbox_state.last_error),
               last_error_at = COALESCE(excluded.last_error_at, rebound_mailbox_state.last_error_at)",
        )
        .bind(mailbox.to_string())
        .bind(nul::clean_str(&scan.label))
        .bind(ts(scan.started_at))
        .bind(ts(scan.finished_at))
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
             WHERE mailbox_uuid = ?1 AND oauth_issued_for = ?2 AND oauth_refresh_token IS NOT NULL",
        )
        .bind(mailbox.to_string())
        .bind(issued_for)
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn save_rotated_refresh_token(&self, mailbox: Uuid, issued_for: &str, token: &str) -> Result<()> {
        sqlx::query(
            "INSERT INTO rebound_mailbox_state (mailbox_uuid, oauth_issued_for, oauth_refresh_token)
             VALUES (?1, ?2, ?3)
             ON CONFLICT (mailbox_uuid) DO UPDATE SET
               oauth_issued_for = excluded.oauth_issued_for, oauth_refresh_token = excluded.oauth_refresh_token",
        )
        .bind(mailbox.to_string())
        .bind(issued_for)
        .bind(token)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mailbox_states(&self) -> Result<Vec<MailboxState>> {
        Ok(sqlx::query_as(
            "SELECT mailbox_uuid, label, lease_owner, lease_until, last_scan_at, last_finished_at, last_ok,
                    last_counts, last_error, last_error_at
             FROM rebound_mailbox_state ORDER BY mailbox_uuid",
        )
        .fetch_all(&self.pool)
        .await?)
    }
}
