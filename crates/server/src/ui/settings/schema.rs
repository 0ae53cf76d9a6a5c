//! The two forms, described once: each field named by its place in the
//! settings JSON (`bounce.actions.soft.count`, `bounce.mailboxes[0].host`),
//! with its label, input kind and help.

use rebound_core::settings::{MailboxSettings, SmtpServer};
use rebound_providers::Providers;
use serde_json::Value;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
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

pub(super) struct Field {
    pub(super) name: String,
    pub(super) label: String,
    pub(super) kind: Kind,
    pub(super) help: &'static str,
    /// HTML `min` of a number field.
    pub(super) min: Option<i64>,
}

/// One entry of a list setting (a mailbox, an SMTP server).
pub(super) struct Entry {
    pub(super) key: &'static str,
    pub(super) index: usize,
    /// The blank entry that adds a new one when its host is filled in.
    pub(super) is_new: bool,
}

pub(super) struct Section {
    /// A heading (h2) shown before this section.
    pub(super) heading: Option<&'static str>,
    pub(super) id: String,
    pub(super) title: String,
    pub(super) intro: &'static str,
    pub(super) webhook_url: Option<String>,
    pub(super) fields: Vec<Field>,
    pub(super) entry: Option<Entry>,
}

pub(super) fn field(
    name: impl Into<String>,
    label: impl Into<String>,
    kind: Kind,
    help: &'static str,
) -> Field {
    Field { name: name.into(), label: label.into(), kind, help, min: None }
}

pub(super) fn number(
    name: impl Into<String>,
    label: impl Into<String>,
    min: i64,
    help: &'static str,
) -> Field {
    Field { min: Some(min), ..field(name, label, Kind::Int, help) }
}

pub(super) const ACTIONS: &[(&str, &str)] = &[
    ("none", "Do nothing"),
    ("unsubscribe", "Unsubscribe from all lists"),
    ("blocklist", "Blocklist"),
    ("delete", "Delete the subscriber"),
];
pub(super) const ACTION_SEMANTICS: &[(&str, &str)] = &[
    ("rebound", "Blocklisting also unsubscribes every list"),
    ("listmonk", "listmonk's: blocklisting sets the status only"),
];
pub(super) const ATTRIBUTION: &[(&str, &str)] =
    &[("any", "Any (listmonk's behaviour)"), ("strict", "Strict: only with evidence of a send")];
pub(super) const MAILBOX_TYPES: &[(&str, &str)] = &[("pop", "POP3"), ("imap", "IMAP")];
pub(super) const MAILBOX_AUTH: &[(&str, &str)] = &[
    ("userpass", "Username and password"),
    ("oauth2", "OAuth2 (Microsoft 365, Gmail, ...)"),
    ("none", "None"),
];
pub(super) const OAUTH2_PROVIDERS: &[(&str, &str)] = &[
    ("custom", "Other (give the endpoints)"),
    ("microsoft", "Microsoft 365 / Outlook.com"),
    ("google", "Google (Gmail)"),
];
pub(super) const SASL: &[(&str, &str)] = &[("xoauth2", "XOAUTH2"), ("oauthbearer", "OAUTHBEARER (RFC 7628)")];
pub(super) const AFTER: &[(&str, &str)] = &[("delete", "Delete it"), ("move", "Move it to a folder")];
pub(super) const SMTP_AUTH: &[(&str, &str)] = &[
    ("none", "None"),
    ("plain", "PLAIN"),
    ("login", "LOGIN"),
    ("cram", "CRAM-MD5 (listmonk; rebound cannot send with it)"),
];
pub(super) const SMTP_TLS: &[(&str, &str)] =
    &[("none", "None"), ("STARTTLS", "STARTTLS"), ("TLS", "TLS (implicit)")];

/// (settings name, title, kind of credentials)
pub(super) const PROVIDERS: &[(&str, &str, &str)] = &[
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
    ("mailersend", "MailerSend", "key"),
    ("smtp2go", "SMTP2GO", "basic"),
    ("zeptomail", "ZeptoMail", "key"),
    ("elasticemail", "Elastic Email", "urlkey"),
    ("mandrill", "Mandrill (Mailchimp Transactional)", "mandrill"),
    ("ses_eventbridge", "Amazon SES through EventBridge", "header"),
];

pub(super) fn bounces_schema(mailboxes: usize, base_url: &str) -> Vec<Section> {
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
    s.push(Section {
        heading: None,
        id: "actions-semantics".into(),
        title: "Blocklisting".into(),
        intro: "",
        webhook_url: None,
        fields: vec![field(
            "bounce.action_semantics",
            "What the blocklist action does",
            Kind::Select(ACTION_SEMANTICS),
            "rebound's: a blocklisted subscriber is also unsubscribed from every list, as listmonk's \
             own blocklisting does everywhere but in bounce recording. listmonk's: bounce recording \
             sets the status only and leaves the subscriptions, as listmonk records bounces; only \
             the unsubscribe action unsubscribes.",
        )],
        entry: None,
    });
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
                field(
                    format!("{p}.shared_secret_header"),
                    "Header carrying the secret",
                    Kind::Text,
                    "Empty: X-Listmonk-Webhook-Secret, as listmonk reads it.",
                ),
            ]),
            "postal" => fields.push(field(
                format!("{p}.public_key"),
                "Public key",
                Kind::TextArea,
                "PEM, or the base64 key Postal shows in its DNS record.",
            )),
            "urlkey" => fields.push(field(
                format!("{p}.key"),
                "URL secret",
                Kind::Secret,
                "Elastic Email signs nothing: add ?key=<this secret> to the notification URL.",
            )),
            "mandrill" => fields.extend([
                field(
                    format!("{p}.key"),
                    "Webhook key",
                    Kind::Secret,
                    "The key Mandrill shows for the webhook.",
                ),
                field(
                    format!("{p}.url"),
                    "Webhook URL as entered in Mandrill",
                    Kind::Text,
                    "Mandrill signs the URL it posts to; behind a proxy rebound cannot know it.",
                ),
            ]),
            "header" => fields.extend([
                field(
                    format!("{p}.header"),
                    "API key header",
                    Kind::Text,
                    "The EventBridge connection's API key name. Empty: x-rebound-key.",
                ),
                field(format!("{p}.key"), "API key", Kind::Secret, "The connection's API key value."),
            ]),
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
    s.push(Section {
        heading: None,
        id: "mapped-providers".into(),
        title: "Other providers (generic webhook mapper)".into(),
        intro: "Providers rebound does not know, described in JSON (docs/providers.md, \"Generic webhook \
                mapper\"); each is reached at the URL below with its name.",
        webhook_url: Some(format!("{base_url}/webhooks/service/custom/{{name}}")),
        fields: vec![field(
            "bounce.mapped_providers",
            "Mapped providers (JSON list)",
            Kind::Json,
            "Secrets show masked; sent back unchanged they are kept.",
        )],
        entry: None,
    });
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
                field(format!("{p}.oauth2.provider"), "OAuth2 provider", Kind::Select(OAUTH2_PROVIDERS), ""),
                field(
                    format!("{p}.oauth2.client_id"),
                    "OAuth2 client id",
                    Kind::Text,
                    "The app registered with the provider.",
                ),
                field(format!("{p}.oauth2.client_secret"), "OAuth2 client secret", Kind::Secret, ""),
                field(
                    format!("{p}.oauth2.refresh_token"),
                    "OAuth2 refresh token",
                    Kind::Secret,
                    "Filled by \"Authorize\" below; or paste one.",
                ),
                field(format!("{p}.oauth2.mechanism"), "OAuth2 login mechanism", Kind::Select(SASL), ""),
                field(
                    format!("{p}.oauth2.token_url"),
                    "OAuth2 token URL",
                    Kind::Text,
                    "Empty: the provider's.",
                ),
                field(
                    format!("{p}.oauth2.auth_url"),
                    "OAuth2 authorization URL",
                    Kind::Text,
                    "Empty: the provider's.",
                ),
                field(format!("{p}.oauth2.scope"), "OAuth2 scopes", Kind::Text, "Empty: the provider's."),
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
                number(
                    format!("{p}.max_message_size"),
                    "Largest message fetched (bytes)",
                    1,
                    "1048576 is 1 MiB; the default 10485760 is 10 MiB. Larger messages stay on the server.",
                ),
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

pub(super) fn smtp_schema(servers: usize) -> Vec<Section> {
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

/// A fresh entry of a list setting, as the "add" form shows it.
pub(super) fn blank_entry(key: &str) -> Value {
    let mut v = match key {
        "smtp" => serde_json::to_value(SmtpServer::default()),
        _ => serde_json::to_value(MailboxSettings::default()),
    }
    .unwrap_or(Value::Null);
    v["host"] = Value::String(String::new());
    // Someone adding a mailbox or a server means to use it (both start on).
    v["enabled"] = Value::Bool(true);
    v
}

/// Which form: Settings -> Bounces or Settings -> SMTP.
#[derive(Clone, Copy)]
pub(super) enum Tab {
    Bounces,
    Smtp,
}

impl Tab {
    pub(super) fn name(self) -> &'static str {
        match self {
            Tab::Bounces => "bounces",
            Tab::Smtp => "smtp",
        }
    }

    /// The form with `len` saved list entries (and a blank one to add);
    /// `base_url` for the webhook URLs shown.
    pub(super) fn schema(self, len: usize, base_url: &str) -> Vec<Section> {
        match self {
            Tab::Bounces => bounces_schema(len, base_url),
            Tab::Smtp => smtp_schema(len),
        }
    }

    /// The list setting whose entries the form repeats.
    pub(super) fn list_key(self) -> &'static str {
        match self {
            Tab::Bounces => "bounce.mailboxes",
            Tab::Smtp => "smtp",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::settings::json_path::split_name;

    #[test]
    fn every_field_names_a_setting() {
        for s in bounces_schema(2, "http://x").iter().chain(&smtp_schema(1)) {
            for f in &s.fields {
                assert!(split_name(&f.name).is_some(), "{}", f.name);
            }
        }
    }
}
