use std::process::ExitCode;

use anyhow::Context;
use rebound_server::App;
use tokio::net::TcpListener;

use crate::cli::ServeArgs;
use crate::config::{DEFAULT_LISTEN, FileConfig, database, open_store};

pub async fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let file = FileConfig::load(args.db.config.as_deref())?;
    let config = file.server_config()?;
    let db = database(&args.db, &file)?;
    let url = db.url.clone();
    let listen =
        args.listen.clone().or_else(|| file.listen.clone()).unwrap_or_else(|| DEFAULT_LISTEN.to_string());

    let store = open_store(&db).await?;
    let admin_user = std::env::var("REBOUND_ADMIN_USER").ok();
    let admin_password = std::env::var("REBOUND_ADMIN_PASSWORD").ok();
    if let Some((user, password)) =
        rebound_server::ensure_admin(store.as_ref(), admin_user.as_deref(), admin_password.as_deref()).await?
    {
        // Printed once, on the first start only: there is no other way to learn it.
        println!("Created the admin user {user:?} with the generated password: {password}");
    }

    let app = App::start(store, &config).await?;
    let listener = TcpListener::bind(&listen).await.with_context(|| format!("listening on {listen}"))?;
    tracing::info!(address = %listener.local_addr()?, database = %rebound_store::redact_url(&url), "rebound is serving");
    app.serve(listener, shutdown_signal()).await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down: finishing in-flight requests");
}
