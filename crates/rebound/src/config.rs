//! Layered configuration: defaults, then the TOML file, then environment
//! variables and flags (clap reads both). The database password never reaches
//! a log line: URLs are printed redacted.

use std::path::{Path, PathBuf};

use anyhow::Context;
use std::time::Duration;

use rebound_server::ServerConfig;
use rebound_server::connections::HttpLimits;
use rebound_server::login_limit::LoginLimits;
use serde::Deserialize;

use rebound_store::Mode;

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
    #[serde(default)]
    pub listmonk: ListmonkFileConfig,
    #[serde(default)]
    pub webhooks: WebhooksFileConfig,
}

/// `[listmonk]`: companion mode (docs/companion.md).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListmonkFileConfig {
    /// listmonk's PostgreSQL database; rebound runs as its companion there.
    pub database: Option<String>,
    /// Accept listmonk's API users' tokens too (default false).
    #[serde(default)]
    pub api_tokens: bool,
}

impl std::fmt::Debug for ListmonkFileConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListmonkFileConfig")
            .field("database", &self.database.as_deref().map(rebound_store::redact_url))
            .field("api_tokens", &self.api_tokens)
            .finish()
    }
}

/// `[webhooks]`: delivery of outgoing event webhooks (docs/events.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhooksFileConfig {
    /// false: this instance delivers nothing (another one does). Default true.
    pub deliver: Option<bool>,
    /// CIDRs of internal addresses deliveries may connect to anyway, e.g.
    /// ["127.0.0.1/32", "10.0.0.0/8"]. Default none: loopback, private and
    /// link-local targets are refused.
    #[serde(default)]
    pub allow_private: Vec<String>,
    /// Attempts before a delivery is marked failed (default 10).
    pub max_attempts: Option<u32>,
    /// "5s": the first retry's wait, doubled each time (with jitter).
    pub backoff_base: Option<String>,
    /// "1h": the longest wait between attempts.
    pub backoff_max: Option<String>,
    /// "10s": one request's time limit.
    pub timeout: Option<String>,
    /// Requests in flight per endpoint (default 4).
    pub per_endpoint: Option<usize>,
    /// Consecutive failed attempts that pause an endpoint (default 50; 0: never).
    pub pause_after: Option<u32>,
    /// "60s": how long a claimed delivery stays reserved; after a crash it is
    /// sent again once this runs out. At least 3 × `timeout`.
    pub lease: Option<String>,
    /// "7d": delivered rows are deleted this long after delivery (failed ones stay).
    pub retention: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitsFileConfig {
    /// Webhook requests one client IP may have in flight (default 256; 0: no limit).
    pub webhook_concurrency_per_ip: Option<usize>,
    /// Open connections at most (default 1024).
    pub max_connections: Option<usize>,
    /// "10s": a request head must arrive within this (also the keep-alive idle limit).
    pub header_timeout: Option<String>,
    /// "30s": a whole request body must arrive within this.
    pub body_timeout: Option<String>,
    /// "30s": a client that reads nothing of its response for this long is dropped.
    pub write_timeout: Option<String>,
    /// Failed logins from one address before the backoff (default 20; 0: off).
    pub login_failures_per_ip: Option<u32>,
    /// Failed logins for one username before the backoff (default 5; 0: off).
    pub login_failures_per_user: Option<u32>,
}

fn duration(key: &str, value: Option<&String>, default: Duration) -> anyhow::Result<Duration> {
    let Some(v) = value else { return Ok(default) };
    let d = humantime::parse_duration(v)
        .with_context(|| format!("[limits] {key} = {v:?}: not a duration like \"10s\""))?;
    anyhow::ensure!(!d.is_zero(), "[limits] {key} must be more than 0");
    Ok(d)
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

    pub fn server_config(&self) -> anyhow::Result<ServerConfig> {
        let d = ServerConfig::default();
        let l = &self.limits;
        let http = HttpLimits {
            max_connections: l.max_connections.unwrap_or(d.http.max_connections),
            header_timeout: duration("header_timeout", l.header_timeout.as_ref(), d.http.header_timeout)?,
            body_timeout: duration("body_timeout", l.body_timeout.as_ref(), d.http.body_timeout)?,
            write_timeout: duration("write_timeout", l.write_timeout.as_ref(), d.http.write_timeout)?,
        };
        anyhow::ensure!(http.max_connections > 0, "[limits] max_connections must be more than 0");
        let login = LoginLimits {
            failures_per_ip: l.login_failures_per_ip.unwrap_or(d.login.failures_per_ip),
            failures_per_user: l.login_failures_per_user.unwrap_or(d.login.failures_per_user),
        };
        let w = &self.webhooks;
        let dd = &d.delivery;
        let wdur = |key: &str, v: Option<&String>, default: Duration| -> anyhow::Result<Duration> {
            let Some(v) = v else { return Ok(default) };
            let d = humantime::parse_duration(v)
                .with_context(|| format!("[webhooks] {key} = {v:?}: not a duration like \"10s\""))?;
            anyhow::ensure!(!d.is_zero(), "[webhooks] {key} must be more than 0");
            Ok(d)
        };
        let delivery = rebound_server::delivery::DeliveryConfig {
            enabled: w.deliver.unwrap_or(dd.enabled),
            allow_private: w
                .allow_private
                .iter()
                .map(|c| {
                    c.parse::<ipnet::IpNet>()
                        .or_else(|_| c.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                        .with_context(|| {
                            format!("[webhooks] allow_private: {c:?} is not a CIDR like 127.0.0.1/32")
                        })
                })
                .collect::<anyhow::Result<_>>()?,
            max_attempts: w.max_attempts.unwrap_or(dd.max_attempts).max(1),
            backoff_base: wdur("backoff_base", w.backoff_base.as_ref(), dd.backoff_base)?,
            backoff_max: wdur("backoff_max", w.backoff_max.as_ref(), dd.backoff_max)?,
            timeout: wdur("timeout", w.timeout.as_ref(), dd.timeout)?,
            per_endpoint: w.per_endpoint.unwrap_or(dd.per_endpoint).max(1),
            pause_after: w.pause_after.unwrap_or(dd.pause_after),
            lease: wdur("lease", w.lease.as_ref(), dd.lease)?,
            retention: wdur("retention", w.retention.as_ref(), dd.retention)?,
            ..dd.clone()
        };
        Ok(ServerConfig {
            delivery,
            http,
            login,
            ingest_writers: self.ingest.writers,
            ingest_max_batch: self.ingest.max_batch.unwrap_or(d.ingest_max_batch),
            webhook_concurrency_per_ip: self
                .limits
                .webhook_concurrency_per_ip
                .unwrap_or(d.webhook_concurrency_per_ip),
            metrics_token: self.metrics.token.clone().or_else(|| std::env::var("REBOUND_METRICS_TOKEN").ok()),
            listmonk_api_tokens: self.listmonk.api_tokens,
            ..d
        })
    }
}

/// Which database, and whose.
#[derive(Debug, Clone)]
pub struct Database {
    pub url: String,
    pub mode: Mode,
}

/// The database after layering: `--listmonk` / `[listmonk] database` choose
/// companion mode in listmonk's database; otherwise `--database` /
/// `database`, or the default SQLite file.
pub fn database(args: &DbArgs, file: &FileConfig) -> anyhow::Result<Database> {
    let own = args.database.clone().or_else(|| file.database.clone());
    let listmonk = args.listmonk.clone().or_else(|| file.listmonk.database.clone());
    match (own, listmonk) {
        // A flag beats the file: --database over a file's [listmonk], and the other way round.
        (Some(_), Some(l)) if args.listmonk.is_some() => {
            Ok(Database { url: l, mode: Mode::ListmonkCompanion })
        }
        (Some(url), Some(_)) if args.database.is_some() => Ok(Database { url, mode: Mode::Own }),
        (Some(_), Some(_)) => anyhow::bail!(
            "the config file sets both `database` and `[listmonk] database`: choose one (a database of \
             rebound's own, or listmonk's with rebound as its companion)"
        ),
        (_, Some(url)) => Ok(Database { url, mode: Mode::ListmonkCompanion }),
        (own, None) => {
            Ok(Database { url: own.unwrap_or_else(|| DEFAULT_DATABASE.to_string()), mode: Mode::Own })
        }
    }
}

/// Connects and brings rebound's schema up to date; every subcommand that
/// touches the database starts here.
pub async fn open_store(db: &Database) -> anyhow::Result<std::sync::Arc<dyn rebound_store::Store>> {
    let store = rebound_store::connect_as(&db.url, db.mode)
        .await
        .with_context(|| format!("opening {}", rebound_store::redact_url(&db.url)))?;
    store.migrate().await.context("migrating the database")?;
    if db.mode == Mode::ListmonkCompanion {
        tracing::info!(
            database = %rebound_store::redact_url(&db.url),
            schema = rebound_store::COMPANION_SCHEMA,
            "companion mode: listmonk's tables are listmonk's; rebound's own live in their schema"
        );
    }
    Ok(store)
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    // Colours only for a person at a terminal: a log file, journald or a
    // captured `rebound scan` would otherwise be full of escape codes.
    let colours = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let builder =
        tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).with_ansi(colours);
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
        let server = cfg.server_config().expect("its limits are valid");
        assert_eq!(server.http, HttpLimits::default(), "the example shows the defaults");
        assert_eq!(server.login, LoginLimits::default());
    }

    #[test]
    fn limits_are_read_and_checked() {
        let cfg = FileConfig::parse(
            "[limits]\nmax_connections = 10\nheader_timeout = \"2s\"\nbody_timeout = \"1m\"\n\
             login_failures_per_ip = 0",
        )
        .unwrap()
        .server_config()
        .unwrap();
        assert_eq!(cfg.http.max_connections, 10);
        assert_eq!(cfg.http.header_timeout, Duration::from_secs(2));
        assert_eq!(cfg.http.body_timeout, Duration::from_secs(60));
        assert_eq!(cfg.http.write_timeout, HttpLimits::default().write_timeout);
        assert_eq!(cfg.login, LoginLimits { failures_per_ip: 0, ..LoginLimits::default() });
        let bad = FileConfig::parse("[limits]\nheader_timeout = \"soon\"").unwrap().server_config();
        assert!(bad.err().unwrap().to_string().contains("header_timeout"));
    }

    #[test]
    fn unknown_keys_are_refused() {
        assert!(FileConfig::parse("listne = \"x\"").is_err());
    }
}
