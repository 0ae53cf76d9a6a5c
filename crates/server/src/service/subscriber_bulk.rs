//! listmonk's bulk subscriber operations: blocklisting by ids, changing
//! subscriptions by ids, and blocklisting, deleting or changing the
//! subscriptions of the subscribers a query selects (`/api/subscribers/query/...`).
//! Checks and messages follow listmonk's cmd/subscribers.go, in its order.

use super::companion::{ListmonkData, refuse_in_companion};
use rebound_core::SubscriptionStatus;
use rebound_store::{SubscriberFilter, SubscriptionChange};
use serde::{Deserialize, Deserializer};

use super::error::InvalidAt;
use super::subscribers::subscriber_ids_matching;
use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// listmonk's `subQueryReq`, the body every bulk endpoint reads. As with
/// Go's decoder, a field left out or sent as `null` is its zero value.
#[derive(Debug, Default, Deserialize)]
pub struct BulkRequest {
    /// An SQL expression selecting subscribers (`/query/...` only).
    #[serde(default, deserialize_with = "null_is_default")]
    pub query: String,
    /// Plain text matched against e-mail and name (`/query/...` only).
    #[serde(default, deserialize_with = "null_is_default")]
    pub search: String,
    /// Limits a query to subscribers on these lists.
    #[serde(default, deserialize_with = "null_is_default")]
    pub list_ids: Vec<i64>,
    /// With `list_ids`: only subscriptions in this status.
    #[serde(default, deserialize_with = "null_is_default")]
    pub subscription_status: String,
    /// `/query/blocklist` and `/query/delete`: every subscriber (on `list_ids`), ignoring `query` and `search`.
    #[serde(default, deserialize_with = "null_is_default")]
    pub all: bool,
    /// The subscribers (by-ids endpoints).
    #[serde(default, deserialize_with = "null_is_default")]
    pub ids: Vec<i64>,
    /// The lists whose subscriptions change.
    #[serde(default, deserialize_with = "null_is_default")]
    pub target_list_ids: Vec<i64>,
    /// `add`, `remove` or `unsubscribe`.
    #[serde(default, deserialize_with = "null_is_default")]
    pub action: String,
    /// With `add`: the subscriptions' status (unconfirmed when empty).
    #[serde(default, deserialize_with = "null_is_default")]
    pub status: String,
}

fn null_is_default<'de, D: Deserializer<'de>, T: Default + Deserialize<'de>>(d: D) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A path id as listmonk's `hasID` takes it: 1 or more.
pub fn path_id(id: i64) -> ServiceResult<i64> {
    if id < 1 {
        return Err(ServiceError::invalid("id", "invalid ID"));
    }
    Ok(id)
}

/// PUT /api/subscribers/{id}/blocklist. A subscriber not there is no
/// error, as in listmonk.
pub async fn blocklist_one(state: &AppState, p: &Principal, id: i64) -> ServiceResult<()> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    state.store.blocklist_subscribers(&[path_id(id)?]).await?;
    Ok(())
}

/// PUT /api/subscribers/blocklist `{"ids": [...]}`; ids not there are skipped.
pub async fn blocklist(state: &AppState, p: &Principal, req: &BulkRequest) -> ServiceResult<()> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    if req.ids.is_empty() {
        return Err(ServiceError::invalid("ids", "No IDs given"));
    }
    state.store.blocklist_subscribers(&req.ids).await?;
    Ok(())
}

/// PUT /api/subscribers/lists (and /lists/{id}, whose id replaces the
/// body's `ids`, which listmonk still requires).
pub async fn change_lists(
    state: &AppState,
    p: &Principal,
    id: Option<i64>,
    req: &BulkRequest,
) -> ServiceResult<()> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    let id = id.map(path_id).transpose()?;
    if req.ids.is_empty() {
        return Err(ServiceError::invalid("ids", "No IDs given"));
    }
    let subscribers = id.map_or_else(|| req.ids.clone(), |id| vec![id]);
    if req.target_list_ids.is_empty() {
        return Err(ServiceError::invalid("target_list_ids", "No lists given"));
    }
    let change = change(req, true)?;
    state.store.change_subscriptions(&subscribers, &req.target_list_ids, change).await?;
    Ok(())
}

/// PUT /api/subscribers/query/blocklist
pub async fn blocklist_by_query(state: &AppState, p: &Principal, req: &BulkRequest) -> ServiceResult<()> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    let ids = selected(state, p, req, Selecting::Narrowed).await?;
    if !ids.is_empty() {
        state.store.blocklist_subscribers(&ids).await?;
    }
    Ok(())
}

/// POST /api/subscribers/query/delete
pub async fn delete_by_query(state: &AppState, p: &Principal, req: &BulkRequest) -> ServiceResult<()> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    let ids = selected(state, p, req, Selecting::Narrowed).await?;
    if !ids.is_empty() {
        state.store.delete_subscribers(&ids).await?;
    }
    Ok(())
}

/// PUT /api/subscribers/query/lists. Without `query` or `search` it
/// applies to every subscriber (on `list_ids`), as in listmonk.
pub async fn change_lists_by_query(state: &AppState, p: &Principal, req: &BulkRequest) -> ServiceResult<()> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    if req.target_list_ids.is_empty() {
        return Err(ServiceError::invalid("target_list_ids", "No lists given"));
    }
    let change = change(req, false)?;
    let ids = selected(state, p, req, Selecting::Everyone).await?;
    if !ids.is_empty() {
        state.store.change_subscriptions(&ids, &req.target_list_ids, change).await?;
    }
    Ok(())
}

/// Whether a query endpoint with neither `query` nor `search` means everyone.
enum Selecting {
    /// Refused unless `all` is true (blocklist, delete: listmonk guards these).
    Narrowed,
    /// Everyone (on `list_ids`).
    Everyone,
}

async fn selected(
    state: &AppState,
    p: &Principal,
    req: &BulkRequest,
    selecting: Selecting,
) -> ServiceResult<Vec<i64>> {
    let (mut query, mut search) = (req.query.trim(), req.search.trim());
    if let Selecting::Narrowed = selecting {
        if req.all {
            (query, search) = ("", "");
        } else if query.is_empty() && search.is_empty() {
            return Err(ServiceError::invalid(
                "query",
                "Invalid fields: query (give \"query\", \"search\" or \"all\": true)",
            ));
        }
    }
    let filter = SubscriberFilter {
        list_ids: req.list_ids.clone(),
        subscription_status: subscription_status(&req.subscription_status, "subscription_status")?,
        search: Some(search.to_string()).filter(|s| !s.is_empty()),
    };
    subscriber_ids_matching(state, p, query, &filter).await
}

/// `action` and `status` as a change; `update_existing` is listmonk's
/// difference between adding by ids (existing subscriptions take the
/// status) and by query (they keep theirs).
fn change(req: &BulkRequest, update_existing: bool) -> ServiceResult<SubscriptionChange> {
    Ok(match req.action.as_str() {
        "add" => {
            SubscriptionChange::Add { status: subscription_status(&req.status, "status")?, update_existing }
        }
        "remove" => SubscriptionChange::Remove,
        "unsubscribe" => SubscriptionChange::Unsubscribe,
        _ => {
            return Err(ServiceError::invalid(
                "action",
                format!("Invalid action {:?}: expected add, remove or unsubscribe", req.action),
            ));
        }
    })
}

fn subscription_status(s: &str, field: &'static str) -> ServiceResult<Option<SubscriptionStatus>> {
    Some(s).filter(|s| !s.is_empty()).map(str::parse).transpose().invalid_at(field)
}
