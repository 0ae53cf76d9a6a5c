//! The reason taxonomy (after Sisimai's `Sisimai::Reason`) and the data
//! tables that map D.S.N status codes (RFC 3463, RFC 7372, IANA registry),
//! SMTP reply codes (RFC 5321 §4.2) and diagnostic text to a reason.
//!
//! Classification is table-driven on purpose: a new vendor phrase is one more
//! row, never a branch keyed on a file or a vendor name.

use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::{Deserialize, Serialize};

/// Why a message could not be delivered. The names are Sisimai 5's;
/// `emailtoolarge` and `ratelimited` were `mesgtoobig` and `toomanyconn`
/// before Sisimai 5, and the old names are still read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    UserUnknown,
    HostUnknown,
    HasMoved,
    MailboxFull,
    Suspend,
    Expired,
    Filtered,
    Rejected,
    Blocked,
    SpamDetected,
    VirusDetected,
    PolicyViolation,
    AuthFailure,
    BadReputation,
    RequirePtr,
    SecurityError,
    ContentError,
    NotCompliantRfc,
    #[serde(alias = "mesgtoobig")]
    EmailTooLarge,
    ExceedLimit,
    NoRelaying,
    NotAccept,
    NetworkError,
    SystemError,
    SystemFull,
    MailerError,
    /// Too many connections or messages in too little time from the sender.
    #[serde(alias = "toomanyconn")]
    RateLimited,
    /// The recipient's own inbound rate ("receiving mail at a rate that
    /// prevents additional messages").
    Speeding,
    /// The sending service refused to send: the address is on its
    /// suppression list (after an earlier bounce or complaint).
    Suppressed,
    /// The TLS session the receiving server demands could not be set up.
    #[serde(rename = "failedstarttls")]
    FailedStartTls,
    SyntaxError,
    OnHold,
    Undefined,
    Feedback,
    Vacation,
    Delivered,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        use Reason::*;
        match self {
            UserUnknown => "userunknown",
            HostUnknown => "hostunknown",
            HasMoved => "hasmoved",
            MailboxFull => "mailboxfull",
            Suspend => "suspend",
            Expired => "expired",
            Filtered => "filtered",
            Rejected => "rejected",
            Blocked => "blocked",
            SpamDetected => "spamdetected",
            VirusDetected => "virusdetected",
            PolicyViolation => "policyviolation",
            AuthFailure => "authfailure",
            BadReputation => "badreputation",
            RequirePtr => "requireptr",
            SecurityError => "securityerror",
            ContentError => "contenterror",
            NotCompliantRfc => "notcompliantrfc",
            EmailTooLarge => "emailtoolarge",
            ExceedLimit => "exceedlimit",
            NoRelaying => "norelaying",
            NotAccept => "notaccept",
            NetworkError => "networkerror",
            SystemError => "systemerror",
            SystemFull => "systemfull",
            MailerError => "mailererror",
            RateLimited => "ratelimited",
            Speeding => "speeding",
            Suppressed => "suppressed",
            FailedStartTls => "failedstarttls",
            SyntaxError => "syntaxerror",
            OnHold => "onhold",
            Undefined => "undefined",
            Feedback => "feedback",
            Vacation => "vacation",
            Delivered => "delivered",
        }
    }

    /// The address itself can never work again (Sisimai's
    /// `is_hardbounce`); `NotAccept` is hard only with a permanent code, so
    /// the caller decides that one.
    pub fn is_permanent_address_failure(self) -> bool {
        matches!(self, Reason::UserUnknown | Reason::HostUnknown | Reason::HasMoved)
    }
}

impl std::fmt::Display for Reason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

use Reason::*;

/// Exact D.S.N status codes (RFC 3463 §3, RFC 7372, RFC 7505 and the IANA
/// "Enumerated Status Codes" registry) whose meaning is specific enough to
/// decide the reason on their own. The class digit is matched separately
/// (`x.1.1`), because the subject/detail pair carries the meaning.
const STATUS_DETAIL: &[(&str, Reason)] = &[
    ("1.1", UserUnknown),   // bad destination mailbox address
    ("1.2", HostUnknown),   // bad destination system address
    ("1.3", UserUnknown),   // bad destination mailbox address syntax
    ("1.4", UserUnknown),   // destination mailbox address ambiguous
    ("1.6", HasMoved),      // destination mailbox has moved
    ("1.7", Rejected),      // bad sender's mailbox address syntax
    ("1.8", Rejected),      // bad sender's system address
    ("1.10", NotAccept),    // RFC 7505: recipient address has null MX
    ("2.1", Suspend),       // mailbox disabled, not accepting messages
    ("2.2", MailboxFull),   // mailbox full
    ("2.3", ExceedLimit),   // message length exceeds administrative limit
    ("2.4", MailerError),   // mailing list expansion problem
    ("3.1", SystemFull),    // mail system full
    ("3.2", NotAccept),     // system not accepting network messages
    ("3.4", EmailTooLarge), // message too big for system
    ("4.1", NetworkError),  // no answer from host
    ("4.3", SystemError),   // directory server failure
    ("4.5", SystemError),   // mail system congestion
    ("4.6", NetworkError),  // routing loop detected
    ("4.7", Expired),       // delivery time expired
    ("5.3", SyntaxError),   // too many recipients
    ("5.4", SyntaxError),   // invalid command arguments
    ("6.0", ContentError),  // other or undefined media error
    ("6.1", ContentError),
    ("6.2", ContentError),
    ("6.3", ContentError),
    ("6.5", ContentError),
    ("7.5", SecurityError),   // cryptographic failure
    ("7.6", SecurityError),   // cryptographic algorithm not supported
    ("7.7", SecurityError),   // message integrity failure
    ("7.8", SecurityError),   // RFC 4954: authentication credentials invalid
    ("7.9", SecurityError),   // RFC 4954: authentication mechanism too weak
    ("7.11", FailedStartTls), // RFC 4954: encryption required
    ("7.13", Suspend),        // RFC 7372: user account disabled
    ("7.14", SecurityError),  // RFC 7372: trust relationship required
    ("7.15", SecurityError),  // RFC 7372: priority level too low
    ("7.16", EmailTooLarge),  // RFC 7372: message too big for priority
    ("7.17", HasMoved),       // RFC 7372: mailbox owner has changed
    ("7.18", HasMoved),       // RFC 7372: domain owner has changed
    ("7.20", AuthFailure),    // RFC 7372: no passing DKIM signature
    ("7.21", AuthFailure),
    ("7.22", AuthFailure),
    ("7.23", AuthFailure), // RFC 7372: SPF validation failed
    ("7.24", AuthFailure), // RFC 7372: SPF validation error
    ("7.25", RequirePtr),  // RFC 7372: reverse DNS validation failed
    ("7.26", AuthFailure), // RFC 7372: multiple authentication checks failed
    ("7.27", NotAccept),   // RFC 7505: sender address has null MX
];

/// Status codes that only say "something went wrong in this area": used when
/// the text says nothing more specific.
const STATUS_WEAK: &[(&str, Reason)] = &[
    ("1.0", UserUnknown),
    ("1.5", UserUnknown),
    ("1.9", SystemError),
    ("2.0", MailboxFull),
    ("3.0", SystemError),
    ("3.3", SystemError),
    ("3.5", SystemError),
    ("4.0", NetworkError),
    ("4.2", NetworkError),
    // Unable to route: a domain that does not exist, or a name server that
    // did not answer; the text says which.
    ("4.4", HostUnknown),
    ("5.0", SyntaxError),
    ("5.1", SyntaxError),
    ("5.2", SyntaxError),
    ("5.5", SyntaxError),
    ("7.0", SecurityError),
    ("7.1", Blocked),
    ("7.2", SecurityError),
    ("7.3", SecurityError),
    ("7.4", SecurityError),
    ("7.10", SecurityError),
    ("7.12", SecurityError),
    ("7.19", SecurityError),
];

/// Reason for a D.S.N status such as "5.1.1", when the code decides it.
pub fn from_status(status: &str, strong_only: bool) -> Option<Reason> {
    let detail = status.get(2..)?;
    let hit = STATUS_DETAIL.iter().find(|(d, _)| *d == detail).map(|(_, r)| *r);
    if hit.is_some() || strong_only {
        return hit;
    }
    STATUS_WEAK.iter().find(|(d, _)| *d == detail).map(|(_, r)| *r)
}

/// Basic SMTP reply codes (RFC 5321 §4.2.3) that name a cause; most codes
/// (550, 554) say nothing and are left to the text.
const REPLY: &[(u16, Reason)] = &[
    (421, Blocked),
    (450, OnHold),
    (452, MailboxFull),
    (521, NotAccept),
    (551, HasMoved),
    (552, MailboxFull),
    (553, UserUnknown),
    (556, NotAccept),
];

/// PowerMTA's X-PowerMTA-BounceCategory values (PowerMTA User's Guide,
/// "bounce categories"): the sending MTA already classified the failure.
const VENDOR_CATEGORY: &[(&str, Reason)] = &[
    ("bad-mailbox", UserUnknown),
    ("bad-domain", HostUnknown),
    ("inactive-mailbox", Suspend),
    ("quota-issues", MailboxFull),
    ("message-expired", Expired),
    ("no-answer-from-host", NetworkError),
    ("bad-connection", NetworkError),
    ("routing-errors", SystemError),
    ("protocol-errors", SyntaxError),
    ("policy-related", PolicyViolation),
    ("content-related", ContentError),
    ("spam-related", SpamDetected),
    ("virus-related", VirusDetected),
    ("relaying-issues", NoRelaying),
    ("invalid-sender", Rejected),
];

/// Replies that carry a provider's own error code, final whatever the SMTP
/// phase: Yahoo answers "554 delivery error: dd This user doesn't have a
/// yahoo.com account" at end of DATA, and "dd" means the account does not
/// exist.
///
/// Exchange Online's directory-based edge blocking answers "550 5.4.1
/// Recipient address rejected: Access denied" when the address is not in
/// the tenant's directory: with 5.4.1, Microsoft's code for it, "access
/// denied" means the address does not exist (any other "Access denied" is
/// a policy refusal).
const VENDOR_CODES: &[(&str, Reason)] = &[
    ("delivery error: dd this user doesn't have a", UserUnknown),
    ("5.4.1 recipient address rejected: access denied", UserUnknown),
    // Facebook's RCP-P2: the address exists and its owner refuses mail.
    ("refused due to recipient preferences", Filtered),
];

/// A provider's documented code in the diagnostic, and the words that
/// carried it.
pub fn from_vendor_code(text: &str) -> Option<(Reason, &'static str)> {
    let lower = text.to_ascii_lowercase();
    let squeezed = strip_address_tokens(&lower);
    VENDOR_CODES.iter().find(|(p, _)| squeezed.contains(p)).map(|(p, r)| (*r, *p))
}

/// "5.4.1 <a@b>: recipient ..." → "5.4.1 recipient ...": the quoted address
/// between a code and its text says nothing about the cause.
fn strip_address_tokens(lower: &str) -> String {
    let mut out = String::with_capacity(lower.len());
    for w in lower.split_whitespace() {
        if w.contains('@') {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

pub fn from_vendor_category(category: &str) -> Option<Reason> {
    VENDOR_CATEGORY.iter().find(|(c, _)| category.trim().eq_ignore_ascii_case(c)).map(|(_, r)| *r)
}

pub fn from_reply(code: u16) -> Option<Reason> {
    REPLY.iter().find(|(c, _)| *c == code).map(|(_, r)| *r)
}

/// Diagnostic phrases, most specific first within each reason; matched
/// ASCII-case-insensitively on the diagnostic text. When several match, the
/// earliest row in this table wins, so order encodes priority (a "mailbox
/// full" message that also says "rejected" is a full mailbox).
const PHRASES: &[(&str, Reason)] = &[
    ("the account or domain may not exist", HostUnknown),
    // --- the sending service's own suppression list
    ("suppression list", Suppressed),
    ("address is suppressed", Suppressed),
    ("recipient is suppressed", Suppressed),
    // --- content that identifies the cause beyond doubt
    ("virus", VirusDetected),
    ("malware", VirusDetected),
    ("infected", VirusDetected),
    // --- SPF / DKIM / DMARC (RFC 7208, 6376, 7489)
    ("dmarc", AuthFailure),
    ("spf check", AuthFailure),
    ("spf fail", AuthFailure),
    ("spf validation", AuthFailure),
    ("sender policy framework", AuthFailure),
    ("spf record", AuthFailure),
    ("5.7.23", AuthFailure),
    ("dkim", AuthFailure),
    ("authentication failed: ", AuthFailure),
    ("authentication checks failed", AuthFailure),
    ("is not authorized to send", AuthFailure),
    ("not designated as permitted sender", AuthFailure),
    ("does not designate", AuthFailure),
    ("5.7.1 [sr", AuthFailure),
    // --- reverse DNS
    ("reverse dns", RequirePtr),
    ("reverse lookup", RequirePtr),
    ("ptr record", RequirePtr),
    ("no ptr", RequirePtr),
    ("rdns", RequirePtr),
    ("cannot find your hostname", RequirePtr),
    ("cannot resolve your address", RequirePtr),
    ("cannot resolve your hostname", RequirePtr),
    ("client host rejected: cannot find your", RequirePtr),
    ("unresolvable", RequirePtr),
    ("does not have a reverse", RequirePtr),
    ("no reverse", RequirePtr),
    ("reverse mapping", RequirePtr),
    ("ip name lookup failed", RequirePtr),
    ("hostname lookup failed", RequirePtr),
    // --- a local delivery program (procmail, a pipe) failed: whatever it
    // printed, the mailer is at fault, not the address
    ("mailer error", MailerError),
    ("command died", MailerError),
    ("command output", MailerError),
    ("procmail", MailerError),
    // --- mailbox full
    ("mailbox full", MailboxFull),
    ("mailbox is full", MailboxFull),
    ("mailbox has exceeded", MailboxFull),
    ("mailbox exceeds", MailboxFull),
    ("mailbox size limit", MailboxFull),
    ("mailbox quota", MailboxFull),
    ("mail quota", MailboxFull),
    ("quota exceeded", MailboxFull),
    ("quota exceed", MailboxFull),
    ("over quota", MailboxFull),
    ("overquota", MailboxFull),
    ("over the quota", MailboxFull),
    ("exceeded storage allocation", MailboxFull),
    ("exceeds storage", MailboxFull),
    ("exceeded their quota", MailboxFull),
    ("exceeding its mailbox quota", MailboxFull),
    ("is over its quota", MailboxFull),
    ("user is over", MailboxFull),
    ("disk quota", MailboxFull),
    ("quota full", MailboxFull),
    ("full mailbox", MailboxFull),
    ("account is full", MailboxFull),
    ("is full", MailboxFull),
    ("inbox is full", MailboxFull),
    ("out of storage", MailboxFull),
    ("not enough storage", MailboxFull),
    ("too much mail data", MailboxFull),
    ("mailfolder is full", MailboxFull),
    ("storage quota", MailboxFull),
    ("insufficient storage", MailboxFull),
    ("no space left", MailboxFull),
    ("quota", MailboxFull),
    // --- account suspended or disabled
    ("account disabled", Suspend),
    ("account is disabled", Suspend),
    ("account has been disabled", Suspend),
    ("mailbox disabled", Suspend),
    ("mailbox is disabled", Suspend),
    ("account is inactive", Suspend),
    ("mailbox is inactive", Suspend),
    ("account inactive", Suspend),
    ("inactive account", Suspend),
    ("account has been suspended", Suspend),
    ("account is suspended", Suspend),
    ("account suspended", Suspend),
    ("suspended", Suspend),
    ("is deactivated", Suspend),
    ("has been deactivated", Suspend),
    ("account locked", Suspend),
    ("temporarily locked", Suspend),
    ("temporary locked", Suspend),
    ("account is locked", Suspend),
    ("temporarily disabled", Suspend),
    ("mailbox unavailable or access denied", Suspend),
    ("is currently unavailable", Suspend),
    ("not currently active", Suspend),
    ("mailbox not active", Suspend),
    ("account expired", Suspend),
    ("account has expired", Suspend),
    // --- sender rejected (the envelope sender, not the recipient)
    ("sender address rejected", Rejected),
    ("sender rejected", Rejected),
    ("sender denied", Rejected),
    ("sender verify failed", Rejected),
    ("sender verification", Rejected),
    ("sender not allowed", Rejected),
    ("invalid sender", Rejected),
    ("sender is not allowed", Rejected),
    ("domain of sender address", Rejected),
    ("sender domain", Rejected),
    ("unknown sender", Rejected),
    ("bad sender", Rejected),
    ("sender address", Rejected),
    ("return path", Rejected),
    ("envelope sender", Rejected),
    ("rejected: from", Rejected),
    ("you are not allowed to send", Rejected),
    ("your envelope sender", Rejected),
    ("use the smtp server of your isp", Rejected),
    // --- host or domain does not exist
    ("host not found, try again", NetworkError), // a DNS timeout, not NXDOMAIN
    ("host unknown", HostUnknown),
    ("unknown host", HostUnknown),
    ("host not found", HostUnknown),
    ("domain not found", HostUnknown),
    ("domain does not exist", HostUnknown),
    ("no such domain", HostUnknown),
    ("unknown domain", HostUnknown),
    ("domain name not found", HostUnknown),
    ("name or service not known", HostUnknown),
    ("unrouteable mail domain", HostUnknown),
    ("unroutable mail domain", HostUnknown),
    ("illegal host/domain", HostUnknown),
    ("host or domain name not found", HostUnknown),
    ("nxdomain", HostUnknown),
    ("no mx", HostUnknown),
    ("domain is not", HostUnknown),
    ("domain isn't in my list", HostUnknown),
    ("recipient domain must exist", HostUnknown),
    ("bad destination system address", HostUnknown),
    ("unknown mail domain", HostUnknown),
    ("dns error: domain", HostUnknown),
    ("dns error: dns type 'mx' lookup", HostUnknown),
    ("could not be resolved", HostUnknown),
    // --- relaying
    ("relay access denied", NoRelaying),
    ("relaying denied", NoRelaying),
    ("relay denied", NoRelaying),
    ("relay not permitted", NoRelaying),
    ("relaying not permitted", NoRelaying),
    ("relaying not allowed", NoRelaying),
    ("relaying mail to", NoRelaying),
    ("not permitted to relay", NoRelaying),
    ("unable to relay", NoRelaying),
    ("we do not relay", NoRelaying),
    ("no relaying", NoRelaying),
    ("relay prohibited", NoRelaying),
    ("not allowed to relay", NoRelaying),
    ("relaying to", NoRelaying),
    ("not a gateway", NoRelaying),
    ("not local host", NoRelaying),
    // --- sender reputation and block lists
    ("poor reputation", BadReputation),
    ("bad reputation", BadReputation),
    ("low reputation", BadReputation),
    ("sender reputation", BadReputation),
    ("ip reputation", BadReputation),
    ("blacklist", Blocked),
    ("blocklist", Blocked),
    ("black list", Blocked),
    ("block list", Blocked),
    ("dnsbl", Blocked),
    ("rbl", Blocked),
    ("spamhaus", Blocked),
    ("spamcop", Blocked),
    ("sorbs", Blocked),
    ("listed at", Blocked),
    ("client host rejected", Blocked),
    ("open relay", Blocked),
    ("connection refused by", Blocked),
    ("refused to talk to me", Blocked),
    ("your ip", Blocked),
    ("access denied", Blocked),
    ("blocked", Blocked),
    ("banned", Blocked),
    ("not allowed to connect", Blocked),
    ("connection rejected", Blocked),
    ("refused connection", Blocked),
    ("helo", Blocked),
    // --- mailbox moved
    ("has moved", HasMoved),
    ("address has changed", HasMoved),
    ("no longer at this address", HasMoved),
    ("user not local", HasMoved),
    // --- Google Groups: "you may not have permission to post messages to
    // the group" (the group may exist; the sender is refused)
    ("permission to post", Rejected),
    // --- recipient's own filter: au (KDDI) answers "550 : User unknown"
    // after DATA when the recipient refuses the sender's domain.
    ("550 : user unknown", Filtered),
    ("550: : user unknown", Filtered),
    // --- recipient does not exist
    ("user unknown", UserUnknown),
    ("unknown user", UserUnknown),
    ("no such user", UserUnknown),
    ("invalid final delivery userid", UserUnknown), // IMail
    ("check if address is correct", UserUnknown),   // Trend Micro InterScan
    // Japanese MTAs: Domino ("... は Domino ディレクトリには見つかりません"),
    // Notes ("ディレクトリのリストにありません"), carriers ("宛先不明").
    ("ディレクトリには見つかりません", UserUnknown),
    ("ディレクトリのリストにありません", UserUnknown),
    ("宛先不明", UserUnknown),
    ("存在しません", UserUnknown),
    ("no mx found", HostUnknown),
    ("address couldn't be found", UserUnknown),
    ("address could not be found", UserUnknown),
    ("user not found", UserUnknown),
    ("user does not exist", UserUnknown),
    ("user doesn't exist", UserUnknown),
    ("user doesn't have", UserUnknown),
    ("user does not have", UserUnknown),
    ("no such mailbox", UserUnknown),
    ("no such recipient", UserUnknown),
    ("no such account", UserUnknown),
    ("no such address", UserUnknown),
    ("mailbox not found", UserUnknown),
    ("mailbox does not exist", UserUnknown),
    ("mailbox doesn't exist", UserUnknown),
    ("mailbox unknown", UserUnknown),
    ("unknown mailbox", UserUnknown),
    ("invalid mailbox", UserUnknown),
    ("mailbox is not valid", UserUnknown),
    ("not a valid mailbox", UserUnknown),
    ("no mailbox", UserUnknown),
    ("recipient unknown", UserUnknown),
    ("unknown recipient", UserUnknown),
    ("recipient not found", UserUnknown),
    ("recipient does not exist", UserUnknown),
    ("invalid recipient", UserUnknown),
    ("addressee unknown", UserUnknown),
    ("address unknown", UserUnknown),
    ("unknown address", UserUnknown),
    ("invalid address", UserUnknown),
    ("address does not exist", UserUnknown),
    ("address doesn't exist", UserUnknown),
    ("account does not exist", UserUnknown),
    ("account doesn't exist", UserUnknown),
    ("email account that you tried to reach does not exist", UserUnknown),
    ("does not exist", UserUnknown),
    ("doesn't exist", UserUnknown),
    ("not exist", UserUnknown),
    ("unknown local part", UserUnknown),
    ("unknown or illegal alias", UserUnknown),
    ("unrouteable address", UserUnknown),
    ("unroutable address", UserUnknown),
    ("not listed in", UserUnknown),
    ("no account by that name", UserUnknown),
    ("no valid recipients", UserUnknown),
    ("not our customer", UserUnknown),
    ("bad destination mailbox", UserUnknown),
    ("undeliverable address", UserUnknown),
    ("no user", UserUnknown),
    ("is not a known user", UserUnknown),
    ("unknown account", UserUnknown),
    ("user invalid", UserUnknown),
    ("invalid user", UserUnknown),
    ("nonexistent", UserUnknown),
    ("non-existent", UserUnknown),
    ("not a valid recipient", UserUnknown),
    ("has no account", UserUnknown),
    ("no longer valid", UserUnknown),
    ("mailbox unavailable", UserUnknown),
    ("user not exist", UserUnknown),
    ("no mail box", UserUnknown),
    ("not found in directory", UserUnknown),
    ("rejecting recipient", UserUnknown),
    ("recipient rejected", UserUnknown),
    // --- message size
    ("message too large", EmailTooLarge),
    ("message too big", EmailTooLarge),
    ("message is too large", EmailTooLarge),
    ("message is too big", EmailTooLarge),
    ("message size exceeds", EmailTooLarge),
    ("size exceeds", EmailTooLarge),
    ("exceeds size limit", EmailTooLarge),
    ("exceeds the maximum", EmailTooLarge),
    ("message file too big", EmailTooLarge),
    ("message length exceeds", EmailTooLarge),
    ("too large", EmailTooLarge),
    ("size limit", EmailTooLarge),
    // --- spam
    ("spam", SpamDetected),
    ("junk mail", SpamDetected),
    ("bulk mail", SpamDetected),
    ("unsolicited", SpamDetected),
    ("uce", SpamDetected),
    // --- policy
    ("policy violation", PolicyViolation),
    ("violates", PolicyViolation),
    ("violation", PolicyViolation),
    ("prohibited", PolicyViolation),
    ("local policy", PolicyViolation),
    ("policy", PolicyViolation),
    // --- TLS the receiving server demands (RFC 3207)
    ("starttls", FailedStartTls),
    ("tls required", FailedStartTls),
    ("tls is required", FailedStartTls),
    ("encryption required", FailedStartTls),
    ("tls negotiation failed", FailedStartTls),
    ("tls handshake", FailedStartTls),
    // --- security (SMTP AUTH, certificates)
    ("authentication required", SecurityError),
    ("must authenticate", SecurityError),
    ("certificate", SecurityError),
    // --- RFC 5322 and content
    ("rfc 5322", NotCompliantRfc),
    ("rfc5322", NotCompliantRfc),
    ("rfc 2822", NotCompliantRfc),
    ("rfc2822", NotCompliantRfc),
    ("rfc 822", NotCompliantRfc),
    ("not rfc", NotCompliantRfc),
    ("duplicate header", NotCompliantRfc),
    ("multiple addresses in from", NotCompliantRfc),
    ("illegal attachment", ContentError),
    ("header error", ContentError),
    ("invalid header", ContentError),
    ("message header", ContentError),
    ("content rejected", ContentError),
    ("mime", ContentError),
    // --- limits
    ("too many connections", RateLimited),
    ("too many simultaneous", RateLimited),
    ("connection limit", RateLimited),
    ("too many concurrent", RateLimited),
    ("receiving mail at a rate", Speeding),
    ("sent to too many recipients", Speeding),
    ("rate limit", RateLimited),
    ("rate-limit", RateLimited),
    ("ratelimit", RateLimited),
    ("too many messages", RateLimited),
    ("sending rate", RateLimited),
    ("throttl", RateLimited),
    ("too fast", RateLimited),
    ("too many recipients", ExceedLimit),
    ("recipient limit", ExceedLimit),
    // --- delivery not accepted at all
    ("does not accept mail", NotAccept),
    ("doesn't accept mail", NotAccept),
    ("accepts no mail", NotAccept),
    ("not accepting mail", NotAccept),
    ("null mx", NotAccept),
    ("indicated no smtp service", NotAccept),
    ("couldn't find a mail exchanger", NotAccept),
    ("could not find a mail exchanger", NotAccept),
    ("no mail service", NotAccept),
    // --- filtered by the recipient
    ("filtered", Filtered),
    ("refused by recipient", Filtered),
    ("rejected by recipient", Filtered),
    ("recipient refuses", Filtered),
    ("not accepting messages", Filtered),
    ("does not accept", Filtered),
    ("delivery not authorized", Filtered),
    ("content filter", Filtered),
    // --- queue lifetime
    ("retry timeout exceeded", Expired),
    ("message expired", Expired),
    ("envelope expired", Expired),
    ("giving up", Expired),
    ("given up", Expired),
    ("delivery time expired", Expired),
    ("could not be delivered for", Expired),
    ("not delivered within", Expired),
    ("unable to deliver this message after", Expired),
    ("will be deleted from queue", Expired),
    ("too long in queue", Expired),
    ("has been delayed", Expired),
    ("retry time", Expired),
    ("delivery attempts will continue", Expired),
    ("message could not be delivered for", Expired),
    ("could not deliver for the last", Expired),
    ("delivery retry", Expired),
    ("multiple retries", Expired),
    ("failed 20 attempts", Expired),
    ("delivery failed", Expired),
    // --- network and system
    ("x-unix", MailerError),
    ("pipe to", MailerError),
    ("exit status", MailerError),
    ("system full", SystemFull),
    ("disk full", SystemFull),
    ("insufficient system storage", SystemFull),
    ("out of disk", SystemFull),
    ("loops back to myself", SystemError),
    ("mail loop", SystemError),
    ("routing loop", SystemError),
    ("too many hops", SystemError),
    ("loop detected", SystemError),
    ("system error", SystemError),
    ("server error", SystemError),
    ("local error", SystemError),
    ("internal error", SystemError),
    ("operating system error", SystemError),
    ("temporary failure", SystemError),
    ("no route to host", NetworkError),
    ("connection refused", NetworkError),
    ("network is unreachable", NetworkError),
    ("host not reachable", NetworkError),
    ("lost connection", NetworkError),
    ("connection timed out", NetworkError),
    ("timed out", NetworkError),
    ("timeout", NetworkError),
    ("could not connect", NetworkError),
    ("unable to connect", NetworkError),
    ("dns lookup", NetworkError),
    ("name server", NetworkError),
    ("syntax error", SyntaxError),
    ("command unrecognized", SyntaxError),
    ("command not recognized", SyntaxError),
    ("bad sequence of commands", SyntaxError),
    // --- generic: only when nothing above matched and no exact status
    // code says otherwise (see `GENERIC_FROM`). "Recipient address
    // rejected:" is not here: Postfix words every recipient restriction
    // that way, so it says nothing about why; the words after it do.
    ("rejected", Rejected),
];

/// Rows from this phrase on are generic catch-alls.
const GENERIC_FROM: &str = "rejected";

struct PhraseSet {
    automaton: AhoCorasick,
}

static PHRASE_SET: LazyLock<PhraseSet> = LazyLock::new(|| PhraseSet {
    automaton: AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(PHRASES.iter().map(|(p, _)| p))
        .expect("static phrase table compiles"),
});

/// A reason found in text, the phrase that said it, and whether only a
/// generic phrase did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextMatch {
    pub reason: Reason,
    pub phrase: &'static str,
    pub generic: bool,
}

static GENERIC_INDEX: LazyLock<usize> =
    LazyLock::new(|| PHRASES.iter().position(|(p, _)| *p == GENERIC_FROM).unwrap_or(PHRASES.len()));

/// The reason named by the diagnostic text, if any phrase matches: the
/// matching row that comes first in [`PHRASES`] wins.
pub fn from_text(text: &str) -> Option<Reason> {
    match_text(text).map(|m| m.reason)
}

pub fn match_text(text: &str) -> Option<TextMatch> {
    if text.is_empty() {
        return None;
    }
    // Overlapping search: a longer, more specific phrase that starts at the
    // same place as a short one must still be seen.
    let mut best: Option<usize> = None;
    for m in PHRASE_SET.automaton.find_overlapping_iter(text) {
        let i = m.pattern().as_usize();
        if !word_bounded(text, m.start(), m.end()) {
            continue;
        }
        if best.is_none_or(|b| i < b) {
            best = Some(i);
        }
    }
    best.map(|i| TextMatch { reason: PHRASES[i].1, phrase: PHRASES[i].0, generic: i >= *GENERIC_INDEX })
}

/// Phrases must start at a word boundary ("uce" is not in "produce"), and
/// the shortest ones must end at one too; longer phrases may end inside a
/// word so that stems ("throttl", "spam") match their inflections.
fn word_bounded(text: &str, start: usize, end: usize) -> bool {
    let b = text.as_bytes();
    let starts_word = b[start].is_ascii_alphanumeric();
    let before = !starts_word || start == 0 || !b[start - 1].is_ascii_alphanumeric();
    let after = end - start > 3 || end >= b.len() || !b[end].is_ascii_alphanumeric();
    before && after
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table() {
        assert_eq!(from_status("5.1.1", true), Some(UserUnknown));
        assert_eq!(from_status("4.2.2", true), Some(MailboxFull));
        assert_eq!(from_status("5.7.1", true), None);
        assert_eq!(from_status("5.7.1", false), Some(Blocked));
        assert_eq!(from_status("5.7.25", true), Some(RequirePtr));
    }

    #[test]
    fn text_table_orders_by_row() {
        assert_eq!(from_text("550 5.2.2 Mailbox full, rejected"), Some(MailboxFull));
        assert_eq!(from_text("550 User unknown"), Some(UserUnknown));
        assert_eq!(from_text("Message rejected as UCE"), Some(SpamDetected));
        assert_eq!(from_text("produce output"), None);
        assert_eq!(
            from_text("procmail: Couldn't create \"/var/spool/mail/neko\" id: r.example.org: No such user"),
            Some(MailerError)
        );
    }
}
