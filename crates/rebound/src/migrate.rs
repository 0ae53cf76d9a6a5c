use std::process::ExitCode;

use crate::cli::DbArgs;
use crate::config::{FileConfig, database, open_store};

pub async fn run(args: DbArgs) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(args.config.as_deref())?;
    let db = database(&args, &file)?;
    let url = db.url.clone();
    open_store(&db).await?;
    println!("migrations applied to {}", rebound_store::redact_url(&url));
    Ok(ExitCode::SUCCESS)
}
