use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use crate::{ImportReport, ImportRow, ImportStore, Result, StoreError};

/// Rows per statement: a round trip carries this many subscribers.
const CHUNK: usize = 1000;

#[async_trait]
impl ImportStore for PgStore {
    async fn import_subscribers(
        &self,
        list: &str,
        rows: &[ImportRow],
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<ImportReport> {
        let mut tx = self.pool.begin().await?;
        let found: Vec<(i64, String)> =
            sqlx::query_as("SELECT id::bigint, optin::text FROM lists WHERE name = $1 FOR UPDATE")
                .bind(list)
                .fetch_all(&mut *tx)
                .await?;
        let mut report = ImportReport::default();
        let (list_id, optin) = match found.as_slice() {
            [one] => one.clone(),
            [] => {
                report.list_created = true;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO lists (uuid, name, type, optin, tags, description)
                     VALUES ($1, $2, 'private', 'single', '{}', '') RETURNING id::bigint",
                )
                .bind(Uuid::new_v4())
                .bind(list)
                .fetch_one(&mut *tx)
                .await?;
                (id, "single".to_string())
            }
            _ => return Err(StoreError::Invalid(format!("several lists are named {list:?}"))),
        };
        report.list_id = list_id;
        let status = if optin == "double" { "unconfirmed" } else { "confirmed" };
        let mut done = 0u64;
        for chunk in rows.chunks(CHUNK) {
            let uuids: Vec<Uuid> = chunk.iter().map(|_| Uuid::new_v4()).collect();
            let emails: Vec<&str> = chunk.iter().map(|r| r.email.as_str()).collect();
            let names: Vec<&str> = chunk.iter().map(|r| r.name.as_str()).collect();
            let attribs: Vec<Json<&serde_json::Value>> = chunk.iter().map(|r| Json(&r.attribs)).collect();
            // New addresses are inserted; every row's subscriber id comes back
            // (existing ones found by LOWER(email), as the unique index has it).
            // An address twice in the chunk is inserted once: only its first
            // row counts as created, as when the rows are inserted one by one.
            let ids: Vec<(i64, bool)> = sqlx::query_as(
                "WITH input AS (
                     SELECT * FROM UNNEST($1::uuid[], $2::text[], $3::text[], $4::jsonb[])
                         WITH ORDINALITY AS t(uuid, email, name, attribs, n)
                 ), ins AS (
                     INSERT INTO subscribers (uuid, email, name, attribs, status)
                     SELECT uuid, email, name, attribs, 'enabled'::subscriber_status FROM input ORDER BY n
                     ON CONFLICT DO NOTHING
                     RETURNING id, LOWER(email) AS lemail
                 )
                 SELECT COALESCE(ins.id, s.id)::bigint AS id,
                        ins.id IS NOT NULL
                          AND ROW_NUMBER() OVER (PARTITION BY LOWER(input.email) ORDER BY input.n) = 1 AS created
                 FROM input
                 LEFT JOIN ins ON ins.lemail = LOWER(input.email)
                 LEFT JOIN subscribers s ON LOWER(s.email) = LOWER(input.email)
                 ORDER BY input.n",
            )
            .bind(&uuids)
            .bind(&emails)
            .bind(&names)
            .bind(&attribs)
            .fetch_all(&mut *tx)
            .await?;
            let sub_ids: Vec<i64> = ids.iter().map(|(id, _)| *id).collect();
            for (_, created) in &ids {
                if *created {
                    report.created += 1;
                } else {
                    report.existing += 1;
                }
            }
            // A blocklisted subscriber is added unsubscribed, as listmonk does.
            sqlx::query(
                "INSERT INTO subscriber_lists (subscriber_id, list_id, status)
                 SELECT s.id, $2, CASE WHEN s.status = 'blocklisted' THEN 'unsubscribed'::subscription_status
                                      ELSE $3::subscription_status END
                 FROM subscribers s WHERE s.id IN (SELECT UNNEST($1::bigint[]))
                 ON CONFLICT (subscriber_id, list_id) DO NOTHING",
            )
            .bind(&sub_ids)
            .bind(list_id)
            .bind(status)
            .execute(&mut *tx)
            .await?;
            done += chunk.len() as u64;
            progress(done);
        }
        tx.commit().await?;
        Ok(report)
    }
}
