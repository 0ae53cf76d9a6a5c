//! A general scanner for plain-text bounces: qmail (QSBMF), Exim, Postfix
//! and Sendmail without a delivery-status part, Exchange, Domino, Courier,
//! webmail providers and the many "your message could not be delivered"
//! notices that follow no standard.
//!
//! The scanner is one algorithm driven by tables: markers where the pasted
//! original message begins, phrases that introduce a recipient, and phrases
//! that tell a delay warning from a failure. Each row is justified by a
//! format, not by a sample.

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
pub(crate) fn notice_part(text: &str) -> (&str, &str) {
    for m in ORIGINAL_SET.find_iter(text) {
        // Only markers at the start of a line (after decoration) count.
        let line_start = text[..m.start()].rfind(['\n', '\r']).map_or(0, |i| i + 1);
        let prefix = &text[line_start..m.start()];
        if !prefix.bytes().all(|c| matches!(c, b' ' | b'\t' | b'-' | b'=' | b'*' | b'#' | b'>' | b'_' | b'|'))
        {
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

static LEADS: LazyLock<AhoCorasick> = LazyLock::new(|| {
    AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
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

/// Scan a notice for failed recipients. `exclude` holds addresses known not
/// to be recipients (the bounce's own addressee, the original sender); they
/// are dropped unless they start a line, which is how MTAs list failures.
pub(crate) fn scan_recipients(notice: &str, exclude: &[String]) -> Vec<TextRecipient> {
    let all: Vec<&str> = lines(notice).collect();
    let mut found: Vec<TextRecipient> = Vec::new();
    for (i, line) in all.iter().enumerate() {
        if memchr::memchr(b'@', line.as_bytes()).is_none() {
            continue;
        }
        if is_header_line(line.trim_start()) {
            continue;
        }
        for f in address::find_all(line) {
            let addr = address::normalize(f.addr);
            if address::is_system_address(&addr) || addr.len() > 254 {
                continue;
            }
            let before = &line[..f.start];
            let strength = strength_of(before, &all, i);
            if is_sender_context(before)
                || looks_like_message_id(line, f.start, f.end)
                || (strength == 4 && introduced_as_sender(&all, i))
            {
                continue;
            }
            if strength < 4 && exclude.contains(&addr) {
                continue;
            }
            let after = &line[f.end..];
            let diagnostic = diagnostic_after(after, &all, i, strength);
            if let Some(prev) = found.iter_mut().find(|r| r.address == addr) {
                if strength > prev.strength {
                    prev.strength = strength;
                    prev.diagnostic = diagnostic;
                } else if prev.diagnostic.trim().is_empty() {
                    prev.diagnostic = diagnostic;
                }
                continue;
            }
            found.push(TextRecipient { address: addr, diagnostic, strength });
        }
    }
    let best = found.iter().map(|r| r.strength).max().unwrap_or(0);
    found.retain(|r| r.strength == best);
    if best == 1 {
        // An address merely mentioned somewhere: only the first is a guess
        // worth making.
        found.truncate(1);
    }
    found
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
fn introduced_as_sender(all: &[&str], i: usize) -> bool {
    let Some(prev) = all[..i].iter().rev().take(3).find(|l| !l.trim().is_empty()) else { return false };
    let p = prev.trim().to_ascii_lowercase();
    ["sent by", "sent by:", "from", "from:", "sender:", "sender", "message from"]
        .iter()
        .any(|s| p.ends_with(s))
}

fn is_sender_context(before: &str) -> bool {
    let tail_start = before.len().saturating_sub(24);
    let tail = before.get(tail_start..).unwrap_or(before);
    SENDER.find(tail).is_some()
}

/// `<1234.5678@mx.example>` in a line about ids is a Message-ID.
fn looks_like_message_id(line: &str, start: usize, end: usize) -> bool {
    let local = &line[start..end].split('@').next().unwrap_or("");
    let digits = local.bytes().filter(u8::is_ascii_digit).count();
    local.len() >= 16 && digits * 2 > local.len()
}

/// 4: the address starts the line, possibly after an SMTP reply code
/// (qmail, Postfix, Exim, Sendmail, Courier list one recipient per line);
/// 3: a lead phrase on the same line introduces it; 2: a lead phrase on the
/// line before does; 1: it is merely mentioned.
fn strength_of(before: &str, all: &[&str], i: usize) -> u8 {
    let trimmed = before.trim_start_matches(|c: char| {
        matches!(c, '<' | '"' | '\'' | '(' | '[' | '*' | '-' | '>' | '•' | ' ' | '\t')
    });
    if trimmed.is_empty() || is_code_prefix(trimmed) {
        return 4;
    }
    if LEADS.find(before).is_some() {
        return 3;
    }
    for back in 1..=2 {
        let Some(prev) = i.checked_sub(back).and_then(|j| all.get(j)) else { break };
        if prev.trim().is_empty() {
            continue;
        }
        if LEADS.find(prev).is_some() {
            return 2;
        }
        break;
    }
    1
}

/// "554 <a@b>... reason" (Sendmail transcripts) or "5.1.1 <a@b>".
fn is_code_prefix(s: &str) -> bool {
    let t = s.trim_end_matches(['<', ' ', '\t', '-']);
    (t.len() == 3 && t.bytes().all(|c| c.is_ascii_digit()) && matches!(t.as_bytes()[0], b'4' | b'5'))
        || crate::codes::find_status(t).is_some_and(|c| c.len() == t.len())
}

/// The explanation for one recipient: the rest of its line and the
/// following lines up to a blank line or the next recipient line.
fn diagnostic_after(after: &str, all: &[&str], i: usize, strength: u8) -> String {
    let mut out = String::new();
    let rest = after.trim_start_matches(['>', '"', '\'', ')', ']', ':', '.', ',', ' ', '\t']);
    out.push_str(rest.trim());
    if strength < 4 {
        // A sentence that names the recipient mid-line usually carries the
        // reason in the same sentence or the next lines.
        out = all[i].trim().to_string();
    }
    // A line-start entry ("<a@b>: reason") owns the lines up to the next
    // blank line; a recipient named in a sentence may have its reason in
    // the paragraph after it ("... to <a@b>.\n\nhost said: 550 ...").
    let mut blanks_allowed = if out.is_empty() || strength < 4 { 1 } else { 0 };
    let mut last_blank = false;
    for l in all.iter().skip(i + 1).take(12) {
        let t = l.trim();
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
        // Next recipient block (another address at the start of a line).
        let starts_addr = address::find_all(t)
            .next()
            .is_some_and(|f| t[..f.start].trim_matches(['<', '"', ' ']).is_empty());
        if starts_addr && !l.starts_with([' ', '\t']) {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(t);
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
        let r = scan_recipients(n, &[]);
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
        let r = scan_recipients(t, &[]);
        let a: Vec<_> = r.iter().map(|r| r.address.as_str()).collect();
        assert_eq!(a, vec!["kijitora@example.org"]);
    }
}
