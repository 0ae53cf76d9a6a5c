use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::{SqliteStore, ts};
use crate::{NewSession, Result, Session, SessionStore, StoreError};

#[async_trait]
impl SessionStore for SqliteStore {
    async fn create_session(&self, new: NewSession) -> Result<()> {
        sqlx::query(
            "INSERT INTO rebound_sessions (token_hash, user_id, csrf_token, created_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .bind(&new.token_hash)
        .bind(new.user_id)
        .bind(&new.csrf_token)
        .bind(ts(Utc::now()))
        .bind(ts(new.expires_at))
        .execute(&self.pool)
        .await
        .map_err(|e| StoreError::from_unique(e, "session"))?;
        Ok(())
    }

    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>> {
        Ok(sqlx::query_as(
            "SELECT s.user_id, u.username, s.csrf_token, s.created_at, s.expires_at
             FROM rebound_sessions s JOIN rebound_users u ON u.id = s.user_id
             WHERE s.token_hash = ?1 AND s.expires_at > ?2",
        )
        .bind(token_hash)
        .bind(ts(now))
        .fetch_optional(&self.pool)
        .await?)
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM rebound_sessions WHERE token_hash = ?1")
            .bind(token_hash)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64> {
        let r = sqlx::query("DELETE FROM rebound_sessions WHERE expires_at <= ?1")
            .bind(ts(now))
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected())
    }
}
