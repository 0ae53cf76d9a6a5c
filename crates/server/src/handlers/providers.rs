//! POST /webhooks/service/{provider}: provider webhooks. Verification and
//! parsing live in rebound-providers (pure, per provider); this handler checks
//! the switches, passes the raw body, and records the verified events in one
//! transaction before answering.
//!
//! GET /api/bounces/providers (bounces:get): each provider's webhook path,
//! whether it is enabled, and why its settings refuse every request when
//! they do (SES without an allowed topic, a provider without credentials).

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use rebound_providers::{Outcome, ProviderError, Providers, WebhookRequest};

use super::data;
use super::webhooks::require_webhooks_enabled;
use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::extract::RawBody;
use crate::state::AppState;

pub async fn receive(
    State(state): State<AppState>,
    Path(provider): Path<String>,
    method: Method,
    headers: HeaderMap,
    uri: Uri,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    // A mistyped URL is 404 whatever the switches say.
    if !Providers::names().contains(&provider.as_str()) {
        return Err(ProviderError::UnknownProvider(provider).into());
    }
    if method != Method::POST && !Providers::accepts_get(&provider) {
        return Err(ApiError::MethodNotAllowed(format!("{provider} webhooks are POST requests")));
    }
    let settings = state.settings.get();
    require_webhooks_enabled(&settings)?;
    // Mandrill's HEAD (or GET) when a webhook is added: the URL exists.
    if method != Method::POST && provider == "mandrill" {
        return Ok(data(true).into_response());
    }
    let req = WebhookRequest { headers: &headers, query: uri.query(), body: &body };
    let outcome = state
        .providers
        .handle(&provider, &req, Utc::now(), &settings)
        .await
        .inspect_err(|e| tracing::info!(provider, error = e.to_string(), "webhook refused"))?;
    record(&state, &provider, outcome).await
}

/// POST /webhooks/service/custom/{name}: a mapped provider (`bounce.mapped_providers`).
pub async fn receive_mapped(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    uri: Uri,
    RawBody(body): RawBody,
) -> ApiResult<Response> {
    let settings = state.settings.get();
    if !settings.mapped_providers.iter().any(|p| p.name == name) {
        return Err(ProviderError::UnknownProvider(format!("custom/{name}")).into());
    }
    require_webhooks_enabled(&settings)?;
    let req = WebhookRequest { headers: &headers, query: uri.query(), body: &body };
    let outcome = state
        .providers
        .handle_mapped(&name, &req, Utc::now(), &settings)
        .inspect_err(|e| tracing::info!(provider = name, error = e.to_string(), "webhook refused"))?;
    record(&state, &name, outcome).await
}

/// Records a verified request's events in one transaction before answering.
async fn record(state: &AppState, provider: &str, outcome: Outcome) -> ApiResult<Response> {
    match outcome {
        // Handshakes (Event Grid validation, SNS confirmation) answer bare JSON.
        Outcome::Reply(v) => Ok(Json(v).into_response()),
        Outcome::Events(events) => {
            let outcomes = state.intake.record(events).await?;
            let mut res = data(true).into_response();
            let summary = summarize(&outcomes);
            if let Ok(v) = HeaderValue::from_str(&summary) {
                res.headers_mut().insert("rebound-outcome", v);
            }
            tracing::debug!(provider, summary, "webhook recorded");
            Ok(res)
        }
    }
}

/// GET /api/bounces/providers
pub async fn status(State(state): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    Ok(data(crate::service::settings::provider_statuses(&state, &p)?))
}

/// "recorded=2 duplicate=1", or "ignored" when the request carried no bounce.
fn summarize(outcomes: &[rebound_store::RecordOutcome]) -> String {
    if outcomes.is_empty() {
        return "ignored".into();
    }
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for o in outcomes {
        match counts.iter_mut().find(|(k, _)| *k == o.as_str()) {
            Some((_, n)) => *n += 1,
            None => counts.push((o.as_str(), 1)),
        }
    }
    counts.iter().map(|(k, n)| format!("{k}={n}")).collect::<Vec<_>>().join(" ")
}
