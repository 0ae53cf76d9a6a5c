//! Lists and campaigns: only what bounce processing and test sends need.

use async_trait::async_trait;
use sqlx::types::Json;
use uuid::Uuid;

use super::PgStore;
use crate::{
    Campaign, CampaignStore, List, ListStore, NewCampaign, NewList, Paged, Pagination, Result, StoreError,
};

const LIST_COLUMNS: &str =
    "id::int8 AS id, uuid::text AS uuid, name, type::text AS type, optin::text AS optin,
    COALESCE(to_jsonb(tags), '[]'::jsonb) AS tags, description, created_at, updated_at,
    (SELECT COUNT(*) FROM subscriber_lists sl WHERE sl.list_id = lists.id AND sl.status <> 'unsubscribed')
      AS subscriber_count";

const CAMPAIGN_COLUMNS: &str = "id::int8 AS id, uuid::text AS uuid, name, subject, from_email, body,
    content_type::text AS content_type, headers, status::text AS status, created_at, updated_at,
    COALESCE((SELECT jsonb_agg(jsonb_build_object('id', list_id, 'name', list_name))
       FROM campaign_lists WHERE campaign_id = campaigns.id), '[]'::jsonb) AS lists";

#[async_trait]
impl ListStore for PgStore {
    async fn create_list(&self, new: NewList) -> Result<List> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO lists (uuid, name, type, optin, tags, description)
             VALUES ($1, $2, $3::list_type, $4::list_optin, $5, $6) RETURNING id::int8",
        )
        .bind(Uuid::new_v4())
        .bind(&new.name)
        .bind(&new.list_type)
        .bind(&new.optin)
        .bind(&new.tags)
        .bind(&new.description)
        .fetch_one(&self.pool)
        .await
        .map_err(|e| StoreError::from_unique(e, "list"))?;
        self.get_list(id).await
    }

    async fn get_list(&self, id: i64) -> Result<List> {
        sqlx::query_as(&format!("SELECT {LIST_COLUMNS} FROM lists WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("list {id}")))
    }

    async fn query_lists(&self, p: Pagination) -> Result<Paged<List>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM lists").fetch_one(&self.pool).await?;
        let (limit, offset) = p.limit_offset();
        let rows =
            sqlx::query_as(&format!("SELECT {LIST_COLUMNS} FROM lists ORDER BY id LIMIT $1 OFFSET $2"))
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.pool)
                .await?;
        Ok(p.paged(rows, total))
    }

    async fn delete_list(&self, id: i64) -> Result<()> {
        let r = sqlx::query("DELETE FROM lists WHERE id = $1").bind(id).execute(&self.pool).await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("list {id}")));
        }
        Ok(())
    }
}

#[async_trait]
impl CampaignStore for PgStore {
    async fn create_campaign(&self, new: NewCampaign) -> Result<Campaign> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (uuid, name, subject, from_email, body, content_type, headers)
             VALUES ($1, $2, $3, $4, $5, $6::content_type, $7) RETURNING id::int8",
        )
        .bind(Uuid::new_v4())
        .bind(&new.name)
        .bind(&new.subject)
        .bind(&new.from_email)
        .bind(&new.body)
        .bind(&new.content_type)
        .bind(Json(&new.headers))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::from_unique(e, "campaign"))?;
        sqlx::query(
            "INSERT INTO campaign_lists (campaign_id, list_id, list_name)
             SELECT $1, id, name FROM lists WHERE id = ANY($2)",
        )
        .bind(id)
        .bind(&new.lists)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.get_campaign(id).await
    }

    async fn get_campaign(&self, id: i64) -> Result<Campaign> {
        sqlx::query_as(&format!("SELECT {CAMPAIGN_COLUMNS} FROM campaigns WHERE id = $1"))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| StoreError::not_found(format!("campaign {id}")))
    }

    async fn query_campaigns(&self, p: Pagination) -> Result<Paged<Campaign>> {
        let total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM campaigns").fetch_one(&self.pool).await?;
        let (limit, offset) = p.limit_offset();
        let rows = sqlx::query_as(&format!(
            "SELECT {CAMPAIGN_COLUMNS} FROM campaigns ORDER BY id DESC LIMIT $1 OFFSET $2"
        ))
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.pool)
        .await?;
        Ok(p.paged(rows, total))
    }
}
