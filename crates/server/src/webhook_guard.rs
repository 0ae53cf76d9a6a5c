//! What stands in front of the webhook routes (/webhooks/*): a limit on the
//! requests one client IP may have in flight at once, and the count of
//! refused webhook requests for /metrics.
//!
//! The limit is on concurrency, not rate: a provider retrying politely is
//! never refused, a client opening hundreds of slow requests is (each holds a
//! body buffer and, once parsed, a place in the intake's queue). Over the limit
//! the answer is 429 with `Retry-After: 1` and the usual `{"message": ...}`.
//! The IP is the TCP peer's: behind a reverse proxy every client shares the
//! proxy's address, so raise the limit there or enforce it in the proxy
//! (X-Forwarded-For is not trusted: any client can write it).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::metrics::Metrics;

/// In-flight webhook requests per client IP.
#[derive(Debug)]
pub struct PerIpLimit {
    max: usize,
    in_flight: Mutex<HashMap<IpAddr, usize>>,
}

/// Holds one place until dropped (when the response is produced, or the
/// client goes away and the handler's future is dropped).
pub struct Permit {
    limit: Arc<PerIpLimit>,
    ip: IpAddr,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if let Ok(mut map) = self.limit.in_flight.lock()
            && let Some(n) = map.get_mut(&self.ip)
        {
            *n -= 1;
            if *n == 0 {
                map.remove(&self.ip);
            }
        }
    }
}

impl PerIpLimit {
    /// `max` 0 means no limit.
    pub fn new(max: usize) -> Arc<PerIpLimit> {
        Arc::new(PerIpLimit { max, in_flight: Mutex::new(HashMap::new()) })
    }

    /// A place for `ip`, or None when it already has `max` requests in flight.
    pub fn try_acquire(self: &Arc<Self>, ip: IpAddr) -> Option<Permit> {
        let mut map = self.in_flight.lock().ok()?;
        let n = map.entry(ip).or_insert(0);
        if self.max > 0 && *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Permit { limit: self.clone(), ip })
    }
}

/// The client's address: the TCP peer's (see the module documentation).
/// Requests that did not come through a socket (router tests) have none.
pub fn client_ip(extensions: &axum::http::Extensions) -> Option<IpAddr> {
    extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0.ip())
}

/// What the middleware needs: the limit, and where refusals are counted.
#[derive(Clone)]
pub struct Guard {
    pub limit: Arc<PerIpLimit>,
    pub metrics: Arc<Metrics>,
}

/// The middleware on /webhooks/*.
pub async fn guard(State(state): State<Guard>, req: Request, next: Next) -> Response {
    let provider = provider_of(req.uri().path());
    let peer = client_ip(req.extensions());
    let _permit = match peer {
        Some(ip) => match state.limit.try_acquire(ip) {
            Some(p) => Some(p),
            None => {
                state.metrics.rejected(&provider, "too_many_requests");
                tracing::warn!(%ip, provider, "too many webhook requests in flight from one address");
                return too_many();
            }
        },
        None => None,
    };
    let res = next.run(req).await;
    if let Some(reason) = reason_of(res.status()) {
        state.metrics.rejected(&provider, reason);
    }
    res
}

fn too_many() -> Response {
    ApiError::TooManyRequests {
        message: "too many webhook requests in flight from your address; retry in a moment".into(),
        retry_after: 1,
    }
    .into_response()
}

/// "bounce" for the generic webhook, the provider's name for the others
/// (only known names, so a scanner of URLs cannot grow the label set).
fn provider_of(path: &str) -> String {
    match path.strip_prefix("/webhooks/service/") {
        Some(p) if rebound_providers::Providers::names().contains(&p) => p.to_string(),
        // Mapped providers' names are the operator's: one label for all.
        Some(p) if p.starts_with("custom/") => "custom".to_string(),
        Some(_) => "unknown".to_string(),
        None => "bounce".to_string(),
    }
}

fn reason_of(status: StatusCode) -> Option<&'static str> {
    Some(match status.as_u16() {
        0..=399 => return None,
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        413 => "too_large",
        429 => "too_many_requests",
        502 => "upstream",
        503 => "unavailable",
        500..=599 => "error",
        _ => "other",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permits_are_per_ip_and_given_back() {
        let limit = PerIpLimit::new(2);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = limit.try_acquire(a).unwrap();
        let _p2 = limit.try_acquire(a).unwrap();
        assert!(limit.try_acquire(a).is_none());
        assert!(limit.try_acquire(b).is_some());
        drop(p1);
        assert!(limit.try_acquire(a).is_some());
    }

    #[test]
    fn zero_is_unlimited() {
        let limit = PerIpLimit::new(0);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let permits: Vec<_> = (0..1000).map(|_| limit.try_acquire(ip).unwrap()).collect();
        drop(permits);
        assert!(limit.in_flight.lock().unwrap().is_empty());
    }

    #[test]
    fn labels() {
        assert_eq!(provider_of("/webhooks/bounce"), "bounce");
        assert_eq!(provider_of("/webhooks/service/ses"), "ses");
        assert_eq!(provider_of("/webhooks/service/mandrill"), "mandrill");
        // Mapped providers' names are the operator's: one label.
        assert_eq!(provider_of("/webhooks/service/custom/acme"), "custom");
        assert_eq!(provider_of("/webhooks/service/../../x"), "unknown");
        assert_eq!(reason_of(StatusCode::OK), None);
        assert_eq!(reason_of(StatusCode::UNAUTHORIZED), Some("unauthorized"));
    }
}
