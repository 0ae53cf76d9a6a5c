//! One module per resource. Handlers check permission, validate, call the
//! store, and wrap the result in listmonk's `{"data": ...}` envelope.

pub mod bounces;
pub mod campaign_test;
pub mod campaigns;
pub mod health;
pub mod lists;
pub mod mailboxes;
pub mod metrics;
pub mod providers;
pub mod settings;
pub mod subscribers;
pub mod users;
pub mod webhooks;

use axum::Json;
use rebound_store::{Pagination, PerPage};
use serde::Serialize;
use serde_json::{Value, json};

use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;

/// listmonk's success envelope.
pub fn data<T: Serialize>(value: T) -> Json<Value> {
    Json(json!({ "data": value }))
}

/// `page` and `per_page` (a number or "all") as listmonk takes them.
pub fn pagination(q: &QueryPairs) -> ApiResult<Pagination> {
    let page =
        match q.get("page") {
            None => 1,
            Some(p) => p.parse::<u32>().ok().filter(|p| *p >= 1).ok_or_else(|| {
                ApiError::bad_request(format!("invalid page {p:?}: expected a number from 1"))
            })?,
        };
    let per_page = match q.get("per_page") {
        None => PerPage::Count(20),
        Some("all") => PerPage::All,
        Some(n) => {
            n.parse::<u32>().ok().filter(|n| (1..=10_000).contains(n)).map(PerPage::Count).ok_or_else(
                || ApiError::bad_request(format!("invalid per_page {n:?}: expected 1 to 10000 or \"all\"")),
            )?
        }
    };
    Ok(Pagination { page, per_page })
}
