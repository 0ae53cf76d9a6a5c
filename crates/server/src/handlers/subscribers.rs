use axum::extract::{Path, State};
use axum::response::IntoResponse;
use rebound_core::{EmailAddress, SubscriberStatus};
use rebound_store::{NewSubscriber, SubscriberQuery, SubscriberUpdate};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{data, pagination};
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs};
use crate::state::AppState;

/// listmonk's subscriber body.
#[derive(Debug, Deserialize)]
pub struct SubscriberBody {
    email: Option<String>,
    name: Option<String>,
    status: Option<String>,
    lists: Option<Vec<i64>>,
    attribs: Option<Value>,
    #[serde(default)]
    preconfirm_subscriptions: bool,
}

impl SubscriberBody {
    fn email(&self) -> ApiResult<Option<EmailAddress>> {
        self.email
            .as_deref()
            .map(|e| EmailAddress::parse(e).map_err(|e| ApiError::bad_request(format!("invalid email: {e}"))))
            .transpose()
    }

    fn status(&self) -> ApiResult<Option<SubscriberStatus>> {
        Ok(self.status.as_deref().filter(|s| !s.is_empty()).map(str::parse).transpose()?)
    }

    fn attribs(&self) -> ApiResult<Option<Value>> {
        match &self.attribs {
            None | Some(Value::Null) => Ok(None),
            Some(v @ Value::Object(_)) => Ok(Some(v.clone())),
            Some(_) => Err(ApiError::bad_request("attribs must be a JSON object")),
        }
    }
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<SubscriberBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    let email = body.email()?.ok_or_else(|| ApiError::bad_request("email is required"))?;
    let name = body
        .name
        .clone()
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| email.as_str().split('@').next().unwrap_or_default().to_string());
    let sub = state
        .store
        .create_subscriber(NewSubscriber {
            name,
            attribs: body.attribs()?.unwrap_or_else(|| json!({})),
            status: body.status()?.unwrap_or(SubscriberStatus::Enabled),
            lists: body.lists.clone().unwrap_or_default(),
            preconfirm: body.preconfirm_subscriptions,
            email,
        })
        .await?;
    Ok(data(sub))
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SUBSCRIBERS_GET)?;
    Ok(data(state.store.get_subscriber(id).await?))
}

/// GET /api/subscribers?query=text&list_id=N&status=S&page&per_page. Unlike
/// listmonk, `query` is a plain search in e-mail and name, not an SQL expression.
pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SUBSCRIBERS_GET)?;
    let query = SubscriberQuery {
        search: q.get("query").or(q.get("search")).map(str::to_string),
        list_id: q.int("list_id")?,
        status: q.get("status").map(str::parse).transpose()?,
        pagination: pagination(&q)?,
    };
    let page = state.store.query_subscribers(&query).await?;
    Ok(data(json!({
        "results": page.results, "query": q.get("query").unwrap_or(""),
        "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}

pub async fn update(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
    JsonBody(body): JsonBody<SubscriberBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    let update = SubscriberUpdate {
        email: body.email()?,
        name: body.name.clone().filter(|n| !n.trim().is_empty()),
        attribs: body.attribs()?,
        status: body.status()?,
        lists: body.lists.clone(),
        preconfirm: body.preconfirm_subscriptions,
    };
    Ok(data(state.store.update_subscriber(id, update).await?))
}

pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    if state.store.delete_subscribers(&[id]).await? == 0 {
        return Err(ApiError::NotFound(format!("subscriber {id} not found")));
    }
    Ok(data(true))
}

/// DELETE /api/subscribers?id=1&id=2
pub async fn delete_many(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::SUBSCRIBERS_MANAGE)?;
    let ids = q.ids("id")?;
    if ids.is_empty() {
        return Err(ApiError::bad_request("give one or more id=N parameters"));
    }
    state.store.delete_subscribers(&ids).await?;
    Ok(data(true))
}
