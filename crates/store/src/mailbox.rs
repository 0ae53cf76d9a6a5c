//! What the bounce-mailbox scanners keep: messages that were not recorded as
//! bounces (with their raw bytes, so nothing fetched is ever lost), the
//! server ids of messages already handled, a lease per mailbox so several
//! rebound processes on one database never scan the same mailbox at once, and
//! how each mailbox's last scan went.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::{Paged, Pagination, Result, Selection, StoreError};

#[async_trait]
pub trait MailboxStore: Send + Sync {
    /// Keeps messages in one transaction. A message already kept for the
    /// same mailbox (same digest) is not added again.
    async fn keep_mailbox_messages(&self, messages: &[NewMailboxMessage]) -> Result<()>;
    /// Kept messages, newest first, without their raw bytes.
    async fn query_mailbox_messages(
        &self,
        mailbox: Option<Uuid>,
        pagination: Pagination,
    ) -> Result<Paged<MailboxMessage>>;
    /// One kept message with its raw bytes.
    async fn get_mailbox_message(&self, id: i64) -> Result<MailboxMessage>;
    async fn delete_mailbox_messages(&self, selection: &Selection) -> Result<u64>;

    /// Remembers that these messages' outcomes are durable.
    async fn mark_mailbox_handled(&self, mailbox: Uuid, handled: &[(String, Disposition)]) -> Result<()>;
    /// Every message of the mailbox remembered as handled.
    async fn mailbox_handled(&self, mailbox: Uuid) -> Result<HashMap<String, Disposition>>;
    /// Forgets handled messages (gone from the server).
    async fn forget_mailbox_handled(&self, mailbox: Uuid, keys: &[String]) -> Result<u64>;

    /// Takes or renews the mailbox's lease for `ttl`; false when another
    /// owner holds an unexpired lease.
    async fn acquire_mailbox_lease(
        &self,
        mailbox: Uuid,
        owner: &str,
        ttl: Duration,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    /// Gives the lease up (only if `owner` holds it).
    async fn release_mailbox_lease(&self, mailbox: Uuid, owner: &str) -> Result<()>;

    /// Records how a scan went.
    async fn save_mailbox_scan(&self, mailbox: Uuid, scan: &MailboxScan) -> Result<()>;
    /// The state of every mailbox that was ever scanned or leased.
    async fn mailbox_states(&self) -> Result<Vec<MailboxState>>;

    /// An OAuth2 mailbox's rotated refresh token, if one was saved for the
    /// grant `issued_for` (a digest of the refresh token in the settings).
    async fn rotated_refresh_token(&self, mailbox: Uuid, issued_for: &str) -> Result<Option<String>>;
    /// Keeps the refresh token a provider rotated to, for that grant.
    async fn save_rotated_refresh_token(&self, mailbox: Uuid, issued_for: &str, token: &str) -> Result<()>;
}

/// Why a fetched message was kept instead of recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeptKind {
    /// The parser says it reports no failure (auto-reply, delay, ordinary mail).
    NotBounce,
    /// Not even a header could be read.
    Unparseable,
    /// The parser failed on it.
    ParseError,
    /// A bounce that names no recipient and no subscriber.
    Unattributed,
}

impl KeptKind {
    pub fn as_str(self) -> &'static str {
        match self {
            KeptKind::NotBounce => "not_bounce",
            KeptKind::Unparseable => "unparseable",
            KeptKind::ParseError => "parse_error",
            KeptKind::Unattributed => "unattributed",
        }
    }
}

impl TryFrom<String> for KeptKind {
    type Error = StoreError;
    fn try_from(s: String) -> Result<Self> {
        Ok(match s.as_str() {
            "not_bounce" => KeptKind::NotBounce,
            "unparseable" => KeptKind::Unparseable,
            "parse_error" => KeptKind::ParseError,
            "unattributed" => KeptKind::Unattributed,
            other => return Err(StoreError::Invalid(format!("unknown kept message kind {other:?}"))),
        })
    }
}

#[derive(Debug, Clone)]
pub struct NewMailboxMessage {
    pub mailbox_uuid: Uuid,
    /// The mailbox host, as bounces from it are sourced.
    pub source: String,
    /// SHA-256 of the whole message (hex); with the mailbox, its identity.
    pub digest: String,
    pub kind: KeptKind,
    /// e.g. the parser's "auto_reply", or the panic message.
    pub reason: String,
    /// from, subject, message_id, delivered_to, ...
    pub meta: Value,
    /// The message, or its first bytes when `truncated`.
    pub raw: Vec<u8>,
    /// The whole message's size.
    pub size: u64,
    pub truncated: bool,
    /// The message was too large to keep whole, so it stays on the server.
    pub left_on_server: bool,
}

/// A kept message as the API shows it.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MailboxMessage {
    pub id: i64,
    pub mailbox_uuid: String,
    pub source: String,
    pub digest: String,
    #[sqlx(try_from = "String")]
    pub kind: KeptKind,
    pub reason: String,
    #[sqlx(json)]
    pub meta: Value,
    pub size: i64,
    pub truncated: bool,
    pub left_on_server: bool,
    pub created_at: DateTime<Utc>,
    /// Only filled by [`MailboxStore::get_mailbox_message`].
    #[serde(skip)]
    #[sqlx(default)]
    pub raw: Option<Vec<u8>>,
}

/// What the next scans do with a handled message still on the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    /// Its outcome is durable: delete (or move) it.
    Remove,
    /// It must stay on the server (too large to keep whole): skip it.
    Leave,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Remove => "remove",
            Disposition::Leave => "leave",
        }
    }

    pub(crate) fn parse(s: &str) -> Disposition {
        if s == "leave" { Disposition::Leave } else { Disposition::Remove }
    }
}

/// How one scan went.
#[derive(Debug, Clone)]
pub struct MailboxScan {
    /// A readable name of the mailbox (user@host:port).
    pub label: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    /// Counts (seen, recorded, unmatched, ...).
    pub counts: Value,
    /// None when the scan succeeded.
    pub error: Option<String>,
}

/// A mailbox's stored state.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct MailboxState {
    pub mailbox_uuid: String,
    pub label: String,
    pub lease_owner: Option<String>,
    pub lease_until: Option<DateTime<Utc>>,
    pub last_scan_at: Option<DateTime<Utc>>,
    pub last_finished_at: Option<DateTime<Utc>>,
    pub last_ok: Option<bool>,
    #[sqlx(json)]
    pub last_counts: Value,
    pub last_error: Option<String>,
    pub last_error_at: Option<DateTime<Utc>>,
}

/// The lease's expiry as a chrono time.
pub(crate) fn lease_expiry(now: DateTime<Utc>, ttl: Duration) -> DateTime<Utc> {
    now + chrono::Duration::from_std(ttl).unwrap_or(chrono::Duration::minutes(10))
}
