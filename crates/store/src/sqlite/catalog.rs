//! Lists and campaigns: only what bounce processing and test sends need.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::types::Json;
use uuid::Uuid;

use super::{SqliteStore, json_list, ts};
use crate::{
    Campaign, CampaignStore, List, ListStore, NewCampaign, NewList, Paged, Pagination, Result, StoreError,
};

const LIST_COLUMNS: &str = "id, uuid, name, type, optin, tags, description, created_at, updated_at,
    (SELECT COUNT(*) FROM subscriber_lists sl WHERE sl.list_id = lists.id AND sl.status <> 'unsubscribed')
      AS subscriber_count";

const CAMPAIGN_COLUMNS: &str = "id, uuid, name, subject, from_email, body, content_type, headers, status,
    created_at, updated_at,
    (SELECT json_group_array(json_object('id', list_id, 'name', list_name))
       FROM campaign_lists WHERE campaign_id = campaigns.id) AS lists";

#[async_trait]
impl ListStore for SqliteStore {
    async fn create_list(&self, new: NewList) -> Result<List> {
        let now = ts(Utc::now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO lists (uuid, name, type, optin, tags, description, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&new.name)
        .bind(&new.list_type)
        .bind(&new.optin)
        .bind(Json(&new.tags))
        .bind(&new.description)
        .bind(&now)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::from_unique(e, "list"))?;
        self.get_list(id).await
    }

    async fn get_list(&self, id: i64) -> Result<List> {
        sqlx::query_as(&format!("SELECT {LIST_COLUMNS} FROM lists WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("list {id}")))
    }

    async fn query_lists(&self, p: Pagination) -> Result<Paged<List>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lists").fetch_one(&self.pool).await?;
        let (limit, offset) = p.limit_offset();
        let rows =
            sqlx::query_as(&format!("SELECT {LIST_COLUMNS} FROM lists ORDER BY id LIMIT ?1 OFFSET ?2"))
                .bind(limit.unwrap_or(-1))
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
        Ok(p.paged(rows, total))
    }

    async fn delete_list(&self, id: i64) -> Result<()> {
        let r = sqlx::query("DELETE FROM lists WHERE id = ?1").bind(id).execute(&self.pool).await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("list {id}")));
        }
        Ok(())
    }
}

#[async_trait]
impl CampaignStore for SqliteStore {
    async fn create_campaign(&self, new: NewCampaign) -> Result<Campaign> {
        let mut tx = self.begin_write().await?;
        let now = ts(Utc::now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (uuid, name, subject, from_email, body, content_type, headers, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&new.name)
        .bind(&new.subject)
        .bind(&new.from_email)
        .bind(&new.body)
        .bind(&new.content_type)
        .bind(Json(&new.headers))
        .bind(&now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::from_unique(e, "campaign"))?;
        sqlx::query(
            "INSERT INTO campaign_lists (campaign_id, list_id, list_name)
             SELECT ?1, id, name FROM lists WHERE id IN (SELECT value FROM json_each(?2))",
        )
        .bind(id)
        .bind(json_list(&new.lists))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_campaign(id).await
    }

    async fn get_campaign(&self, id: i64) -> Result<Campaign> {
        sqlx::query_as(&format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = ?1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("campaign {id}")))
    }

    async fn query_campaigns(&self, p: Pagination) -> Result<Paged<Campaign>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM campaigns").fetch_one(&self.pool).await?;
        let (limit, offset) = p.limit_offset();
        let rows = sqlx::query_as(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id DESC LIMIT ?1 OFFSET ?2"
        ))
        .bind(limit.unwrap_or(-1))
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(p.paged(rows, total))
    }
}
