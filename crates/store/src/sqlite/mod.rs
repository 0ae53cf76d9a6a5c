//! The embedded backend. WAL journal so readers never block the writer,
//! `synchronous=FULL` so a committed bounce survives power loss, writes in
//! `BEGIN IMMEDIATE` transactions so two writers queue on the busy timeout
//! instead of failing half-way through. A new database file is created
//! readable by its owner only (0600): it holds provider keys and mailbox
//! passwords. SQLite gives its `-wal` and `-shm` files the database file's
//! mode, so they are 0600 too.

pub(crate) mod bounces;
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

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Sqlite, SqlitePool, Transaction};

use crate::{Backend, Result, Store, StoreError};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

pub struct SqliteStore {
    pool: SqlitePool,
    /// Read-only connections (`PRAGMA query_only` too) for listmonk's SQL
    /// expressions; None for an in-memory database, which another
    /// connection would not see.
    reader: Option<SqlitePool>,
}

impl SqliteStore {
    pub async fn connect(url: &str) -> Result<Self> {
        let opts = SqliteConnectOptions::from_str(url)?;
        create_private(opts.get_filename())?;
        let reader_opts = opts.clone().read_only(true).pragma("query_only", "ON");
        let in_memory = is_in_memory(opts.get_filename());
        let opts = opts
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(30))
            .foreign_keys(true);
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(opts).await?;
        // Lazy: the file exists now, and a reader connects on first use.
        let reader =
            (!in_memory).then(|| SqlitePoolOptions::new().max_connections(2).connect_lazy_with(reader_opts));
        Ok(SqliteStore { pool, reader })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        Ok(self.pool.begin_with("BEGIN IMMEDIATE").await?)
    }
}

/// Creates the database file, empty and with mode 0600, when it does not
/// exist yet, so SQLite never creates it with the umask's (usually
/// world-readable) mode. An existing file keeps its mode: the operator may
/// have chosen it. In-memory databases have no file.
fn create_private(path: &Path) -> Result<()> {
    if is_in_memory(path) {
        return Ok(());
    }
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    match create.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => {
            Err(StoreError::Invalid(format!("cannot create the database file {}: {e}", path.display())))
        }
    }
}

fn is_in_memory(path: &Path) -> bool {
    let name = path.to_string_lossy();
    name.is_empty() || name == ":memory:" || name.starts_with("file::memory:")
}

#[async_trait]
impl Store for SqliteStore {
    fn backend(&self) -> Backend {
        Backend::Sqlite
    }

    async fn migrate(&self) -> Result<()> {
        MIGRATOR.run(&self.pool).await?;
        Ok(())
    }

    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}

/// SQLite keeps timestamps as fixed-width UTC text so they sort as they compare.
pub(crate) fn ts(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A JSON array parameter, read back with `json_each(?)`: SQLite's way to
/// pass a list to `IN (...)` without building SQL text.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_string())
}

#[cfg(all(test, unix))]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;
    use crate::SettingsStore;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode()
            & 0o777
    }

    #[tokio::test]
    async fn a_new_database_and_its_wal_and_shm_files_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("rebound.db");
        let store = SqliteStore::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        store.migrate().await.unwrap();
        // A write, so the WAL and its index exist while the pool is open.
        let mut values = std::collections::BTreeMap::new();
        values.insert("bounce.enabled".to_string(), serde_json::json!(true));
        store.save_settings(&values).await.unwrap();
        for path in [db.clone(), dir.path().join("rebound.db-wal"), dir.path().join("rebound.db-shm")] {
            assert_eq!(mode(&path), 0o600, "{} is readable by others", path.display());
        }
    }

    #[tokio::test]
    async fn an_existing_database_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("shared.db");
        std::fs::write(&db, b"").unwrap();
        std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o640)).unwrap();
        let store = SqliteStore::connect(&format!("sqlite://{}", db.display())).await.unwrap();
        store.migrate().await.unwrap();
        assert_eq!(mode(&db), 0o640);
    }
}
