//! From the evidence about one recipient to a [`Reason`] and a
//! [`BounceType`], with the [`Explanation`] of both.
//!
//! The type is read from that recipient's own evidence, in this order: its
//! enhanced status code (a 4.x.x means the answering server itself called
//! the failure temporary: soft, unless its own diagnostic says the address
//! does not exist), then its reply code, then the words of its diagnostic.
//! A relayed answer ("host X said: 450 4.7.1 ...") is read for the answer
//! it relays, and a generic prefix ("Recipient address rejected:") carries
//! no meaning: the words after it decide.

use rebound_core::BounceType;
use rebound_core::settings::Classification;

use crate::Action;
use crate::codes;
use crate::explain::{Basis, Explanation, Step};
use crate::reason::{self, Reason};

/// Evidence about one failed recipient.
pub(crate) struct Evidence<'a> {
    pub status: Option<&'a str>,
    /// The SMTP command the remote server refused, if the bounce says.
    pub command: Option<codes::Command>,
    pub reply: Option<u16>,
    /// The recipient's own diagnostic (Diagnostic-Code or its text block).
    pub diagnostic: &'a str,
    /// The whole notice, consulted when the diagnostic names no cause.
    pub context: &'a Context<'a>,
}

/// Text around the recipients (the notice), with the reason its phrases
/// name found once per message however many recipients ask.
pub(crate) struct Context<'a> {
    text: &'a str,
    reason: std::cell::OnceCell<Option<reason::TextMatch>>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Context { text, reason: std::cell::OnceCell::new() }
    }

    fn reason(&self) -> Option<reason::TextMatch> {
        *self.reason.get_or_init(|| reason::match_text(self.text))
    }
}

/// A reason and what decided it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Judged {
    pub reason: Reason,
    pub step: Step,
    /// The recipient's own words name this reason (whatever else does too).
    pub in_words: bool,
}

impl Judged {
    pub(crate) fn new(reason: Reason, by: Basis, evidence: impl Into<String>) -> Self {
        let in_words =
            matches!(by, Basis::Diagnostic | Basis::VendorCode | Basis::VendorCategory | Basis::Provider);
        Judged { reason, step: Step::new(by, evidence), in_words }
    }
}

/// The whole verdict on one recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Verdict {
    pub reason: Reason,
    pub bounce_type: BounceType,
    pub explanation: Explanation,
}

impl Verdict {
    pub(crate) fn new(j: Judged, bounce_type: BounceType, type_step: Step) -> Self {
        Verdict {
            reason: j.reason,
            bounce_type,
            explanation: Explanation::new(j.reason, j.step, bounce_type, type_step),
        }
    }
}

/// The reason and its basis: a provider's documented code first, then the
/// tables (see [`base_reason`]), then what the refused command and the
/// status class change about it.
pub(crate) fn judge_reason(e: &Evidence<'_>) -> Judged {
    if let Some((r, code)) = reason::from_vendor_code(e.diagnostic) {
        return Judged::new(r, Basis::VendorCode, code);
    }
    let mut j = base_reason(e);
    let class = class_of(e.status, e.reply);
    if matches!(j.reason, Reason::HostUnknown | Reason::UserUnknown)
        && e.command == Some(codes::Command::MailFrom)
    {
        // Refused in reply to MAIL FROM: the unknown address or domain is
        // the sender's, so the sender was rejected.
        return Judged::new(Reason::Rejected, Basis::Command, "MAIL FROM");
    }
    if j.reason == Reason::HostUnknown && class == Some(4) {
        // A name lookup that failed with a transient code is a DNS problem
        // the MTA will retry, not a domain that does not exist.
        j.reason = Reason::NetworkError;
        return j;
    }
    if j.reason != Reason::UserUnknown {
        return j;
    }
    // "User unknown" said after the server accepted RCPT TO, or with a
    // status that is about the mailbox (x.2.x) rather than the address
    // (x.1.x), is the recipient's filter refusing the message: the address
    // exists. Sisimai calls this `filtered`, and it is not a hard bounce.
    let detail = e.status.and_then(|s| s.get(2..));
    let subject = detail.and_then(|d| d.split('.').next());
    let at_rcpt = e.command == Some(codes::Command::RcptTo);
    let after_rcpt = e.command == Some(codes::Command::Data);
    let filtered = match subject {
        Some("1") => false,
        Some("2" | "3" | "7") => !at_rcpt,
        None | Some("0") => after_rcpt,
        _ => false,
    };
    if filtered {
        j.reason = Reason::Filtered;
    }
    j
}

/// The status class digit, else the reply code's.
fn class_of(status: Option<&str>, reply: Option<u16>) -> Option<u8> {
    status
        .and_then(|s| s.bytes().next())
        .map(|c| c.wrapping_sub(b'0'))
        .or_else(|| reply.map(|r| (r / 100) as u8))
}

/// "553 mail.example.com does not exist": the thing that does not exist
/// is a host name (dots, no "@"), so the domain is unknown, not a user.
fn names_missing_host(text: &str) -> bool {
    let lower = text.to_ascii_lowercase();
    let Some(i) = lower.find(" does not exist") else { return false };
    let token = lower[..i].rsplit(|c: char| c.is_whitespace()).next().unwrap_or("");
    let token = token.trim_matches(|c: char| matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | '[' | ']'));
    token.contains('.')
        && !token.contains('@')
        && token.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'-')
}

/// The answer a diagnostic relays, if it relays one: a server that checked
/// the address with the next hop ("unverified address: host X said: 450
/// 4.7.1 ... greylisted") or reports another's refusal quotes that answer,
/// and the quoted answer is the evidence, not the relaying server's words.
/// The words of an answer that can say why: Postfix words every recipient
/// restriction as "<a@b>: Recipient address rejected: <why>", so that
/// prefix says nothing (not even "rejected"); the words after it decide.
fn without_generic_prefix(text: &str) -> std::borrow::Cow<'_, str> {
    const PREFIX: &[u8] = b"recipient address rejected";
    let lower = text.to_ascii_lowercase();
    let Some(at) = memchr::memmem::find(lower.as_bytes(), PREFIX) else { return text.into() };
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for at in std::iter::once(at)
        .chain(memchr::memmem::find_iter(&lower.as_bytes()[at + 1..], PREFIX).map(|i| i + at + 1))
    {
        out.push_str(&text[from..at]);
        from = at + PREFIX.len();
    }
    out.push_str(&text[from..]);
    out.into()
}

pub(crate) fn relayed_answer(diag: &str) -> &str {
    const SAID: &[u8] = b"said:";
    let b = diag.as_bytes();
    let Some(at) = memchr::memmem::rfind(&b.to_ascii_lowercase(), SAID) else { return diag };
    let inner = diag[at + SAID.len()..].trim();
    if inner.is_empty() { diag } else { inner }
}

/// The reason by the order of the tables: an exact status code that names
/// an address failure is trusted, then the recipient's diagnostic text (its
/// relayed answer first), then the rest of the status table, the reply
/// code, and last the notice text around it.
fn base_reason(e: &Evidence<'_>) -> Judged {
    let inner = relayed_answer(e.diagnostic);
    if names_missing_host(inner) {
        return Judged::new(Reason::HostUnknown, Basis::Diagnostic, "does not exist");
    }
    let status = || e.status.unwrap_or_default().to_string();
    let strong = e.status.and_then(|s| reason::from_status(s, true));
    let text = reason::match_text(&without_generic_prefix(inner)).or_else(|| {
        // The relaying server's own words, when the relayed answer names
        // no cause.
        if inner.len() == e.diagnostic.len() {
            None
        } else {
            reason::match_text(&without_generic_prefix(e.diagnostic))
        }
    });
    match (strong, text) {
        // "550 5.1.1 ... rejected" is an unknown user; the phrase "rejected"
        // must not override an exact address-failure code.
        (Some(s), Some(t))
            if s.is_permanent_address_failure()
                && !t.reason.is_permanent_address_failure()
                && !overrides_address(t.reason) =>
        {
            return Judged::new(s, Basis::Status, status());
        }
        // Both say the same: the status, first in the order of evidence.
        (Some(s), Some(t)) if s == t.reason => {
            return Judged { in_words: true, ..Judged::new(s, Basis::Status, status()) };
        }
        // A catch-all phrase does not beat an exact status code either.
        (Some(s), Some(t)) if t.generic => return Judged::new(s, Basis::Status, status()),
        (_, Some(t)) if !t.generic => return Judged::new(t.reason, Basis::Diagnostic, t.phrase),
        (Some(s), _) => return Judged::new(s, Basis::Status, status()),
        // Nor any code: "550 5.1.0 Address rejected" is about the address.
        (None, _) => {}
    }
    let generic = text.filter(|t| t.generic).map(|t| Judged::new(t.reason, Basis::Diagnostic, t.phrase));
    if let Some(r) = e.status.and_then(|s| reason::from_status(s, false)) {
        let vague = matches!(
            r,
            Reason::Blocked
                | Reason::SecurityError
                | Reason::SyntaxError
                | Reason::NetworkError
                | Reason::SystemError
        );
        if !vague {
            return Judged::new(r, Basis::Status, status());
        }
        if let Some(g) = generic {
            // "Rejected" is as vague as these codes, and names the refusal.
            return g;
        }
        if let Some(t) = e.context.reason() {
            return Judged::new(t.reason, Basis::Notice, t.phrase);
        }
        return Judged::new(r, Basis::Status, status());
    }
    if let Some(g) = generic {
        return g;
    }
    if let Some(r) = e.reply.and_then(reason::from_reply) {
        return Judged::new(r, Basis::ReplyCode, e.reply.unwrap_or_default().to_string());
    }
    if let Some(t) = e.context.reason() {
        return Judged::new(t.reason, Basis::Notice, t.phrase);
    }
    match (e.status, e.reply) {
        (Some(s), _) => Judged::new(Reason::Undefined, Basis::Status, s),
        (None, Some(r)) => Judged::new(Reason::Undefined, Basis::ReplyCode, r.to_string()),
        (None, None) => Judged::new(Reason::OnHold, Basis::Nothing, ""),
    }
}

/// Reasons whose text beats a 5.1.x code: MTAs use 5.1.1 loosely for full
/// or disabled mailboxes.
fn overrides_address(t: Reason) -> bool {
    matches!(
        t,
        Reason::MailboxFull
            | Reason::Suspend
            | Reason::HasMoved
            | Reason::Expired
            | Reason::Blocked
            | Reason::Speeding
            | Reason::RateLimited
            | Reason::BadReputation
            | Reason::MailerError
            | Reason::Suppressed
    )
}

/// Hard, soft or complaint for a reason found in a recipient's diagnostic
/// (see the crate docs and [`judge_type`]).
pub fn bounce_type(
    reason: Reason,
    status: Option<&str>,
    reply: Option<u16>,
    mode: Classification,
) -> BounceType {
    let said = Judged::new(reason, Basis::Diagnostic, reason.as_str());
    judge_type(&said, status, reply, mode).0
}

/// The type of one recipient and what decided it, in the order of the
/// module docs. Under `Classification::Permanent` (listmonk's rule) the
/// status class alone decides.
pub(crate) fn judge_type(
    j: &Judged,
    status: Option<&str>,
    reply: Option<u16>,
    mode: Classification,
) -> (BounceType, Step) {
    if j.reason == Reason::Feedback {
        return (BounceType::Complaint, j.step.clone());
    }
    let class = class_of(status, reply);
    let code = || status.map(str::to_string).or_else(|| reply.map(|r| r.to_string())).unwrap_or_default();
    if mode == Classification::Permanent {
        let t = match class {
            Some(5) => BounceType::Hard,
            Some(_) => BounceType::Soft,
            // No code at all: the MTA reported a failure, not a delay, so
            // by listmonk's reading it is permanent.
            None => BounceType::Hard,
        };
        return (t, Step::new(Basis::PermanentRule, class.map_or("none".into(), |c| format!("{c}"))));
    }
    let by_reason = Step::new(Basis::Reason, "");
    if class == Some(4) {
        // The answering server called it temporary. Only its own words
        // saying the address does not exist outweigh that.
        let says_missing = matches!(j.reason, Reason::UserUnknown | Reason::HostUnknown) && j.in_words;
        if says_missing {
            return (BounceType::Hard, by_reason);
        }
        return (BounceType::Soft, Step::new(Basis::Status, format!("{} is temporary", code())));
    }
    let hard = j.reason.is_permanent_address_failure() || j.reason == Reason::NotAccept;
    (if hard { BounceType::Hard } else { BounceType::Soft }, by_reason)
}

/// Reason, type and explanation for one recipient.
pub(crate) fn verdict(e: &Evidence<'_>, mode: Classification) -> Verdict {
    let j = judge_reason(e);
    let (t, step) = judge_type(&j, e.status, e.reply, mode);
    Verdict::new(j, t, step)
}

/// The verdict on a recipient whose delivery ended as `action`: a delay
/// warning (reported only with `report_delays`) is soft, and a failure
/// under a 4.x.x is a delivery given up after temporary failures, which
/// is what its reason is when the answer names no more precise cause.
pub(crate) fn settle(
    mut j: Judged,
    action: Action,
    status: Option<&str>,
    reply: Option<u16>,
    mode: Classification,
) -> Verdict {
    let code = status.map(str::to_string).or_else(|| reply.map(|r| r.to_string())).unwrap_or_default();
    if action == Action::Delayed {
        if matches!(j.reason, Reason::OnHold | Reason::Undefined | Reason::NetworkError) {
            j = Judged::new(Reason::Expired, Basis::Delay, code.clone());
        }
        return Verdict::new(j, BounceType::Soft, Step::new(Basis::Delay, code));
    }
    // Unless the answer's own words named the cause (a full mailbox, a
    // rate limit), what a code or the notice suggests is less than what
    // happened: the delivery was given up.
    let named = j.in_words && !matches!(j.reason, Reason::OnHold | Reason::Undefined);
    if action == Action::Failed && class_of(status, reply) == Some(4) && !named {
        j = Judged::new(Reason::Expired, Basis::Expiry, code);
    }
    let (t, step) = judge_type(&j, status, reply, mode);
    Verdict::new(j, t, step)
}

/// RFC 3463 X.4.7, "delivery time expired".
pub(crate) fn says_expired(status: Option<&str>) -> bool {
    status.is_some_and(|s| s.get(1..) == Some(".4.7"))
}

/// An SMTP server's refusal of one recipient during a send, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply {
    pub reason: Reason,
    /// The enhanced status in the reply, else `x.0.0` from the reply code.
    pub status: Option<String>,
    pub bounce_type: BounceType,
    /// What decided the reason and the type.
    pub explanation: Explanation,
}

/// Types a refusal received while sending (RFC 5321 §4.2: the reply to
/// RCPT TO, or to the end of DATA when `after_data`) with the same tables
/// as a bounce e-mail's Diagnostic-Code. `reply` is the whole reply as
/// received, e.g. "550 5.1.1 <a@b.example>: Recipient address rejected".
pub fn classify_smtp_reply(code: u16, reply: &str, after_data: bool, mode: Classification) -> SmtpReply {
    let status = best_status(None, reply, Some(code));
    let command = if after_data { codes::Command::Data } else { codes::Command::RcptTo };
    let context = Context::new(reply);
    let v = verdict(
        &Evidence {
            status: status.as_deref(),
            command: Some(command),
            reply: Some(code),
            diagnostic: reply,
            context: &context,
        },
        mode,
    );
    SmtpReply { reason: v.reason, bounce_type: v.bounce_type, status, explanation: v.explanation }
}

/// The status to report. A code inside the remote server's reply is more
/// precise than the Status field the reporting MTA filled in (often a
/// catch-all `5.0.0` or its own `4.4.7`), and in a nested reply ("554 4.4.7
/// expired <421 4.4.2 timed out>") the last code is the underlying cause.
/// Without any D.S.N status, the reply code's class gives `x.0.0`
/// (RFC 3463 §3.1: "other undefined status").
pub(crate) fn best_status(field: Option<&str>, diagnostic: &str, reply: Option<u16>) -> Option<String> {
    let field = field.and_then(codes::find_status);
    let diag = codes::find_status_all(diagnostic)
        .filter(|c| !c.ends_with(".0.0"))
        .last()
        .or_else(|| codes::find_status(diagnostic));
    match (field, diag) {
        (_, Some(d)) => Some(d),
        (Some(f), None) => Some(f),
        (None, None) => reply.filter(|r| (400..600).contains(r)).map(|r| format!("{}.0.0", r / 100)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_blocks_stay_soft() {
        let t = bounce_type(Reason::Blocked, Some("5.7.1"), Some(550), Classification::Reason);
        assert_eq!(t, BounceType::Soft);
        let t = bounce_type(Reason::Blocked, Some("5.7.1"), Some(550), Classification::Permanent);
        assert_eq!(t, BounceType::Hard);
        assert_eq!(
            bounce_type(Reason::UserUnknown, Some("4.1.1"), None, Classification::Reason),
            BounceType::Hard
        );
        assert_eq!(
            bounce_type(Reason::NotAccept, Some("4.3.2"), None, Classification::Reason),
            BounceType::Soft
        );
    }

    #[test]
    fn missing_host_versus_missing_user() {
        assert!(names_missing_host("553 neko.example.com does not exist"));
        assert!(!names_missing_host("550 mailbox <a@b.example> does not exist"));
        assert!(!names_missing_host("the account does not exist"));
    }

    #[test]
    fn precise_status_from_diagnostic() {
        assert_eq!(best_status(Some("5.0.0"), "550 5.1.1 unknown", None).as_deref(), Some("5.1.1"));
        assert_eq!(
            best_status(Some("4.4.7"), "554 4.4.7 expired <421 4.4.2 timed out>", None).as_deref(),
            Some("4.4.2")
        );
        assert_eq!(best_status(Some("5.2.2"), "550 mailbox full", None).as_deref(), Some("5.2.2"));
        assert_eq!(best_status(None, "said: 550 unknown", Some(550)).as_deref(), Some("5.0.0"));
    }

    #[test]
    fn smtp_replies_at_send_time() {
        let r = classify_smtp_reply(
            550,
            "550 5.1.1 <ghost@site.test>: Recipient address rejected: User unknown in virtual mailbox table",
            false,
            Classification::Reason,
        );
        assert_eq!(
            (r.reason, r.status.as_deref(), r.bounce_type),
            (Reason::UserUnknown, Some("5.1.1"), BounceType::Hard)
        );
        let r = classify_smtp_reply(552, "552 5.2.2 Mailbox full", false, Classification::Reason);
        assert_eq!((r.reason, r.bounce_type), (Reason::MailboxFull, BounceType::Soft));
        let r = classify_smtp_reply(554, "554 Message rejected as spam", true, Classification::Reason);
        assert_eq!(r.status.as_deref(), Some("5.0.0"));
        assert_eq!(r.bounce_type, BounceType::Soft);
    }
}
