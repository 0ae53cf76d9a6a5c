//! Every route table, or where it lives:
//!
//! - here: /health, /metrics, the webhooks, and everything under /api
//!   ([`api`]), except
//! - /api/bounces/mailboxes...: in `handlers/mailboxes.rs` (`routes`, with
//!   its table of methods and permissions), merged into [`api`];
//! - /admin...: the UI's pages, in `ui/mod.rs` (`crate::ui::router`).
//!
//! Handlers and pages both call the operations in `crate::service`; neither
//! calls the other.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};

use axum::middleware::from_fn;

use crate::cross_site::refuse_cross_site;
use crate::error::{ApiError, json_rejections};
use crate::extract::{BODY_LIMIT, refuse_oversized_bodies};
use crate::handlers::{
    bounces, campaigns, event_webhooks, health, lists, providers, settings, subscriber_bulk, subscribers,
    suppressions, users, webhooks,
};
use crate::state::AppState;
use crate::webhook_guard::{Guard, guard};

pub fn router(state: AppState) -> Router {
    // Per-IP concurrency limit and rejection metrics (webhook_guard.rs). The
    // generic webhook is authenticated like the API and guarded like it
    // against cross-site requests; providers sign theirs.
    let webhooks = Router::new()
        .route("/webhooks/bounce", post(webhooks::post_bounce).layer(from_fn(refuse_cross_site)))
        .route("/webhooks/service/{provider}", post(providers::receive).get(providers::receive))
        .route("/webhooks/service/custom/{name}", post(providers::receive_mapped))
        .route_layer(axum::middleware::from_fn_with_state(
            Guard { limit: state.webhook_limit.clone(), metrics: state.metrics.clone() },
            guard,
        ))
        .route_layer(from_fn(json_rejections));
    Router::new()
        .route("/health", get(health::health))
        .route("/metrics", get(crate::handlers::metrics::serve))
        .merge(webhooks)
        .merge(api())
        .merge(crate::ui::router())
        .fallback(|| async { ApiError::NotFound("no such endpoint".into()) })
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn(refuse_oversized_bodies))
        .with_state(state)
}

/// Everything under /api (cross_site.rs: no request a browser sent for another site).
fn api() -> Router<AppState> {
    Router::new()
        .route("/api/openapi.json", get(crate::openapi::serve))
        .route("/api/health", get(health::api_health))
        .route("/api/bounces", get(bounces::list).delete(bounces::delete_many))
        .route("/api/bounces/export.csv", get(bounces::export_csv))
        .route("/api/bounces/blocklist", put(bounces::blocklist))
        .route("/api/bounces/unmatched", get(bounces::list_unmatched).delete(bounces::delete_unmatched))
        .route("/api/bounces/unmatched/retry", post(bounces::retry_unmatched))
        .route("/api/bounces/{id}", get(bounces::get).delete(bounces::delete_one))
        .route("/api/bounces/{id}/reclassify", post(crate::handlers::bounce_reclassify::reclassify))
        // /api/bounces/mailboxes...: status, scan now, kept messages (listed in the module).
        .merge(crate::handlers::mailboxes::routes())
        .route("/api/bounces/providers", get(providers::status))
        .route("/api/deliverability/domains", get(crate::handlers::deliverability::domains))
        .route(
            "/api/subscribers",
            get(subscribers::list).post(subscribers::create).delete(subscribers::delete_many),
        )
        .route(
            "/api/subscribers/{id}",
            get(subscribers::get)
                .put(subscribers::update)
                .patch(subscribers::patch)
                .delete(subscribers::delete),
        )
        // listmonk's bulk operations; static segments win over `{id}`.
        .route("/api/subscribers/blocklist", put(subscriber_bulk::blocklist))
        .route("/api/subscribers/{id}/blocklist", put(subscriber_bulk::blocklist_one))
        .route("/api/subscribers/lists", put(subscriber_bulk::change_lists))
        .route("/api/subscribers/lists/{id}", put(subscriber_bulk::change_lists_of))
        .route("/api/subscribers/query/blocklist", put(subscriber_bulk::blocklist_by_query))
        .route("/api/subscribers/query/delete", post(subscriber_bulk::delete_by_query))
        .route("/api/subscribers/query/lists", put(subscriber_bulk::change_lists_by_query))
        .route(
            "/api/subscribers/{id}/bounces",
            get(bounces::of_subscriber).delete(bounces::delete_of_subscriber),
        )
        .route("/api/suppressions", get(suppressions::list).post(suppressions::add))
        .route("/api/suppressions/export.csv", get(suppressions::export_csv))
        .route("/api/suppressions/{email}", get(suppressions::get).delete(suppressions::reactivate))
        .route("/api/webhooks/endpoints", get(event_webhooks::list).post(event_webhooks::create))
        .route(
            "/api/webhooks/endpoints/{id}",
            get(event_webhooks::get).put(event_webhooks::update).delete(event_webhooks::delete),
        )
        .route("/api/webhooks/deliveries", get(event_webhooks::deliveries))
        .route("/api/webhooks/deliveries/{id}", get(event_webhooks::delivery))
        .route("/api/webhooks/deliveries/{id}/redeliver", post(event_webhooks::redeliver))
        .route("/api/lists", get(lists::list).post(lists::create))
        .route("/api/lists/{id}", get(lists::get).put(lists::update).delete(lists::delete))
        .route("/api/campaigns", get(campaigns::list).post(campaigns::create))
        .route("/api/campaigns/analytics/{type}", get(campaigns::analytics))
        .route("/api/campaigns/{id}", get(campaigns::get).put(campaigns::update).delete(campaigns::delete))
        .route("/api/campaigns/{id}/test", post(crate::handlers::campaign_test::send))
        .route("/api/settings", get(settings::get).put(settings::put))
        .route("/api/settings/{key}", axum::routing::put(settings::put_key))
        .route("/api/users", get(users::list).post(users::create))
        .route("/api/users/{id}", axum::routing::delete(users::delete))
        .route_layer(from_fn(refuse_cross_site))
        .route_layer(from_fn(json_rejections))
}
