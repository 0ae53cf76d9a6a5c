use axum::extract::{Path, State};
use axum::response::IntoResponse;
use rebound_store::NewCampaign;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{data, pagination};
use crate::auth::{Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::{JsonBody, QueryPairs};
use crate::state::AppState;

const CONTENT_TYPES: [&str; 5] = ["richtext", "html", "plain", "markdown", "visual"];

#[derive(Debug, Deserialize)]
pub struct CampaignBody {
    name: Option<String>,
    subject: Option<String>,
    #[serde(default)]
    from_email: String,
    #[serde(default)]
    body: String,
    content_type: Option<String>,
    #[serde(default)]
    headers: Option<Value>,
    #[serde(default)]
    lists: Vec<i64>,
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(b): JsonBody<CampaignBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::CAMPAIGNS_MANAGE)?;
    let name =
        b.name.filter(|n| !n.trim().is_empty()).ok_or_else(|| ApiError::bad_request("name is required"))?;
    let subject = b.subject.filter(|s| !s.trim().is_empty()).unwrap_or_else(|| name.clone());
    let content_type = b.content_type.unwrap_or_else(|| "richtext".into());
    if !CONTENT_TYPES.contains(&content_type.as_str()) {
        return Err(ApiError::bad_request(format!(
            "invalid content_type {content_type:?}: expected one of {}",
            CONTENT_TYPES.join(", ")
        )));
    }
    let headers = match b.headers {
        None | Some(Value::Null) => json!([]),
        Some(h @ Value::Array(_)) => h,
        Some(_) => {
            return Err(ApiError::bad_request(
                "headers must be a JSON array of {\"Name\": \"value\"} objects",
            ));
        }
    };
    let campaign = state
        .store
        .create_campaign(NewCampaign {
            name,
            subject,
            from_email: b.from_email,
            body: b.body,
            content_type,
            headers,
            lists: b.lists,
        })
        .await?;
    Ok(data(campaign))
}

pub async fn get(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::CAMPAIGNS_GET)?;
    Ok(data(state.store.get_campaign(id).await?))
}

pub async fn list(
    State(state): State<AppState>,
    p: Principal,
    q: QueryPairs,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::CAMPAIGNS_GET)?;
    let page = state.store.query_campaigns(pagination(&q)?).await?;
    Ok(data(json!({
        "results": page.results, "total": page.total, "per_page": page.per_page, "page": page.page,
    })))
}
