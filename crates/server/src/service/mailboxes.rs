//! Bounce mailboxes: their scan status, "scan now", the messages the
//! scanners kept because they were not bounces (docs/mailboxes.md), and
//! "test connection" for a saved mailbox.

use rebound_mailbox::{Connected, ConnectionTestError, MailboxStatus, ScanReport};
use rebound_store::{MailboxMessage, Paged, Pagination, Selection};
use tokio::sync::oneshot;
use uuid::Uuid;

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// Every configured mailbox with its last scan (from whichever instance
/// scanned it) and this instance's scanner state.
pub async fn overview(state: &AppState, p: &Principal) -> ServiceResult<Vec<MailboxStatus>> {
    p.require(perm::BOUNCES_GET)?;
    let settings = state.settings.get();
    Ok(rebound_mailbox::overview(&settings, state.store.as_ref(), &state.mailboxes.live()).await?)
}

/// An enabled mailbox whose last scan failed.
#[derive(Debug, Clone)]
pub struct FailingMailbox {
    pub uuid: String,
    /// "user at host:port (POP3)".
    pub label: String,
    pub error: String,
}

/// The enabled mailboxes whose last scan (on any instance) failed, for
/// every page's header: a failing source must be impossible to miss.
pub async fn failing(state: &AppState, p: &Principal) -> ServiceResult<Vec<FailingMailbox>> {
    p.require(perm::BOUNCES_GET)?;
    let settings = state.settings.get();
    if !settings.bounce_enabled {
        return Ok(Vec::new());
    }
    let states = state.store.mailbox_states().await?;
    Ok(settings
        .mailboxes
        .iter()
        .filter(|m| m.enabled)
        .filter_map(|m| {
            let uuid = m.uuid?.to_string();
            let s = states.iter().find(|s| s.mailbox_uuid == uuid && s.last_ok == Some(false))?;
            Some(FailingMailbox {
                uuid,
                label: rebound_mailbox::MailboxConfig::new(m).label(),
                error: s.last_error.clone().unwrap_or_default(),
            })
        })
        .collect())
}

/// A mailbox uuid as a path gives it.
pub fn parse_uuid(raw: &str) -> ServiceResult<Uuid> {
    Uuid::parse_str(raw)
        .map_err(|_| ServiceError::invalid("mailbox", format!("invalid mailbox uuid {raw:?}")))
}

/// Queues a scan of the mailbox now; the receiver gets its report when it
/// ends. Refused as [`ServiceError::Scan`].
pub async fn scan_now(
    state: &AppState,
    p: &Principal,
    mailbox: Uuid,
) -> ServiceResult<oneshot::Receiver<ScanReport>> {
    p.require(perm::BOUNCES_MANAGE)?;
    let report = state.mailboxes.scan_now(mailbox).await?;
    tracing::info!(mailbox = ?mailbox, by = ?p.username, "mailbox scan requested");
    Ok(report)
}

/// Kept messages, newest first, without their raw bytes.
pub async fn messages(
    state: &AppState,
    p: &Principal,
    mailbox: Option<Uuid>,
    page: Pagination,
) -> ServiceResult<Paged<MailboxMessage>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.query_mailbox_messages(mailbox, page).await?)
}

/// One kept message with its raw bytes.
pub async fn message(state: &AppState, p: &Principal, id: i64) -> ServiceResult<MailboxMessage> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.get_mailbox_message(id).await?)
}

pub async fn delete_messages(state: &AppState, p: &Principal, sel: &Selection) -> ServiceResult<u64> {
    p.require(perm::BOUNCES_MANAGE)?;
    let n = state.store.delete_mailbox_messages(sel).await?;
    tracing::info!(deleted = n, by = ?p.username, "kept mailbox messages deleted");
    Ok(n)
}

/// Connects to the saved mailbox `uuid` and logs in, fetching and deleting
/// nothing (rebound_mailbox::test_connection). The outer error: no such
/// saved mailbox, or no permission; the inner one: the test failed.
/// Unsaved edits are not used: the stored password never leaves the server.
pub async fn test_connection(
    state: &AppState,
    p: &Principal,
    uuid: &str,
) -> ServiceResult<Result<Connected, ConnectionTestError>> {
    p.require(perm::SETTINGS_MANAGE)?;
    let settings = state.settings.get();
    let mailbox = settings
        .mailboxes
        .iter()
        .find(|m| m.uuid.is_some_and(|u| u.to_string() == uuid))
        .ok_or_else(|| ServiceError::NotFound("There is no such mailbox (save it first).".into()))?;
    let result = rebound_mailbox::test_connection(mailbox, state.mailboxes.oauth()).await;
    tracing::info!(mailbox = ?uuid, ok = result.is_ok(), by = ?p.username, "mailbox connection tested");
    Ok(result)
}
