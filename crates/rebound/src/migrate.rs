use std::process::ExitCode;

use crate::cli::DbArgs;
use crate::config::{FileConfig, database_url, open_store};

pub async fn run(args: DbArgs) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(args.config.as_deref())?;
    let url = database_url(&args, &file);
    open_store(&url).await?;
    println!("migrations applied to {}", rebound_store::redact_url(&url));
    Ok(ExitCode::SUCCESS)
}
