//! Settings -> Bounces and Settings -> SMTP.
//!
//! The forms are described once as a list of fields named by their place in
//! the settings JSON (`bounce.actions.soft.count`, `bounce.mailboxes[0].host`,
//! `smtp[1].email_headers`): the same names the settings' own validation
//! messages use, so an error from [`SettingsHandle::update`] lands next to the
//! field it is about. Saving builds a partial PUT /api/settings body and goes
//! through that same `update` (validation, secrets kept when the placeholder
//! comes back), so the UI cannot store anything the API would refuse. Each
//! field is first parsed on its own with the settings' own types, so a bad
//! duration or number is reported at its field, not for the whole group.
//!
//! Secrets are never written into a page: a stored one shows as the
//! placeholder, which keeps it when saved unchanged.
//!
//! [`SettingsHandle::update`]: crate::settings::SettingsHandle::update

use std::collections::BTreeMap;

use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use rebound_core::Settings;
use rebound_core::secret::SECRET_PLACEHOLDER;
use rebound_core::settings::{MailboxSettings, SmtpServer};
use rebound_providers::Providers;
use serde_json::{Map, Value};

use super::bounces::Choice;
use super::form::redirect_done;
use super::page::{Chrome, html};
use super::session::{Ui, UiForm, is_tls};
use super::{BASE, UiError};
use crate::auth::perm;
use crate::error::ApiError;
use crate::extract::QueryPairs;
use crate::state::AppState;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bool,
    Int,
    Text,
    Secret,
    /// "15m", "7d"; `optional` ones may be empty (no value).
    Duration {
        optional: bool,
    },
    Select(&'static [(&'static str, &'static str)]),
    TextArea,
    /// A JSON value typed as text (SMTP custom headers).
    Json,
    Hidden,
}

struct Field {
    name: String,
    label: String,
    kind: Kind,
    help: &'static str,
    /// HTML `min` of a number field.
    min: Option<i64>,
}

/// One entry of a list setting (a mailbox, an SMTP server).
struct Entry {
    key: &'static str,
    index: usize,
    /// The blank entry that adds a new one when its host is filled in.
    is_new: bool,
}

struct Section {
    /// A heading (h2) shown before this section.
    heading: Option<&'static str>,
    id: String,
    title: String,
    intro: &'static str,
    webhook_url: Option<String>,
    fields: Vec<Field>,
    entry: Option<Entry>,
}

fn field(name: impl Into<String>, label: impl Into<String>, kind: Kind, help: &'static str) -> Field {
    Field { name: name.into(), label: label.into(), kind, help, min: None }
}

fn number(name: impl Into<String>, label: impl Into<String>, min: i64, help: &'static str) -> Field {
    Field { min: Some(min), ..field(name, label, Kind::Int, help) }
}

const ACTIONS: &[(&str, &str)] = &[
    ("none", "Do nothing"),
    ("unsubscribe", "Unsubscribe from all lists"),
    ("blocklist", "Blocklist"),
    ("delete", "Delete the subscriber"),
];
const ATTRIBUTION: &[(&str, &str)] =
    &[("any", "Any (listmonk's behaviour)"), ("strict", "Strict: only with evidence of a send")];
const MAILBOX_TYPES: &[(&str, &str)] = &[("pop", "POP3"), ("imap", "IMAP")];
const MAILBOX_AUTH: &[(&str, &str)] = &[("userpass", "Username and password"), ("none", "None")];
const AFTER: &[(&str, &str)] = &[("delete", "Delete it"), ("move", "Move it to a folder")];
const SMTP_AUTH: &[(&str, &str)] = &[("none", "None"), ("plain", "PLAIN"), ("login", "LOGIN")];
const SMTP_TLS: &[(&str, &str)] = &[("none", "None"), ("STARTTLS", "STARTTLS"), ("TLS", "TLS (implicit)")];

/// (settings name, title, kind of credentials)
const PROVIDERS: &[(&str, &str, &str)] = &[
    ("ses", "Amazon SES", "ses"),
    ("sendgrid", "SendGrid", "sendgrid"),
    ("postmark", "Postmark", "basic"),
    ("forwardemail", "Forward Email", "key"),
    ("azure", "Azure Communication Services", "azure"),
    ("lettermint", "Lettermint", "key"),
    ("mailgun", "Mailgun", "key"),
    ("resend", "Resend", "key"),
    ("brevo", "Brevo", "basic"),
    ("mailjet", "Mailjet", "basic"),
    ("sparkpost", "SparkPost", "basic"),
    ("postal", "Postal", "postal"),
];

fn bounces_schema(mailboxes: usize, base_url: &str) -> Vec<Section> {
    let mut s = vec![Section {
        heading: Some("Bounce processing"),
        id: "general".into(),
        title: "Switches".into(),
        intro: "",
        webhook_url: Some(format!("{base_url}/webhooks/bounce")),
        fields: vec![
            field(
                "bounce.enabled",
                "Enable bounce processing",
                Kind::Bool,
                "The master switch: while off, mailboxes are not scanned and webhooks answer 503.",
            ),
            field(
                "bounce.webhooks_enabled",
                "Enable bounce webhooks",
                Kind::Bool,
                "The generic webhook (URL below) and the provider webhooks.",
            ),
        ],
        entry: None,
    }];
    s.push(Section {
        heading: None,
        id: "attribution".into(),
        title: "Return path and attribution".into(),
        intro: "",
        webhook_url: None,
        fields: vec![
            field("bounce.verp.enabled", "VERP return paths", Kind::Bool, ""),
            field(
                "bounce.verp.address",
                "VERP address",
                Kind::Text,
                "e.g. bounces+{subscriber_uuid}.{campaign_uuid}@site.com",
            ),
            field(
                "bounce.verp.signed",
                "Sign the VERP address",
                Kind::Bool,
                "Adds an HMAC tag: a bounce to it proves rebound sent that subscriber a message. \
                 The key is made when this is first saved.",
            ),
            field("bounce.verp.secret", "Signing key", Kind::Secret, ""),
            field(
                "bounce.attribution",
                "Bounce e-mails that may act",
                Kind::Select(ATTRIBUTION),
                "Strict: a forged notice sent to the bounce address is recorded as unverified and acts \
                 on no one; a genuine one that carries neither a signed VERP address nor the returned \
                 X-Listmonk-Subscriber header does not act either.",
            ),
        ],
        entry: None,
    });
    for (i, (t, title)) in [("soft", "Soft bounces"), ("hard", "Hard bounces"), ("complaint", "Complaints")]
        .into_iter()
        .enumerate()
    {
        let p = format!("bounce.actions.{t}");
        s.push(Section {
            heading: (i == 0).then_some("Actions"),
            id: format!("actions-{t}"),
            title: title.into(),
            intro: if i == 0 {
                "When a subscriber reaches this many bounces of a type, the action is applied."
            } else {
                ""
            },
            webhook_url: None,
            fields: vec![
                number(format!("{p}.count"), "Count", 1, ""),
                field(format!("{p}.action"), "Action", Kind::Select(ACTIONS), ""),
                field(
                    format!("{p}.window"),
                    "Within",
                    Kind::Duration { optional: true },
                    "Optional time window, e.g. 7d: only bounces this recent count. Empty: all bounces count.",
                ),
            ],
            entry: None,
        });
    }
    for (i, (name, title, creds)) in PROVIDERS.iter().enumerate() {
        let p = format!("bounce.{name}");
        let mut fields = match *creds {
            "ses" => vec![
                field("bounce.ses_enabled", "Enabled", Kind::Bool, ""),
                field(
                    "bounce.ses_topic_arns",
                    "Allowed SNS topic ARNs (JSON list)",
                    Kind::Json,
                    "e.g. [\"arn:aws:sns:eu-west-1:123456789012:bounces\"]. Required: while it is empty, every \
                     SNS message is refused, since any AWS account can publish signed notices to this URL.",
                ),
            ],
            "sendgrid" => vec![
                field("bounce.sendgrid_enabled", "Enabled", Kind::Bool, ""),
                field(
                    "bounce.sendgrid_key",
                    "Verification key",
                    Kind::Secret,
                    "The signed event webhook's public key.",
                ),
            ],
            _ => vec![field(format!("{p}.enabled"), "Enabled", Kind::Bool, "")],
        };
        match *creds {
            "basic" => fields.extend([
                field(
                    format!("{p}.username"),
                    "Username",
                    Kind::Text,
                    "HTTP basic credentials in the webhook URL.",
                ),
                field(format!("{p}.password"), "Password", Kind::Secret, ""),
                field(
                    format!("{p}.token"),
                    "Bearer token (optional)",
                    Kind::Secret,
                    "Accepted as Authorization: Bearer.",
                ),
            ]),
            "key" => fields.push(field(format!("{p}.key"), "Signing key", Kind::Secret, "")),
            "azure" => fields.extend([
                field(format!("{p}.shared_secret"), "Shared secret", Kind::Secret, ""),
                field(format!("{p}.shared_secret_header"), "Header carrying the secret", Kind::Text, ""),
            ]),
            "postal" => fields.push(field(
                format!("{p}.public_key"),
                "Public key",
                Kind::TextArea,
                "PEM, or the base64 key Postal shows in its DNS record.",
            )),
            _ => {}
        }
        debug_assert!(Providers::names().contains(name));
        s.push(Section {
            heading: (i == 0).then_some("Providers"),
            id: format!("provider-{name}"),
            title: (*title).into(),
            intro: if i == 0 { "Point each provider's bounce webhook at its URL." } else { "" },
            webhook_url: Some(format!("{base_url}/webhooks/service/{name}")),
            fields,
            entry: None,
        });
    }
    for i in 0..=mailboxes {
        let is_new = i == mailboxes;
        let p = format!("bounce.mailboxes[{i}]");
        s.push(Section {
            heading: (i == 0).then_some("Mailboxes"),
            id: format!("mailbox-{i}"),
            title: if is_new { "Add a mailbox".into() } else { format!("Mailbox {}", i + 1) },
            intro: if is_new { "Fill in the host to add a bounce mailbox." } else { "" },
            webhook_url: None,
            fields: vec![
                field(format!("{p}.uuid"), "", Kind::Hidden, ""),
                field(format!("{p}.enabled"), "Enabled", Kind::Bool, ""),
                field(format!("{p}.type"), "Protocol", Kind::Select(MAILBOX_TYPES), ""),
                field(format!("{p}.host"), "Host", Kind::Text, ""),
                number(format!("{p}.port"), "Port", 1, ""),
                field(format!("{p}.tls_enabled"), "TLS (implicit: POP3S 995, IMAPS 993)", Kind::Bool, ""),
                field(format!("{p}.starttls"), "STARTTLS (when TLS is off)", Kind::Bool, ""),
                field(format!("{p}.tls_skip_verify"), "Skip TLS certificate verification", Kind::Bool, ""),
                field(format!("{p}.auth_protocol"), "Authentication", Kind::Select(MAILBOX_AUTH), ""),
                field(format!("{p}.username"), "Username", Kind::Text, ""),
                field(format!("{p}.password"), "Password", Kind::Secret, ""),
                field(
                    format!("{p}.return_path"),
                    "Return path",
                    Kind::Text,
                    "The bounce address this mailbox receives.",
                ),
                field(
                    format!("{p}.scan_interval"),
                    "Scan interval",
                    Kind::Duration { optional: false },
                    "e.g. 15m",
                ),
                field(format!("{p}.folder"), "Folder (IMAP)", Kind::Text, ""),
                field(format!("{p}.after_processing"), "After processing a message", Kind::Select(AFTER), ""),
                field(format!("{p}.move_to"), "Move to folder (IMAP)", Kind::Text, ""),
                number(format!("{p}.max_messages"), "Messages per scan at most", 1, ""),
                number(format!("{p}.max_message_size"), "Largest message fetched (bytes)", 1, ""),
                field(
                    format!("{p}.parse_timeout"),
                    "Parse time limit per message",
                    Kind::Duration { optional: false },
                    "e.g. 10s: a message that takes longer is kept unparsed and not tried again.",
                ),
            ],
            entry: Some(Entry { key: "bounce.mailboxes", index: i, is_new }),
        });
    }
    s
}

fn smtp_schema(servers: usize) -> Vec<Section> {
    (0..=servers)
        .map(|i| {
            let is_new = i == servers;
            let p = format!("smtp[{i}]");
            Section {
                heading: (i == 0).then_some("SMTP servers"),
                id: format!("smtp-{i}"),
                title: if is_new { "Add an SMTP server".into() } else { format!("Server {}", i + 1) },
                intro: if is_new { "Fill in the host to add a server." } else { "" },
                webhook_url: None,
                fields: vec![
                    field(format!("{p}.uuid"), "", Kind::Hidden, ""),
                    field(format!("{p}.enabled"), "Enabled", Kind::Bool, ""),
                    field(format!("{p}.host"), "Host", Kind::Text, ""),
                    number(format!("{p}.port"), "Port", 1, ""),
                    field(format!("{p}.hello_hostname"), "HELO hostname", Kind::Text, "Empty: the system's."),
                    field(format!("{p}.auth_protocol"), "Authentication", Kind::Select(SMTP_AUTH), ""),
                    field(format!("{p}.username"), "Username", Kind::Text, ""),
                    field(format!("{p}.password"), "Password", Kind::Secret, ""),
                    field(format!("{p}.tls_type"), "TLS", Kind::Select(SMTP_TLS), ""),
                    field(format!("{p}.tls_skip_verify"), "Skip TLS certificate verification", Kind::Bool, ""),
                    number(format!("{p}.max_conns"), "Connections at most", 1, ""),
                    number(format!("{p}.max_msg_retries"), "Retries per message", 0, ""),
                    field(format!("{p}.idle_timeout"), "Idle timeout", Kind::Duration { optional: false }, "e.g. 15s"),
                    field(format!("{p}.wait_timeout"), "Wait timeout", Kind::Duration { optional: false }, "e.g. 5s"),
                    field(
                        format!("{p}.email_headers"),
                        "Custom headers (JSON)",
                        Kind::Json,
                        "A list of {\"Header\": \"value\"} objects, e.g. [{\"Return-Path\": \"bounces@site.com\"}, \
                         {\"Reply-To\": \"hello@site.com\"}]. A Return-Path is also used as the envelope sender.",
                    ),
                ],
                entry: Some(Entry { key: "smtp", index: i, is_new }),
            }
        })
        .collect()
}

// ---------------------------------------------------------------- names ----

enum Seg {
    Key(String),
    Index(usize),
}

/// `bounce.mailboxes[0].host` -> ("bounce.mailboxes", [Index(0), Key("host")]).
/// Settings keys contain dots themselves, so the longest known key wins.
fn split_name(name: &str) -> Option<(String, Vec<Seg>)> {
    let keys = Settings::keys();
    let top = keys
        .iter()
        .filter(|k| {
            name == k.as_str()
                || name.strip_prefix(k.as_str()).is_some_and(|r| r.starts_with('.') || r.starts_with('['))
        })
        .max_by_key(|k| k.len())?
        .clone();
    let mut rest = &name[top.len()..];
    let mut segs = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('[') {
            let (n, r) = r.split_once(']')?;
            segs.push(Seg::Index(n.parse().ok()?));
            rest = r;
        } else if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            segs.push(Seg::Key(r[..end].to_string()));
            rest = &r[end..];
        } else {
            return None;
        }
    }
    Some((top, segs))
}

fn get_in<'a>(v: &'a Value, segs: &[Seg]) -> Option<&'a Value> {
    segs.iter().try_fold(v, |v, s| match s {
        Seg::Key(k) => v.get(k),
        Seg::Index(i) => v.get(i),
    })
}

fn set_in(v: &mut Value, segs: &[Seg], new: Value) {
    let Some((first, rest)) = segs.split_first() else {
        *v = new;
        return;
    };
    match first {
        Seg::Key(k) => {
            if !v.is_object() {
                *v = Value::Object(Map::new());
            }
            if let Value::Object(m) = v {
                set_in(m.entry(k.clone()).or_insert(Value::Null), rest, new);
            }
        }
        Seg::Index(i) => {
            if let Value::Array(a) = v
                && let Some(slot) = a.get_mut(*i)
            {
                set_in(slot, rest, new);
            }
        }
    }
}

/// A fresh entry of a list setting, as the "add" form shows it.
fn blank_entry(key: &str) -> Value {
    let mut v = match key {
        "smtp" => serde_json::to_value(SmtpServer::default()),
        _ => serde_json::to_value(MailboxSettings::default()),
    }
    .unwrap_or(Value::Null);
    v["host"] = Value::String(String::new());
    v
}

fn html_id(name: &str) -> String {
    let mut id = String::from("f-");
    for c in name.chars() {
        id.push(if c.is_ascii_alphanumeric() { c } else { '-' });
    }
    id
}

// ----------------------------------------------------------------- views ---

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
struct SettingsPage {
    chrome: Chrome,
    tab: &'static str,
    action: String,
    sections: Vec<SectionView>,
    errors: Vec<ErrorLink>,
    form_error: Option<String>,
    can_manage: bool,
}

/// Where displayed values come from: the stored settings (masked), or the
/// form just posted (when it is shown again with its errors).
enum Source<'a> {
    Stored(&'a Map<String, Value>),
    Posted(&'a QueryPairs),
}

fn display(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(_) | Value::Object(_)) => v.map(|v| v.to_string()).unwrap_or_default(),
        Some(v) => v.to_string(),
    }
}

fn has(form: &QueryPairs, name: &str) -> bool {
    form.0.iter().any(|(k, _)| k == name)
}

fn raw<'a>(form: &'a QueryPairs, name: &str) -> &'a str {
    form.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or("")
}

fn views(sections: &[Section], source: &Source, errors: &BTreeMap<String, String>) -> Vec<SectionView> {
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
            SectionView {
                heading: s.heading,
                id: s.id.clone(),
                title: s.title.clone(),
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

// ------------------------------------------------------------ conversion ---

/// The update body a posted form means, or the per-field errors that stop it.
struct Converted {
    update: Map<String, Value>,
    errors: BTreeMap<String, String>,
    /// (list key, index in the saved list) -> index in the form, to put
    /// validation messages about the saved list next to the right entry.
    positions: Vec<(&'static str, usize, usize)>,
}

fn parse_field(f: &Field, form: &QueryPairs) -> Result<Value, String> {
    let v = raw(form, &f.name).trim();
    match f.kind {
        Kind::Bool => Ok(Value::Bool(has(form, &f.name))),
        Kind::Int => v.parse::<i64>().map(Value::from).map_err(|_| {
            if v.is_empty() { "Enter a number.".into() } else { format!("{v:?} is not a whole number.") }
        }),
        Kind::Duration { optional: true } if v.is_empty() => Ok(Value::Null),
        Kind::Json => {
            if v.is_empty() {
                Ok(Value::Array(Vec::new()))
            } else {
                serde_json::from_str(v).map_err(|e| format!("Not valid JSON: {e}"))
            }
        }
        Kind::Hidden if v.is_empty() => Ok(Value::Null),
        // Secrets keep their exact text (spaces may matter).
        Kind::Secret => Ok(Value::String(raw(form, &f.name).to_string())),
        _ => Ok(Value::String(v.to_string())),
    }
}

/// Parses `value` as the settings would, alone: `{top: probe}` where the
/// probe is the current (or blank) value with only this field changed.
fn probe(top: &str, base: &Value, segs: &[Seg], value: &Value) -> Result<(), String> {
    let mut probe = base.clone();
    set_in(&mut probe, segs, value.clone());
    let mut m = Map::new();
    m.insert(top.to_string(), probe);
    serde_json::from_value::<Settings>(Value::Object(m)).map(|_| ()).map_err(|e| capitalize(&e.to_string()))
}

fn capitalize(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn convert(sections: &[Section], form: &QueryPairs, current: &Map<String, Value>) -> Converted {
    let mut update = Map::new();
    let mut errors = BTreeMap::new();
    let mut positions = Vec::new();
    for s in sections {
        let base_entry = s.entry.as_ref().map(|e| {
            let uuid = raw(form, &format!("{}[{}].uuid", e.key, e.index));
            let existing = current.get(e.key).and_then(|l| l.as_array()).and_then(|l| {
                l.iter().find(|m| !uuid.is_empty() && m.get("uuid").and_then(|u| u.as_str()) == Some(uuid))
            });
            existing.cloned().unwrap_or_else(|| blank_entry(e.key))
        });
        if let Some(e) = &s.entry {
            // A form without this list leaves it alone (every entry, even
            // the blank one, carries a hidden uuid field).
            if !has(form, &format!("{}[{}].uuid", e.key, e.index)) {
                continue;
            }
            // The list is rebuilt from the form: start from empty.
            update.entry(e.key.to_string()).or_insert_with(|| Value::Array(Vec::new()));
            let removed = has(form, &format!("{}[{}].remove", e.key, e.index));
            let blank = raw(form, &format!("{}[{}].host", e.key, e.index)).trim().is_empty();
            if removed || (e.is_new && blank) {
                continue;
            }
        }
        let mut entry = base_entry.clone();
        for f in &s.fields {
            let Some((top, segs)) = split_name(&f.name) else { continue };
            let value = match parse_field(f, form) {
                Ok(v) => v,
                Err(msg) => {
                    errors.insert(f.name.clone(), msg);
                    continue;
                }
            };
            match (&mut entry, segs.split_first()) {
                (Some(entry), Some((Seg::Index(_), rest))) => {
                    if let Err(msg) =
                        probe(&top, &Value::Array(vec![blank_entry(&top)]), &segs_at0(rest), &value)
                    {
                        errors.insert(f.name.clone(), msg);
                        continue;
                    }
                    set_in(entry, rest, value);
                }
                _ => {
                    let base = current.get(&top).cloned().unwrap_or(Value::Null);
                    if let Err(msg) = probe(&top, &base, &segs, &value) {
                        errors.insert(f.name.clone(), msg);
                        continue;
                    }
                    let slot = update.entry(top.clone()).or_insert(base);
                    set_in(slot, &segs, value);
                }
            }
        }
        if let (Some(e), Some(entry)) = (&s.entry, entry)
            && let Some(Value::Array(list)) = update.get_mut(e.key)
        {
            positions.push((e.key, list.len(), e.index));
            list.push(entry);
        }
    }
    Converted { update, errors, positions }
}

/// `[Index(0)] + rest`: a field of the first entry of a one-entry probe list.
fn segs_at0(rest: &[Seg]) -> Vec<Seg> {
    let mut v = vec![Seg::Index(0)];
    v.extend(rest.iter().map(|s| match s {
        Seg::Key(k) => Seg::Key(k.clone()),
        Seg::Index(i) => Seg::Index(*i),
    }));
    v
}

/// The field a validation message is about: the longest field name it
/// mentions, after renumbering list entries from saved to form positions.
/// Returns the field's name and the message said about it ("Must be at least 1").
fn field_for(
    msg: &str,
    sections: &[Section],
    positions: &[(&'static str, usize, usize)],
) -> Option<(String, String)> {
    let mut m = msg.to_string();
    for (key, saved, _) in positions {
        m = m.replace(&format!("{key}[{saved}]"), &format!("{key}[\u{1}{saved}]"));
    }
    for (key, saved, form) in positions {
        m = m.replace(&format!("{key}[\u{1}{saved}]"), &format!("{key}[{form}]"));
    }
    sections.iter().flat_map(|s| &s.fields).filter(|f| m.contains(&f.name)).max_by_key(|f| f.name.len()).map(
        |f| {
            let rest = m.strip_prefix(&f.name).map(str::trim_start).unwrap_or(&m);
            let rest = rest.strip_prefix("is ").unwrap_or(rest);
            (f.name.clone(), capitalize(rest))
        },
    )
}

// -------------------------------------------------------------- handlers ---

fn base_url(headers: &HeaderMap) -> String {
    let host = headers
        .get("x-forwarded-host")
        .or_else(|| headers.get(axum::http::header::HOST))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("localhost");
    format!("{}://{host}", if is_tls(headers) { "https" } else { "http" })
}

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

#[derive(Clone, Copy)]
enum Tab {
    Bounces,
    Smtp,
}

impl Tab {
    fn name(self) -> &'static str {
        match self {
            Tab::Bounces => "bounces",
            Tab::Smtp => "smtp",
        }
    }

    fn schema(self, len: usize, headers: &HeaderMap) -> Vec<Section> {
        match self {
            Tab::Bounces => bounces_schema(len, &base_url(headers)),
            Tab::Smtp => smtp_schema(len),
        }
    }

    fn list_key(self) -> &'static str {
        match self {
            Tab::Bounces => "bounce.mailboxes",
            Tab::Smtp => "smtp",
        }
    }
}

struct Render<'a> {
    tab: Tab,
    sections: &'a [Section],
    source: Source<'a>,
    errors: BTreeMap<String, String>,
    form_error: Option<String>,
    /// (mailbox uuid, worked, message) after "test connection".
    tested: Option<(String, bool, String)>,
}

fn render(ui: &Ui, q: Option<&QueryPairs>, r: Render) -> Result<Response, UiError> {
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
fn provider_notices(map: &Map<String, Value>, views: &mut [SectionView]) {
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

async fn show(
    state: AppState,
    ui: Ui,
    q: QueryPairs,
    headers: HeaderMap,
    tab: Tab,
) -> Result<Response, UiError> {
    ui.principal.require(perm::SETTINGS_GET)?;
    let map = masked_map(&state);
    let sections = tab.schema(list_len(&map, tab.list_key()), &headers);
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
    let sections = tab.schema(posted_len(&f.form, tab.list_key()), &headers);
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
    match state.settings.update(state.store.as_ref(), &c.update).await {
        Ok(_) => {
            tracing::info!(by = ?f.ui.principal.username, tab = tab.name(), "settings updated in the UI");
            Ok(redirect_done(&format!("{BASE}/settings/{}", tab.name()), "saved", &[]))
        }
        Err(ApiError::BadRequest(msg)) => match field_for(&msg, &sections, &c.positions) {
            Some((name, said)) => refused(BTreeMap::from([(name, said)]), None),
            None => refused(BTreeMap::new(), Some(capitalize(&msg))),
        },
        Err(e) => Err(e.into()),
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
    f.ui.principal.require(perm::SETTINGS_MANAGE)?;
    let settings = state.settings.get();
    let mailbox = settings
        .mailboxes
        .iter()
        .find(|m| m.uuid.is_some_and(|u| u.to_string() == uuid))
        .ok_or_else(|| UiError::NotFound("There is no such mailbox (save it first).".into()))?;
    let result = super::mailboxes::test_connection(mailbox).await;
    tracing::info!(mailbox = ?uuid, ok = result.is_ok(), by = ?f.ui.principal.username, "mailbox connection tested");
    let (ok, msg) = match result {
        Ok(m) => (true, m),
        Err(m) => (false, m),
    };
    let map = masked_map(&state);
    let sections = Tab::Bounces.schema(list_len(&map, Tab::Bounces.list_key()), &headers);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> QueryPairs {
        QueryPairs(pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
    }

    #[test]
    fn names_split_at_the_longest_settings_key() {
        let (top, segs) = split_name("bounce.actions.soft.count").unwrap();
        assert_eq!(top, "bounce.actions");
        assert!(matches!(&segs[..], [Seg::Key(a), Seg::Key(b)] if a == "soft" && b == "count"));
        let (top, segs) = split_name("bounce.mailboxes[2].host").unwrap();
        assert_eq!(top, "bounce.mailboxes");
        assert!(matches!(&segs[..], [Seg::Index(2), Seg::Key(h)] if h == "host"));
        assert_eq!(split_name("bounce.enabled").unwrap().0, "bounce.enabled");
        assert!(split_name("bounce.nope").is_none());
    }

    #[test]
    fn every_field_names_a_setting() {
        for s in bounces_schema(2, "http://x").iter().chain(&smtp_schema(1)) {
            for f in &s.fields {
                assert!(split_name(&f.name).is_some(), "{}", f.name);
            }
        }
    }

    fn current() -> Map<String, Value> {
        let mut s = Settings::default();
        s.assign_ids();
        match serde_json::to_value(s.masked()).unwrap() {
            Value::Object(m) => m,
            _ => unreachable!(),
        }
    }

    #[test]
    fn a_form_becomes_a_settings_update() {
        let cur = current();
        let smtp_uuid = cur["smtp"][0]["uuid"].as_str().unwrap().to_string();
        let sections = smtp_schema(1);
        let f = form(&[
            ("smtp[0].uuid", &smtp_uuid),
            ("smtp[0].enabled", "on"),
            ("smtp[0].host", "smtp.example.com"),
            ("smtp[0].port", "587"),
            ("smtp[0].auth_protocol", "plain"),
            ("smtp[0].password", SECRET_PLACEHOLDER),
            ("smtp[0].tls_type", "STARTTLS"),
            ("smtp[0].max_conns", "5"),
            ("smtp[0].max_msg_retries", "2"),
            ("smtp[0].idle_timeout", "15s"),
            ("smtp[0].wait_timeout", "5s"),
            ("smtp[0].email_headers", r#"[{"Return-Path": "b@example.com"}]"#),
            ("smtp[1].uuid", ""),
            ("smtp[1].host", ""),
        ]);
        let c = convert(&sections, &f, &cur);
        assert!(c.errors.is_empty(), "{:?}", c.errors);
        let list = c.update["smtp"].as_array().unwrap();
        assert_eq!(list.len(), 1, "the blank new entry adds nothing");
        assert_eq!(list[0]["host"], "smtp.example.com");
        assert_eq!(list[0]["port"], 587);
        assert_eq!(list[0]["email_headers"][0]["Return-Path"], "b@example.com");
        let next = Settings::default().apply_update(&c.update).unwrap();
        assert_eq!(next.smtp[0].header("return-path"), Some("b@example.com"));
    }

    #[test]
    fn bad_values_are_reported_at_their_field() {
        let cur = current();
        let sections = bounces_schema(0, "http://x");
        let f = form(&[
            ("bounce.actions.soft.count", "two"),
            ("bounce.actions.soft.action", "none"),
            ("bounce.actions.hard.count", "1"),
            ("bounce.actions.hard.action", "blocklist"),
            ("bounce.actions.hard.window", "soon"),
            ("bounce.actions.complaint.count", "1"),
            ("bounce.actions.complaint.action", "blocklist"),
            ("bounce.mailboxes[0].uuid", ""),
            ("bounce.mailboxes[0].host", "pop.example.com"),
            ("bounce.mailboxes[0].port", "995"),
            ("bounce.mailboxes[0].scan_interval", "often"),
        ]);
        let c = convert(&sections, &f, &cur);
        assert!(c.errors.contains_key("bounce.actions.soft.count"), "{:?}", c.errors);
        assert!(c.errors["bounce.actions.hard.window"].contains("soon"), "{:?}", c.errors);
        assert!(c.errors["bounce.mailboxes[0].scan_interval"].contains("often"), "{:?}", c.errors);
    }

    #[test]
    fn validation_messages_find_their_field() {
        let sections = bounces_schema(3, "http://x");
        let msg = "bounce.actions.soft.count must be at least 1";
        let found = field_for(msg, &sections, &[]).unwrap();
        assert_eq!(found, ("bounce.actions.soft.count".to_string(), "Must be at least 1".to_string()));
        // Entry 0 of the saved list was entry 2 of the form (two were removed).
        let msg = "bounce.mailboxes[0].host is required";
        let pos = [("bounce.mailboxes", 0, 2)];
        let found = field_for(msg, &sections, &pos).unwrap();
        assert_eq!(found, ("bounce.mailboxes[2].host".to_string(), "Required".to_string()));
        assert_eq!(field_for("something else", &sections, &[]), None);
    }
}
