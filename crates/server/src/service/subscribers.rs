//! Subscribers (listmonk's shape): the people bounces are about.

use super::companion::{ListmonkData, refuse_in_companion};
use std::collections::HashSet;

use rebound_core::{EmailAddress, SubscriberStatus};
use rebound_store::{
    NewSubscriber, Paged, Pagination, PerPage, Subscriber, SubscriberFilter, SubscriberQuery,
    SubscriberUpdate,
};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::InvalidAt;
use super::subscriber_bulk::path_id;
use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// A subscriber as listmonk's body gives it: every field optional, so the
/// same input serves create (email required) and update (only what is given).
#[derive(Debug, Default, Deserialize)]
pub struct SubscriberInput {
    pub email: Option<String>,
    pub name: Option<String>,
    pub status: Option<String>,
    pub lists: Option<Vec<i64>>,
    /// A JSON object.
    pub attribs: Option<Value>,
    #[serde(default)]
    pub preconfirm_subscriptions: bool,
}

impl SubscriberInput {
    fn email(&self) -> ServiceResult<Option<EmailAddress>> {
        self.email
            .as_deref()
            .map(|e| {
                EmailAddress::parse(e)
                    .map_err(|e| ServiceError::invalid("email", format!("invalid email: {e}")))
            })
            .transpose()
    }

    fn status(&self) -> ServiceResult<Option<SubscriberStatus>> {
        self.status.as_deref().filter(|s| !s.is_empty()).map(str::parse).transpose().invalid_at("status")
    }

    fn attribs(&self) -> ServiceResult<Option<Value>> {
        match &self.attribs {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(_) => Err(ServiceError::invalid("attribs", "attribs must be a JSON object")),
        }
    }
}

pub async fn create(state: &AppState, p: &Principal, input: SubscriberInput) -> ServiceResult<Subscriber> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    let email = input.email()?.ok_or_else(|| ServiceError::invalid("email", "email is required"))?;
    let name = input
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_string());
    let sub = state
        .store
        .create_subscriber(NewSubscriber {
            name,
            attribs: input.attribs()?.unwrap_or_else(|| json!({})),
            status: input.status()?.unwrap_or(SubscriberStatus::Enabled),
            lists: input.lists.clone().unwrap_or_default(),
            preconfirm: input.preconfirm_subscriptions,
            email,
        })
        .await?;
    Ok(sub)
}

/// With its lists and their subscription status.
pub async fn get(state: &AppState, p: &Principal, id: i64) -> ServiceResult<Subscriber> {
    p.require(perm::SUBSCRIBERS_GET)?;
    Ok(state.store.get_subscriber(id).await?)
}

/// `search` is a plain search in e-mail and name (the API's SQL `query` is
/// [`super::subscriber_query`]).
pub async fn list(state: &AppState, p: &Principal, q: &SubscriberQuery) -> ServiceResult<Paged<Subscriber>> {
    p.require(perm::SUBSCRIBERS_GET)?;
    Ok(state.store.query_subscribers(q).await?)
}

pub async fn update(
    state: &AppState,
    p: &Principal,
    id: i64,
    input: SubscriberInput,
) -> ServiceResult<Subscriber> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    let update = SubscriberUpdate {
        email: input.email()?,
        name: input.name.clone().filter(|n| !n.trim().is_empty()),
        attribs: input.attribs()?,
        status: input.status()?,
        lists: input.lists.clone(),
        preconfirm: input.preconfirm_subscriptions,
    };
    Ok(state.store.update_subscriber(id, update).await?)
}

pub async fn delete(state: &AppState, p: &Principal, id: i64) -> ServiceResult<()> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    if state.store.delete_subscribers(&[id]).await? == 0 {
        return Err(ServiceError::NotFound(format!("subscriber {id} not found")));
    }
    Ok(())
}

/// Deletes these subscribers (ids not there are skipped).
pub async fn delete_many(state: &AppState, p: &Principal, ids: &[i64]) -> ServiceResult<u64> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    if ids.is_empty() {
        return Err(ServiceError::invalid("id", "give one or more id=N parameters"));
    }
    Ok(state.store.delete_subscribers(ids).await?)
}

/// PATCH /api/subscribers/{id} (listmonk v6): only the fields the body has
/// change. As listmonk decodes the body over the stored subscriber: `attribs`
/// is merged key by key into the stored ones (`null` empties them), `lists`
/// replaces the subscriptions only when given, an empty `name` or `status`
/// keeps the stored one, and `null` is the same as leaving a field out
/// (but for `attribs`).
pub async fn patch(state: &AppState, p: &Principal, id: i64, body: &Value) -> ServiceResult<Subscriber> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Subscribers)?;
    let id = path_id(id)?;
    let Value::Object(fields) = body else {
        return Err(ServiceError::invalid("body", "the body must be a JSON object"));
    };
    let current = state.store.get_subscriber(id).await?;
    let email = text(fields, "email")?
        .map(|e| {
            EmailAddress::parse(e).map_err(|e| ServiceError::invalid("email", format!("invalid email: {e}")))
        })
        .transpose()?;
    let status =
        text(fields, "status")?.filter(|s| !s.is_empty()).map(str::parse).transpose().invalid_at("status")?;
    let attribs = match fields.get("attribs") {
        None => None,
        Some(Value::Null) => Some(json!({})),
        Some(Value::Object(given)) => {
            let mut merged = current.attribs.as_object().cloned().unwrap_or_default();
            merged.extend(given.clone());
            Some(Value::Object(merged))
        }
        Some(_) => return Err(ServiceError::invalid("attribs", "attribs must be a JSON object")),
    };
    let lists = match fields.get("lists") {
        None | Some(Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<Vec<i64>>(v.clone())
                .map_err(|_| ServiceError::invalid("lists", "lists must be an array of list ids"))?,
        ),
    };
    let preconfirm = match fields.get("preconfirm_subscriptions") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ServiceError::invalid(
                "preconfirm_subscriptions",
                "preconfirm_subscriptions must be true or false",
            ));
        }
    };
    let update = SubscriberUpdate {
        email,
        name: text(fields, "name")?.map(str::trim).filter(|n| !n.is_empty()).map(str::to_string),
        attribs,
        status,
        lists,
        preconfirm,
    };
    Ok(state.store.update_subscriber(id, update).await?)
}

/// A string field of a PATCH body; `null` is the same as leaving it out.
fn text<'a>(fields: &'a Map<String, Value>, key: &'static str) -> ServiceResult<Option<&'a str>> {
    match fields.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ServiceError::invalid(key, format!("{key} must be a string"))),
    }
}

/// The ids of the subscribers an SQL expression selects (listmonk's
/// `query` of the `/api/subscribers/query/...` endpoints) among those
/// `filter` selects; an empty expression selects all of those. The
/// expression is checked and run exactly as `GET /api/subscribers?query=`
/// runs it ([`super::subscriber_query::list`]: `subscribers:sql_query`,
/// the allow-list, read-only with a time limit).
pub async fn subscriber_ids_matching(
    state: &AppState,
    p: &Principal,
    expr: &str,
    filter: &SubscriberFilter,
) -> ServiceResult<Vec<i64>> {
    p.require(perm::SUBSCRIBERS_GET)?;
    let selected = state.store.filtered_subscriber_ids(filter).await?;
    if expr.trim().is_empty() {
        return Ok(selected);
    }
    let every = SubscriberQuery {
        search: filter.search.clone(),
        pagination: Pagination { page: 1, per_page: PerPage::All },
        ..Default::default()
    };
    let matching: HashSet<i64> = super::subscriber_query::list(state, p, Some(expr), every)
        .await?
        .results
        .iter()
        .map(|s| s.id)
        .collect();
    Ok(selected.into_iter().filter(|id| matching.contains(id)).collect())
}
