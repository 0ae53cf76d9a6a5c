use async_trait::async_trait;
use chrono::Utc;
use sqlx::types::Json;
use uuid::Uuid;

use super::{SqliteStore, ts};
use crate::{ImportReport, ImportRow, ImportStore, Result, StoreError};

#[async_trait]
impl ImportStore for SqliteStore {
    async fn import_subscribers(
        &self,
        list: &str,
        rows: &[ImportRow],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportReport> {
        let mut tx = self.begin_write().await?;
        let now = ts(Utc::now());
        let found: Vec<(i64, String)> = sqlx::query_as("SELECT id, optin FROM lists WHERE name = ?1")
            .bind(list)
            .fetch_all(&mut *tx)
            .await?;
        let mut report = ImportReport::default();
        let (list_id, optin) = match found.as_slice() {
            [one] => one.clone(),
            [] => {
                report.list_created = true;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO lists (uuid, name, type, optin, tags, description, created_at, updated_at)
                     VALUES (?1, ?2, 'private', 'single', '[]', '', ?3, ?3) RETURNING id",
                )
                .bind(Uuid::new_v4().to_string())
                .bind(list)
                .bind(&now)
                .fetch_one(&mut *tx)
                .await?;
                (id, "single".to_string())
            }
            _ => return Err(StoreError::Invalid(format!("several lists are named {list:?}"))),
        };
        report.list_id = list_id;
        let status = if optin == "double" { "unconfirmed" } else { "confirmed" };
        for (i, row) in rows.iter().enumerate() {
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO subscribers (uuid, email, name, attribs, status, created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, 'enabled', ?5, ?5) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(Uuid::new_v4().to_string())
            .bind(row.email.as_str())
            .bind(&row.name)
            .bind(Json(&row.attribs))
            .bind(&now)
            .fetch_optional(&mut *tx)
            .await?;
            let id = match inserted {
                Some(id) => {
                    report.created += 1;
                    id
                }
                None => {
                    report.existing += 1;
                    sqlx::query_scalar("SELECT id FROM subscribers WHERE email = ?1")
                        .bind(row.email.as_str())
                        .fetch_one(&mut *tx)
                        .await?
                }
            };
            // A blocklisted subscriber is added unsubscribed, as listmonk does.
            sqlx::query(
                "INSERT INTO subscriber_lists (subscriber_id, list_id, status, created_at, updated_at)
                 SELECT id, ?2, CASE WHEN status = 'blocklisted' THEN 'unsubscribed' ELSE ?3 END, ?4, ?4
                 FROM subscribers WHERE id = ?1
                 ON CONFLICT (subscriber_id, list_id) DO NOTHING",
            )
            .bind(id)
            .bind(list_id)
            .bind(status)
            .bind(&now)
            .execute(&mut *tx)
            .await?;
            if i % 500 == 499 {
                progress(i as u64 + 1);
            }
        }
        tx.commit().await?;
        progress(rows.len() as u64);
        Ok(report)
    }
}
