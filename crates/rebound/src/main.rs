//! The `rebound` command: parses the command line and hands over to one
//! module per subcommand.

mod backup;
mod cli;
mod config;
mod export;
mod import;
mod migrate;
mod parse;
mod scan;
mod send_test;
mod serve;

use clap::Parser;

use crate::cli::{Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    config::init_logging(cli.log_format);
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(args) => migrate::run(args).await,
        Command::Scan(args) => scan::run(args).await,
        Command::Parse(args) => parse::run(args),
        Command::Export(args) => export::run(args).await,
        Command::Import(args) => import::run(args).await,
        Command::Backup(args) => backup::run(args).await,
        Command::SendTest(args) => send_test::run(args).await,
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("rebound: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
