//! Layered configuration: defaults, then the TOML file, then environment
//! variables and flags (clap reads both). The database password never reaches
//! a log line: URLs are printed redacted.

use std::path::{Path, PathBuf};

use anyhow::Context;
use rebound_server::ServerConfig;
use serde::Deserialize;

use crate::cli::{DbArgs, LogFormat};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9000";
pub const DEFAULT_DATABASE: &str = "sqlite://rebound.db";
const DEFAULT_CONFIG_FILE: &str = "rebound.toml";

/// The TOML file (see rebound.example.toml).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    pub listen: Option<String>,
    pub database: Option<String>,
    #[serde(default)]
    pub ingest: IngestFileConfig,
    #[serde(default)]
    pub limits: LimitsFileConfig,
    #[serde(default)]
    pub metrics: MetricsFileConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFileConfig {
    /// Webhook requests one client IP may have in flight (default 256; 0: no limit).
    pub webhook_concurrency_per_ip: Option<usize>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricsFileConfig {
    /// When set, GET /metrics requires `Authorization: Bearer <token>`.
    pub token: Option<String>,
}

impl std::fmt::Debug for MetricsFileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetricsFileConfig")
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IngestFileConfig {
    /// Concurrent bounce-writing transactions (default: 1 on SQLite, 2 on PostgreSQL).
    pub writers: Option<usize>,
    /// Bounces per transaction at most (default 512).
    pub max_batch: Option<usize>,
}

impl FileConfig {
    /// Reads `path`, or rebound.toml in the working directory when no path is given and it exists.
    pub fn load(path: Option<&Path>) -> anyhow::Result<FileConfig> {
        let path: PathBuf = match path {
            Some(p) => p.to_path_buf(),
            None if Path::new(DEFAULT_CONFIG_FILE).exists() => PathBuf::from(DEFAULT_CONFIG_FILE),
            None => return Ok(FileConfig::default()),
        };
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<FileConfig> {
        Ok(toml::from_str(text)?)
    }

    pub fn server_config(&self) -> ServerConfig {
        let d = ServerConfig::default();
        ServerConfig {
            ingest_writers: self.ingest.writers,
            ingest_max_batch: self.ingest.max_batch.unwrap_or(d.ingest_max_batch),
            webhook_concurrency_per_ip: self
                .limits
                .webhook_concurrency_per_ip
                .unwrap_or(d.webhook_concurrency_per_ip),
            metrics_token: self.metrics.token.clone().or_else(|| std::env::var("REBOUND_METRICS_TOKEN").ok()),
            ..d
        }
    }
}

/// The database URL after layering.
pub fn database_url(args: &DbArgs, file: &FileConfig) -> String {
    args.database.clone().or_else(|| file.database.clone()).unwrap_or_else(|| DEFAULT_DATABASE.to_string())
}

/// Connects to `url` and brings its schema up to date; every subcommand that
/// touches the database starts here.
pub async fn open_store(url: &str) -> anyhow::Result<std::sync::Arc<dyn rebound_store::Store>> {
    let store = rebound_store::connect(url)
        .await
        .with_context(|| format!("opening {}", rebound_store::redact_url(url)))?;
    store.migrate().await.context("migrating the database")?;
    Ok(store)
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colours only on a terminal: a log file or the journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(ansi);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The annotated example in the repository root must stay valid.
    #[test]
    fn example_config_parses() {
        let text = include_str!("../../../rebound.example.toml");
        let cfg = FileConfig::parse(text).expect("rebound.example.toml is valid");
        assert_eq!(cfg.listen.as_deref(), Some(DEFAULT_LISTEN));
        assert_eq!(cfg.database.as_deref(), Some(DEFAULT_DATABASE));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(FileConfig::parse("listne = \"x\"").is_err());
    }
}
