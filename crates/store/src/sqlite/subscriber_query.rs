//! GET /api/subscribers on SQLite: listmonk's query-subscribers (its LEFT
//! JOIN of the one list asked for, so an expression may name
//! `subscriber_lists.*` as there), with the plain search, the subscriber
//! status and an optional checked expression ([`crate::SqlFilter`]).
//!
//! An expression runs on the store's reader: a connection opened read-only
//! with `PRAGMA query_only`, so even a write the allow-list missed fails,
//! and with a progress handler that interrupts it at its deadline.

use std::time::Instant;

use sqlx::SqliteConnection;
use sqlx::pool::PoolConnection;

use super::SqliteStore;
use super::subscribers::lists_of;
use crate::{Paged, Result, StoreError, Subscriber, SubscriberExpression, SubscriberQuery};

/// Qualified: the join makes `status`, `created_at` and `updated_at` ambiguous.
const COLUMNS: &str = "subscribers.id, subscribers.uuid, subscribers.email, subscribers.name,
    subscribers.attribs, subscribers.status, subscribers.created_at, subscribers.updated_at";

/// How many SQLite VM steps between two looks at the clock.
const STEPS_BETWEEN_CHECKS: i32 = 10_000;

pub(super) async fn query(store: &SqliteStore, q: &SubscriberQuery) -> Result<Paged<Subscriber>> {
    let Some(expression) = &q.expression else {
        let mut conn = store.pool.acquire().await?;
        let (total, subs) = run(&mut conn, q, "TRUE").await?;
        return finish(&mut conn, q, total, subs).await;
    };
    let reader = store.reader.as_ref().ok_or_else(|| {
        StoreError::Invalid("query (an SQL expression) needs a database file, not an in-memory one".into())
    })?;
    let mut conn = reader.acquire().await?;
    let deadline = Instant::now() + expression.timeout;
    conn.lock_handle().await?.set_progress_handler(STEPS_BETWEEN_CHECKS, move || Instant::now() < deadline);
    let ran = run(&mut conn, q, &expression.filter.sqlite()).await;
    conn.lock_handle().await?.remove_progress_handler();
    let (total, subs) = ran.map_err(|e| expression_failed(e, expression))?;
    finish(&mut conn, q, total, subs).await
}

async fn run(
    conn: &mut SqliteConnection,
    q: &SubscriberQuery,
    cond: &str,
) -> Result<(i64, Vec<Subscriber>), sqlx::Error> {
    let pattern = q.search.as_ref().map(|s| format!("%{}%", s.trim()));
    let from = "subscribers LEFT JOIN subscriber_lists ON (
            ?2 IS NOT NULL AND subscriber_lists.subscriber_id = subscribers.id
            AND (?3 IS NULL OR subscriber_lists.status = ?3))";
    let filter = format!(
        "(?2 IS NULL OR subscriber_lists.list_id = ?2)
         AND (?1 IS NULL OR subscribers.email LIKE ?1 OR subscribers.name LIKE ?1)
         AND (?4 IS NULL OR subscribers.status = ?4)
         AND ({cond})"
    );
    let total: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {from} WHERE {filter}"))
        .persistent(false)
        .bind(&pattern)
        .bind(q.list_id)
        .bind(q.subscription_status.map(|s| s.as_str()))
        .bind(q.status.map(|s| s.as_str()))
        .fetch_one(&mut *conn)
        .await?;
    let (limit, offset) = q.pagination.limit_offset();
    let sql = format!(
        "SELECT {COLUMNS} FROM {from} WHERE {filter} ORDER BY {} LIMIT ?5 OFFSET ?6",
        q.order_by.order_by(q.desc)
    );
    let subs = sqlx::query_as(&sql)
        .persistent(false)
        .bind(&pattern)
        .bind(q.list_id)
        .bind(q.subscription_status.map(|s| s.as_str()))
        .bind(q.status.map(|s| s.as_str()))
        .bind(limit.unwrap_or(-1))
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok((total, subs))
}

async fn finish(
    conn: &mut PoolConnection<sqlx::Sqlite>,
    q: &SubscriberQuery,
    total: i64,
    mut subs: Vec<Subscriber>,
) -> Result<Paged<Subscriber>> {
    let ids: Vec<i64> = subs.iter().map(|s| s.id).collect();
    let mut lists = lists_of(conn, &ids).await?;
    for s in &mut subs {
        s.lists = lists.extract_if(.., |l| l.subscriber_id == s.id).collect();
    }
    Ok(q.pagination.paged(subs, total))
}

/// The database's refusal of the expression is the caller's to fix: a 400.
fn expression_failed(e: sqlx::Error, expression: &SubscriberExpression) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some("9") => StoreError::Invalid(format!(
            "query took longer than {} s and was stopped",
            expression.timeout.as_secs_f64()
        )),
        sqlx::Error::Database(db) => StoreError::Invalid(format!("query failed: {}", db.message())),
        _ => StoreError::Database(e),
    }
}
