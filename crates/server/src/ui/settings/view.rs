//! What the page shows: each section and field with its value (from the
//! stored settings or the form just posted), help, errors and the
//! providers' notices, rendered as settings.html.

use std::collections::BTreeMap;

use askama::Template;
use axum::response::Response;
use rebound_core::Settings;
use rebound_core::secret::SECRET_PLACEHOLDER;
use serde_json::{Map, Value};

use super::json_path::{Seg, get_in, split_name};
use super::schema::{Kind, Section, Tab, blank_entry};
use crate::auth::perm;
use crate::extract::QueryPairs;
use crate::ui::bounces::Choice;
use crate::ui::page::{Chrome, html};
use crate::ui::session::Ui;
use crate::ui::{BASE, UiError};

pub(super) fn html_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        id.push(if c.is_ascii_alphanumeric() { c } else { '-' });
    }
    id
}

pub struct FieldView {
    pub name: String,
    pub id: String,
    pub label: String,
    /// checkbox, number, text, password, select, textarea, hidden
    pub input: &'static str,
    pub value: String,
    pub checked: bool,
    pub options: Vec<Choice>,
    pub help: String,
    pub error: Option<String>,
    pub min: String,
    pub mono: bool,
    /// ids of the help and error text (aria-describedby).
    pub describedby: String,
}

pub struct SectionView {
    pub heading: Option<&'static str>,
    pub id: String,
    pub title: String,
    pub intro: &'static str,
    pub webhook_url: Option<String>,
    /// Why the saved settings make this provider refuse every request.
    pub notice: Option<String>,
    pub fields: Vec<FieldView>,
    /// The name of the "remove" checkbox of a list entry.
    pub remove: Option<String>,
    pub remove_checked: bool,
    pub is_mailbox: bool,
    /// A saved list entry's uuid (to test a mailbox's connection).
    pub saved_uuid: Option<String>,
    /// A saved mailbox whose stored authentication is OAuth2: it offers "Authorize".
    pub oauth2: bool,
    /// The result of "test connection": (worked, what to say).
    pub test_result: Option<(bool, String)>,
    /// Providers fold away (open when enabled or refused), so the page
    /// stays short; `enabled` is shown in the summary.
    pub collapsible: bool,
    pub open: bool,
    pub enabled: bool,
}

pub struct ErrorLink {
    pub id: String,
    pub label: String,
    pub message: String,
}

#[derive(Template)]
#[template(path = "settings.html")]
pub(super) struct SettingsPage {
    pub(super) chrome: Chrome,
    pub(super) tab: &'static str,
    pub(super) action: String,
    pub(super) sections: Vec<SectionView>,
    pub(super) errors: Vec<ErrorLink>,
    pub(super) form_error: Option<String>,
    pub(super) can_manage: bool,
}

/// Where displayed values come from: the stored settings (masked), or the
/// form just posted (when it is shown again with its errors).
pub(super) enum Source<'a> {
    Stored(&'a Map<String, Value>),
    Posted(&'a QueryPairs),
}

pub(super) fn display(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(_) | Value::Object(_)) => v.map(|v| v.to_string()).unwrap_or_default(),
        Some(v) => v.to_string(),
    }
}

pub(super) fn has(form: &QueryPairs, name: &str) -> bool {
    form.0.iter().any(|(k, _)| k == name)
}

pub(super) fn raw<'a>(form: &'a QueryPairs, name: &str) -> &'a str {
    form.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

pub(super) fn views(
    sections: &[Section],
    source: &Source,
    errors: &BTreeMap<String, String>,
) -> Vec<SectionView> {
    sections
        .iter()
        .map(|s| {
            let fields: Vec<FieldView> = s
                .fields
                .iter()
                .map(|f| {
                    let stored = |name: &str| -> Option<Value> {
                        let Source::Stored(map) = source else { return None };
                        let (top, segs) = split_name(name)?;
                        match (&s.entry, segs.split_first()) {
                            (Some(e), Some((Seg::Index(_), rest))) if e.is_new => {
                                get_in(&blank_entry(e.key), rest).cloned()
                            }
                            _ => get_in(map.get(&top)?, &segs).cloned(),
                        }
                    };
                    let (value, checked) = match (source, f.kind) {
                        (Source::Stored(_), Kind::Bool) => {
                            (String::new(), stored(&f.name).and_then(|v| v.as_bool()).unwrap_or(false))
                        }
                        (Source::Stored(_), Kind::Secret) => {
                            let set = stored(&f.name)
                                .and_then(|v| v.as_str().map(|s| !s.is_empty()))
                                .unwrap_or(false);
                            (if set { SECRET_PLACEHOLDER.to_string() } else { String::new() }, false)
                        }
                        (Source::Stored(_), _) => (display(stored(&f.name).as_ref()), false),
                        (Source::Posted(form), Kind::Bool) => (String::new(), has(form, &f.name)),
                        (Source::Posted(form), Kind::Secret) => {
                            // Never echo a newly typed secret back into the page.
                            let v = raw(form, &f.name);
                            (if v == SECRET_PLACEHOLDER { v.to_string() } else { String::new() }, false)
                        }
                        (Source::Posted(form), _) => (raw(form, &f.name).to_string(), false),
                    };
                    let mut help = f.help.to_string();
                    if let (Source::Posted(form), Kind::Secret) = (source, f.kind) {
                        let v = raw(form, &f.name);
                        if !v.is_empty() && v != SECRET_PLACEHOLDER {
                            help = "Not saved yet: type it again.".into();
                        }
                    }
                    if f.kind == Kind::Secret && value == SECRET_PLACEHOLDER && help.is_empty() {
                        help = if f.name.starts_with("bounce.mailboxes[") || f.name.starts_with("smtp[") {
                            "Stored. Leave the dots to keep it while the host, port and username stay \
                             the same, or type a new value."
                        } else {
                            "Stored. Leave the dots to keep it, or type a new value."
                        }
                        .into();
                    }
                    let options = match f.kind {
                        Kind::Select(opts) => opts
                            .iter()
                            .map(|(v, l)| Choice {
                                value: v.to_string(),
                                label: l.to_string(),
                                selected: *v == value,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    let id = html_id(&f.name);
                    let error = errors.get(&f.name).cloned();
                    let describedby = [
                        (!help.is_empty()).then(|| format!("{id}-help")),
                        error.as_ref().map(|_| format!("{id}-error")),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                    FieldView {
                        id,
                        describedby,
                        name: f.name.clone(),
                        label: f.label.clone(),
                        input: match f.kind {
                            Kind::Bool => "checkbox",
                            Kind::Int => "number",
                            Kind::Text | Kind::Duration { .. } => "text",
                            Kind::Secret => "password",
                            Kind::Select(_) => "select",
                            Kind::TextArea | Kind::Json => "textarea",
                            Kind::Hidden => "hidden",
                        },
                        mono: matches!(f.kind, Kind::Json | Kind::TextArea),
                        value,
                        checked,
                        options,
                        help,
                        error,
                        min: f.min.map(|m| m.to_string()).unwrap_or_default(),
                    }
                })
                .collect();
            let remove =
                s.entry.as_ref().filter(|e| !e.is_new).map(|e| format!("{}[{}].remove", e.key, e.index));
            let remove_checked = match (source, &remove) {
                (Source::Posted(form), Some(r)) => has(form, r),
                _ => false,
            };
            let collapsible = s.id.starts_with("provider-");
            let enabled = fields.iter().any(|f| f.input == "checkbox" && f.label == "Enabled" && f.checked);
            let has_error = fields.iter().any(|f| f.error.is_some());
            let saved_uuid = s.entry.as_ref().filter(|e| !e.is_new).and_then(|e| {
                let name = format!("{}[{}].uuid", e.key, e.index);
                match source {
                    Source::Stored(map) => {
                        map.get(e.key)?.get(e.index)?.get("uuid")?.as_str().map(str::to_string)
                    }
                    Source::Posted(form) => Some(raw(form, &name).to_string()).filter(|u| !u.is_empty()),
                }
            });
            let oauth2 = match (source, &s.entry) {
                (Source::Stored(map), Some(e)) if !e.is_new => {
                    map.get(e.key).and_then(|l| l.get(e.index)).and_then(|m| m.get("auth_protocol"))
                        == Some(&Value::String("oauth2".into()))
                }
                _ => false,
            };
            // A saved mailbox is named by what it is, not "Mailbox 2".
            let title = match (source, &s.entry) {
                (Source::Stored(map), Some(e)) if !e.is_new && e.key == "bounce.mailboxes" => map
                    .get(e.key)
                    .and_then(|l| l.get(e.index))
                    .and_then(|m| {
                        let text = |k: &str| m.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
                        let kind = if text("type") == "imap" { "IMAP" } else { "POP3" };
                        let port = m.get("port").and_then(Value::as_u64).unwrap_or(0);
                        (!text("host").is_empty())
                            .then(|| format!("{} at {}:{port} ({kind})", text("username"), text("host")))
                    })
                    .unwrap_or_else(|| s.title.clone()),
                _ => s.title.clone(),
            };
            SectionView {
                oauth2,
                heading: s.heading,
                id: s.id.clone(),
                title,
                intro: s.intro,
                webhook_url: s.webhook_url.clone(),
                notice: None,
                fields,
                remove,
                remove_checked,
                is_mailbox: s.entry.as_ref().is_some_and(|e| e.key == "bounce.mailboxes"),
                saved_uuid,
                test_result: None,
                collapsible,
                open: !collapsible || enabled || has_error,
                enabled,
            }
        })
        .collect()
}

pub(super) struct Render<'a> {
    pub(super) tab: Tab,
    pub(super) sections: &'a [Section],
    pub(super) source: Source<'a>,
    pub(super) errors: BTreeMap<String, String>,
    pub(super) form_error: Option<String>,
    /// (mailbox uuid, worked, message) after "test connection".
    pub(super) tested: Option<(String, bool, String)>,
}

pub(super) fn render(ui: &Ui, q: Option<&QueryPairs>, r: Render) -> Result<Response, UiError> {
    let Render { tab, sections, source, errors, form_error, tested } = r;
    let mut views = views(sections, &source, &errors);
    if let Source::Stored(map) = &source {
        provider_notices(map, &mut views);
    }
    if let Some((uuid, ok, msg)) = tested {
        for v in views.iter_mut().filter(|v| v.saved_uuid.as_deref() == Some(uuid.as_str())) {
            v.test_result = Some((ok, msg.clone()));
        }
    }
    let error_links = views
        .iter()
        .flat_map(|s| s.fields.iter().map(move |f| (s, f)))
        .filter_map(|(s, f)| {
            f.error.as_ref().map(|m| ErrorLink {
                id: f.id.clone(),
                label: format!("{}: {}", s.title, f.label),
                message: m.clone(),
            })
        })
        .collect();
    let title = match tab {
        Tab::Bounces => "Settings: bounces",
        Tab::Smtp => "Settings: SMTP",
    };
    html(&SettingsPage {
        chrome: ui.chrome(title, "settings", q),
        tab: tab.name(),
        action: format!("{BASE}/settings/{}", tab.name()),
        sections: views,
        errors: error_links,
        form_error,
        can_manage: ui.principal.can(perm::SETTINGS_MANAGE),
    })
}

/// The providers' status (rebound_providers::statuses) on their sections:
/// an enabled provider whose saved settings refuse every request says why,
/// and its section opens.
pub(super) fn provider_notices(map: &Map<String, Value>, views: &mut [SectionView]) {
    let stored: BTreeMap<String, Value> = map.clone().into_iter().collect();
    let Ok(settings) = Settings::from_map(&stored) else { return };
    for status in rebound_providers::statuses(&settings) {
        let id = format!("provider-{}", status.name);
        if let (Some(problem), Some(view)) = (status.problem, views.iter_mut().find(|v| v.id == id)) {
            view.notice = Some(problem);
            view.open = true;
        }
    }
}
