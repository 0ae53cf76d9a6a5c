use std::collections::BTreeMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;

use super::PgStore;
use crate::{Result, SettingsStore};

#[async_trait]
impl SettingsStore for PgStore {
    async fn load_settings(&self) -> Result<BTreeMap<String, Value>> {
        let rows: Vec<(String, Json<Value>)> =
            sqlx::query_as("SELECT key, value FROM settings").fetch_all(&self.pool).await?;
        Ok(rows.into_iter().map(|(k, v)| (k, v.0)).collect())
    }

    async fn save_settings(&self, values: &BTreeMap<String, Value>) -> Result<()> {
        let (keys, vals): (Vec<&str>, Vec<Json<&Value>>) =
            values.iter().map(|(k, v)| (k.as_str(), Json(v))).unzip();
        sqlx::query(
            "INSERT INTO settings (key, value, updated_at) SELECT k, v, NOW() FROM UNNEST($1::text[], $2::jsonb[]) AS t(k, v)
             ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at",
        )
        .bind(keys)
        .bind(vals)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn settings_version(&self) -> Result<Option<DateTime<Utc>>> {
        Ok(sqlx::query_scalar("SELECT MAX(updated_at) FROM settings").fetch_one(&self.pool).await?)
    }
}
