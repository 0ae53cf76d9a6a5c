use std::sync::Arc;

use axum::extract::FromRef;
use rebound_intake::Intake;
use rebound_providers::Providers;
use rebound_store::Store;

use crate::auth::Authenticator;
use crate::metrics::Metrics;
use crate::settings::SettingsHandle;
use crate::webhook_guard::PerIpLimit;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: SettingsHandle,
    /// Where every source's bounces are written.
    pub intake: Intake,
    pub auth: Arc<Authenticator>,
    pub providers: Arc<Providers>,
    /// The bounce-mailbox scanners (status, scan now).
    pub mailboxes: rebound_mailbox::Scanners,
    /// GET /metrics.
    pub metrics: Arc<Metrics>,
    /// In-flight webhook requests per client IP.
    pub webhook_limit: Arc<PerIpLimit>,
    /// SMTP pools for test sends, following the live `smtp` settings.
    pub sender: Arc<rebound_sender::Sender>,
    /// How long a subscriber `query` (an SQL expression) may run.
    pub sql_query_timeout: std::time::Duration,
    /// OAuth2 mailbox authorizations waiting for their callback.
    pub oauth_pending: Arc<crate::service::mailbox_oauth::PendingAuthorizations>,
    /// Wakes the webhook delivery worker.
    pub deliveries: crate::delivery::Waker,
}

/// What the `Principal` extractor needs (auth.rs takes it this way, so it
/// does not depend on the whole state).
impl FromRef<AppState> for Arc<Authenticator> {
    fn from_ref(state: &AppState) -> Self {
        state.auth.clone()
    }
}
