//! A general scanner for plain-text bounces: qmail (QSBMF), Exim, Postfix
//! and Sendmail without a delivery-status part, Exchange, Domino, Courier,
//! webmail providers and the many "your message could not be delivered"
//! notices that follow no standard.
//!
//! The scanner is one algorithm driven by tables: markers where the pasted
//! original message begins, phrases that introduce a recipient, and phrases
//! that tell a delay warning from a failure. Each row is justified by a
//! format, not by a sample.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

use crate::address;
use crate::fields::lines;

/// Lines that start the returned original message in a plain-text bounce.
/// Everything after the first one is the original, not the notice.
const ORIGINAL_MARKERS: &[&str] = &[
    "--- below this line is a copy of the message", // qmail QSBMF
    "this is a copy of the message",                // Exim
    "copy of the message, including all the headers",
    "----- original message -----",
    "-----original message-----",
    "original message follows",
    "original message header",
    "original message headers",
    "unsent message follows",
    "returned mail contents",
    "returned message follows",
    "message header follows",
    "message headers follow",
    "header of the original message",
    "headers of the original message",
    "the original message headers",
    "original message is attached",
    "content-type: message/rfc822",
    "content-type: text/rfc822-headers",
    "your message reads (in part)",
    "--- the header of the original message is following",
    "------ original message ------",
    "--- original message follows",
    "------- returned message --------",
    "bounced e-mail:",
    "the text you sent follows",
    "below this line is a copy",
    "forwarded message",
    "received: from",
    "return-path: <",
];

static ORIGINAL_SET: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .build(ORIGINAL_MARKERS)
        .expect("static marker table compiles")
});

/// The notice part of a plain-text bounce: the text before the returned
/// original. A marker in the first line does not count (nothing before it
/// could be a notice).
///
/// One pass over the markers: the start of the current line and where its
/// leading decoration ends are remembered, not searched again per marker.
pub(crate) fn notice_part(text: &str) -> (&str, &str) {
    let b = text.as_bytes();
    // (line start, end of its leading decoration) of the last line seen.
    let mut line: Option<(usize, usize)> = None;
    let mut scanned = 0usize;
    for m in ORIGINAL_SET.find_iter(text) {
        if let Some(nl) = memchr::memrchr2(b'\n', b'\r', &b[scanned..m.start()]) {
            line = Some((scanned + nl + 1, decoration_end(b, scanned + nl + 1)));
        } else if line.is_none() {
            line = Some((0, decoration_end(b, 0)));
        }
        scanned = m.start();
        let Some((line_start, deco_end)) = line else { continue };
        // Only markers at the start of a line (after decoration) count.
        if deco_end < m.start() {
            continue;
        }
        let marker = &text[m.start()..m.end()];
        if marker.starts_with("received")
            || marker.starts_with("return-path")
            || marker.starts_with("Received")
            || marker.starts_with("Return-Path")
            || marker.starts_with("Return-path")
        {
            // A header line only starts the original when more header
            // lines follow it directly.
            if !header_run_follows(&text[line_start..]) {
                continue;
            }
        }
        if line_start == 0 {
            continue;
        }
        return (&text[..line_start], &text[line_start..]);
    }
    (text, "")
}

/// Where the run of decoration characters that starts at `from` ends.
fn decoration_end(b: &[u8], from: usize) -> usize {
    from + b[from..]
        .iter()
        .position(|c| !matches!(c, b' ' | b'\t' | b'-' | b'=' | b'*' | b'#' | b'>' | b'_' | b'|'))
        .unwrap_or(b.len() - from)
}

fn header_run_follows(text: &str) -> bool {
    let mut n = 0;
    for l in lines(text).take(6) {
        if l.starts_with([' ', '\t']) {
            continue;
        }
        if crate::fields::split_field(l).is_some_and(|(name, _)| !name.contains(['<', '>'])) {
            n += 1;
        } else {
            break;
        }
    }
    n >= 2
}

/// Phrases that put a failed recipient right after them on the same line or
/// on the next non-blank line. Used by formats that name the recipient in a
/// sentence instead of at the start of a line.
const RECIPIENT_LEADS: &[&str] = &[
    "final-recipient:",
    "original-recipient:",
    "failed recipient:",
    "failed recipients:",
    "recipient address:",
    "recipient:",
    "recipients:",
    "rcpt to:",
    "rcpt to <",
    "original-rcpt-to:",
    "target mail address:",
    "delivery to the following recipient",
    "to the following recipient",
    "to the following address",
    "following address",
    "could not be delivered to",
    "couldn't be delivered to",
    "wasn't delivered to",
    "was not delivered to",
    "was undeliverable",
    "message to",
    "deliver to",
    "delivering to",
    "delivery to",
    "mail to",
    "address:",
    "addressed to",
    "sent to",
    "for <",
    "user <",
    "recipient <",
    "recipient address <",
    "invalid recipient",
    "unknown user",
    "user unknown",
    "mailbox",
    "<<< 550",
    "error for",
    "failed:",
    "userid:",
    "user id",
    "to:",
];

/// Standard match semantics: the first match reported is the one that ends
/// first, which is all [`LineFacts`] needs to know.
static LEADS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::Standard)
        .build(RECIPIENT_LEADS)
        .expect("static lead table compiles")
});

/// Phrases that mark the sender side; an address right after one of these
/// is the original sender, not a failed recipient.
const SENDER_LEADS: &[&str] = &[
    "mail from",
    "from:",
    "from <",
    "sender",
    "envelope-from",
    "return-path",
    "reply-to",
    "message-id",
    "in-reply-to",
    "references",
    "smtp.mailfrom",
    "header.from",
    "postmaster",
    "contact",
    " by ",
    "id <",
    "msgid",
    "queue id",
];

static SENDER: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .build(SENDER_LEADS)
        .expect("static sender table compiles")
});

/// A recipient found in a notice, with the text that explains it.
#[derive(Debug, Clone)]
pub(crate) struct TextRecipient {
    pub address: String,
    pub diagnostic: String,
    pub strength: u8,
}

/// Longest explanation the scanner builds for one recipient, and the most
/// of any one line it reads for it: the report keeps 1,000 characters, and
/// a bound here keeps a hostile line from being copied once per address.
const DIAGNOSTIC_WINDOW: usize = 4096;

/// Distinct addresses considered per notice. A notice names the recipients
/// of one message; past this many the text is a list, not a notice, and new
/// addresses in it are not recorded (each would cost memory and a lookup).
const MAX_CANDIDATES: usize = 4 * crate::MAX_RECIPIENTS;

/// Bytes at the start of a line looked at to see whether a recipient entry
/// starts there (an address is at most 254 bytes, RFC 5321 §4.5.3.1.3).
const LINE_HEAD: usize = 320;

/// Where a recipient's explanation is: the line and span of the address
/// that named it, and how strongly that occurrence named it.
#[derive(Debug, Clone, Copy)]
struct Occurrence {
    line: usize,
    start: usize,
    end: usize,
    strength: u8,
}

#[derive(Debug)]
struct Candidate {
    address: String,
    strength: u8,
    /// The occurrence the explanation comes from, and the explanation once
    /// it was needed (built lazily: most addresses of a long list are never
    /// reported, and building each would copy its line again).
    from: Occurrence,
    diagnostic: Option<String>,
}

impl Candidate {
    /// Only a line-start entry can have an empty explanation: a recipient
    /// named in a sentence is explained by the sentence.
    fn may_lack_diagnostic(&self) -> bool {
        self.from.strength == 4 && self.diagnostic.as_deref().is_none_or(|d| d.trim().is_empty())
    }

    fn diagnostic(&mut self, all: &[&str]) -> &str {
        let from = self.from;
        self.diagnostic.get_or_insert_with(|| diagnostic_after(all, from))
    }
}

/// Facts about one line that several addresses ask for, computed once.
#[derive(Debug, Clone, Copy)]
struct LineFacts {
    blank: bool,
    /// End of the first recipient lead phrase in the line.
    lead_end: Option<usize>,
}

struct Lines<'a> {
    all: Vec<&'a str>,
    facts: Vec<Option<LineFacts>>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let all: Vec<&str> = lines(text).collect();
        let facts = vec![None; all.len()];
        Lines { all, facts }
    }

    fn facts(&mut self, i: usize) -> LineFacts {
        if let Some(f) = self.facts[i] {
            return f;
        }
        let l = self.all[i];
        let f = LineFacts { blank: l.trim().is_empty(), lead_end: LEADS.find(l).map(|m| m.end()) };
        self.facts[i] = Some(f);
        f
    }

    /// A lead phrase on the nearest non-blank line of the two before `i`.
    fn lead_above(&mut self, i: usize) -> bool {
        for back in 1..=2 {
            let Some(j) = i.checked_sub(back) else { break };
            let f = self.facts(j);
            if f.blank {
                continue;
            }
            return f.lead_end.is_some();
        }
        false
    }
}

/// Scan a notice for failed recipients. `exclude` holds addresses known not
/// to be recipients (the bounce's own addressee, the original sender); they
/// are dropped unless they start a line, which is how MTAs list failures.
///
/// Every line is read a bounded number of times whatever it holds: facts
/// about a line are computed once, and an explanation is built only for a
/// recipient that is reported, from a bounded window.
pub(crate) fn scan_recipients(notice: &str, exclude: &HashSet<String>) -> Vec<TextRecipient> {
    let mut text = Lines::new(notice);
    let mut found: Vec<Candidate> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for i in 0..text.all.len() {
        let line = text.all[i];
        if memchr::memchr(b'@', line.as_bytes()).is_none() {
            continue;
        }
        if is_header_line(line.trim_start()) {
            continue;
        }
        let lead_end = text.facts(i).lead_end;
        let mut first = true;
        for f in address::find_all(line) {
            // Only the first address can start the line: every later one
            // has an address before it.
            let is_first = std::mem::replace(&mut first, false);
            if f.addr.len() > 256 {
                continue;
            }
            let addr = address::normalize(f.addr);
            if address::is_system_address(&addr) || addr.len() > 254 {
                continue;
            }
            let before = &line[..f.start];
            let strength = if is_first && starts_entry(before) {
                4
            } else if lead_end.is_some_and(|e| e <= f.start) {
                3
            } else if text.lead_above(i) {
                2
            } else {
                1
            };
            if is_sender_context(before)
                || looks_like_message_id(line, f.start, f.end)
                || (strength == 4 && introduced_as_sender(&mut text, i))
            {
                continue;
            }
            if strength < 4 && exclude.contains(&addr) {
                continue;
            }
            let here = Occurrence { line: i, start: f.start, end: f.end, strength };
            if let Some(&k) = index.get(&addr) {
                let prev = &mut found[k];
                if strength > prev.strength {
                    prev.strength = strength;
                    prev.from = here;
                    prev.diagnostic = None;
                } else if prev.may_lack_diagnostic() && prev.diagnostic(&text.all).trim().is_empty() {
                    // A later mention explains what the listing did not.
                    prev.from = here;
                    prev.diagnostic = None;
                }
                continue;
            }
            if found.len() == MAX_CANDIDATES {
                continue;
            }
            index.insert(addr.clone(), found.len());
            found.push(Candidate { address: addr, strength, from: here, diagnostic: None });
        }
    }
    let best = found.iter().map(|r| r.strength).max().unwrap_or(0);
    found.retain(|r| r.strength == best);
    if best == 1 {
        // An address merely mentioned somewhere: only the first is a guess
        // worth making.
        found.truncate(1);
    }
    found.truncate(crate::MAX_RECIPIENTS + 1);
    found
        .into_iter()
        .map(|mut c| {
            c.diagnostic(&text.all);
            TextRecipient {
                diagnostic: c.diagnostic.unwrap_or_default(),
                address: c.address,
                strength: c.strength,
            }
        })
        .collect()
}

fn is_header_line(line: &str) -> bool {
    let Some((name, _)) = crate::fields::split_field(line) else { return false };
    matches!(
        name.to_ascii_lowercase().as_str(),
        "from"
            | "reply-to"
            | "sender"
            | "return-path"
            | "message-id"
            | "received"
            | "in-reply-to"
            | "references"
            | "cc"
            | "bcc"
            | "dkim-signature"
            | "authentication-results"
            | "x-original-sender"
            | "errors-to"
            | "list-unsubscribe"
            | "resent-from"
    )
}

/// "A message sent by\n\n  <a@b>\n\ncould not be delivered" (Exim): an
/// address alone on its line, introduced by the line before as the sender.
fn introduced_as_sender(text: &mut Lines<'_>, i: usize) -> bool {
    let Some(prev) = (1..=3).filter_map(|b| i.checked_sub(b)).find(|&j| !text.facts(j).blank) else {
        return false;
    };
    let p = text.all[prev].trim_end();
    ["sent by", "sent by:", "from", "from:", "sender:", "sender", "message from"]
        .iter()
        .any(|s| ends_with_ignore_case(p, s))
}

fn ends_with_ignore_case(s: &str, suffix: &str) -> bool {
    s.len() >= suffix.len() && s.as_bytes()[s.len() - suffix.len()..].eq_ignore_ascii_case(suffix.as_bytes())
}

fn is_sender_context(before: &str) -> bool {
    let mut tail_start = before.len().saturating_sub(24);
    while !before.is_char_boundary(tail_start) {
        tail_start += 1;
    }
    SENDER.find(&before[tail_start..]).is_some()
}

/// `<1234.5678@mx.example>` in a line about ids is a Message-ID.
fn looks_like_message_id(line: &str, start: usize, end: usize) -> bool {
    let local = &line[start..end].split('@').next().unwrap_or("");
    let digits = local.bytes().filter(u8::is_ascii_digit).count();
    local.len() >= 16 && digits * 2 > local.len()
}

/// Strength 4: the address starts the line, possibly after an SMTP reply
/// code (qmail, Postfix, Exim, Sendmail, Courier list one recipient per
/// line). The others: 3, a lead phrase on the same line introduces it; 2, a
/// lead phrase on the line before does; 1, it is merely mentioned.
fn starts_entry(before: &str) -> bool {
    let trimmed = before.trim_start_matches(|c: char| {
        matches!(c, '<' | '"' | '\'' | '(' | '[' | '*' | '-' | '>' | '•' | ' ' | '\t')
    });
    trimmed.is_empty() || is_code_prefix(trimmed)
}

/// The reply or status code an entry line starts with ("550 5.1.2 " of
/// "550 5.1.2 <a@b>... reason"), or "".
fn entry_code(before: &str) -> &str {
    let trimmed = before.trim_start_matches(|c: char| {
        matches!(c, '<' | '"' | '\'' | '(' | '[' | '*' | '-' | '>' | '•' | ' ' | '\t')
    });
    let t = trimmed.trim_end_matches(['<', ' ', '\t', '-']);
    let code_like = t.len() <= 16 && t.split(' ').all(|w| is_code_prefix(w) && !w.is_empty());
    if code_like { t } else { "" }
}

/// "554 <a@b>... reason" (Sendmail transcripts) or "5.1.1 <a@b>".
fn is_code_prefix(s: &str) -> bool {
    let t = s.trim_end_matches(['<', ' ', '\t', '-']);
    (t.len() == 3 && t.bytes().all(|c| c.is_ascii_digit()) && matches!(t.as_bytes()[0], b'4' | b'5'))
        || (t.len() <= 16 && crate::codes::find_status(t).is_some_and(|c| c.len() == t.len()))
}

/// "550 ..." or "421-...": a line that starts with a reply code.
fn starts_with_code(t: &str) -> bool {
    let b = t.as_bytes();
    b.len() >= 4
        && matches!(b[0], b'2' | b'4' | b'5')
        && b[1].is_ascii_digit()
        && b[2].is_ascii_digit()
        && matches!(b[3], b' ' | b'-')
}

/// Leading blanks of a line, counted up to [`LINE_HEAD`].
fn indent(line: &str) -> usize {
    head(line, LINE_HEAD).bytes().take_while(|c| matches!(c, b' ' | b'\t')).count()
}

/// At most `n` bytes of the start of `s`, cut at a character boundary.
fn head(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut end = n;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The part of a long line around one span, at most [`DIAGNOSTIC_WINDOW`]
/// bytes; the whole line when it is shorter.
fn window(line: &str, start: usize, end: usize) -> &str {
    if line.len() <= DIAGNOSTIC_WINDOW {
        return line;
    }
    let mut from = start.saturating_sub(DIAGNOSTIC_WINDOW / 2);
    while !line.is_char_boundary(from) {
        from -= 1;
    }
    head(&line[from..], DIAGNOSTIC_WINDOW.max(end - from))
}

/// The explanation for one recipient: the rest of its line and the
/// following lines up to a blank line or the next recipient line, at most
/// [`DIAGNOSTIC_WINDOW`] bytes of it.
fn diagnostic_after(all: &[&str], at: Occurrence) -> String {
    let line = all[at.line];
    let mut out = String::new();
    if at.strength < 4 {
        // A sentence that names the recipient mid-line usually carries the
        // reason in the same sentence or the next lines.
        out.push_str(window(line, at.start, at.end).trim());
    } else {
        let after = head(&line[at.end..], DIAGNOSTIC_WINDOW);
        let rest = after.trim_start_matches(['>', '"', '\'', ')', ']', ':', '.', ',', ' ', '\t']).trim();
        // "550 5.1.2 <a@b>... Host unknown": the code before the address is
        // this recipient's, when the words after it carry none.
        let code = entry_code(&line[..at.start]);
        if !code.is_empty() && crate::codes::find_reply(rest).is_none() {
            out.push_str(code);
            out.push(' ');
        }
        out.push_str(rest);
    }
    // A line-start entry ("<a@b>: reason") owns the lines up to the next
    // blank line; a recipient named in a sentence may have its reason in
    // the paragraph after it ("... to <a@b>.\n\nhost said: 550 ...").
    let mut blanks_allowed = if out.is_empty() || at.strength < 4 { 1 } else { 0 };
    let mut last_blank = false;
    // Exim indents its list ("  a@b\n    host said: ...\n  c@d"): a line
    // that starts with an address no deeper than this one starts the next
    // recipient's block.
    let own_indent = indent(line);
    let own = &line[at.start..at.end];
    // Sendmail's transcript gives every entry its own coded line ("554
    // <a@b>... reason", "550 host (smtp)... reason"): after such an entry,
    // the next coded line is another entry.
    let own_coded = at.strength == 4 && starts_with_code(line[..at.start].trim_start());
    for l in all.iter().skip(at.line + 1).take(12) {
        if out.len() >= DIAGNOSTIC_WINDOW {
            break;
        }
        let t = head(l, DIAGNOSTIC_WINDOW).trim();
        if t.is_empty() {
            if last_blank {
                continue;
            }
            if blanks_allowed == 0 {
                break;
            }
            blanks_allowed -= 1;
            last_blank = true;
            continue;
        }
        last_blank = false;
        // A section rule ("----- Transcript of session follows -----")
        // ends the entry.
        if t.starts_with("---") || t.starts_with("===") || t.starts_with("***") {
            break;
        }
        // Next recipient block: a line that is itself a recipient entry
        // (an address at its start, possibly after a reply code).
        let start = head(t, LINE_HEAD);
        let starts_addr = address::find_all(start)
            .next()
            .is_some_and(|f| starts_entry(&start[..f.start]) && !f.addr.eq_ignore_ascii_case(own));
        if (starts_addr || (own_coded && starts_with_code(t))) && indent(l) <= own_indent {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(head(t, DIAGNOSTIC_WINDOW - out.len().min(DIAGNOSTIC_WINDOW)));
    }
    out
}

/// Words that say the message is only delayed and still queued (RFC 3464
/// `Action: delayed`, or its prose equivalents).
const DELAY_PHRASES: &[&str] = &[
    "this is a warning only",
    "you do not need to resend",
    "will continue to try",
    "will keep trying",
    "will be retried",
    "will retry",
    "still trying",
    "has been delayed",
    "is delayed",
    "delivery delayed",
    "delayed mail",
    "delivery status notification (delay)",
    "message still undelivered",
    "could not send message for past",
    "not yet been delivered",
    "retry until",
];

/// Words that say the system gave up, which override the delay phrases.
const FINAL_PHRASES: &[&str] = &[
    "giving up",
    "given up",
    "permanent",
    "will not be retried",
    "not going to try again",
    "no further attempts",
    "will be deleted from queue",
    "retry timeout exceeded",
    "message expired",
    "failed permanently",
    "could not be delivered",
    "couldn't be delivered",
    "undeliverable",
    "unable to deliver",
    "delivery has failed",
    "returned to sender",
    "envelope expired",
];

static DELAY: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(DELAY_PHRASES)
        .expect("delay table")
});
static FINAL: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(FINAL_PHRASES)
        .expect("final table")
});

pub(crate) fn says_delayed(text: &str) -> bool {
    DELAY.is_match(text)
}

pub(crate) fn says_final(text: &str) -> bool {
    FINAL.is_match(text)
}

/// Subjects and sender names that bounce notices use; together with the
/// null sender they tell a plain-text bounce from ordinary mail.
const BOUNCE_SUBJECTS: &[&str] = &[
    "undeliver",
    "undelivered",
    "delivery fail",
    "delivery status",
    "delivery notification",
    "delivery report",
    "delivery problem",
    "failure notice",
    "failure delivery",
    "returned mail",
    "returning message",
    "mail delivery",
    "non-delivery",
    "nondelivery",
    "not delivered",
    "could not be delivered",
    "couldn't be delivered",
    "delivery failure",
    "bounce",
    "rejected",
    "mail system error",
    "unzustellbar",
    "unable to deliver",
    "delivery has failed",
    "error sending",
    "permanent error",
    "mail could not be",
    "message you sent",
    "returned to sender",
    "undeliverable",
    "failed delivery",
    "warning: could not send",
    "nicht zustellbar",
    "エラー通知", // Japanese carriers: "mail error notification"
    "配信エラー",
    "送信エラー",
    "notification",
    "mail error",
    "delayed mail",
    "delivery delayed",
];

static SUBJECTS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(BOUNCE_SUBJECTS)
        .expect("subject table")
});

const BOUNCE_SENDERS: &[&str] = &[
    "mailer-daemon",
    "postmaster",
    "mail delivery",
    "mail administrator",
    "delivery subsystem",
    "mail system",
    "maildelivery",
    "post_master",
    "mail-daemon",
    "mailerdaemon",
    "bounce",
    "microsoftexchange",
    "mailer daemon",
    "delivery notification",
];

static SENDERS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(BOUNCE_SENDERS)
        .expect("sender table")
});

/// Phrases that only appear in non-delivery notices (qmail's QSBMF opening,
/// Exim's, Sendmail's and Postfix's standard texts, webmail notices).
const BOUNCE_BODY: &[&str] = &[
    "this is the qmail-send program",
    "this message was created automatically by mail delivery software",
    "i'm afraid i wasn't able to deliver",
    "the following addresses had permanent fatal errors",
    "transcript of session follows",
    "this is the mail system at host",
    "delivery to the following recipient",
    "delivery has failed to these recipients",
    "could not be delivered to one or more",
    "your message did not reach some or all",
    "could not be delivered to:",
    "your message could not be delivered",
    "your message was not delivered",
    "your message wasn't delivered",
    "message could not be delivered",
    "unable to deliver your message",
    "could not deliver",
    "couldn't be delivered",
    "was not delivered",
    "undeliverable",
    "delivery failed",
    "permanent error",
    "permanent failure",
    "mailbox is full",
    "user unknown",
    "does not exist",
    "rejected",
];

static BODY: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .build(BOUNCE_BODY)
        .expect("body table")
});

pub(crate) fn subject_says_bounce(subject: &str) -> bool {
    SUBJECTS.is_match(subject)
}

pub(crate) fn sender_says_bounce(from: &str) -> bool {
    SENDERS.is_match(from)
}

pub(crate) fn body_says_bounce(text: &str) -> bool {
    BODY.is_match(text)
}

/// The first rows of [`BOUNCE_BODY`] are MTA notice openers that ordinary
/// mail does not contain; they identify a bounce without any header help.
const STRONG_BODY_ROWS: usize = 11;

pub(crate) fn body_says_bounce_strongly(text: &str) -> bool {
    BODY.find_iter(text).any(|m| m.pattern().as_usize() < STRONG_BODY_ROWS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qmail_notice() {
        let t = "Hi. This is the qmail-send program at mx.example.jp.\nI'm afraid I wasn't able to deliver your message to the following addresses.\n\n<Kijitora@example.ne.jp>:\nremote host said: 550 Unknown user\n\n--- Below this line is a copy of the message.\n\nReturn-Path: <a@example.jp>\nTo: b@example.com\n";
        let (n, orig) = notice_part(t);
        assert!(orig.starts_with("--- Below"));
        let r = scan_recipients(n, &HashSet::new());
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].address, "kijitora@example.ne.jp");
        assert!(r[0].diagnostic.contains("Unknown user"));
    }
}

#[cfg(test)]
mod exim_tests {
    use super::*;

    #[test]
    fn sender_introduced_on_the_line_before_is_not_a_recipient() {
        let t = "This message was created automatically by mail delivery software.\n\nA message sent by\n\n  <shironeko@email.example.com>\n\ncould not be delivered to one or more of its recipients. The following\naddress(es) failed:\n\n  kijitora@example.org\n    (ultimately generated from nekochan@example.org)\n    all hosts have been failing for a long time\n";
        let r = scan_recipients(t, &HashSet::new());
        let a: Vec<_> = r.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(a, vec!["kijitora@example.org"]);
    }
}
