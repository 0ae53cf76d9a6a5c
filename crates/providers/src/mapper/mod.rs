//! The generic webhook mapper: a provider rebound does not know, described
//! by a [`MappedProvider`] configuration (docs/providers.md, section
//! "Generic webhook mapper"). The built-in presets ([`presets`]) are such
//! configurations too. Same guarantees as the adapters: the request is
//! authenticated over its raw bytes before anything is parsed ([`auth`]),
//! every event gets an event id for de-duplication, a bad signature is 401.

mod auth;
mod extract;
mod form;
pub mod presets;

use std::time::Duration;

use chrono::{DateTime, Utc};
use rebound_core::BounceEvent;
use rebound_core::mapped::MappedProvider;

use crate::{ProviderError, WebhookRequest};

/// Verifies one request with `cfg`, then maps its events. Disabled or
/// unknown providers are the caller's business.
pub fn handle(
    cfg: &MappedProvider,
    req: &WebhookRequest<'_>,
    now: DateTime<Utc>,
    tolerance: Duration,
) -> Result<Vec<BounceEvent>, ProviderError> {
    auth::verify(cfg, req, now, tolerance)?;
    extract::events(cfg, req)
}

/// The mapping alone, without authentication (the fuzz entry point).
pub fn parse(cfg: &MappedProvider, req: &WebhookRequest<'_>) -> Result<Vec<BounceEvent>, ProviderError> {
    extract::events(cfg, req)
}
