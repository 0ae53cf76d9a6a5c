//! From status, reply code and text to a [`Reason`], and from a reason to a
//! [`BounceType`].

use rebound_core::BounceType;
use rebound_core::settings::Classification;

use crate::codes;
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
    reason: std::cell::OnceCell<Option<Reason>>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        Context { text, reason: std::cell::OnceCell::new() }
    }

    fn reason(&self) -> Option<Reason> {
        *self.reason.get_or_init(|| reason::from_text(self.text))
    }
}

/// The reason, by the order of the tables: an exact status code that
/// names an address failure is trusted, then the recipient's diagnostic
/// text, then the rest of the status table, the reply code, and last the
/// notice text around it.
pub(crate) fn reason(e: &Evidence<'_>) -> Reason {
    if let Some(r) = reason::from_vendor_code(e.diagnostic) {
        return r;
    }
    let r = base_reason(e);
    let class = e
        .status
        .and_then(|s| s.bytes().next())
        .or_else(|| e.reply.map(|r| if r >= 500 { b'5' } else { b'4' }));
    if matches!(r, Reason::HostUnknown | Reason::UserUnknown) && e.command == Some(codes::Command::MailFrom) {
        // Refused in reply to MAIL FROM: the unknown address or domain is
        // the sender's, so the sender was rejected.
        return Reason::Rejected;
    }
    if r == Reason::HostUnknown && class == Some(b'4') {
        // A name lookup that failed with a transient code is a DNS problem
        // the MTA will retry, not a domain that does not exist.
        return Reason::NetworkError;
    }
    if r != Reason::UserUnknown {
        return r;
    }
    // "User unknown" said after the server accepted RCPT TO, or with a
    // status that is about the mailbox (x.2.x) rather than the address
    // (x.1.x), is the recipient's filter refusing the message: the address
    // exists. Sisimai calls this `filtered`, and it is not a hard bounce.
    let detail = e.status.and_then(|s| s.get(2..));
    let subject = detail.and_then(|d| d.split('.').next());
    let at_rcpt = e.command == Some(codes::Command::RcptTo);
    let after_rcpt = e.command == Some(codes::Command::Data);
    match subject {
        // x.1.x: the status itself says the address is bad.
        Some("1") => Reason::UserUnknown,
        // x.2.x (mailbox status), x.3.x (system), x.7.x (policy): the code
        // says the mailbox exists but refused this message.
        Some("2" | "3" | "7") if !at_rcpt => Reason::Filtered,
        None | Some("0") if after_rcpt => Reason::Filtered,
        _ => Reason::UserUnknown,
    }
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

fn base_reason(e: &Evidence<'_>) -> Reason {
    if names_missing_host(e.diagnostic) {
        return Reason::HostUnknown;
    }
    let strong = e.status.and_then(|s| reason::from_status(s, true));
    let text = reason::match_text(e.diagnostic);
    match (strong, text) {
        // "550 5.1.1 ... rejected" is an unknown user; the phrase "rejected"
        // must not override an exact address-failure code.
        (Some(s), Some(t))
            if s.is_permanent_address_failure()
                && !t.reason.is_permanent_address_failure()
                && !overrides_address(t.reason) =>
        {
            return s;
        }
        // A catch-all phrase ("Recipient address rejected") does not beat
        // an exact status code either.
        (Some(s), Some(t)) if t.generic => return s,
        (_, Some(t)) => return t.reason,
        (Some(s), None) => return s,
        (None, None) => {}
    }
    if let Some(r) = e.status.and_then(|s| reason::from_status(s, false)) {
        if !matches!(
            r,
            Reason::Blocked
                | Reason::SecurityError
                | Reason::SyntaxError
                | Reason::NetworkError
                | Reason::SystemError
        ) {
            return r;
        }
        if let Some(t) = e.context.reason() {
            return t;
        }
        return r;
    }
    if let Some(r) = e.reply.and_then(reason::from_reply) {
        return r;
    }
    if let Some(t) = e.context.reason() {
        return t;
    }
    if e.status.is_some() || e.reply.is_some() { Reason::Undefined } else { Reason::OnHold }
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
            | Reason::BadReputation
            | Reason::MailerError
    )
}

/// Hard, soft or complaint for a reason (see the crate docs).
pub fn bounce_type(
    reason: Reason,
    status: Option<&str>,
    reply: Option<u16>,
    mode: Classification,
) -> BounceType {
    if reason == Reason::Feedback {
        return BounceType::Complaint;
    }
    let class =
        status.and_then(|s| s.bytes().next()).or_else(|| reply.map(|r| if r >= 500 { b'5' } else { b'4' }));
    match mode {
        Classification::Permanent => match class {
            Some(b'5') => BounceType::Hard,
            Some(_) => BounceType::Soft,
            // No code at all: the MTA reported a failure, not a delay, so
            // by listmonk's reading it is permanent.
            None => BounceType::Hard,
        },
        Classification::Reason => {
            if reason.is_permanent_address_failure() || (reason == Reason::NotAccept && class != Some(b'4')) {
                BounceType::Hard
            } else {
                BounceType::Soft
            }
        }
    }
}

/// An SMTP server's refusal of one recipient during a send, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpReply {
    pub reason: Reason,
    /// The enhanced status in the reply, else `x.0.0` from the reply code.
    pub status: Option<String>,
    pub bounce_type: BounceType,
}

/// Types a refusal received while sending (RFC 5321 §4.2: the reply to
/// RCPT TO, or to the end of DATA when `after_data`) with the same tables
/// as a bounce e-mail's Diagnostic-Code. `reply` is the whole reply as
/// received, e.g. "550 5.1.1 <a@b.example>: Recipient address rejected".
pub fn classify_smtp_reply(code: u16, reply: &str, after_data: bool, mode: Classification) -> SmtpReply {
    let status = best_status(None, reply, Some(code));
    let command = if after_data { codes::Command::Data } else { codes::Command::RcptTo };
    let context = Context::new(reply);
    let r = reason(&Evidence {
        status: status.as_deref(),
        command: Some(command),
        reply: Some(code),
        diagnostic: reply,
        context: &context,
    });
    SmtpReply { reason: r, bounce_type: bounce_type(r, status.as_deref(), Some(code), mode), status }
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
