//! Users and API users. An API user's token is generated here and shown once.
//!
//! `users:manage` is not a way up: a caller grants only permissions it holds
//! itself, and deletes only users whose permissions it holds. The store
//! refuses to delete the last enabled user holding `*` (a conflict).

use rebound_store::{User, UserType};
use serde::{Deserialize, Serialize};

use super::{ServiceError, ServiceResult};
use crate::auth::{self, Principal, perm};
use crate::state::AppState;

#[derive(Debug, Default, Deserialize)]
pub struct UserInput {
    pub username: Option<String>,
    /// None: a user (who logs in with a password).
    #[serde(rename = "type")]
    pub user_type: Option<UserType>,
    /// Required for users; API users get a generated token.
    pub password: Option<String>,
    #[serde(default)]
    pub permissions: Vec<String>,
}

/// A user just created, and for an API user its `token` (never shown again).
#[derive(Serialize)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

pub async fn list(state: &AppState, p: &Principal) -> ServiceResult<Vec<User>> {
    p.require(perm::USERS_MANAGE)?;
    Ok(state.store.list_users().await?)
}

pub async fn create(state: &AppState, p: &Principal, input: UserInput) -> ServiceResult<CreatedUser> {
    p.require(perm::USERS_MANAGE)?;
    let username = input
        .username
        .filter(|u| !u.trim().is_empty() && !u.contains(':') && !u.chars().any(char::is_control))
        .ok_or_else(|| {
            ServiceError::invalid(
                "username",
                "username is required and may not contain ':' or control characters",
            )
        })?;
    if let Some(unknown) = input.permissions.iter().find(|p| !perm::KNOWN.contains(&p.as_str())) {
        return Err(ServiceError::invalid("permissions", format!("unknown permission {unknown:?}")));
    }
    if let Some(not_held) = input.permissions.iter().find(|perm| !p.can(perm)) {
        return Err(ServiceError::Forbidden(format!(
            "you cannot grant {not_held:?}: you do not hold it yourself"
        )));
    }
    let user_type = input.user_type.unwrap_or(UserType::User);
    let secret = match (user_type, input.password) {
        (UserType::Api, _) => auth::random_token(),
        (UserType::User, Some(pw)) if pw.len() >= 8 => pw,
        (UserType::User, _) => {
            return Err(ServiceError::invalid("password", "password of at least 8 characters is required"));
        }
    };
    let user =
        auth::create_user(state.store.as_ref(), &username, user_type, &secret, input.permissions).await?;
    state.auth.invalidate();
    Ok(CreatedUser { user, token: (user_type == UserType::Api).then_some(secret) })
}

pub async fn delete(state: &AppState, p: &Principal, id: i64) -> ServiceResult<()> {
    p.require(perm::USERS_MANAGE)?;
    if id == p.user_id {
        return Err(ServiceError::invalid("id", "you cannot delete yourself"));
    }
    let users = state.store.list_users().await?;
    let target = users
        .iter()
        .find(|u| u.id == id)
        .ok_or_else(|| ServiceError::NotFound(format!("user {id} not found")))?;
    if let Some(not_held) = target.permissions.iter().find(|perm| !p.can(perm)) {
        return Err(ServiceError::Forbidden(format!(
            "you cannot delete {:?}: it holds {not_held:?}, which you do not",
            target.username
        )));
    }
    state.store.delete_user(id).await?;
    state.auth.invalidate();
    Ok(())
}
