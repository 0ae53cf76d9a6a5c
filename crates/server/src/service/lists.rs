//! Mailing lists (listmonk's), which subscribers and campaigns refer to.

use rebound_store::{List, NewList, Paged, Pagination};
use serde::Deserialize;

use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// A new list as the API's body gives it.
#[derive(Debug, Default, Deserialize)]
pub struct ListInput {
    pub name: Option<String>,
    /// public, private (the default) or temporary.
    #[serde(rename = "type")]
    pub list_type: Option<String>,
    /// single (the default) or double.
    pub optin: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub description: String,
}

pub async fn create(state: &AppState, p: &Principal, input: ListInput) -> ServiceResult<List> {
    p.require(perm::LISTS_MANAGE)?;
    let name = input
        .name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ServiceError::invalid("name", "name is required"))?;
    let list_type = input.list_type.unwrap_or_else(|| "private".into());
    if !["public", "private", "temporary"].contains(&list_type.as_str()) {
        return Err(ServiceError::invalid(
            "type",
            format!("invalid type {list_type:?}: expected public, private or temporary"),
        ));
    }
    let optin = input.optin.unwrap_or_else(|| "single".into());
    if !["single", "double"].contains(&optin.as_str()) {
        return Err(ServiceError::invalid(
            "optin",
            format!("invalid optin {optin:?}: expected single or double"),
        ));
    }
    let list = state
        .store
        .create_list(NewList { name, list_type, optin, tags: input.tags, description: input.description })
        .await?;
    Ok(list)
}

pub async fn get(state: &AppState, p: &Principal, id: i64) -> ServiceResult<List> {
    p.require(perm::LISTS_GET)?;
    Ok(state.store.get_list(id).await?)
}

pub async fn list(state: &AppState, p: &Principal, page: Pagination) -> ServiceResult<Paged<List>> {
    p.require(perm::LISTS_GET)?;
    Ok(state.store.query_lists(page).await?)
}

pub async fn delete(state: &AppState, p: &Principal, id: i64) -> ServiceResult<()> {
    p.require(perm::LISTS_MANAGE)?;
    Ok(state.store.delete_list(id).await?)
}
