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
}

/// Where the database is. Flags beat environment variables, which beat the
/// config file, which beats the defaults.
#[derive(Debug, Clone, Args)]
pub struct DbArgs {
    /// Database URL: sqlite://PATH or postgres://USER@HOST/DB [default: sqlite://rebound.db]
    #[arg(long, env = "REBOUND_DATABASE_URL")]
    pub database: Option<String>,
    /// TOML config file [default: rebound.toml when it exists]
    #[arg(long, env = "REBOUND_CONFIG")]
    pub config: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:9000]
    #[arg(long, env = "REBOUND_LISTEN")]
    pub listen: Option<String>,
    #[command(flatten)]
    pub db: DbArgs,
}
