use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use super::{SqliteStore, ts};
use crate::{Result, SettingsStore};

#[async_trait]
impl SettingsStore for SqliteStore {
    async fn load_settings(&self) -> Result<BTreeMap<String, Value>> {
        let rows: Vec<(String, Json<Value>)> =
            sqlx::query_as("SELECT key, value FROM settings").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(k, v)| (k, v.0)).collect())
    }

    async fn save_settings(&self, values: &BTreeMap<String, Value>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let now = ts(Utc::now());
        for (k, v) in values {
            sqlx::query(
                "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            )
            .bind(k)
            .bind(Json(v))
            .bind(&now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn settings_version(&self) -> Result<Option<DateTime<Utc>>> {
        let v: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT MAX(updated_at) FROM settings").fetch_one(&self.pool).await?;
        Ok(v)
    }
}
