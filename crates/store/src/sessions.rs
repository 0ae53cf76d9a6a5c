//! Web UI login sessions. The store never sees a session token itself, only
//! its hash (the caller hashes), so reading the database does not let anyone
//! log in.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::Result;

/// A session row, joined with the name of the user it belongs to.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Session {
    pub user_id: i64,
    pub username: String,
    /// The synchronizer token state-changing forms must send back.
    #[serde(skip)]
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub struct NewSession {
    /// SHA-256 (hex) of the token in the session cookie.
    pub token_hash: String,
    pub user_id: i64,
    pub csrf_token: String,
    pub expires_at: DateTime<Utc>,
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, new: NewSession) -> Result<()>;
    /// The session with this token hash, unless it has expired at `now`.
    async fn find_session(&self, token_hash: &str, now: DateTime<Utc>) -> Result<Option<Session>>;
    /// Logout. Deleting a session that does not exist is not an error.
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Removes sessions that expired before `now`; returns how many.
    async fn delete_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64>;
}
