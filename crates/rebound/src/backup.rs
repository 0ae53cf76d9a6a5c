//! `rebound backup PATH`: an online, consistent copy of a SQLite database
//! while the server runs.
//!
//! It uses `VACUUM INTO` rather than the sqlite3_backup API: sqlx does not
//! expose the backup API without unsafe FFI (forbidden in this crate), and
//! VACUUM INTO gives the same guarantee — it reads the database inside one
//! read transaction (WAL readers never block the writer, nor the writer
//! them), writes a compacted copy, and refuses to overwrite an existing
//! file. The copy is then opened and checked with `PRAGMA integrity_check`.
//! The copy holds the same keys and passwords as the database, so its file
//! is created first, empty and readable by its owner only (0600), and
//! VACUUM INTO fills it (it accepts an empty file).
//! PostgreSQL has its own tools: pg_dump.

use std::process::ExitCode;

use anyhow::{Context, bail};
use rebound_store::SqliteStore;

use crate::cli::BackupArgs;
use crate::config::{FileConfig, database};

pub async fn run(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(args.db.config.as_deref())?;
    let db = database(&args.db, &file)?;
    let url = db.url.clone();
    if !url.starts_with("sqlite:") {
        bail!("rebound backup copies SQLite databases; for PostgreSQL use pg_dump");
    }
    if args.path.exists() {
        bail!("{} exists; give a new file name", args.path.display());
    }
    let target = args.path.to_str().context("the backup path must be valid UTF-8")?;
    let store = SqliteStore::connect(&url)
        .await
        .with_context(|| format!("opening {}", rebound_store::redact_url(&url)))?;
    let mut create = std::fs::OpenOptions::new();
    create.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut create, 0o600);
    create.open(&args.path).with_context(|| format!("creating {}", args.path.display()))?;
    if let Err(e) = sqlx::query("VACUUM INTO ?1").bind(target).execute(store.pool()).await {
        let _ = std::fs::remove_file(&args.path);
        return Err(e).with_context(|| format!("writing the backup to {}", args.path.display()));
    }

    // Read-only: checking the copy must not turn it into a WAL database.
    let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(&args.path).read_only(true);
    let mut copy = sqlx::ConnectOptions::connect(&opts).await.context("opening the backup")?;
    let check: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut copy)
        .await
        .context("checking the backup")?;
    if check != "ok" {
        bail!("the backup at {} failed its integrity check: {check}", args.path.display());
    }
    let size = std::fs::metadata(&args.path).map(|m| m.len()).unwrap_or(0);
    println!("backup written to {} ({size} bytes, integrity ok)", args.path.display());
    Ok(ExitCode::SUCCESS)
}
