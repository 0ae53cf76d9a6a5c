//! Lists and campaigns, in listmonk's shapes.

use async_trait::async_trait;
use sqlx::types::Json;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use super::PgStore;
use crate::{
    Campaign, CampaignCount, CampaignCountQuery, CampaignFields, CampaignStore, CountInterval,
    EDITABLE_CAMPAIGN_STATUSES, List, ListStore, ListUpdate, NewList, Paged, Pagination, Result, StoreError,
};

const LIST_COLUMNS: &str =
    "id::int8 AS id, uuid::text AS uuid, name, type::text AS type, optin::text AS optin,
    status::text AS status, COALESCE(to_jsonb(tags), '[]'::jsonb) AS tags, description, created_at, updated_at,
    (SELECT COUNT(*) FROM subscriber_lists sl WHERE sl.list_id = lists.id) AS subscriber_count,
    COALESCE((SELECT jsonb_object_agg(status, n) FROM
       (SELECT sl.status::text AS status, COUNT(*) AS n FROM subscriber_lists sl
         WHERE sl.list_id = lists.id GROUP BY sl.status) s), '{}'::jsonb) AS subscriber_statuses";

const CAMPAIGN_COLUMNS: &str = "id::int8 AS id, uuid::text AS uuid, COALESCE(type, 'regular')::text AS type,
    name, subject, from_email, body, body_source, altbody, content_type::text AS content_type, send_at,
    headers, attribs, status::text AS status, COALESCE(to_jsonb(tags), '[]'::jsonb) AS tags, messenger,
    template_id::int8 AS template_id, to_send::int8 AS to_send, sent::int8 AS sent, archive, archive_slug,
    archive_template_id::int8 AS archive_template_id, archive_meta, started_at, created_at, updated_at,
    0::int8 AS views, 0::int8 AS clicks, '[]'::jsonb AS media,
    (SELECT COUNT(*) FROM bounces WHERE bounces.campaign_id = campaigns.id) AS bounces,
    COALESCE((SELECT jsonb_agg(jsonb_build_object('id', list_id, 'name', list_name) ORDER BY id)
       FROM campaign_lists WHERE campaign_id = campaigns.id), '[]'::jsonb) AS lists";

#[async_trait]
impl ListStore for PgStore {
    async fn create_list(&self, new: NewList) -> Result<List> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO lists (uuid, name, type, optin, status, tags, description)
             VALUES ($1, $2, $3::list_type, $4::list_optin, $5::list_status, $6, $7) RETURNING id::int8",
        )
        .bind(Uuid::new_v4())
        .bind(&new.name)
        .bind(&new.list_type)
        .bind(&new.optin)
        .bind(&new.status)
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

    async fn update_list(&self, id: i64, u: ListUpdate) -> Result<List> {
        let mut tx = self.pool.begin().await?;
        let r = sqlx::query(
            "UPDATE lists SET name = $2, type = COALESCE($3::list_type, type),
                optin = COALESCE($4::list_optin, optin), status = COALESCE($5::list_status, status),
                tags = $6::VARCHAR(100)[], description = COALESCE($7, description), updated_at = NOW()
             WHERE id = $1",
        )
        .bind(id)
        .bind(&u.name)
        .bind(&u.list_type)
        .bind(&u.optin)
        .bind(&u.status)
        .bind(&u.tags)
        .bind(&u.description)
        .execute(&mut *tx)
        .await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("list {id}")));
        }
        sqlx::query("UPDATE campaign_lists SET list_name = $2 WHERE list_id = $1")
            .bind(id)
            .bind(&u.name)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.get_list(id).await
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
    async fn create_campaign(&self, f: CampaignFields) -> Result<Campaign> {
        let mut tx = self.pool.begin().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO campaigns (uuid, type, name, subject, from_email, body, body_source, altbody,
                content_type, send_at, headers, attribs, tags, messenger, template_id, archive,
                archive_slug, archive_template_id, archive_meta)
             VALUES ($1, $2::campaign_type, $3, $4, $5, $6, $7, $8, $9::content_type, $10, $11, $12,
                $13::VARCHAR(100)[], $14, $15, $16, $17, $18, $19)
             RETURNING id::int8",
        )
        .bind(Uuid::new_v4())
        .bind(&f.campaign_type)
        .bind(&f.name)
        .bind(&f.subject)
        .bind(&f.from_email)
        .bind(&f.body)
        .bind(&f.body_source)
        .bind(&f.altbody)
        .bind(&f.content_type)
        .bind(f.send_at)
        .bind(Json(&f.headers))
        .bind(Json(&f.attribs))
        .bind(&f.tags)
        .bind(&f.messenger)
        .bind(int4(f.template_id)?)
        .bind(f.archive)
        .bind(&f.archive_slug)
        .bind(int4(f.archive_template_id)?)
        .bind(Json(&f.archive_meta))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| StoreError::from_unique(e, "a campaign with this archive_slug"))?;
        set_lists(&mut tx, id, &f.lists).await?;
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

    async fn update_campaign(&self, id: i64, f: CampaignFields) -> Result<Campaign> {
        let mut tx = self.pool.begin().await?;
        let status: Option<String> =
            sqlx::query_scalar("SELECT status::text FROM campaigns WHERE id = $1 FOR UPDATE")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let status = status.ok_or_else(|| StoreError::not_found(format!("campaign {id}")))?;
        if !EDITABLE_CAMPAIGN_STATUSES.contains(&status.as_str()) {
            return Err(crate::catalog::cannot_edit(&status));
        }
        sqlx::query(
            "UPDATE campaigns SET name = $2, subject = $3, from_email = $4, body = $5, body_source = $6,
                altbody = $7, content_type = $8::content_type, send_at = $9,
                status = CASE WHEN status = 'scheduled' AND $9::timestamptz IS NULL THEN 'draft' ELSE status END,
                headers = $10, attribs = $11, tags = $12::VARCHAR(100)[], messenger = $13,
                template_id = CASE WHEN $8 = 'visual' THEN NULL ELSE $14::int END,
                archive = $15, archive_slug = $16,
                archive_template_id = CASE WHEN $8 = 'visual' THEN NULL ELSE $17::int END,
                archive_meta = $18, updated_at = NOW()
             WHERE id = $1",
        )
        .bind(id)
        .bind(&f.name)
        .bind(&f.subject)
        .bind(&f.from_email)
        .bind(&f.body)
        .bind(&f.body_source)
        .bind(&f.altbody)
        .bind(&f.content_type)
        .bind(f.send_at)
        .bind(Json(&f.headers))
        .bind(Json(&f.attribs))
        .bind(&f.tags)
        .bind(&f.messenger)
        .bind(int4(f.template_id)?)
        .bind(f.archive)
        .bind(&f.archive_slug)
        .bind(int4(f.archive_template_id)?)
        .bind(Json(&f.archive_meta))
        .execute(&mut *tx)
        .await
        .map_err(|e| StoreError::from_unique(e, "a campaign with this archive_slug"))?;
        sqlx::query("DELETE FROM campaign_lists WHERE campaign_id = $1 AND NOT (list_id = ANY($2))")
            .bind(id)
            .bind(&f.lists)
            .execute(&mut *tx)
            .await?;
        set_lists(&mut tx, id, &f.lists).await?;
        tx.commit().await?;
        self.get_campaign(id).await
    }

    async fn delete_campaign(&self, id: i64) -> Result<()> {
        let r = sqlx::query("DELETE FROM campaigns WHERE id = $1").bind(id).execute(&self.pool).await?;
        if r.rows_affected() == 0 {
            return Err(StoreError::not_found(format!("campaign {id}")));
        }
        Ok(())
    }

    async fn campaign_bounce_counts(&self, q: &CampaignCountQuery) -> Result<Vec<CampaignCount>> {
        let unit = match q.interval {
            CountInterval::Hour => "hour",
            CountInterval::Day => "day",
        };
        let rows = sqlx::query_as(
            "SELECT campaign_id::int8 AS campaign_id, COUNT(*) AS count,
                DATE_TRUNC($4, created_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS timestamp
             FROM bounces WHERE campaign_id = ANY($1) AND created_at >= $2 AND created_at <= $3
             GROUP BY 1, 3 ORDER BY 3, 1",
        )
        .bind(&q.campaign_ids)
        .bind(q.from)
        .bind(q.to)
        .bind(unit)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows)
    }
}

/// Adds the lists among `ids` that exist to the campaign, with their
/// current names (kept when a list is deleted later).
async fn set_lists(tx: &mut Transaction<'static, Postgres>, campaign_id: i64, ids: &[i64]) -> Result<()> {
    sqlx::query(
        "INSERT INTO campaign_lists (campaign_id, list_id, list_name)
         SELECT $1, id, name FROM lists WHERE id = ANY($2)
         ON CONFLICT (campaign_id, list_id) DO UPDATE SET list_name = EXCLUDED.list_name",
    )
    .bind(campaign_id)
    .bind(ids)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Template ids are INTEGER columns (listmonk's).
fn int4(id: Option<i64>) -> Result<Option<i32>> {
    id.map(|v| i32::try_from(v).map_err(|_| StoreError::Invalid(format!("template id {v} is out of range"))))
        .transpose()
}
