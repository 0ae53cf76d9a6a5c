//! The request handlers of Settings -> Bounces and Settings -> SMTP, and "test
//! connection" of a saved mailbox.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use serde_json::{Map, Value};

use super::convert::{capitalize, convert, field_for};
use super::schema::Tab;
use super::view::{Render, Source, has, render};
use crate::auth::perm;
use crate::extract::QueryPairs;
use crate::service;
use crate::state::AppState;
use crate::ui::form::redirect_done;
use crate::ui::page::count;
use crate::ui::session::{Ui, UiForm, base_url};
use crate::ui::{BASE, UiError};

fn list_len(map: &Map<String, Value>, key: &str) -> usize {
    map.get(key).and_then(|v| v.as_array()).map_or(0, |a| a.len())
}

/// How many list entries a posted form has (each carries a hidden uuid, even new ones).
fn posted_len(form: &QueryPairs, key: &str) -> usize {
    (0..).take_while(|i| has(form, &format!("{key}[{i}].uuid"))).count().saturating_sub(1)
}

fn masked_map(state: &AppState) -> Map<String, Value> {
    match serde_json::to_value(state.settings.get().masked()) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

async fn show(
    state: AppState,
    ui: Ui,
    q: QueryPairs,
    headers: HeaderMap,
    tab: Tab,
) -> Result<Response, UiError> {
    ui.principal.require(perm::SETTINGS_GET)?;
    let map = masked_map(&state);
    let sections = tab.schema(list_len(&map, tab.list_key()), &base_url(&headers));
    let r = Render {
        tab,
        sections: &sections,
        source: Source::Stored(&map),
        errors: BTreeMap::new(),
        form_error: None,
        tested: None,
    };
    render(&ui, Some(&q), r)
}

async fn save(state: AppState, f: UiForm, headers: HeaderMap, tab: Tab) -> Result<Response, UiError> {
    f.ui.principal.require(perm::SETTINGS_MANAGE)?;
    let current = masked_map(&state);
    let sections = tab.schema(posted_len(&f.form, tab.list_key()), &base_url(&headers));
    let c = convert(&sections, &f.form, &current);
    let refused =
        |errors: BTreeMap<String, String>, form_error: Option<String>| -> Result<Response, UiError> {
            let r = Render {
                tab,
                sections: &sections,
                source: Source::Posted(&f.form),
                errors,
                form_error,
                tested: None,
            };
            let mut res = render(&f.ui, None, r)?;
            *res.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            Ok(res)
        };
    if !c.errors.is_empty() {
        return refused(c.errors, None);
    }
    let e = match service::settings::update(&state, &f.ui.principal, &c.update).await {
        Ok(_) => {
            tracing::info!(by = ?f.ui.principal.username, tab = tab.name(), "settings updated in the UI");
            return Ok(redirect_done(&format!("{BASE}/settings/{}", tab.name()), "saved", &[]));
        }
        Err(e) => e,
    };
    // The settings' messages name the setting by its path: shown at that field.
    let Some((_, msg)) = e.invalid_field() else { return Err(e.into()) };
    match field_for(msg, &sections, &c.positions) {
        Some((name, said)) => refused(BTreeMap::from([(name, said)]), None),
        None => refused(BTreeMap::new(), Some(capitalize(msg))),
    }
}

/// GET /admin/settings
pub async fn index() -> impl IntoResponse {
    Redirect::to(&format!("{BASE}/settings/bounces"))
}

/// GET /admin/settings/bounces
pub async fn bounces_form(
    State(state): State<AppState>,
    ui: Ui,
    q: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    show(state, ui, q, headers, Tab::Bounces).await
}

/// POST /admin/settings/bounces
pub async fn save_bounces(
    State(state): State<AppState>,
    headers: HeaderMap,
    f: UiForm,
) -> Result<Response, UiError> {
    save(state, f, headers, Tab::Bounces).await
}

/// POST /admin/settings/bounces/mailboxes/{uuid}/test: connects to the
/// saved mailbox and logs in (nothing fetched or deleted), then shows the
/// settings again with the result next to that mailbox. Unsaved edits in the
/// form are not used: the stored password never leaves the server.
pub async fn test_mailbox(
    State(state): State<AppState>,
    headers: HeaderMap,
    axum::extract::Path(uuid): axum::extract::Path<String>,
    f: UiForm,
) -> Result<Response, UiError> {
    let (ok, msg) = match service::mailboxes::test_connection(&state, &f.ui.principal, &uuid).await? {
        Ok(c) => (
            true,
            format!(
                "Connected to {} and logged in: {} waiting. Nothing was fetched or deleted.",
                c.label,
                count(c.waiting as i64, "message", "messages")
            ),
        ),
        Err(e) => (false, e.to_string()),
    };
    let map = masked_map(&state);
    let sections = Tab::Bounces.schema(list_len(&map, Tab::Bounces.list_key()), &base_url(&headers));
    let r = Render {
        tab: Tab::Bounces,
        sections: &sections,
        source: Source::Stored(&map),
        errors: BTreeMap::new(),
        form_error: None,
        tested: Some((uuid, ok, msg)),
    };
    render(&f.ui, None, r)
}

/// GET /admin/settings/smtp
pub async fn smtp_form(
    State(state): State<AppState>,
    ui: Ui,
    q: QueryPairs,
    headers: HeaderMap,
) -> Result<Response, UiError> {
    show(state, ui, q, headers, Tab::Smtp).await
}

/// POST /admin/settings/smtp
pub async fn save_smtp(
    State(state): State<AppState>,
    headers: HeaderMap,
    f: UiForm,
) -> Result<Response, UiError> {
    save(state, f, headers, Tab::Smtp).await
}
