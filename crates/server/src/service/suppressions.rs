//! The suppression list (docs/events.md "Suppressions"): may this address be
//! mailed, and if not, why. Reading needs bounces:get, changing bounces:manage.

use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use futures::stream::{self, StreamExt};
use rebound_core::EmailAddress;
use rebound_store::{Paged, Store, Suppression, SuppressionQuery};
use serde::Serialize;

use super::bounce_export::Streamed;
use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// Rows per page of the CSV export.
const EXPORT_PAGE: u32 = 1000;

/// One address's answer: suppressed or not, and why when it is (or was).
#[derive(Debug, Clone, Serialize)]
pub struct Lookup {
    pub email: String,
    pub suppressed: bool,
    /// The entry, also when reactivated (then `suppressed` is false);
    /// null for an address that never was suppressed.
    pub suppression: Option<Suppression>,
}

fn address(raw: &str) -> ServiceResult<String> {
    EmailAddress::parse(raw)
        .map(|e| e.as_str().to_string())
        .map_err(|e| ServiceError::invalid("email", e.to_string()))
}

pub async fn list(
    state: &AppState,
    p: &Principal,
    q: &SuppressionQuery,
) -> ServiceResult<Paged<Suppression>> {
    p.require(perm::BOUNCES_GET)?;
    Ok(state.store.query_suppressions(q).await?)
}

pub async fn lookup(state: &AppState, p: &Principal, email: &str) -> ServiceResult<Lookup> {
    p.require(perm::BOUNCES_GET)?;
    let email = address(email)?;
    let suppression = state.store.get_suppression(&email).await?;
    Ok(Lookup { suppressed: suppression.as_ref().is_some_and(|s| s.suppressed), email, suppression })
}

/// Suppresses an address by hand (its subscriber, if any, is blocklisted).
pub async fn add(state: &AppState, p: &Principal, email: &str, reason: &str) -> ServiceResult<Suppression> {
    p.require(perm::BOUNCES_MANAGE)?;
    let email = address(email)?;
    let reason = reason.trim();
    if reason.chars().count() > 1000 {
        return Err(ServiceError::invalid("reason", "the reason is longer than 1000 characters"));
    }
    let reason = if reason.is_empty() { format!("added by {}", p.username) } else { reason.to_string() };
    let change = state.store.add_suppression(&email, &reason, Utc::now()).await?;
    if change.changed {
        tracing::info!(email = ?email, by = ?p.username, "address suppressed by hand");
    }
    Ok(change.suppression)
}

/// Takes an address off the list: its subscriber is enabled again and its
/// bounce counts start from zero. Not found when it is not suppressed.
pub async fn reactivate(state: &AppState, p: &Principal, email: &str) -> ServiceResult<Suppression> {
    p.require(perm::BOUNCES_MANAGE)?;
    let email = address(email)?;
    match state.store.reactivate_suppression(&email, Utc::now()).await? {
        Some(change) => {
            tracing::info!(email = ?email, by = ?p.username, "address reactivated");
            Ok(change.suppression)
        }
        None => Err(ServiceError::NotFound(format!("{email} is not suppressed"))),
    }
}

/// The entries `q` selects as CSV (Suppression::CSV_HEADER), by e-mail.
pub fn csv(state: &AppState, p: &Principal, q: SuppressionQuery) -> ServiceResult<Streamed> {
    p.require(perm::BOUNCES_GET)?;
    let header_row = {
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(Suppression::CSV_HEADER).map_err(ServiceError::internal)?;
        Bytes::from(w.into_inner().map_err(|e| ServiceError::internal(anyhow::anyhow!(e.to_string())))?)
    };
    let store = state.store.clone();
    let q = Arc::new(q);
    let pages = stream::unfold(Some(String::new()), move |after| {
        let (store, q): (Arc<dyn Store>, Arc<SuppressionQuery>) = (store.clone(), q.clone());
        async move {
            let after = after?;
            match store.suppressions_after(&q, &after, EXPORT_PAGE).await {
                Ok(rows) if rows.is_empty() => None,
                Ok(rows) => {
                    let more = rows.len() as u32 == EXPORT_PAGE;
                    let next = rows.last().map(|s| s.email.clone()).filter(|_| more);
                    let mut w = csv::WriterBuilder::new().has_headers(false).from_writer(Vec::new());
                    for s in &rows {
                        if let Err(e) = w.write_record(s.csv_record()) {
                            return Some((Err(std::io::Error::other(e)), None));
                        }
                    }
                    let page =
                        w.into_inner().map(Bytes::from).map_err(|e| std::io::Error::other(e.to_string()));
                    Some((page, next))
                }
                Err(e) => {
                    tracing::error!(error = e.to_string(), "suppression export failed mid-stream");
                    Some((Err(std::io::Error::other(e.to_string())), None))
                }
            }
        }
    });
    let body = stream::once(async move { Ok::<Bytes, std::io::Error>(header_row) }).chain(pages);
    Ok(Streamed::new("text/csv; charset=utf-8", Some("suppressions.csv"), body.boxed()))
}
