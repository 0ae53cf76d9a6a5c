//! Outgoing event webhooks: the endpoints and their deliveries
//! (docs/events.md). Endpoints hold secrets and make rebound send requests,
//! so reading them needs settings:get and changing them settings:manage.

use chrono::Utc;
use rebound_store::webhooks::event_type;
use rebound_store::{Delivery, DeliveryQuery, Endpoint, EndpointUpdate, NewEndpoint, Paged};

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::delivery;
use crate::state::AppState;

/// What registering or changing an endpoint takes.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub secret: Option<String>,
    pub description: Option<String>,
    pub event_types: Option<Vec<String>>,
    pub enabled: Option<bool>,
    pub paused: Option<bool>,
}

/// A new endpoint with its secret, shown this once.
pub struct Created {
    pub endpoint: Endpoint,
    pub secret: String,
}

fn check_url(url: &str) -> ServiceResult<String> {
    let url = url.trim();
    let parsed =
        reqwest::Url::parse(url).map_err(|e| ServiceError::invalid("url", format!("invalid URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none_or(str::is_empty) {
        return Err(ServiceError::invalid("url", "the URL must be http:// or https:// with a host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(ServiceError::invalid(
            "url",
            "credentials in the URL are not kept; the requests are signed",
        ));
    }
    if url.len() > 2000 {
        return Err(ServiceError::invalid("url", "the URL is longer than 2000 characters"));
    }
    Ok(url.to_string())
}

fn check_secret(secret: &str) -> ServiceResult<String> {
    match delivery::secret_key(secret) {
        Some(key) if (24..=64).contains(&key.len()) => Ok(secret.to_string()),
        _ => Err(ServiceError::invalid(
            "secret",
            "the secret must be whsec_ followed by the base64 of 24 to 64 bytes (or leave it out to get one)",
        )),
    }
}

fn check_types(types: &[String]) -> ServiceResult<Vec<String>> {
    if types.is_empty() {
        return Err(ServiceError::invalid("event_types", "give one or more event types, or [\"*\"] for all"));
    }
    for t in types {
        if t != event_type::WILDCARD && !event_type::ALL.contains(&t.as_str()) {
            return Err(ServiceError::invalid(
                "event_types",
                format!("unknown event type {t:?}: one of {}, or *", event_type::ALL.join(", ")),
            ));
        }
    }
    let mut types = types.to_vec();
    types.sort();
    types.dedup();
    Ok(types)
}

pub async fn list(state: &AppState, p: &Principal) -> ServiceResult<Vec<Endpoint>> {
    p.require(perm::SETTINGS_GET)?;
    Ok(state.store.list_endpoints().await?)
}

pub async fn get(state: &AppState, p: &Principal, id: i64) -> ServiceResult<Endpoint> {
    p.require(perm::SETTINGS_GET)?;
    Ok(state.store.get_endpoint(id).await?)
}

pub async fn create(state: &AppState, p: &Principal, input: EndpointInput) -> ServiceResult<Created> {
    p.require(perm::SETTINGS_MANAGE)?;
    let url = check_url(input.url.as_deref().unwrap_or(""))?;
    let secret = match input.secret.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => check_secret(s)?,
        None => delivery::new_secret(),
    };
    let event_types = check_types(&input.event_types.unwrap_or_else(|| vec![event_type::WILDCARD.into()]))?;
    let endpoint = state
        .store
        .create_endpoint(NewEndpoint {
            url,
            secret: secret.clone(),
            description: input.description.unwrap_or_default(),
            event_types,
            enabled: input.enabled.unwrap_or(true),
        })
        .await?;
    tracing::info!(id = endpoint.id, url = ?endpoint.url, by = ?p.username, "webhook endpoint registered");
    Ok(Created { endpoint, secret })
}

pub async fn update(
    state: &AppState,
    p: &Principal,
    id: i64,
    input: EndpointInput,
) -> ServiceResult<Endpoint> {
    p.require(perm::SETTINGS_MANAGE)?;
    let update = EndpointUpdate {
        url: input.url.as_deref().map(check_url).transpose()?,
        secret: input.secret.as_deref().map(check_secret).transpose()?,
        description: input.description,
        event_types: input.event_types.as_deref().map(check_types).transpose()?,
        enabled: input.enabled,
        paused: input.paused,
    };
    let endpoint = state.store.update_endpoint(id, update).await?;
    state.deliveries.wake();
    Ok(endpoint)
}

pub async fn delete(state: &AppState, p: &Principal, id: i64) -> ServiceResult<()> {
    p.require(perm::SETTINGS_MANAGE)?;
    state.store.delete_endpoint(id).await?;
    tracing::info!(id, by = ?p.username, "webhook endpoint deleted");
    Ok(())
}

pub async fn deliveries(
    state: &AppState,
    p: &Principal,
    q: &DeliveryQuery,
) -> ServiceResult<Paged<Delivery>> {
    p.require(perm::SETTINGS_GET)?;
    Ok(state.store.query_deliveries(q).await?)
}

pub async fn delivery(state: &AppState, p: &Principal, id: i64) -> ServiceResult<Delivery> {
    p.require(perm::SETTINGS_GET)?;
    Ok(state.store.get_delivery(id).await?)
}

/// Sends a delivery again (a failed one, typically), with a fresh count of attempts.
pub async fn redeliver(state: &AppState, p: &Principal, id: i64) -> ServiceResult<Delivery> {
    p.require(perm::SETTINGS_MANAGE)?;
    let d = state.store.redeliver(id, Utc::now()).await?;
    state.deliveries.wake();
    Ok(d)
}
