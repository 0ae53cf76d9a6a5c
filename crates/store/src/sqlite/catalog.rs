//! Lists and campaigns, in listmonk's shapes.

use async_trait::async_trait;
use chrono::Utc;
use sqlx::types::Json;
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use super::{SqliteStore, json_list, ts};
use crate::{
    Campaign, CampaignCount, CampaignCountQuery, CampaignFields, CampaignStore, CountInterval,
    EDITABLE_CAMPAIGN_STATUSES, List, ListStore, ListUpdate, NewList, Paged, Pagination, Result, StoreError,
};

const LIST_COLUMNS: &str = "id, uuid, name, type, optin, status, tags, description, created_at, updated_at,
    (SELECT COUNT(*) FROM subscriber_lists sl WHERE sl.list_id = lists.id) AS subscriber_count,
    (SELECT json_group_object(status, n) FROM
       (SELECT status, COUNT(*) AS n FROM subscriber_lists sl WHERE sl.list_id = lists.id GROUP BY status))
      AS subscriber_statuses";

const CAMPAIGN_COLUMNS: &str = "id, uuid, type, name, subject, from_email, body, body_source, altbody,
    content_type, send_at, headers, attribs, status, tags, messenger, template_id, to_send, sent,
    archive, archive_slug, archive_template_id, archive_meta, started_at, created_at, updated_at,
    0 AS views, 0 AS clicks, '[]' AS media,
    (SELECT COUNT(*) FROM bounces WHERE bounces.campaign_id = campaigns.id) AS bounces,
    (SELECT json_group_array(json_object('id', list_id, 'name', list_name))
       FROM campaign_lists WHERE campaign_id = campaigns.id) AS lists";

#[async_trait]
impl ListStore for SqliteStore {
    async fn create_list(&self, new: NewList) -> Result<List> {
        let now = ts(Utc::now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO lists (uuid, name, type, optin, status, tags, description, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8) RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&new.name)
        .bind(&new.list_type)
        .bind(&new.optin)
        .bind(&new.status)
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

    async fn update_list(&self, id: i64, u: ListUpdate) -> Result<List> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(
            "UPDATE lists SET name = ?2, type = COALESCE(?3, type), optin = COALESCE(?4, optin),
                status = COALESCE(?5, status), tags = ?6, description = COALESCE(?7, description),
                updated_at = ?8
             WHERE id = ?1",
        )
        .bind(id)
        .bind(&u.name)
        .bind(&u.list_type)
        .bind(&u.optin)
        .bind(&u.status)
        .bind(Json(&u.tags))
        .bind(&u.description)
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("list {id}")));
        }
        sqlx::query("UPDATE campaign_lists SET list_name = ?2 WHERE list_id = ?1")
            .bind(id)
            .bind(&u.name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_list(id).await
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
    async fn create_campaign(&self, f: CampaignFields) -> Result<Campaign> {
        let mut tx = self.begin_write().await?;
        let now = ts(Utc::now());
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (uuid, type, name, subject, from_email, body, body_source, altbody,
                content_type, send_at, headers, attribs, tags, messenger, template_id, archive,
                archive_slug, archive_template_id, archive_meta, created_at, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
                ?20, ?20)
             RETURNING id",
        )
        .bind(Uuid::new_v4().to_string())
        .bind(&f.campaign_type)
        .bind(&f.name)
        .bind(&f.subject)
        .bind(&f.from_email)
        .bind(&f.body)
        .bind(&f.body_source)
        .bind(&f.altbody)
        .bind(&f.content_type)
        .bind(f.send_at.map(ts))
        .bind(Json(&f.headers))
        .bind(Json(&f.attribs))
        .bind(Json(&f.tags))
        .bind(&f.messenger)
        .bind(f.template_id)
        .bind(f.archive)
        .bind(&f.archive_slug)
        .bind(f.archive_template_id)
        .bind(Json(&f.archive_meta))
        .bind(&now)
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::from_unique(e, "a campaign with this archive_slug"))?;
        set_lists(&mut tx, id, &f.lists).await?;
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

    async fn update_campaign(&self, id: i64, f: CampaignFields) -> Result<Campaign> {
        let mut tx = self.begin_write().await?;
        let status: Option<String> = sqlx::query_scalar("SELECT status FROM campaigns WHERE id = ?1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?;
        let status = status.ok_or_else(|| StoreError::not_found(format!("campaign {id}")))?;
        if !EDITABLE_CAMPAIGN_STATUSES.contains(&status.as_str()) {
            return Err(crate::catalog::cannot_edit(&status));
        }
        sqlx::query(
            "UPDATE campaigns SET name = ?2, subject = ?3, from_email = ?4, body = ?5, body_source = ?6,
                altbody = ?7, content_type = ?8, send_at = ?9,
                status = CASE WHEN status = 'scheduled' AND ?9 IS NULL THEN 'draft' ELSE status END,
                headers = ?10, attribs = ?11, tags = ?12, messenger = ?13,
                template_id = CASE WHEN ?8 = 'visual' THEN NULL ELSE ?14 END,
                archive = ?15, archive_slug = ?16,
                archive_template_id = CASE WHEN ?8 = 'visual' THEN NULL ELSE ?17 END,
                archive_meta = ?18, updated_at = ?19
             WHERE id = ?1",
        )
        .bind(id)
        .bind(&f.name)
        .bind(&f.subject)
        .bind(&f.from_email)
        .bind(&f.body)
        .bind(&f.body_source)
        .bind(&f.altbody)
        .bind(&f.content_type)
        .bind(f.send_at.map(ts))
        .bind(Json(&f.headers))
        .bind(Json(&f.attribs))
        .bind(Json(&f.tags))
        .bind(&f.messenger)
        .bind(f.template_id)
        .bind(f.archive)
        .bind(&f.archive_slug)
        .bind(f.archive_template_id)
        .bind(Json(&f.archive_meta))
        .bind(ts(Utc::now()))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_unique(e, "a campaign with this archive_slug"))?;
        sqlx::query(
            "DELETE FROM campaign_lists WHERE campaign_id = ?1 AND list_id IS NOT NULL
               AND list_id NOT IN (SELECT value FROM json_each(?2))",
        )
        .bind(id)
        .bind(json_list(&f.lists))
        .execute(&mut *tx)
        .await?;
        set_lists(&mut tx, id, &f.lists).await?;
        tx.commit().await?;
        self.get_campaign(id).await
    }

    async fn delete_campaign(&self, id: i64) -> Result<()> {
        let r = sqlx::query("DELETE FROM campaigns WHERE id = ?1").bind(id).execute(&self.pool).await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("campaign {id}")));
        }
        Ok(())
    }

    async fn campaign_bounce_counts(&self, q: &CampaignCountQuery) -> Result<Vec<CampaignCount>> {
        // created_at is fixed-width UTC text: its first 13 (hour) or 10
        // (day) characters name the bucket.
        let bucket = match q.interval {
            CountInterval::Hour => "substr(created_at, 1, 13) || ':00:00.000Z'",
            CountInterval::Day => "substr(created_at, 1, 10) || 'T00:00:00.000Z'",
        };
        let rows = sqlx::query_as(&format!(
            "SELECT campaign_id, COUNT(*) AS count, {bucket} AS timestamp FROM bounces
             WHERE campaign_id IN (SELECT value FROM json_each(?1)) AND created_at >= ?2 AND created_at <= ?3
             GROUP BY campaign_id, timestamp ORDER BY timestamp, campaign_id"
        ))
        .bind(json_list(&q.campaign_ids))
        .bind(ts(q.from))
        .bind(ts(q.to))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }
}

/// Adds the lists among `ids` that exist to the campaign, with their
/// current names (kept when a list is deleted later).
async fn set_lists(tx: &mut Transaction<'static, Sqlite>, campaign_id: i64, ids: &[i64]) -> Result<()> {
    sqlx::query(
        "INSERT INTO campaign_lists (campaign_id, list_id, list_name)
         SELECT ?1, id, name FROM lists WHERE id IN (SELECT value FROM json_each(?2))
         ON CONFLICT (campaign_id, list_id) DO UPDATE SET list_name = excluded.list_name",
    )
    .bind(campaign_id)
    .bind(json_list(ids))
    .execute(&mut **tx)
    .await?;
    Ok(())
}
