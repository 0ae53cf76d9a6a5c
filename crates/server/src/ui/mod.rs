//! The admin web UI, served under `/admin` by the same binary: server-rendered
//! askama templates, one hand-written stylesheet and a few lines of vanilla
//! JavaScript, all compiled in (no CDN, no build step), so it works offline.
//!
//! Every page reads and changes through the same operations as the API
//! (crate::service: same permission checks, same validation), so the UI can
//! never accept what the API refuses; a refused field is shown at that
//! field. Sessions, cookies and CSRF are in [`session`].

mod assets;
mod bounce_reclassify;
mod bounces;
mod campaign_report;
mod campaigns;
mod chart;
mod dashboard;
mod domains;
mod error;
mod form;
mod mailbox_oauth;
mod mailboxes;
mod page;
pub mod session;
mod settings;
mod subscribers;
mod suppressions;
mod webhooks;

use axum::Router;
use axum::http::{HeaderValue, header};
use axum::response::Response;
use axum::routing::{any, get, post};

use crate::state::AppState;

pub use error::UiError;

/// Where the UI lives (every path of [`router`] starts with it).
pub const BASE: &str = "/admin";

/// The UI's routes, every one under [`BASE`] (router.rs merges them).
pub fn router() -> Router<AppState> {
    let r = |path: &str| format!("{BASE}{path}");
    Router::new()
        .route(BASE, get(dashboard::show))
        .route(&r("/"), get(dashboard::show))
        .route(&r("/login"), get(session::login_form).post(session::login))
        .route(&r("/logout"), post(session::logout))
        .route(&r("/assets/{name}"), get(assets::serve))
        .route("/favicon.ico", get(assets::favicon))
        .route(&r("/bounces"), get(bounces::list))
        .route(&r("/bounces/export.csv"), get(bounces::export_csv))
        .route(&r("/bounces/delete"), post(bounces::delete_many))
        .route(&r("/bounces/blocklist"), post(bounces::blocklist))
        .route(&r("/bounces/unmatched"), get(bounces::unmatched))
        .route(&r("/bounces/unmatched/delete"), post(bounces::delete_unmatched))
        .route(&r("/bounces/unmatched/retry"), post(bounces::retry_unmatched))
        .route(&r("/bounces/{id}"), get(bounces::detail))
        .route(&r("/bounces/{id}/delete"), post(bounces::delete_one))
        .route(&r("/bounces/{id}/reclassify"), post(bounce_reclassify::submit))
        .route(&r("/subscribers"), get(subscribers::list))
        .route(&r("/subscribers/{id}"), get(subscribers::detail))
        .route(&r("/subscribers/{id}/bounces/delete"), post(subscribers::delete_bounces))
        .route(&r("/campaigns"), get(campaigns::list).post(campaigns::create))
        .route(&r("/campaigns/{id}"), get(campaign_report::show))
        .route(&r("/campaigns/{id}/test"), get(campaigns::test_form).post(campaigns::send_test))
        .route(&r("/suppressions"), get(suppressions::list))
        .route(&r("/suppressions/add"), post(suppressions::add))
        .route(&r("/suppressions/reactivate"), post(suppressions::reactivate))
        .route(&r("/webhooks"), get(webhooks::list).post(webhooks::create))
        .route(&r("/webhooks/{id}/resume"), post(webhooks::resume))
        .route(&r("/webhooks/{id}/pause"), post(webhooks::pause))
        .route(&r("/webhooks/{id}/delete"), post(webhooks::delete))
        .route(&r("/webhooks/deliveries/{id}/redeliver"), post(webhooks::redeliver))
        .route(&r("/mailboxes"), get(mailboxes::status))
        .route(&r("/domains"), get(domains::list))
        .route(&r("/mailboxes/{uuid}/scan"), post(mailboxes::scan_now))
        .route(&r("/settings"), get(settings::index))
        .route(&r("/settings/bounces"), get(settings::bounces_form).post(settings::save_bounces))
        .route(&r("/settings/bounces/mailboxes/{uuid}/test"), post(settings::test_mailbox))
        .route(&r("/settings/bounces/mailboxes/{uuid}/authorize"), get(mailbox_oauth::start))
        .route(&r("/oauth/callback"), get(mailbox_oauth::callback))
        .route(&r("/settings/smtp"), get(settings::smtp_form).post(settings::save_smtp))
        // Unknown UI paths get a page, not the API's JSON 404.
        .route(&r("/{*rest}"), any(not_found))
        .layer(axum::middleware::map_response(security_headers))
}

async fn not_found() -> UiError {
    UiError::NotFound("There is no such page.".into())
}

/// Headers every UI response carries: a strict Content-Security-Policy (only
/// our own scripts and styles; no inline script, no framing), no MIME
/// sniffing, no referrer leaving the site, and pages never cached.
async fn security_headers(mut res: Response) -> Response {
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
             connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}
