use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// rebound: bounce processing for newsletters, speaking listmonk's API.
#[derive(Debug, Parser)]
#[command(name = "rebound", version, about)]
pub struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, value_enum, default_value = "text", env = "REBOUND_LOG_FORMAT")]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (API, webhooks, mailbox scanners).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate(DbArgs),
    /// Scan every enabled bounce mailbox once; exits 1 when a mailbox failed.
    Scan(ScanArgs),
    /// Parse bounce e-mails (files, directories, mbox files): one JSON line per message.
    Parse(ParseArgs),
    /// Write bounces as CSV or JSON (to stdout, or --output FILE).
    Export(ExportArgs),
    /// Import subscribers from listmonk's CSV (email, name, attributes) into a list.
    Import(ImportArgs),
    /// Copy a SQLite database while the server runs (PostgreSQL: use pg_dump).
    Backup(BackupArgs),
    /// Send a campaign to subscribers as a test; refusals are recorded as bounces.
    SendTest(SendTestArgs),
}

#[derive(Debug, Clone, Args)]
pub struct SendTestArgs {
    /// The campaign (its numeric id).
    #[arg(long)]
    pub campaign: i64,
    /// Subscribers' e-mail addresses (they must be subscribers).
    #[arg(long, required = true, num_args = 1..)]
    pub to: Vec<String>,
    /// Use this subject instead of the campaign's.
    #[arg(long)]
    pub subject: Option<String>,
    /// Use this From ("Name <address>") instead of the campaign's.
    #[arg(long)]
    pub from: Option<String>,
    /// Print the whole report as one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    Csv,
    Json,
}

#[derive(Debug, Clone, Args)]
pub struct ExportArgs {
    #[arg(long, value_enum, default_value = "csv")]
    pub format: ExportFormat,
    /// Only bounces created at or after this date (YYYY-MM-DD, UTC) or RFC 3339 time.
    #[arg(long)]
    pub since: Option<String>,
    /// Only this campaign's bounces (its numeric id).
    #[arg(long)]
    pub campaign: Option<i64>,
    /// Write here instead of stdout.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ImportArgs {
    /// The CSV file: a header row with email, name, attributes (a JSON object).
    pub file: PathBuf,
    /// The list to subscribe them to (created when there is none of that name).
    #[arg(long)]
    pub list: String,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Args)]
pub struct BackupArgs {
    /// The backup file to write (must not exist).
    pub path: PathBuf,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ParseArgs {
    /// Files, directories (read recursively) or mbox files.
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// listmonk's classification: 5.x.x hard, 4.x.x soft (default: hard only when the address can never work).
    #[arg(long)]
    pub permanent: bool,
    /// Report delay warnings (action "delayed") instead of treating them as not bounces.
    #[arg(long)]
    pub include_delayed: bool,
    /// The bounce.verp.address template, to decode VERP ids, e.g. "bounces+{subscriber_uuid}.{campaign_uuid}@site.com".
    #[arg(long)]
    pub verp_template: Option<String>,
}

/// Where the database is. Flags beat environment variables, which beat the
/// config file, which beats the defaults.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://rebound.db]
    #[arg(long, env = "REBOUND_DATABASE_URL")]
    pub database: Option<String>,
    /// Companion mode: the PostgreSQL database of a listmonk installation, whose bounces rebound processes (docs/companion.md)
    #[arg(long, env = "REBOUND_LISTMONK_DATABASE_URL", conflicts_with = "database")]
    pub listmonk: Option<String>,
    /// TOML config file [default: rebound.toml when it exists]
    #[arg(long, env = "REBOUND_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ScanArgs {
    /// Only this mailbox (its uuid, as GET /api/bounces/mailboxes shows it); repeatable.
    #[arg(long)]
    pub mailbox: Vec<String>,
    /// Scan even when bounce.enabled is false.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub db: DbArgs,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:9000]
    #[arg(long, env = "REBOUND_LISTEN")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}
