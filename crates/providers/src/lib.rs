//! Provider webhook adapters for `POST /webhooks/service/{provider}`.
//!
//! Each provider is one module with one pure function from (headers, raw body
//! bytes, now, that provider's settings) to verified bounce events. The
//! signature or credentials are checked over the raw body bytes before any
//! parsing, in constant time; `now` is a parameter so replay windows are
//! testable. Only SES needs I/O (the SNS signing certificate and the
//! subscription confirmation GET), and it goes through [`HttpFetch`], which
//! tests replace with a loopback client.
//!
//! What each module verifies and how it maps events (signature schemes,
//! type mapping, addresses, campaigns, de-duplication ids) is written down
//! in docs/providers.md, one section per provider; each module names its
//! section.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use rebound_core::{BounceEvent, Settings};

mod aws_regions;
pub mod azure;
pub mod brevo;
mod common;
mod fetch;
pub mod forwardemail;
pub mod lettermint;
pub mod mailgun;
pub mod mailjet;
pub mod mapper;
pub mod postal;
pub mod postmark;
pub mod resend;
pub mod sendgrid;
pub mod ses;
pub mod ses_eventbridge;
pub mod sparkpost;
mod status;

pub use fetch::{HttpFetch, ReqwestFetch};
pub use status::{ProviderStatus, statuses};

/// One webhook request as the server received it.
#[derive(Clone, Copy)]
pub struct WebhookRequest<'a> {
    pub headers: &'a http::HeaderMap,
    /// The raw query string without the `?`, e.g. Azure's `code=...`.
    pub query: Option<&'a str>,
    /// The raw body bytes; signatures are verified over these, never over re-serialised JSON.
    pub body: &'a [u8],
}

/// Shows header names only: values carry credentials (Authorization, Azure's secret).
impl std::fmt::Debug for WebhookRequest<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookRequest")
            .field("headers", &self.headers.keys().map(|k| k.as_str()).collect::<Vec<_>>())
            .field("query", &self.query.map(|_| "[redacted]"))
            .field("body_len", &self.body.len())
            .finish()
    }
}

/// What the server does with a verified request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Verified events to record, all in one transaction. May be empty
    /// (a delivery, open, click...): answer 200 and record nothing.
    Events(Vec<BounceEvent>),
    /// Answer this JSON with 200 and record nothing (Event Grid subscription
    /// validation, SNS subscription confirmed, SNS unsubscribe logged).
    Reply(serde_json::Value),
}

/// Why a request is refused. Messages are safe to show to the caller: they
/// never contain a secret or an expected signature.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// -> 404
    #[error("unknown provider {0:?}")]
    UnknownProvider(String),
    /// -> 404
    #[error("provider {0} is disabled")]
    Disabled(&'static str),
    /// -> 404: a mapped provider (`bounce.mapped_providers`) that is switched off.
    #[error("provider {0} is disabled")]
    MappedDisabled(String),
    /// -> 401: bad, missing or malformed signature or credentials, stale
    /// timestamp, topic not allowed, certificate or confirmation URL refused.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// -> 403: refused by this installation's settings whoever sent it
    /// (SES while no topic ARN is allowed).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// -> 400: malformed JSON or payload after successful verification.
    #[error("bad request: {0}")]
    BadRequest(String),
    /// -> 502: a fetch the provider depends on failed (SNS certificate,
    /// SubscribeURL), so the provider retries.
    #[error("upstream error: {0}")]
    Upstream(String),
}

impl ProviderError {
    pub(crate) fn unauthorized(msg: impl Into<String>) -> Self {
        ProviderError::Unauthorized(msg.into())
    }
    pub(crate) fn bad_request(msg: impl Into<String>) -> Self {
        ProviderError::BadRequest(msg.into())
    }
}

/// Every provider name `handle` knows, in the order of docs/providers.md.
const NAMES: &[&str] = &[
    "ses",
    "sendgrid",
    "postmark",
    "forwardemail",
    "azure",
    "lettermint",
    "mailgun",
    "resend",
    "brevo",
    "mailjet",
    "sparkpost",
    "postal",
    "mailersend",
    "smtp2go",
    "zeptomail",
    "elasticemail",
    "mandrill",
    "ses_eventbridge",
];

/// The provider adapters with the little state they need: the HTTP client for
/// SNS, the SNS certificate cache and the Mailgun token cache. One per server,
/// shared across requests.
pub struct Providers {
    fetch: Arc<dyn HttpFetch>,
    certs: ses::CertCache,
    mailgun_tokens: mailgun::TokenCache,
}

impl Providers {
    pub fn new(fetch: Arc<dyn HttpFetch>) -> Self {
        Providers { fetch, certs: ses::CertCache::default(), mailgun_tokens: mailgun::TokenCache::default() }
    }

    /// The provider names of `POST /webhooks/service/{provider}`.
    pub fn names() -> &'static [&'static str] {
        NAMES
    }

    /// Verifies and parses one webhook request for `provider`. The server
    /// answers 503 itself while `bounce.enabled` or `bounce.webhooks_enabled`
    /// is off; this checks only the provider's own switch.
    #[tracing::instrument(skip_all, fields(provider = %provider))]
    pub async fn handle(
        &self,
        provider: &str,
        req: &WebhookRequest<'_>,
        now: DateTime<Utc>,
        settings: &Settings,
    ) -> Result<Outcome, ProviderError> {
        let tolerance = settings.webhook_tolerance;
        let events = match provider {
            "ses" => {
                enabled(settings.ses_enabled, "ses")?;
                let ctx = ses::Context { fetch: self.fetch.as_ref(), certs: &self.certs };
                return ses::handle(&ctx, req, now, &settings.ses_topic_arns, tolerance).await;
            }
            "sendgrid" => {
                enabled(settings.sendgrid_enabled, "sendgrid")?;
                sendgrid::handle(req, now, &settings.sendgrid_key, tolerance)?
            }
            "postmark" => {
                enabled(settings.postmark.enabled, "postmark")?;
                postmark::handle(req, &settings.postmark)?
            }
            "forwardemail" => {
                enabled(settings.forwardemail.enabled, "forwardemail")?;
                forwardemail::handle(req, &settings.forwardemail)?
            }
            "azure" => {
                enabled(settings.azure.enabled, "azure")?;
                return azure::handle(req, &settings.azure);
            }
            "lettermint" => {
                enabled(settings.lettermint.enabled, "lettermint")?;
                lettermint::handle(req, now, &settings.lettermint, tolerance)?
            }
            "mailgun" => {
                enabled(settings.mailgun.enabled, "mailgun")?;
                let verified = mailgun::handle(req, now, &settings.mailgun, tolerance)?;
                self.mailgun_tokens.check(&verified, now, tolerance)?;
                verified.events
            }
            "resend" => {
                enabled(settings.resend.enabled, "resend")?;
                resend::handle(req, now, &settings.resend, tolerance)?
            }
            "brevo" => {
                enabled(settings.brevo.enabled, "brevo")?;
                brevo::handle(req, &settings.brevo)?
            }
            "mailjet" => {
                enabled(settings.mailjet.enabled, "mailjet")?;
                mailjet::handle(req, &settings.mailjet)?
            }
            "sparkpost" => {
                enabled(settings.sparkpost.enabled, "sparkpost")?;
                sparkpost::handle(req, &settings.sparkpost)?
            }
            "postal" => {
                enabled(settings.postal.enabled, "postal")?;
                postal::handle(req, now, &settings.postal, tolerance)?
            }
            "mailersend" => {
                enabled(settings.mailersend.enabled, "mailersend")?;
                let key = &settings.mailersend.key;
                no_empty_key(key, "mailersend")?;
                mapper::handle(&mapper::presets::mailersend(key), req, now, tolerance)?
            }
            "smtp2go" => {
                enabled(settings.smtp2go.enabled, "smtp2go")?;
                common::check_basic_or_bearer(req.headers, &settings.smtp2go, "smtp2go")?;
                mapper::parse(&mapper::presets::smtp2go(), req)?
            }
            "zeptomail" => {
                enabled(settings.zeptomail.enabled, "zeptomail")?;
                let key = &settings.zeptomail.key;
                no_empty_key(key, "zeptomail")?;
                mapper::handle(&mapper::presets::zeptomail(key), req, now, tolerance)?
            }
            "elasticemail" => {
                enabled(settings.elasticemail.enabled, "elasticemail")?;
                let key = &settings.elasticemail.key;
                no_empty_key(key, "elasticemail")?;
                mapper::handle(&mapper::presets::elasticemail(key), req, now, tolerance)?
            }
            "mandrill" => {
                enabled(settings.mandrill.enabled, "mandrill")?;
                let m = &settings.mandrill;
                no_empty_key(&m.key, "mandrill")?;
                if m.url.trim().is_empty() {
                    return Err(ProviderError::unauthorized(
                        "no webhook URL configured for mandrill: Mandrill signs the URL it posts to",
                    ));
                }
                mapper::handle(&mapper::presets::mandrill(&m.key, m.url.trim()), req, now, tolerance)?
            }
            "ses_eventbridge" => {
                enabled(settings.ses_eventbridge.enabled, "ses_eventbridge")?;
                ses_eventbridge::handle(req, &settings.ses_eventbridge)?
            }
            other => return Err(ProviderError::UnknownProvider(other.to_string())),
        };
        Ok(Outcome::Events(events))
    }
}

impl Providers {
    /// Whether `provider` is notified with GET (or HEAD) requests: Elastic
    /// Email sends its events as URL parameters, Mandrill checks that the
    /// URL exists with a HEAD request before it saves a webhook.
    pub fn accepts_get(provider: &str) -> bool {
        matches!(provider, "elasticemail" | "mandrill")
    }

    /// Verifies and maps one request for the mapped provider `name`
    /// (`bounce.mapped_providers`, `POST /webhooks/service/custom/{name}`).
    #[tracing::instrument(skip_all, fields(provider = %name))]
    pub fn handle_mapped(
        &self,
        name: &str,
        req: &WebhookRequest<'_>,
        now: DateTime<Utc>,
        settings: &Settings,
    ) -> Result<Outcome, ProviderError> {
        let cfg = settings
            .mapped_providers
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ProviderError::UnknownProvider(format!("custom/{name}")))?;
        if !cfg.enabled {
            return Err(ProviderError::MappedDisabled(format!("custom/{name}")));
        }
        mapper::handle(cfg, req, now, settings.webhook_tolerance).map(Outcome::Events)
    }
}

/// A preset whose key is not set refuses everything (never an empty HMAC key).
fn no_empty_key(key: &rebound_core::Secret, name: &str) -> Result<(), ProviderError> {
    if key.expose().trim().is_empty() {
        return Err(ProviderError::unauthorized(format!("no key configured for {name}")));
    }
    Ok(())
}

fn enabled(on: bool, name: &'static str) -> Result<(), ProviderError> {
    if on { Ok(()) } else { Err(ProviderError::Disabled(name)) }
}
