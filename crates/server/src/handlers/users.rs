//! Users and API users. An API user's token is generated here and shown once.
//!
//! `users:manage` is not a way up: a caller grants only permissions it holds
//! itself, and deletes only users whose permissions it holds. The store
//! refuses to delete the last enabled user holding `*` (409).

use axum::extract::{Path, State};
use axum::response::IntoResponse;
use rebound_store::UserType;
use serde::Deserialize;
use serde_json::json;

use super::data;
use crate::auth::{self, Principal, perm};
use crate::error::{ApiError, ApiResult};
use crate::extract::JsonBody;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct UserBody {
    username: Option<String>,
    #[serde(rename = "type")]
    user_type: Option<UserType>,
    /// Required for users; API users get a generated token.
    password: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

pub async fn list(State(state): State<AppState>, p: Principal) -> ApiResult<impl IntoResponse> {
    p.require(perm::USERS_MANAGE)?;
    Ok(data(state.store.list_users().await?))
}

pub async fn create(
    State(state): State<AppState>,
    p: Principal,
    JsonBody(body): JsonBody<UserBody>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::USERS_MANAGE)?;
    let username = body
        .username
        .filter(|u| !u.trim().is_empty() && !u.contains(':') && !u.chars().any(char::is_control))
        .ok_or_else(|| {
            ApiError::bad_request("username is required and may not contain ':' or control characters")
        })?;
    if let Some(unknown) = body.permissions.iter().find(|p| !perm::KNOWN.contains(&p.as_str())) {
        return Err(ApiError::bad_request(format!("unknown permission {unknown:?}")));
    }
    if let Some(not_held) = body.permissions.iter().find(|perm| !p.can(perm)) {
        return Err(ApiError::Forbidden(format!(
            "you cannot grant {not_held:?}: you do not hold it yourself"
        )));
    }
    let user_type = body.user_type.unwrap_or(UserType::User);
    let secret = match (user_type, body.password) {
        (UserType::Api, _) => auth::random_token(),
        (UserType::User, Some(pw)) if pw.len() >= 8 => pw,
        (UserType::User, _) => {
            return Err(ApiError::bad_request("password of at least 8 characters is required"));
        }
    };
    let user =
        auth::create_user(state.store.as_ref(), &username, user_type, &secret, body.permissions).await?;
    state.auth.invalidate();
    let mut out = serde_json::to_value(&user).map_err(ApiError::internal)?;
    if user_type == UserType::Api {
        out["token"] = json!(secret);
    }
    Ok(data(out))
}

pub async fn delete(
    State(state): State<AppState>,
    p: Principal,
    Path(id): Path<i64>,
) -> ApiResult<impl IntoResponse> {
    p.require(perm::USERS_MANAGE)?;
    if id == p.user_id {
        return Err(ApiError::bad_request("you cannot delete yourself"));
    }
    let users = state.store.list_users().await?;
    let target = users
        .iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("user {id} not found")))?;
    if let Some(not_held) = target.permissions.iter().find(|perm| !p.can(perm)) {
        return Err(ApiError::Forbidden(format!(
            "you cannot delete {:?}: it holds {not_held:?}, which you do not",
            target.username
        )));
    }
    state.store.delete_user(id).await?;
    state.auth.invalidate();
    Ok(data(true))
}
