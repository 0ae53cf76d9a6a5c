//! The PostgreSQL backend, for scale and for several rebound instances on one
//! database. Tables and enum types are listmonk's. Bounce batches are written
//! set-wise (unnest arrays) so a batch costs a handful of round trips.
//!
//! Two ways to open one: [`PgStore::connect`] (a database of rebound's own,
//! where it creates listmonk's tables itself) and [`PgStore::connect_listmonk`]
//! (companion mode: listmonk's own database, listmonk's tables as they are,
//! rebound's tables in a schema of their own; see `companion`).

mod bounces;
mod catalog;
mod companion;
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

pub use companion::COMPANION_SCHEMA;

pub struct PgStore {
    pool: PgPool,
    /// Set in companion mode: where listmonk's tables are.
    listmonk: Option<companion::Listmonk>,
}

impl PgStore {
    /// A database of rebound's own.
    pub async fn connect(url: &str) -> Result<Self> {
        let pool = pool(base_options(url)?).await?;
        Ok(PgStore { pool, listmonk: None })
    }

    /// Companion mode: listmonk's own database. Every connection's
    /// search_path is `rebound, <listmonk's schema>`, so rebound's statements
    /// find its own tables (and its own `settings`) in the `rebound` schema
    /// and listmonk's tables where listmonk keeps them, unchanged.
    pub async fn connect_listmonk(url: &str) -> Result<Self> {
        let opts = base_options(url)?;
        let listmonk = companion::Listmonk::locate(&opts).await?;
        let search_path = format!("{COMPANION_SCHEMA},{}", companion::quote_ident(&listmonk.schema));
        let pool = pool(opts.options([("search_path", search_path.as_str())])).await?;
        Ok(PgStore { pool, listmonk: Some(listmonk) })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

fn base_options(url: &str) -> Result<PgConnectOptions> {
    // sqlx prepares every statement, and after five runs PostgreSQL may
    // switch to a generic plan that ignores the parameters: for
    // `subscriber_id = ANY($1)` that plan is a sequential scan of all
    // bounces per batch. Planning each batch with its real arrays costs
    // a fraction of a millisecond and keeps the index scans.
    Ok(PgConnectOptions::from_str(url)?.options([("plan_cache_mode", "force_custom_plan")]))
}

async fn pool(opts: PgConnectOptions) -> Result<PgPool> {
    Ok(PgPoolOptions::new()
        .max_connections(16)
        .acquire_timeout(Duration::from_secs(30))
        .connect_with(opts)
        .await?)
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> Result<()> {
        match &self.listmonk {
            Some(listmonk) => listmonk.migrate(&self.pool).await,
            None => {
                refuse_listmonk_database(&self.pool).await?;
                MIGRATOR.run(&self.pool).await?;
                Ok(())
            }
        }
    }

    fn listmonk(&self) -> Option<&dyn crate::ListmonkLink> {
        self.listmonk.as_ref().map(|_| self as &dyn crate::ListmonkLink)
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
    templates and campaign_views tables), and rebound on its own would change listmonk's tables and \
    settings there. Choose one: to process this listmonk's bounces, start rebound as its companion \
    with `--listmonk postgres://...` (or `[listmonk] database = \"postgres://...\"` in rebound.toml; \
    see docs/companion.md); to run rebound on its own, give it a database of its own \
    (e.g. `createdb rebound` and --database postgres://.../rebound).";
