//! Settings with listmonk's keys and JSON shapes. `Settings` serialises to the
//! flat object GET /api/settings returns (`{"bounce.enabled": false, ...}`) and
//! is stored one key per row in the `settings` table.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use uuid::Uuid;

use crate::mapped::MappedProvider;
use crate::{ActionSemantics, BounceActions, CoreError, Secret, foreign_settings};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    /// Master switch: while off, mailboxes are not scanned and webhooks answer 503.
    #[serde(rename = "bounce.enabled")]
    pub bounce_enabled: bool,
    #[serde(rename = "bounce.webhooks_enabled")]
    pub webhooks_enabled: bool,
    /// The rules as stored (listmonk's shape). They apply as
    /// [`Settings::bounce_actions`] gives them, with `action_semantics`.
    #[serde(rename = "bounce.actions")]
    pub actions: BounceActions,
    /// Whether blocklisting also unsubscribes lists (beyond listmonk, which
    /// has only its `record-bounce` semantics; see [`ActionSemantics`]).
    #[serde(rename = "bounce.action_semantics")]
    pub action_semantics: ActionSemantics,
    /// Which bounce e-mails may act on a subscriber (beyond listmonk).
    #[serde(rename = "bounce.attribution")]
    pub attribution: AttributionMode,
    /// How parsed bounce e-mails are typed (beyond listmonk).
    #[serde(rename = "bounce.classification")]
    pub classification: Classification,
    /// How old a signed webhook timestamp may be before it is refused as a replay.
    #[serde(rename = "bounce.webhook_tolerance", with = "crate::duration::required")]
    pub webhook_tolerance: Duration,

    #[serde(rename = "bounce.ses_enabled")]
    pub ses_enabled: bool,
    /// Beyond listmonk: the SNS topics whose notifications are accepted; empty accepts any.
    #[serde(rename = "bounce.ses_topic_arns")]
    pub ses_topic_arns: Vec<String>,
    #[serde(rename = "bounce.sendgrid_enabled")]
    pub sendgrid_enabled: bool,
    /// SendGrid's verification key (base64 DER public key).
    #[serde(rename = "bounce.sendgrid_key")]
    pub sendgrid_key: Secret,
    #[serde(rename = "bounce.postmark")]
    pub postmark: BasicAuthProvider,
    #[serde(rename = "bounce.forwardemail")]
    pub forwardemail: KeyProvider,
    #[serde(rename = "bounce.azure")]
    pub azure: AzureProvider,
    #[serde(rename = "bounce.lettermint")]
    pub lettermint: KeyProvider,
    #[serde(rename = "bounce.mailgun")]
    pub mailgun: KeyProvider,
    /// Resend signs with Svix; `key` is the `whsec_...` signing secret.
    #[serde(rename = "bounce.resend")]
    pub resend: KeyProvider,
    #[serde(rename = "bounce.brevo")]
    pub brevo: BasicAuthProvider,
    #[serde(rename = "bounce.mailjet")]
    pub mailjet: BasicAuthProvider,
    #[serde(rename = "bounce.sparkpost")]
    pub sparkpost: BasicAuthProvider,
    #[serde(rename = "bounce.postal")]
    pub postal: PostalProvider,
    /// Built-in presets through the generic webhook mapper (beyond listmonk).
    #[serde(rename = "bounce.mailersend")]
    pub mailersend: KeyProvider,
    #[serde(rename = "bounce.smtp2go")]
    pub smtp2go: BasicAuthProvider,
    #[serde(rename = "bounce.zeptomail")]
    pub zeptomail: KeyProvider,
    /// Elastic Email signs nothing: `key` is a secret the operator adds to the
    /// notification URL as `?key=...`.
    #[serde(rename = "bounce.elasticemail")]
    pub elasticemail: KeyProvider,
    #[serde(rename = "bounce.mandrill")]
    pub mandrill: MandrillProvider,
    /// SES event destinations through EventBridge API destinations: the
    /// connection's API key (`header`: `key`).
    #[serde(rename = "bounce.ses_eventbridge")]
    pub ses_eventbridge: HeaderKeyProvider,
    /// Providers rebound does not know, described by configuration
    /// (docs/providers.md, "Generic webhook mapper").
    #[serde(rename = "bounce.mapped_providers")]
    pub mapped_providers: Vec<MappedProvider>,

    #[serde(rename = "bounce.mailboxes")]
    pub mailboxes: Vec<MailboxSettings>,
    #[serde(rename = "bounce.verp")]
    pub verp: VerpSettings,
    #[serde(rename = "smtp")]
    pub smtp: Vec<SmtpServer>,
    /// Keys rebound does not use (listmonk's `app.*`, `privacy.*`,
    /// `upload.*`, `messengers`, ...): kept as they came, so a save never
    /// drops them and listmonk reading the same rows finds them unchanged.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            bounce_enabled: false,
            webhooks_enabled: false,
            actions: BounceActions::default(),
            action_semantics: ActionSemantics::default(),
            attribution: AttributionMode::Any,
            classification: Classification::Reason,
            webhook_tolerance: Duration::from_secs(300),
            ses_enabled: false,
            ses_topic_arns: Vec::new(),
            sendgrid_enabled: false,
            sendgrid_key: Secret::default(),
            postmark: BasicAuthProvider::default(),
            forwardemail: KeyProvider::default(),
            azure: AzureProvider::default(),
            lettermint: KeyProvider::default(),
            mailgun: KeyProvider::default(),
            resend: KeyProvider::default(),
            brevo: BasicAuthProvider::default(),
            mailjet: BasicAuthProvider::default(),
            sparkpost: BasicAuthProvider::default(),
            postal: PostalProvider::default(),
            mailersend: KeyProvider::default(),
            smtp2go: BasicAuthProvider::default(),
            zeptomail: KeyProvider::default(),
            elasticemail: KeyProvider::default(),
            mandrill: MandrillProvider::default(),
            ses_eventbridge: HeaderKeyProvider::default(),
            mapped_providers: Vec::new(),
            mailboxes: Vec::new(),
            verp: VerpSettings::default(),
            smtp: vec![SmtpServer::default()],
            other: BTreeMap::new(),
        }
    }
}

/// Which bounce e-mails from the mailboxes may act on a subscriber.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AttributionMode {
    /// Every notice counts, attributed by the returned X-Listmonk-Subscriber,
    /// the VERP address or the failed recipient (listmonk's behaviour).
    #[default]
    Any,
    /// Only notices carrying evidence of a real send count: a valid signed
    /// VERP token or the returned X-Listmonk-Subscriber. Others are recorded
    /// as unverified and act on no one.
    Strict,
}

/// How a parsed bounce e-mail becomes hard or soft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Classification {
    /// Hard only when the address can never work (user unknown, host unknown,
    /// moved); a full mailbox or a policy block stays soft even with a 5.x.x.
    #[default]
    Reason,
    /// listmonk's rule: 5.x.x is hard, 4.x.x is soft.
    Permanent,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct KeyProvider {
    pub enabled: bool,
    pub key: Secret,
}

/// Providers that authenticate with HTTP basic credentials in the webhook URL;
/// `token` (beyond listmonk) accepts `Authorization: Bearer <token>` instead.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct BasicAuthProvider {
    pub enabled: bool,
    pub username: String,
    pub password: Secret,
    #[serde(skip_serializing_if = "Secret::is_empty")]
    pub token: Secret,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct AzureProvider {
    pub enabled: bool,
    pub shared_secret: Secret,
    /// Header that carries the secret; the `code` query parameter is accepted
    /// too. Empty (listmonk's default) means [`AZURE_DEFAULT_SECRET_HEADER`].
    pub shared_secret_header: String,
}

/// The header listmonk reads the Azure secret from when
/// `shared_secret_header` is empty, so a subscription made for listmonk
/// works unchanged.
pub const AZURE_DEFAULT_SECRET_HEADER: &str = "X-Listmonk-Webhook-Secret";

impl AzureProvider {
    /// The header the secret is read from.
    pub fn secret_header(&self) -> &str {
        match self.shared_secret_header.trim() {
            "" => AZURE_DEFAULT_SECRET_HEADER,
            h => h,
        }
    }
}

/// Postal signs with RSA; the public key is not a secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct PostalProvider {
    pub enabled: bool,
    /// PEM (SPKI) or the base64 key Postal shows in its DNS record / JWKS.
    pub public_key: String,
}

/// Mandrill signs the webhook URL with the form: `url` is the URL exactly
/// as entered in Mandrill, `key` the webhook's authentication key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct MandrillProvider {
    pub enabled: bool,
    pub key: Secret,
    pub url: String,
}

/// A shared secret in a request header (EventBridge connections' API key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct HeaderKeyProvider {
    pub enabled: bool,
    /// Empty means `x-rebound-key`.
    pub header: String,
    pub key: Secret,
}

impl HeaderKeyProvider {
    pub const DEFAULT_HEADER: &str = "x-rebound-key";

    pub fn header_name(&self) -> &str {
        match self.header.trim() {
            "" => Self::DEFAULT_HEADER,
            h => h,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MailboxKind {
    #[default]
    Pop,
    Imap,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum MailboxAuth {
    None,
    #[default]
    Userpass,
    /// SASL XOAUTH2 / OAUTHBEARER with a token rebound obtains (the
    /// mailbox's `oauth2` object; crate::oauth2).
    Oauth2,
}

/// What an IMAP scanner does with a message once its outcome is durable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum AfterProcessing {
    #[default]
    Delete,
    Move,
}

/// One entry of `bounce.mailboxes` (listmonk's shape, plus IMAP and limits).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MailboxSettings {
    /// Stable id: names the mailbox in the status API and keeps its password
    /// when the masked settings come back. Assigned on save when missing.
    pub uuid: Option<Uuid>,
    pub enabled: bool,
    #[serde(rename = "type")]
    pub kind: MailboxKind,
    pub host: String,
    pub port: u16,
    pub auth_protocol: MailboxAuth,
    pub username: String,
    pub password: Secret,
    /// The client and grant of an `oauth2` mailbox (beyond listmonk).
    #[serde(skip_serializing_if = "crate::oauth2::MailboxOAuth2::is_unset")]
    pub oauth2: crate::oauth2::MailboxOAuth2,
    pub return_path: String,
    #[serde(with = "crate::duration::required")]
    pub scan_interval: Duration,
    /// Implicit TLS (POP3S 995, IMAPS 993).
    pub tls_enabled: bool,
    /// Upgrade a plain connection with STLS / STARTTLS (when tls_enabled is off).
    pub starttls: bool,
    pub tls_skip_verify: bool,
    /// IMAP folder to scan.
    pub folder: String,
    pub after_processing: AfterProcessing,
    /// IMAP folder processed messages move to when `after_processing` is "move".
    pub move_to: String,
    /// At most this many messages per scan (listmonk: 1000).
    pub max_messages: u32,
    /// Messages larger than this are kept on the server and reported, not fetched.
    pub max_message_size: u64,
    /// The longest one message's parsing may take. A message that takes
    /// longer is kept unparsed (a `parse_error`) and not tried again, so one
    /// hostile message cannot stall the mailbox.
    #[serde(with = "crate::duration::required")]
    pub parse_timeout: Duration,
    /// Fields rebound does not use: kept as they came so a save never drops them.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Default for MailboxSettings {
    fn default() -> Self {
        MailboxSettings {
            uuid: None,
            enabled: false,
            kind: MailboxKind::Pop,
            host: String::new(),
            port: 995,
            auth_protocol: MailboxAuth::Userpass,
            username: String::new(),
            password: Secret::default(),
            oauth2: Default::default(),
            return_path: String::new(),
            scan_interval: Duration::from_secs(15 * 60),
            tls_enabled: true,
            starttls: false,
            tls_skip_verify: false,
            folder: "INBOX".to_string(),
            after_processing: AfterProcessing::Delete,
            move_to: String::new(),
            max_messages: 1000,
            max_message_size: 10 * 1024 * 1024,
            parse_timeout: Duration::from_secs(10),
            other: BTreeMap::new(),
        }
    }
}

impl MailboxSettings {
    /// A readable name for logs and the status API.
    pub fn label(&self) -> String {
        format!("{}@{}:{}", self.username, self.host, self.port)
    }
}

/// `bounce.verp`: encode subscriber and campaign in the envelope sender.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(default)]
pub struct VerpSettings {
    pub enabled: bool,
    /// e.g. "bounces+{subscriber_uuid}.{campaign_uuid}@site.com"
    pub address: String,
    /// Sign the address: the subscriber's id with an HMAC tag, so a bounce
    /// to it proves rebound sent that subscriber a message.
    pub signed: bool,
    /// The signing key; made when signing is turned on without one.
    pub secret: Secret,
}

impl VerpSettings {
    /// Local-part octets a signed address takes in place of
    /// {subscriber_uuid} (the id and its tag; the campaign is left out).
    pub const SIGNED_TOKEN_LEN: usize = 42;

    /// The local part of a signed address made from `address`.
    fn signed_local_len(&self) -> usize {
        let local = self.address.rsplit_once('@').map_or(self.address.as_str(), |(l, _)| l);
        let mut len = local.replace("{subscriber_uuid}", &"x".repeat(Self::SIGNED_TOKEN_LEN)).len();
        if let Some(i) = local.find("{campaign_uuid}") {
            len -= "{campaign_uuid}".len();
            // The separator before it goes too.
            if local[..i].ends_with(['.', '-', '_', '=', '+']) {
                len -= 1;
            }
        }
        len
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SmtpAuth {
    #[default]
    #[serde(rename = "none")]
    None,
    #[serde(rename = "plain")]
    Plain,
    #[serde(rename = "login")]
    Login,
    /// listmonk's default. Kept as listmonk stores it; rebound's sender
    /// (lettre) has no CRAM-MD5, so sending with it is refused with a clear
    /// error rather than silently downgraded to a plain-text password.
    #[serde(rename = "cram")]
    Cram,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum SmtpTls {
    #[default]
    #[serde(rename = "none")]
    None,
    #[serde(rename = "STARTTLS")]
    StartTls,
    #[serde(rename = "TLS")]
    Tls,
}

/// One entry of `smtp` (listmonk's shape).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpServer {
    pub uuid: Option<Uuid>,
    pub enabled: bool,
    pub host: String,
    pub hello_hostname: String,
    pub port: u16,
    pub auth_protocol: SmtpAuth,
    pub username: String,
    pub password: Secret,
    /// Custom headers added to every message, e.g. [{"Return-Path": "bounces@site.com"}].
    /// A Return-Path here also becomes the envelope sender (MAIL FROM).
    pub email_headers: Vec<BTreeMap<String, String>>,
    pub max_conns: u32,
    pub max_msg_retries: u32,
    #[serde(with = "crate::duration::required")]
    pub idle_timeout: Duration,
    #[serde(with = "crate::duration::required")]
    pub wait_timeout: Duration,
    pub tls_type: SmtpTls,
    pub tls_skip_verify: bool,
    /// Fields rebound does not use (listmonk's `name`, `msg_retry_delay`,
    /// `from_addresses`, ...): kept as they came so a save never drops them.
    #[serde(flatten)]
    pub other: BTreeMap<String, Value>,
}

impl Default for SmtpServer {
    fn default() -> Self {
        SmtpServer {
            uuid: None,
            enabled: true,
            host: "localhost".to_string(),
            hello_hostname: String::new(),
            port: 25,
            auth_protocol: SmtpAuth::None,
            username: String::new(),
            password: Secret::default(),
            email_headers: Vec::new(),
            max_conns: 10,
            max_msg_retries: 2,
            idle_timeout: Duration::from_secs(15),
            wait_timeout: Duration::from_secs(5),
            tls_type: SmtpTls::None,
            tls_skip_verify: false,
            other: BTreeMap::new(),
        }
    }
}

impl SmtpServer {
    /// The custom header `name` (case-insensitive), if configured.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.email_headers
            .iter()
            .flat_map(|h| h.iter())
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Settings {
    /// Every key this type knows, in the flat form.
    pub fn keys() -> Vec<String> {
        match serde_json::to_value(Settings::default()) {
            Ok(Value::Object(m)) => m.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Builds settings from stored rows; keys missing from the map take their defaults.
    pub fn from_map(map: &BTreeMap<String, Value>) -> Result<Settings, CoreError> {
        let obj: Map<String, Value> = map.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        let s: Settings = deserialize_named(Value::Object(obj))?;
        s.validate()?;
        Ok(s)
    }

    /// The flat key -> JSON value form stored in the `settings` table.
    pub fn to_map(&self) -> BTreeMap<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m.into_iter().collect(),
            _ => BTreeMap::new(),
        }
    }

    /// The rules as they apply: `bounce.actions` with `bounce.action_semantics`.
    pub fn bounce_actions(&self) -> BounceActions {
        BounceActions { semantics: self.action_semantics, ..self.actions.clone() }
    }

    /// A PUT /api/settings body applied to the current settings: keys present
    /// replace the current values, missing keys stay, secrets sent back as the
    /// placeholder keep their stored value. An unknown `bounce.*` key is
    /// refused unless it is stored already (a typo must not be silently
    /// ignored); any other key rebound does not use (listmonk's `app.*`, ...)
    /// is kept as sent, so listmonk's UI and clients, which send the whole
    /// settings object, keep all of it.
    pub fn apply_update(&self, update: &Map<String, Value>) -> Result<Settings, CoreError> {
        let known = Settings::keys();
        let mut merged = match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        let mut foreign = BTreeMap::new();
        for (k, v) in update {
            if k.contains('\0') || has_nul(v) {
                // PostgreSQL's jsonb refuses it, and a setting has no use for it.
                return Err(CoreError::invalid(format!("invalid value for {k:?}: U+0000 is not allowed")));
            }
            let is_known = known.iter().any(|n| n == k);
            if !is_known && k.starts_with("bounce.") && !self.other.contains_key(k) {
                return Err(CoreError::invalid(format!("unknown setting {k:?}")));
            }
            if !is_known {
                foreign.insert(k.clone(), v.clone());
            }
            merged.insert(k.clone(), v.clone());
        }
        foreign_settings::check_types(&foreign, &self.other)?;
        let mut next: Settings = deserialize_named(Value::Object(merged))?;
        next.keep_secrets_from(self)?;
        next.assign_ids();
        if next.verp.signed && next.verp.secret.is_empty() {
            next.verp.secret = new_signing_key();
        }
        next.validate()?;
        Ok(next)
    }

    pub fn validate(&self) -> Result<(), CoreError> {
        self.actions.validate()?;
        crate::mapped::validate_all(&self.mapped_providers)?;
        for (i, m) in self.mailboxes.iter().enumerate() {
            if m.enabled && m.host.trim().is_empty() {
                return Err(CoreError::invalid(format!("bounce.mailboxes[{i}].host is required")));
            }
            if m.enabled && m.port == 0 {
                return Err(CoreError::invalid(format!("bounce.mailboxes[{i}].port is required")));
            }
            if m.enabled && m.auth_protocol == MailboxAuth::Oauth2 {
                m.oauth2.check(&format!("bounce.mailboxes[{i}].oauth2")).map_err(CoreError::invalid)?;
            }
            if m.scan_interval < Duration::from_secs(1) {
                return Err(CoreError::invalid(format!(
                    "bounce.mailboxes[{i}].scan_interval must be at least 1s"
                )));
            }
            if m.parse_timeout < Duration::from_millis(1) {
                return Err(CoreError::invalid(format!(
                    "bounce.mailboxes[{i}].parse_timeout must be at least 1ms"
                )));
            }
            if m.after_processing == AfterProcessing::Move && m.move_to.trim().is_empty() {
                return Err(CoreError::invalid(format!(
                    "bounce.mailboxes[{i}].move_to is required when after_processing is \"move\""
                )));
            }
        }
        for (i, s) in self.smtp.iter().enumerate() {
            if s.enabled && s.host.trim().is_empty() {
                return Err(CoreError::invalid(format!("smtp[{i}].host is required")));
            }
        }
        if self.verp.enabled && !self.verp.address.contains("{subscriber_uuid}") {
            return Err(CoreError::invalid("bounce.verp.address must contain {subscriber_uuid}"));
        }
        if self.verp.enabled && self.verp.signed && self.verp.signed_local_len() > 64 {
            return Err(CoreError::invalid(format!(
                "bounce.verp.address: a signed address would have a local part of {} octets; RFC 5321 \
                 allows 64 (the signed id takes {})",
                self.verp.signed_local_len(),
                VerpSettings::SIGNED_TOKEN_LEN
            )));
        }
        Ok(())
    }

    /// A copy safe to show: every secret replaced by the placeholder, those
    /// of the keys rebound does not use too (as listmonk masks them).
    pub fn masked(&self) -> Settings {
        let mut s = self.clone();
        foreign_settings::mask(&mut s.other);
        for secret in s.secrets_mut() {
            *secret = secret.masked();
        }
        for m in &mut s.mailboxes {
            m.password = m.password.masked();
            m.oauth2.mask();
        }
        for m in &mut s.smtp {
            m.password = m.password.masked();
        }
        for p in &mut s.mapped_providers {
            if let Some(secret) = p.authentication.secret_mut() {
                *secret = secret.masked();
            }
        }
        s
    }

    fn secrets_mut(&mut self) -> [&mut Secret; 22] {
        [
            &mut self.verp.secret,
            &mut self.sendgrid_key,
            &mut self.postmark.password,
            &mut self.postmark.token,
            &mut self.forwardemail.key,
            &mut self.azure.shared_secret,
            &mut self.lettermint.key,
            &mut self.mailgun.key,
            &mut self.resend.key,
            &mut self.brevo.password,
            &mut self.brevo.token,
            &mut self.mailjet.password,
            &mut self.mailjet.token,
            &mut self.sparkpost.password,
            &mut self.sparkpost.token,
            &mut self.mailersend.key,
            &mut self.smtp2go.password,
            &mut self.smtp2go.token,
            &mut self.zeptomail.key,
            &mut self.elasticemail.key,
            &mut self.mandrill.key,
            &mut self.ses_eventbridge.key,
        ]
    }

    /// Secrets sent back as the placeholder or as "" keep their stored value. A
    /// mailbox's or SMTP server's password is kept only while the host, port
    /// and username it was saved for are unchanged: otherwise whoever may edit
    /// the settings without reading them could point the entry at a server of
    /// their own and receive the password at the next login.
    fn keep_secrets_from(&mut self, old: &Settings) -> Result<(), CoreError> {
        foreign_settings::keep_secrets(&mut self.other, &old.other)?;
        let mut old = old.clone();
        for (new, old) in self.secrets_mut().into_iter().zip(old.secrets_mut()) {
            new.keep_unless_changed(old);
        }
        for p in &mut self.mapped_providers {
            p.keep_secret_from(&old.mapped_providers);
        }
        // List entries are matched by uuid (listmonk does the same), else by position.
        for (i, m) in self.mailboxes.iter_mut().enumerate() {
            let prev = m
                .uuid
                .and_then(|u| old.mailboxes.iter().find(|o| o.uuid == Some(u)))
                .or_else(|| old.mailboxes.get(i).filter(|_| m.uuid.is_none()));
            let server =
                |s: &MailboxSettings| (s.host.trim().to_ascii_lowercase(), s.port, s.username.clone());
            let grant = prev.map(|p| (p, p.oauth2.grant_owner() == m.oauth2.grant_owner()));
            let prev = prev.map(|p| (&p.password, server(p) == server(m)));
            keep_server_secret(&mut m.password, prev, &format!("bounce.mailboxes[{i}].password"))?;
            let field = format!("bounce.mailboxes[{i}].oauth2");
            let secret = grant.map(|(p, same)| (&p.oauth2.client_secret, same));
            keep_server_secret(&mut m.oauth2.client_secret, secret, &format!("{field}.client_secret"))?;
            let token = grant.map(|(p, same)| (&p.oauth2.refresh_token, same));
            keep_server_secret(&mut m.oauth2.refresh_token, token, &format!("{field}.refresh_token"))?;
        }
        for (i, m) in self.smtp.iter_mut().enumerate() {
            let prev = m
                .uuid
                .and_then(|u| old.smtp.iter().find(|o| o.uuid == Some(u)))
                .or_else(|| old.smtp.get(i).filter(|_| m.uuid.is_none()));
            let server = |s: &SmtpServer| (s.host.trim().to_ascii_lowercase(), s.port, s.username.clone());
            let prev = prev.map(|p| (&p.password, server(p) == server(m)));
            keep_server_secret(&mut m.password, prev, &format!("smtp[{i}].password"))?;
        }
        Ok(())
    }

    /// Gives every mailbox and SMTP server a uuid so later updates can find it.
    pub fn assign_ids(&mut self) {
        for m in &mut self.mailboxes {
            m.uuid.get_or_insert_with(Uuid::new_v4);
        }
        for s in &mut self.smtp {
            s.uuid.get_or_insert_with(Uuid::new_v4);
        }
    }
}

/// 244 random bits as 64 hex digits: two v4 uuids (the uuid crate's
/// randomness is the operating system's), which spares this crate a
/// random-number dependency of its own.
fn new_signing_key() -> Secret {
    Secret::new(format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple()))
}

/// The placeholder (or "") keeps `prev`'s password only when it belongs to
/// the same server (`same_server`); a stored password for another server
/// must be typed again.
fn keep_server_secret(new: &mut Secret, prev: Option<(&Secret, bool)>, field: &str) -> Result<(), CoreError> {
    match prev {
        Some((stored, false)) if new.is_placeholder() && !stored.is_empty() => {
            Err(CoreError::invalid(format!(
                "{field} must be entered again: the host, port or username changed, and a stored \
             password is kept only for the server it was saved for"
            )))
        }
        // Another server: an empty password stays empty (it is not the
        // stored one, which belongs to the old server).
        Some((_, false)) => Ok(()),
        Some((stored, true)) => {
            new.keep_unless_changed(stored);
            Ok(())
        }
        None => {
            new.keep_unless_changed(&Secret::default());
            Ok(())
        }
    }
}

fn has_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(m) => m.iter().any(|(k, v)| k.contains('\0') || has_nul(v)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// Deserialises settings and says which key was wrong, because a bare serde
/// message ("invalid type: string, expected u32") does not tell an operator where.
fn deserialize_named(v: Value) -> Result<Settings, CoreError> {
    if let Value::Object(m) = &v {
        let defaults = Settings::default().to_map();
        for (k, val) in m.iter().filter(|(k, _)| defaults.contains_key(*k)) {
            let mut probe: Map<String, Value> = defaults.clone().into_iter().collect();
            probe.insert(k.clone(), val.clone());
            if let Err(e) = serde_json::from_value::<Settings>(Value::Object(probe)) {
                return Err(CoreError::invalid(format!("invalid value for {k}: {e}")));
            }
        }
    }
    serde_json::from_value(v).map_err(|e| CoreError::invalid(format!("invalid settings: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_are_listmonks() {
        let m = Settings::default().to_map();
        assert_eq!(m["bounce.enabled"], json!(false));
        assert_eq!(m["bounce.webhooks_enabled"], json!(false));
        assert_eq!(m["bounce.actions"]["soft"], json!({"count": 2, "action": "none"}));
        assert_eq!(m["bounce.actions"]["hard"], json!({"count": 1, "action": "blocklist"}));
        assert_eq!(m["bounce.actions"]["complaint"], json!({"count": 1, "action": "blocklist"}));
        assert_eq!(m["bounce.postmark"], json!({"enabled": false, "username": "", "password": ""}));
        assert_eq!(m["bounce.sendgrid_key"], json!(""));
        assert!(m["bounce.mailboxes"].as_array().unwrap().is_empty());
    }

    #[test]
    fn secrets_are_masked_and_kept() {
        let mut s = Settings { sendgrid_key: Secret::new("MFkwEw-key"), ..Settings::default() };
        s.postmark.password = Secret::new("pm-pass");
        s.mailboxes.push(MailboxSettings {
            enabled: true,
            host: "pop.example.com".into(),
            password: Secret::new("mbox-pass"),
            ..Default::default()
        });
        s.assign_ids();
        let shown = serde_json::to_value(s.masked()).unwrap();
        let text = shown.to_string();
        assert!(!text.contains("MFkwEw-key") && !text.contains("pm-pass") && !text.contains("mbox-pass"));

        // The client sends the masked object back with one change.
        let mut back = shown.as_object().unwrap().clone();
        back.insert("bounce.enabled".into(), json!(true));
        let next = s.apply_update(&back).unwrap();
        assert!(next.bounce_enabled);
        assert_eq!(next.sendgrid_key.expose(), "MFkwEw-key");
        assert_eq!(next.postmark.password.expose(), "pm-pass");
        assert_eq!(next.mailboxes[0].password.expose(), "mbox-pass");

        // A new value replaces the secret.
        let mut upd = Map::new();
        upd.insert("bounce.sendgrid_key".into(), json!("new-key"));
        assert_eq!(s.apply_update(&upd).unwrap().sendgrid_key.expose(), "new-key");
    }

    #[test]
    fn mapped_providers_are_validated_masked_and_keep_their_secrets() {
        let acme = json!([{
            "name": "acme", "enabled": true,
            "fields": {"address": "/to", "event_type": "/event"},
            "types": {"bounce": "hard"},
            "authentication": {"type": "hmac", "key": "acme-key-1", "header": "X-Sig"}
        }]);
        let s = Settings::default()
            .apply_update(&Map::from_iter([("bounce.mapped_providers".to_string(), acme.clone())]))
            .unwrap();
        let shown = serde_json::to_value(s.masked()).unwrap();
        assert!(!shown.to_string().contains("acme-key-1"));
        assert_eq!(
            shown["bounce.mapped_providers"][0]["authentication"]["key"],
            crate::secret::SECRET_PLACEHOLDER
        );
        // The masked list sent back keeps the key.
        let back = s.apply_update(shown.as_object().unwrap()).unwrap();
        let key = |s: &Settings| match &s.mapped_providers[0].authentication {
            crate::mapped::Authentication::Hmac { key, .. } => key.expose().to_string(),
            _ => unreachable!(),
        };
        assert_eq!(key(&back), "acme-key-1");
        // No authentication, without the explicit opt-in: refused, naming the entry.
        let mut open = acme.clone();
        open[0]["authentication"] = json!({"type": "none"});
        let err = s
            .apply_update(&Map::from_iter([("bounce.mapped_providers".to_string(), open)]))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("bounce.mapped_providers[0]") && err.contains("i_understand_anyone_can_post"),
            "{err}"
        );
        // Two with one name.
        let twice = json!([acme[0].clone(), acme[0].clone()]);
        let err = s
            .apply_update(&Map::from_iter([("bounce.mapped_providers".to_string(), twice)]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("used twice"), "{err}");
        // The presets' secrets are masked too.
        let mut p = Settings::default();
        p.mandrill.key = Secret::new("md-key");
        p.ses_eventbridge.key = Secret::new("eb-key");
        let shown = serde_json::to_value(p.masked()).unwrap().to_string();
        assert!(!shown.contains("md-key") && !shown.contains("eb-key"));
    }

    #[test]
    fn a_stored_password_stays_with_its_server() {
        let mut s = Settings::default();
        s.mailboxes.push(MailboxSettings {
            enabled: true,
            host: "pop.example.com".into(),
            username: "bounces".into(),
            password: Secret::new("mbox-pass"),
            ..Default::default()
        });
        s.smtp[0].password = Secret::new("smtp-pass");
        s.smtp[0].username = "sender".into();
        s.assign_ids();
        let shown = serde_json::to_value(s.masked()).unwrap();
        for (key, field, change) in [
            ("bounce.mailboxes", "host", json!("evil.example")),
            ("bounce.mailboxes", "port", json!(1110)),
            ("bounce.mailboxes", "username", json!("other")),
            ("smtp", "host", json!("evil.example")),
            ("smtp", "port", json!(2525)),
            ("smtp", "username", json!("other")),
        ] {
            let mut list = shown[key].clone();
            list[0][field] = change.clone();
            let upd = Map::from_iter([(key.to_string(), list.clone())]);
            let err = s.apply_update(&upd).unwrap_err().to_string();
            let name = if key == "smtp" { "smtp[0].password" } else { "bounce.mailboxes[0].password" };
            assert!(err.contains(name) && err.contains("entered again"), "{key}.{field}: {err}");
            // With the password typed again, the change is saved.
            list[0]["password"] = json!("new-pass");
            let next = s.apply_update(&Map::from_iter([(key.to_string(), list)])).unwrap();
            let saved = if key == "smtp" { &next.smtp[0].password } else { &next.mailboxes[0].password };
            assert_eq!(saved.expose(), "new-pass");
        }
        // Unchanged server (other fields edited): kept.
        let mut list = shown["bounce.mailboxes"].clone();
        list[0]["scan_interval"] = json!("5m");
        list[0]["host"] = json!("POP.example.com");
        let next = s.apply_update(&Map::from_iter([("bounce.mailboxes".to_string(), list)])).unwrap();
        assert_eq!(next.mailboxes[0].password.expose(), "mbox-pass");
    }

    #[test]
    fn bad_updates_name_the_key() {
        let s = Settings::default();
        let mut upd = Map::new();
        upd.insert("bounce.actions".into(), json!({"soft": {"count": "two", "action": "none"}}));
        let err = s.apply_update(&upd).unwrap_err().to_string();
        assert!(err.contains("bounce.actions"), "{err}");

        let mut upd = Map::new();
        upd.insert("bounce.enabeld".into(), json!(true));
        assert!(s.apply_update(&upd).unwrap_err().to_string().contains("bounce.enabeld"));

        let mut upd = Map::new();
        upd.insert("app.root_url".into(), json!("http://x"));
        assert!(!s.apply_update(&upd).unwrap().bounce_enabled);
    }

    #[test]
    fn keys_and_fields_rebound_does_not_use_are_kept() {
        let stored = BTreeMap::from([
            ("app.site_name".to_string(), json!("Mailing list")),
            ("bounce.some_future_key".to_string(), json!({"x": 1})),
            (
                "bounce.mailboxes".to_string(),
                json!([{"host": "pop.x", "scan_interval": "15m", "later": [1]}]),
            ),
            ("bounce.action_semantics".to_string(), json!("listmonk")),
        ]);
        let s = Settings::from_map(&stored).unwrap();
        assert_eq!(s.bounce_actions().semantics, ActionSemantics::Listmonk);
        assert_eq!(s.bounce_actions().hard, s.actions.hard);
        let m = s.to_map();
        assert_eq!(m["app.site_name"], "Mailing list");
        assert_eq!(m["bounce.some_future_key"], json!({"x": 1}));
        assert_eq!(m["bounce.mailboxes"][0]["later"], json!([1]));
        // Sent back, a stored key rebound does not know is accepted; a new one
        // under bounce.* is a typo.
        let back = s.apply_update(&Map::from_iter(m.clone())).unwrap();
        assert_eq!(back.to_map()["bounce.some_future_key"], json!({"x": 1}));
        let typo = Map::from_iter([("bounce.some_futur_key".to_string(), json!(1))]);
        assert!(s.apply_update(&typo).unwrap_err().to_string().contains("bounce.some_futur_key"));
        let app = Map::from_iter([("app.site_name".to_string(), json!("News"))]);
        assert_eq!(s.apply_update(&app).unwrap().other["app.site_name"], "News");
        let nul = Map::from_iter([("app.site_name".to_string(), json!("a\u{0}b"))]);
        assert!(s.apply_update(&nul).unwrap_err().to_string().contains("U+0000"));
        let bad = Map::from_iter([("bounce.action_semantics".to_string(), json!("both"))]);
        assert!(s.apply_update(&bad).unwrap_err().to_string().contains("bounce.action_semantics"));
        assert_eq!(Settings::default().action_semantics, ActionSemantics::Rebound);
    }

    #[test]
    fn mailbox_listmonk_shape() {
        let m: MailboxSettings = serde_json::from_value(json!({
            "enabled": true, "type": "pop", "host": "pop.gmail.com", "port": 995,
            "auth_protocol": "userpass", "username": "u", "password": "p",
            "return_path": "bounce@site.com", "scan_interval": "15m",
            "tls_enabled": true, "tls_skip_verify": false
        }))
        .unwrap();
        assert_eq!(m.scan_interval, Duration::from_secs(900));
        assert_eq!(m.max_messages, 1000);
    }

    #[test]
    fn signing_verp_makes_a_key_keeps_it_and_masks_it() {
        let s = Settings::default();
        let mut upd = Map::new();
        upd.insert(
            "bounce.verp".into(),
            json!({"enabled": true, "signed": true, "address": "bounces+{subscriber_uuid}.{campaign_uuid}@site.com"}),
        );
        upd.insert("bounce.attribution".into(), json!("strict"));
        let next = s.apply_update(&upd).unwrap();
        assert_eq!(next.attribution, AttributionMode::Strict);
        let key = next.verp.secret.expose().to_string();
        assert_eq!(key.len(), 64);
        let shown = serde_json::to_value(next.masked()).unwrap();
        assert!(!shown.to_string().contains(&key), "the key is shown");
        // The masked settings sent back keep the key.
        let back = next.apply_update(shown.as_object().unwrap()).unwrap();
        assert_eq!(back.verp.secret.expose(), key);
        assert_eq!(Settings::default().attribution, AttributionMode::Any);
    }

    #[test]
    fn a_signed_verp_address_must_fit_64_octets() {
        let mut s = Settings {
            verp: VerpSettings {
                enabled: true,
                signed: true,
                address: "bounces+{subscriber_uuid}.{campaign_uuid}@site.com".into(),
                secret: Secret::new("k"),
            },
            ..Settings::default()
        };
        assert!(s.validate().is_ok());
        s.verp.address = format!("{}+{{subscriber_uuid}}@site.com", "b".repeat(22));
        let err = s.validate().unwrap_err().to_string();
        assert!(err.contains("65 octets"), "{err}");
    }

    #[test]
    fn smtp_return_path_header() {
        let s: SmtpServer = serde_json::from_value(json!({
            "host": "smtp.site.com", "port": 587, "tls_type": "STARTTLS",
            "email_headers": [{"Return-Path": "bounces@site.com"}]
        }))
        .unwrap();
        assert_eq!(s.header("return-path"), Some("bounces@site.com"));
        assert_eq!(s.tls_type, SmtpTls::StartTls);
    }
}
