//! Helpers for the UI's POST handlers: confirmation of destructive actions
//! (a native dialog when JavaScript runs, else a confirmation page), safe
//! "back to" paths, and selections from checkboxes.

use askama::Template;
use axum::response::{Redirect, Response};
use rebound_store::Selection;

use super::page::{Chrome, html};
use super::session::UiForm;
use super::{BASE, UiError};

#[derive(Template)]
#[template(path = "confirm.html")]
struct ConfirmPage {
    chrome: Chrome,
    message: String,
    action: String,
    button: String,
    fields: Vec<(String, String)>,
    cancel: String,
}

/// `None` when the form says `confirmed=yes` (app.js sets it after the
/// browser's confirm dialog); otherwise the page that asks, which posts the
/// same fields again with `confirmed=yes`.
pub fn ask_first(
    f: &UiForm,
    active: &'static str,
    action: &str,
    message: String,
    button: &str,
) -> Option<Result<Response, UiError>> {
    if f.form.get("confirmed") == Some("yes") {
        return None;
    }
    let fields = f
        .form
        .0
        .iter()
        .filter(|(k, _)| k != "csrf" && k != "confirmed")
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let page = ConfirmPage {
        chrome: f.ui.chrome("Please confirm", active, None),
        message,
        action: action.to_string(),
        button: button.to_string(),
        fields,
        cancel: back(f, "/"),
    };
    Some(html(&page))
}

/// The form's `back` field when it is a UI path, else `fallback` (relative to the UI).
pub fn back(f: &UiForm, fallback: &str) -> String {
    match f.form.get("back") {
        Some(b) if b.starts_with(&format!("{BASE}/")) && !b.contains("//") && !b.contains('\\') => {
            b.to_string()
        }
        _ => format!("{BASE}{fallback}"),
    }
}

/// Back to `to` with a flash code (and counts) appended to its query.
pub fn redirect_done(to: &str, done: &str, counts: &[(&str, u64)]) -> Response {
    // Drop an earlier report and page position the path may still carry.
    let (path, query) = to.split_once('?').unwrap_or((to, ""));
    let mut q = form_urlencoded::Serializer::new(String::new());
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        if !matches!(k.as_ref(), "done" | "n" | "left") {
            q.append_pair(&k, &v);
        }
    }
    q.append_pair("done", done);
    for (k, v) in counts {
        q.append_pair(k, &v.to_string());
    }
    axum::response::IntoResponse::into_response(Redirect::to(&format!("{path}?{}", q.finish())))
}

/// The checked `id` boxes, or everything when the "all" button was used.
pub fn selection(f: &UiForm) -> Result<Option<Selection>, UiError> {
    if f.form.get("all") == Some("1") {
        return Ok(Some(Selection::All));
    }
    let ids = f.form.ids("id")?;
    Ok((!ids.is_empty()).then_some(Selection::Ids(ids)))
}
