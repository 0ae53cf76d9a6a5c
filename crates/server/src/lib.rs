//! rebound's HTTP server as a library: [`App::start`] wires the store, the
//! live settings and the intake's group-commit writers; [`router`] mounts every route;
//! [`serve`] runs it on a listener until shutdown. Tests bind port 0 and use
//! the same path as `rebound serve`.
//!
//! Logging: strings a client chose (usernames, path segments, error texts
//! that quote a payload) are recorded as values (`field = value`, `?value`),
//! never with `%`, so the log formatter quotes them and escapes control
//! characters: a username cannot forge a log line or carry an escape sequence.

pub mod auth;
mod companion;
pub mod connections;
pub mod cross_site;
pub mod delivery;
pub mod error;
pub mod extract;
pub mod handlers;
pub mod login_limit;
pub mod metrics;
pub mod openapi;
mod router;
pub mod scanners;
pub mod service;
pub mod settings;
pub mod state;
pub mod ui;
pub mod webhook_guard;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rebound_intake::{Intake, IntakeConfig};
use rebound_providers::{HttpFetch, Providers, ReqwestFetch};
use rebound_store::{Backend, Store, UserType};
use tokio::net::TcpListener;

pub use error::{ApiError, ApiResult};
pub use router::router;
pub use settings::SettingsHandle;
pub use state::AppState;

/// Server tuning that does not live in the settings table.
#[derive(Clone)]
pub struct ServerConfig {
    /// None: 1 writer on SQLite, 2 on PostgreSQL.
    pub ingest_writers: Option<usize>,
    pub ingest_max_batch: usize,
    /// How often to look for settings saved by another instance.
    pub settings_poll: Duration,
    /// The HTTP client for SNS certificates and subscription confirmations;
    /// None uses the production client (https only, AWS hosts only).
    pub http_fetch: Option<Arc<dyn HttpFetch>>,
    /// Webhook requests one client IP may have in flight (0: no limit).
    pub webhook_concurrency_per_ip: usize,
    /// GET /metrics requires `Authorization: Bearer <token>`; without a
    /// token it is refused.
    pub metrics_token: Option<String>,
    /// Test sends: SMTP reply timeout and the wait between retries.
    pub sender: rebound_sender::SenderOptions,
    /// Connection cap and HTTP timeouts (connections.rs).
    pub http: connections::HttpLimits,
    /// Failed authentications allowed per address and per username (login_limit.rs).
    pub login: login_limit::LoginLimits,
    /// How long listmonk's `query` (an SQL expression) on GET /api/subscribers may run.
    pub sql_query_timeout: Duration,
    /// Companion mode: also accept listmonk's API users (their tokens, with
    /// their role's permissions) where no rebound user has the name.
    pub listmonk_api_tokens: bool,
    /// Outgoing event webhooks (delivery.rs).
    pub delivery: delivery::DeliveryConfig,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            ingest_writers: None,
            ingest_max_batch: 512,
            settings_poll: Duration::from_secs(5),
            http_fetch: None,
            webhook_concurrency_per_ip: 256,
            metrics_token: None,
            sender: rebound_sender::SenderOptions::default(),
            http: connections::HttpLimits::default(),
            login: login_limit::LoginLimits::default(),
            sql_query_timeout: Duration::from_secs(15),
            listmonk_api_tokens: false,
            delivery: delivery::DeliveryConfig::default(),
        }
    }
}

/// The running application: its state and the background tasks that must
/// finish before the process exits.
pub struct App {
    pub state: AppState,
    writers: Vec<tokio::task::JoinHandle<()>>,
    settings_watcher: tokio::task::JoinHandle<()>,
    http: connections::HttpLimits,
    delivery: Option<delivery::Worker>,
}

impl App {
    /// Loads the settings and starts the writers. The store must be migrated.
    pub async fn start(store: Arc<dyn Store>, config: &ServerConfig) -> ApiResult<App> {
        let settings = SettingsHandle::load(store.as_ref()).await?;
        let writers = config.ingest_writers.unwrap_or(match store.backend() {
            Backend::Sqlite => 1,
            Backend::Postgres => 2,
        });
        let metrics = Arc::new(metrics::Metrics::new(config.metrics_token.clone()));
        let (intake, writers) = Intake::start(
            store.clone(),
            settings.clone(),
            IntakeConfig { writers, max_batch: config.ingest_max_batch },
            metrics.clone(),
        );
        let webhook_limit = webhook_guard::PerIpLimit::new(config.webhook_concurrency_per_ip);
        let settings_watcher = settings.watch_database(store.clone(), config.settings_poll);
        let auth = Arc::new(
            auth::Authenticator::new(store.clone(), config.login, metrics.clone())
                .accepting_listmonk_tokens(config.listmonk_api_tokens),
        );
        let fetch: Arc<dyn HttpFetch> = match &config.http_fetch {
            Some(f) => f.clone(),
            None => Arc::new(ReqwestFetch::new().map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?),
        };
        let providers = Arc::new(Providers::new(fetch));
        let mailboxes = scanners::start(store.clone(), intake.clone(), &settings);
        let sender = Arc::new(rebound_sender::Sender::new(config.sender));
        let delivery = if config.delivery.enabled {
            Some(
                delivery::start(store.clone(), config.delivery.clone(), metrics.clone())
                    .map_err(ApiError::internal)?,
            )
        } else {
            None
        };
        let deliveries = delivery.as_ref().map(delivery::Worker::waker).unwrap_or_default();
        Ok(App {
            state: AppState {
                store,
                settings,
                intake,
                auth,
                providers,
                mailboxes,
                metrics,
                webhook_limit,
                sender,
                sql_query_timeout: config.sql_query_timeout,
                oauth_pending: Arc::default(),
                deliveries,
            },
            writers,
            settings_watcher,
            http: config.http,
            delivery,
        })
    }

    /// Serves until `shutdown` resolves, then stops accepting, lets in-flight
    /// requests finish, and waits for the writers to commit what they hold.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let App { state, writers, settings_watcher, http, delivery } = self;
        let mailboxes = state.mailboxes.clone();
        connections::serve(listener, router(state), http, shutdown).await?;
        settings_watcher.abort();
        if let Some(d) = &delivery {
            d.stop();
        }
        // Scans in progress commit the messages in hand, then stop; this also
        // drops the scanners' intake.
        mailboxes.shutdown().await;
        // The router, and with it every other clone of the intake, is gone:
        // the writers commit what is queued and stop.
        for w in writers {
            if tokio::time::timeout(Duration::from_secs(30), w).await.is_err() {
                tracing::warn!("a bounce writer did not finish within 30 s of shutdown");
            }
        }
        Ok(())
    }
}

/// On first start with no users, creates the admin from the given
/// credentials, or with a generated password that is returned to be printed once.
pub async fn ensure_admin(
    store: &dyn Store,
    username: Option<&str>,
    password: Option<&str>,
) -> ApiResult<Option<(String, String)>> {
    if store.count_users().await? > 0 {
        return Ok(None);
    }
    let username = username.filter(|u| !u.is_empty()).unwrap_or("admin");
    let (password, generated) = match password.filter(|p| !p.is_empty()) {
        Some(p) => (p.to_string(), false),
        None => (auth::random_token(), true),
    };
    auth::create_user(store, username, UserType::User, &password, vec![auth::perm::ALL.to_string()]).await?;
    tracing::info!(username, "created the admin user");
    Ok(generated.then(|| (username.to_string(), password)))
}
