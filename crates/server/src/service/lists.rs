//! Mailing lists (listmonk's), which subscribers and campaigns refer to.

use super::companion::{ListmonkData, refuse_in_companion};
use rebound_store::{List, ListUpdate, NewList, Paged, Pagination};
use serde::Deserialize;

use super::campaign_input::{check_tags, no_nul};
use super::{ServiceError, ServiceResult};
use crate::auth::{Principal, perm};
use crate::state::AppState;

/// A list as the API's create and update bodies give it.
#[derive(Debug, Default, Deserialize)]
pub struct ListInput {
    pub name: Option<String>,
    /// public, private (the default) or temporary.
    #[serde(rename = "type")]
    pub list_type: Option<String>,
    /// single (the default) or double.
    pub optin: Option<String>,
    /// active (the default) or archived.
    pub status: Option<String>,
    pub tags: Option<Vec<String>>,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub description: String,
}

/// A JSON null reads as "" (Go's reading of null into a string keeps it empty).
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

const LIST_TYPES: [&str; 3] = ["public", "private", "temporary"];
const OPTINS: [&str; 2] = ["single", "double"];
const STATUSES: [&str; 2] = ["active", "archived"];
/// listmonk's longest name (its `stdInputMaxLen`).
const NAME_MAX: usize = 2000;

pub async fn create(state: &AppState, p: &Principal, input: ListInput) -> ServiceResult<List> {
    p.require(perm::LISTS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Lists)?;
    let name = name(input.name)?;
    let list_type = one_of("type", input.list_type, &LIST_TYPES)?.unwrap_or_else(|| "private".into());
    let optin = one_of("optin", input.optin, &OPTINS)?.unwrap_or_else(|| "single".into());
    let status = one_of("status", input.status, &STATUSES)?.unwrap_or_else(|| "active".into());
    let tags = tags(input.tags)?;
    no_nul("description", &input.description)?;
    let new = NewList { name, list_type, optin, status, tags, description: input.description };
    Ok(state.store.create_list(new).await?)
}

/// listmonk's update-list: the name is required; an empty or missing type,
/// optin, status or description keeps the stored one; the tags are
/// replaced (none sent: none kept).
pub async fn update(state: &AppState, p: &Principal, id: i64, input: ListInput) -> ServiceResult<List> {
    p.require(perm::LISTS_MANAGE)?;
    refuse_in_companion(state, ListmonkData::Lists)?;
    let update = ListUpdate {
        name: name(input.name)?,
        list_type: one_of("type", input.list_type, &LIST_TYPES)?,
        optin: one_of("optin", input.optin, &OPTINS)?,
        status: one_of("status", input.status, &STATUSES)?,
        tags: tags(input.tags)?,
        description: Some(input.description).filter(|d| !d.is_empty()),
    };
    no_nul("description", update.description.as_deref().unwrap_or(""))?;
    Ok(state.store.update_list(id, update).await?)
}

fn name(given: Option<String>) -> ServiceResult<String> {
    let name = given
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| ServiceError::invalid("name", "name is required"))?;
    no_nul("name", &name)?;
    if name.chars().count() > NAME_MAX {
        return Err(ServiceError::invalid("name", format!("name is longer than {NAME_MAX} characters")));
    }
    Ok(name)
}

/// `given` when it is one of `allowed`; None when missing or empty.
fn one_of(field: &'static str, given: Option<String>, allowed: &[&str]) -> ServiceResult<Option<String>> {
    match given.filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) if allowed.contains(&v.as_str()) => Ok(Some(v)),
        Some(v) => Err(ServiceError::invalid(
            field,
            format!("invalid {field} {v:?}: expected {}", allowed.join(" or ")),
        )),
    }
}

fn tags(given: Option<Vec<String>>) -> ServiceResult<Vec<String>> {
    let tags: Vec<String> = given
        .unwrap_or_default()
        .into_iter()
        .map(|t| t.trim().to_string())
        .filter(|t| !t.is_empty())
        .collect();
    check_tags(&tags)?;
    Ok(tags)
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
    refuse_in_companion(state, ListmonkData::Lists)?;
    Ok(state.store.delete_list(id).await?)
}
