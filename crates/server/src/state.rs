use std::sync::Arc;

use rebound_providers::Providers;
use rebound_store::Store;

use crate::auth::Authenticator;
use crate::ingest::Ingest;
use crate::settings::SettingsHandle;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub settings: SettingsHandle,
    pub ingest: Ingest,
    pub auth: Arc<Authenticator>,
    pub providers: Arc<Providers>,
    /// The bounce-mailbox scanners (status, scan now).
    pub mailboxes: rebound_mailbox::Scanners,
    /// GET /metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// In-flight webhook requests per client IP.
    pub webhook_limit: Arc<crate::webhook_guard::PerIpLimit>,
    /// SMTP pools for test sends, following the live `smtp` settings.
    pub sender: Arc<rebound_sender::Sender>,
}
