//! Listing subscribers the way listmonk's GET /api/subscribers does: a
//! plain search, filters, and `query`, an SQL expression over subscribers.
//!
//! listmonk runs `query` for anyone holding `subscribers:sql_query`, as SQL
//! that may read any table. rebound asks for the same permission, but the
//! expression is parsed and held to an allow-list first
//! ([`rebound_store::SqlFilter`]): rebound's users table, with its password
//! hashes, lives in the same database, and so do the UI's sessions.

use rebound_store::{
    BOUNCES_TABLE, Paged, SUBSCRIBER_TABLES, SqlFilter, Subscriber, SubscriberExpression, SubscriberQuery,
};

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// `expression` is listmonk's `query` parameter (empty: none).
pub async fn list(
    state: &AppState,
    p: &Principal,
    expression: Option<&str>,
    mut q: SubscriberQuery,
) -> ServiceResult<Paged<Subscriber>> {
    p.require(perm::SUBSCRIBERS_GET)?;
    if let Some(text) = expression.filter(|t| !t.trim().is_empty()) {
        p.require(perm::SUBSCRIBERS_SQL_QUERY)?;
        let mut tables = SUBSCRIBER_TABLES.to_vec();
        // Bounces are listmonk's too, but only for those who may read them.
        if p.can(perm::BOUNCES_GET) {
            tables.push(BOUNCES_TABLE);
        }
        let filter = SqlFilter::parse(text, &tables).map_err(|e| ServiceError::invalid("query", e.0))?;
        q.expression = Some(SubscriberExpression { filter, timeout: state.sql_query_timeout });
    }
    Ok(state.store.query_subscribers(&q).await?)
}
