//! Bounce-message parsing for rebound.
//!
//! [`parse`] takes the raw bytes of one e-mail from a bounce mailbox and
//! tells whether it is a bounce, and if so, for whom and why:
//!
//! * RFC 3464 delivery status notifications (`multipart/report;
//!   report-type=delivery-status`, RFC 6522), including the many MTAs that
//!   get the format slightly wrong;
//! * RFC 5965 ARF feedback-loop complaints;
//! * plain-text and vendor notices (qmail, Exim, Sendmail, Postfix,
//!   Exchange, Domino, webmail providers), through a general text scanner
//!   and phrase tables.
//!
//! Each failed recipient gets a [`Reason`] (a taxonomy after Sisimai's) and
//! a [`BounceType`]: `hard` only when the address can never work
//! (user/host unknown, moved, a null-MX domain with a 5xx), `soft` for
//! everything else, even a 5.x.x full mailbox or policy block, because
//! blocklisting a subscriber for the sender's own reputation problem would
//! be wrong. [`ParseOptions::classification`] offers listmonk's rule (5.x.x
//! hard, 4.x.x soft) instead.
//!
//! Auto-replies (RFC 3834), success and relay notices (2.x.x), delay
//! warnings and ordinary mail come back as [`Parsed::NotBounce`].
//!
//! The parser is pure (no I/O besides the [`input`] helper for the CLI),
//! never panics on any input, and compiles its phrase tables once per
//! process.

pub mod explain;
pub mod input;
pub mod output;
pub mod reason;
pub mod ses;
pub mod verp;

mod address;
mod analyze;
mod arf;
mod classify;
mod codes;
mod complaint;
mod dsn_report;
mod fields;
mod identity;
mod mime;
mod reading;
mod text;
mod text_report;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub use classify::{SmtpReply, bounce_type, classify_smtp_reply};
pub use explain::{Basis, Explanation, Step};
pub use reason::Reason;
pub use rebound_core::BounceType;
pub use rebound_core::settings::Classification;
pub use verp::VerpIds;

/// The crate's one error type; only the [`input`] walker can fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

/// Knobs for [`parse_with`].
#[derive(Debug, Clone)]
pub struct ParseOptions {
    /// Bytes of a message looked at; the rest is ignored (the notice and the
    /// headers of the original come first, attachments last).
    pub max_size: usize,
    /// The `bounce.verp.address` template, to decode VERP ids from the
    /// address the bounce was delivered to. Without one, ids after a `+`
    /// are still found ([`verp::decode_plus`]).
    pub verp_template: Option<String>,
    /// How recipients are typed hard or soft.
    pub classification: Classification,
    /// Report delay warnings (RFC 3464 `Action: delayed`, "will be
    /// retried") as [`Parsed::Bounce`] with recipients whose action is
    /// [`Action::Delayed`], instead of [`NotBounceKind::Delayed`]. Off by
    /// default: a delayed message may still arrive, so it must not count as
    /// a bounce. Sisimai reports them (as soft), so the corpus comparison
    /// turns this on.
    pub report_delays: bool,
}

/// Most recipients one report names; the rest are not read, and the
/// report says it is [`Report::truncated`]. A notice lists the recipients of
/// one message (RFC 5321 §4.5.3.1.8 asks servers to take 100 per message),
/// and a newsletter sends one message per subscriber: a "notice" naming
/// thousands of addresses is an attack, and each would become a bounce.
pub const MAX_RECIPIENTS: usize = 1000;

/// 10 MiB: far above any notice, and a bounce that returns a large
/// original still has its notice in the first bytes.
pub const DEFAULT_MAX_SIZE: usize = 10 * 1024 * 1024;

impl Default for ParseOptions {
    fn default() -> Self {
        ParseOptions {
            max_size: DEFAULT_MAX_SIZE,
            verp_template: None,
            classification: Classification::Reason,
            report_delays: false,
        }
    }
}

/// What a message turned out to be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Parsed {
    Bounce(Report),
    NotBounce(NotBounce),
}

impl Parsed {
    pub fn report(&self) -> Option<&Report> {
        match self {
            Parsed::Bounce(r) => Some(r),
            Parsed::NotBounce(_) => None,
        }
    }

    pub fn attribution(&self) -> &Attribution {
        match self {
            Parsed::Bounce(r) => &r.attribution,
            Parsed::NotBounce(n) => &n.attribution,
        }
    }
}

/// A message that reports no failure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NotBounce {
    pub why: NotBounceKind,
    /// Ids found anyway, so the caller can file the message sensibly.
    pub attribution: Attribution,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotBounceKind {
    /// RFC 3834 auto-reply or vacation notice.
    AutoReply,
    /// Delay warning: the message is still queued (RFC 3464 `Action: delayed`).
    Delayed,
    /// Success, relay or expansion notice (`Action: delivered`/`relayed`/
    /// `expanded`, status 2.x.x).
    Delivered,
    /// Ordinary mail, or a notice with no recipient to blame.
    Other,
    /// No header could be parsed at all.
    Unparseable,
}

/// Who the original message was for, as far as the bounce tells.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attribution {
    /// `X-Listmonk-Subscriber` of the returned original, else the VERP id.
    pub subscriber_uuid: Option<Uuid>,
    /// `X-Listmonk-Campaign` of the returned original, else the VERP id.
    pub campaign_uuid: Option<Uuid>,
    /// Message-ID of the returned original.
    pub original_message_id: Option<String>,
    /// Ids decoded from To / Delivered-To / X-Original-To of the bounce.
    pub verp: Option<VerpIds>,
}

/// How the report was recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportKind {
    /// RFC 3464 delivery-status fields.
    Dsn,
    /// RFC 5965 feedback report.
    Feedback,
    /// A plain-text or vendor notice.
    Text,
}

/// A bounce or complaint: one entry per failed recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub kind: ReportKind,
    pub recipients: Vec<Recipient>,
    pub attribution: Attribution,
    /// Reporting-MTA (RFC 3464 §2.2.2 / RFC 5965 §3.2).
    pub reporting_mta: Option<String>,
    /// Date of the bounce (its Date header).
    pub date: Option<String>,
    /// RFC 5965 Feedback-Type of a complaint (abuse, auth-failure, ...).
    pub feedback_type: Option<String>,
    /// The message was longer than [`ParseOptions::max_size`], or named
    /// more than [`MAX_RECIPIENTS`] recipients.
    pub truncated: bool,
    /// The bounce's own Message-ID.
    pub message_id: Option<String>,
    /// What identifies this notice whatever its bytes: its Message-ID, else
    /// the reporting MTA, the notice's Date, the original's Message-ID and
    /// the recipients with their statuses. The same notice delivered twice
    /// (a redelivery adds a Received header) has the same identity; see
    /// [`Report::event_id`]. None when the notice says too little to be told
    /// from another bounce of the same address (no Message-ID, no Date, no
    /// original Message-ID): then only its bytes can identify it.
    pub notice_id: Option<String>,
}

impl Report {
    /// Recipients whose delivery failed for good (not delay warnings, which
    /// appear only with [`ParseOptions::report_delays`]).
    pub fn failures(&self) -> impl Iterator<Item = &Recipient> {
        self.recipients.iter().filter(|r| r.action != Some(Action::Delayed))
    }

    /// The identity of one recipient's bounce in this notice: the notice's
    /// identity and the address, the key for recording it once.
    pub fn event_id(&self, r: &Recipient) -> Option<String> {
        self.notice_id.as_ref().map(|id| format!("{id} {}", r.address))
    }

    /// One [`rebound_core::BounceEvent`] per failed recipient, ready for the
    /// store: the subscriber by uuid (X-Listmonk-Subscriber or VERP) and
    /// e-mail, the campaign uuid, the type, `source`, the recipient's
    /// evidence as `meta`, and [`Report::event_id`] as the event id.
    /// A complaint without a recipient gives one event if a uuid is known.
    pub fn to_events(&self, source: &str) -> Vec<rebound_core::BounceEvent> {
        let a = &self.attribution;
        let event = |r: Option<&Recipient>| {
            let email = r.and_then(|r| rebound_core::EmailAddress::parse(&r.address).ok());
            let subscriber = rebound_core::SubscriberRef::new(a.subscriber_uuid, email).ok()?;
            let bounce_type = r.map_or(BounceType::Complaint, |r| r.bounce_type);
            let mut e = rebound_core::BounceEvent::new(subscriber, bounce_type, source);
            e.campaign_uuid = a.campaign_uuid;
            e.meta = serde_json::json!({
                "recipient": r,
                "kind": self.kind,
                "feedback_type": self.feedback_type,
                "original_message_id": a.original_message_id,
                "reporting_mta": self.reporting_mta,
                "date": self.date,
            });
            e.event_id = match r {
                Some(r) => self.event_id(r),
                None => self.notice_id.clone(),
            };
            Some(e)
        };
        if self.recipients.is_empty() {
            return event(None).into_iter().collect();
        }
        self.failures().filter_map(|r| event(Some(r))).collect()
    }
}

/// RFC 3464 §2.3.3 Action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Failed,
    Delayed,
    Delivered,
    Relayed,
    Expanded,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Failed => "failed",
            Action::Delayed => "delayed",
            Action::Delivered => "delivered",
            Action::Relayed => "relayed",
            Action::Expanded => "expanded",
        }
    }

    pub(crate) fn parse(v: &str) -> Option<Action> {
        let v = v.trim().to_ascii_lowercase();
        let word = v.split(|c: char| !c.is_ascii_alphabetic()).next().unwrap_or("");
        Some(match word {
            "failed" | "failure" => Action::Failed,
            "delayed" => Action::Delayed,
            "delivered" => Action::Delivered,
            "relayed" => Action::Relayed,
            "expanded" => Action::Expanded,
            _ => return None,
        })
    }
}

/// One failed recipient.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Recipient {
    /// Lower-cased failed address (Final-Recipient, or what the notice names).
    pub address: String,
    /// Original-Recipient (RFC 3464 §2.3.1), when it differs.
    pub original_address: Option<String>,
    /// None for complaints, which report no delivery action.
    pub action: Option<Action>,
    /// D.S.N status (RFC 3463), e.g. "5.1.1".
    pub status: Option<String>,
    /// Remote SMTP reply code, e.g. 550.
    pub reply_code: Option<u16>,
    pub diagnostic: Option<String>,
    pub remote_mta: Option<String>,
    pub reporting_mta: Option<String>,
    pub reason: Reason,
    #[serde(rename = "type")]
    pub bounce_type: BounceType,
    /// Which evidence decided the reason and the type.
    pub explanation: Explanation,
    /// Last-Attempt-Date, Arrival-Date or the bounce's Date.
    pub date: Option<String>,
}

/// Parse one message with default options.
pub fn parse(raw: &[u8]) -> Parsed {
    parse_with(raw, &ParseOptions::default())
}

/// Parse one message.
pub fn parse_with(raw: &[u8], opts: &ParseOptions) -> Parsed {
    analyze::analyze(raw, opts, 0)
}
