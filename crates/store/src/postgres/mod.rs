//! The PostgreSQL backend, for scale and for several rebound instances on one
//! database. Tables and enum types are listmonk's. Bounce batches are written
//! set-wise (unnest arrays) so a batch costs a handful of round trips.

mod bounces;
mod catalog;
mod import;
mod mailbox;
mod reclassify;
mod sessions;
mod settings;
mod stats;
mod subscriber_bulk;
mod subscriber_query;
mod subscribers;
mod suppressions;
mod users;
mod webhooks;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use crate::{Backend, Result, Store};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    pub async fn connect(url: &str) -> Result<Self> {
        // sqlx prepares every statement, and after five runs PostgreSQL may
        // switch to a generic plan that ignores the parameters: for
        // `subscriber_id = ANY($1)` that plan is a sequential scan of all
        // bounces per batch. Planning each batch with its real arrays costs
        // a fraction of a millisecond and keeps the index scans.
        let opts = PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]);
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(opts)
            .await?;
        Ok(PgStore { pool })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<()> {
        refuse_listmonk_database(&self.pool).await?;
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// Refuses a database that listmonk created: rebound's migrations and
/// settings writes would change listmonk's tables and its `settings` rows
/// (which listmonk reads at its next start), so starting there must be a
/// choice, never an accident. listmonk's `templates` and `campaign_views`
/// are tables rebound never creates; they mark listmonk's schema.
async fn refuse_listmonk_database(pool: &PgPool) -> Result<()> {
    let listmonk: bool = sqlx::query_scalar(
        "SELECT to_regclass('templates') IS NOT NULL AND to_regclass('campaign_views') IS NOT NULL",
    )
    .fetch_one(pool)
    .await?;
    if listmonk {
        return Err(crate::StoreError::Invalid(LISTMONK_DATABASE.into()));
    }
    Ok(())
}

const LISTMONK_DATABASE: &str = "this PostgreSQL database belongs to listmonk (it has listmonk's \
    templates and campaign_views tables), and rebound would change listmonk's tables and settings \
    there. Give rebound a database of its own (e.g. `createdb rebound` and \
    --database postgres://.../rebound); rebound speaks listmonk's API and settings from there. \
    Running inside listmonk's own database (companion mode) is not available in this version.";
