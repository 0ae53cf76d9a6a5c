//! GET /api/subscribers on PostgreSQL: listmonk's query-subscribers (its
//! LEFT JOIN of the one list asked for, so an expression may name
//! `subscriber_lists.*` as there), with the plain search, the subscriber
//! status and an optional checked expression ([`crate::SqlFilter`]).
//!
//! Everything runs in a READ ONLY transaction, as listmonk runs it, so even
//! a write the allow-list missed fails; with an expression, `SET LOCAL
//! statement_timeout` bounds each statement, and the transaction is rolled
//! back at the end either way.

use sqlx::{PgConnection, Postgres, Transaction};

use super::PgStore;
use super::subscribers::lists_of;
use crate::{Paged, Result, StoreError, Subscriber, SubscriberExpression, SubscriberQuery};

/// Qualified: the join makes `status`, `created_at` and `updated_at` ambiguous.
const COLUMNS: &str = "subscribers.id::int8 AS id, subscribers.uuid::text AS uuid, subscribers.email,
    subscribers.name, subscribers.attribs, subscribers.status::text AS status,
    subscribers.created_at, subscribers.updated_at";

/// PostgreSQL's SQLSTATE for a statement cancelled by statement_timeout.
const QUERY_CANCELED: &str = "57014";

pub(super) async fn query(store: &PgStore, q: &SubscriberQuery) -> Result<Paged<Subscriber>> {
    let mut tx: Transaction<'static, Postgres> = store.pool.begin().await?;
    sqlx::query("SET TRANSACTION READ ONLY").execute(&mut *tx).await?;
    let cond = match &q.expression {
        Some(expression) => {
            let ms = expression.timeout.as_millis().max(1);
            sqlx::query(&format!("SET LOCAL statement_timeout = {ms}")).execute(&mut *tx).await?;
            expression.filter.postgres()
        }
        None => "TRUE".to_string(),
    };
    let ran = run(&mut tx, q, &cond).await;
    let (total, mut subs) = match (ran, &q.expression) {
        (Ok(found), _) => found,
        (Err(e), Some(expression)) => return Err(expression_failed(e, expression)),
        (Err(e), None) => return Err(e.into()),
    };
    let ids: Vec<i64> = subs.iter().map(|s| s.id).collect();
    let mut lists = lists_of(&mut tx, &ids).await?;
    for s in &mut subs {
        s.lists = lists.extract_if(.., |l| l.subscriber_id == s.id).collect();
    }
    tx.rollback().await?;
    Ok(q.pagination.paged(subs, total))
}

async fn run(
    conn: &mut PgConnection,
    q: &SubscriberQuery,
    cond: &str,
) -> Result<(i64, Vec<Subscriber>), sqlx::Error> {
    let pattern = q.search.as_ref().map(|s| format!("%{}%", s.trim()));
    let from = "subscribers LEFT JOIN subscriber_lists ON (
            $2::int8 IS NOT NULL AND subscriber_lists.subscriber_id = subscribers.id
            AND ($3::text IS NULL OR subscriber_lists.status = $3::subscription_status))";
    let filter = format!(
        "($2::int8 IS NULL OR subscriber_lists.list_id = $2)
         AND ($1::text IS NULL OR subscribers.email ILIKE $1 OR subscribers.name ILIKE $1)
         AND ($4::text IS NULL OR subscribers.status = $4::subscriber_status)
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
        "SELECT {COLUMNS} FROM {from} WHERE {filter} ORDER BY {} LIMIT $5 OFFSET $6",
        q.order_by.order_by(q.desc)
    );
    let subs = sqlx::query_as(&sql)
        .persistent(false)
        .bind(&pattern)
        .bind(q.list_id)
        .bind(q.subscription_status.map(|s| s.as_str()))
        .bind(q.status.map(|s| s.as_str()))
        .bind(limit)
        .bind(offset)
        .fetch_all(&mut *conn)
        .await?;
    Ok((total, subs))
}

/// The database's refusal of the expression is the caller's to fix: a 400.
fn expression_failed(e: sqlx::Error, expression: &SubscriberExpression) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.code().as_deref() == Some(QUERY_CANCELED) => StoreError::Invalid(
            format!("query took longer than {} s and was stopped", expression.timeout.as_secs_f64()),
        ),
        sqlx::Error::Database(db) => StoreError::Invalid(format!("query failed: {}", db.message())),
        _ => StoreError::Database(e),
    }
}
