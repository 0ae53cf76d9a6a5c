//! Companion mode (docs/companion.md): rebound inside the database listmonk
//! created, as its bounce processor. listmonk's tables are listmonk's;
//! rebound keeps its own tables, and its own settings, in the `rebound`
//! schema (migrations/postgres-companion), which it puts first on every
//! connection's search_path. The statements of the rest of the backend are
//! therefore the same in both modes.

use std::collections::BTreeMap;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::PgConnectOptions;
use sqlx::types::Json;
use sqlx::{Connection, PgConnection, PgPool};

use super::PgStore;
use crate::{ListmonkApiUser, ListmonkLink, Result, StoreError};

/// The schema that holds rebound's tables in listmonk's database.
pub const COMPANION_SCHEMA: &str = "rebound";

static COMPANION_MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres-companion");

/// listmonk's tables rebound reads or writes; all must be there.
const LISTMONK_TABLES: [&str; 9] = [
    "subscribers",
    "lists",
    "subscriber_lists",
    "campaigns",
    "bounces",
    "settings",
    "users",
    "roles",
    "templates",
];

/// listmonk's role id 1 is its Super Admin, which holds every permission
/// without listing them (listmonk's `auth.SuperAdminRoleID`).
const LISTMONK_SUPER_ADMIN_ROLE: i32 = 1;

/// Where listmonk's tables are.
pub(super) struct Listmonk {
    /// The schema of listmonk's tables: the connection's own default
    /// (normally `public`).
    pub schema: String,
}

impl Listmonk {
    /// Finds listmonk's tables in the schema the URL's connections default
    /// to, and refuses a database that does not have them.
    pub async fn locate(opts: &PgConnectOptions) -> Result<Listmonk> {
        let mut conn = PgConnection::connect_with(opts).await?;
        let schema: Option<String> =
            sqlx::query_scalar("SELECT current_schema()").fetch_one(&mut conn).await?;
        let schema = schema.ok_or_else(|| {
            StoreError::Invalid("the connection has no current schema: check its search_path".into())
        })?;
        if schema == COMPANION_SCHEMA {
            return Err(StoreError::Invalid(format!(
                "the connection's search_path starts with {COMPANION_SCHEMA:?}, rebound's own schema: \
                 give the URL listmonk's (normally public)"
            )));
        }
        let missing: Vec<String> = sqlx::query_scalar(
            "SELECT t FROM UNNEST($1::text[]) AS t
             WHERE to_regclass(quote_ident($2) || '.' || quote_ident(t)) IS NULL",
        )
        .bind(&LISTMONK_TABLES[..])
        .bind(&schema)
        .fetch_all(&mut conn)
        .await?;
        conn.close().await?;
        if !missing.is_empty() {
            return Err(StoreError::Invalid(format!(
                "companion mode needs a database that listmonk created (`listmonk --install`), and schema \
                 {schema:?} lacks listmonk's {}. For a database of rebound's own use --database instead \
                 of --listmonk.",
                missing.join(", ")
            )));
        }
        Ok(Listmonk { schema })
    }

    /// Creates rebound's schema and applies its migrations there; touches
    /// nothing of listmonk's.
    pub async fn migrate(&self, pool: &PgPool) -> Result<()> {
        let mut tx = pool.begin().await?;
        // Two instances starting at once would race on CREATE SCHEMA IF NOT
        // EXISTS (a unique violation in pg_namespace): one at a time.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtext('rebound companion schema'))")
            .execute(&mut *tx)
            .await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(COMPANION_SCHEMA)))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        // The search_path puts `rebound` first, so sqlx's own bookkeeping
        // table (_sqlx_migrations) lands there too.
        COMPANION_MIGRATOR.run(pool).await?;
        Ok(())
    }

    fn table(&self, name: &str) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(name))
    }
}

/// An SQL identifier, quoted (a schema name comes from the server, but may
/// hold anything).
pub(super) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

#[async_trait]
impl ListmonkLink for PgStore {
    fn listmonk_schema(&self) -> &str {
        self.listmonk.as_ref().map(|l| l.schema.as_str()).unwrap_or_default()
    }

    async fn listmonk_settings(&self) -> Result<BTreeMap<String, Value>> {
        let Some(l) = &self.listmonk else { return Ok(BTreeMap::new()) };
        let rows: Vec<(String, Json<Value>)> =
            sqlx::query_as(&format!("SELECT key, value FROM {}", l.table("settings")))
                .fetch_all(&self.pool)
                .await?;
        Ok(rows.into_iter().map(|(k, v)| (k, v.0)).collect())
    }

    async fn listmonk_api_user(&self, username: &str) -> Result<Option<ListmonkApiUser>> {
        let Some(l) = &self.listmonk else { return Ok(None) };
        // listmonk keeps an API user's token as is in `password` (its
        // get-api-tokens query reads it back to compare).
        let row: Option<(i32, Option<String>, i32, Vec<String>)> = sqlx::query_as(&format!(
            "SELECT u.id, u.password, u.user_role_id, COALESCE(r.permissions, '{{}}')
             FROM {} u LEFT JOIN {} r ON r.id = u.user_role_id
             WHERE u.username = $1 AND u.type = 'api' AND u.status = 'enabled'",
            l.table("users"),
            l.table("roles")
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.and_then(|(id, token, role, permissions)| {
            Some(ListmonkApiUser {
                id: i64::from(id),
                username: username.to_string(),
                token: token.filter(|t| !t.is_empty())?,
                super_admin: role == LISTMONK_SUPER_ADMIN_ROLE,
                permissions,
            })
        }))
    }
}
