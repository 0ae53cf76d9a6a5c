//! Subscribers (listmonk's shape): the people bounces are about.

use rebound_core::{EmailAddress, SubscriberStatus};
use rebound_store::{NewSubscriber, Paged, Subscriber, SubscriberQuery, SubscriberUpdate};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::InvalidAt;
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
    if state.store.delete_subscribers(&[id]).await? == 0 {
        return Err(ServiceError::NotFound(format!("subscriber {id} not found")));
    }
    Ok(())
}

/// Deletes these subscribers (ids not there are skipped).
pub async fn delete_many(state: &AppState, p: &Principal, ids: &[i64]) -> ServiceResult<u64> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    if ids.is_empty() {
        return Err(ServiceError::invalid("id", "give one or more id=N parameters"));
    }
    Ok(state.store.delete_subscribers(ids).await?)
}
