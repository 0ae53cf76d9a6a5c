//! D.S.N status codes (RFC 3463 §2: `class.subject.detail`) and SMTP reply
//! codes (RFC 5321 §4.2) found in free text such as a Diagnostic-Code.

/// The first enhanced status code (`5.1.1`, `4.7.25`) in `text`, normalised
/// without leading zeros. An IP address or version number ("192.0.2.1",
/// "8.14.4") is not mistaken for one.
pub(crate) fn find_status(text: &str) -> Option<String> {
    find_status_all(text).next()
}

pub(crate) fn find_status_all(text: &str) -> impl Iterator<Item = String> + '_ {
    let b = text.as_bytes();
    let mut i = 0usize;
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = *b.get(i)?;
            let start = i;
            i += 1;
            if !matches!(c, b'2' | b'4' | b'5') || b.get(start + 1) != Some(&b'.') {
                continue;
            }
            if start > 0 && (b[start - 1].is_ascii_alphanumeric() || b[start - 1] == b'.') {
                continue;
            }
            let (subject, p) = digits(b, start + 2);
            if subject.is_none() || b.get(p) != Some(&b'.') {
                continue;
            }
            let (detail, q) = digits(b, p + 1);
            let (Some(s), Some(d)) = (subject, detail) else { continue };
            // Reject "5.1.1.3" (a version or an IP address) and "5.1.1a".
            if let Some(&n) = b.get(q)
                && (n.is_ascii_alphanumeric() || (n == b'.' && b.get(q + 1).is_some_and(u8::is_ascii_digit)))
            {
                continue;
            }
            i = q;
            return Some(format!("{}.{}.{}", c as char, s, d));
        }
        None
    })
}

/// `text` starts with an enhanced status code written without leading
/// zeros ("5.1.1 ..."). Looks at the first few bytes only, so a caller may
/// ask at every position of a long text.
fn status_at_start(text: &str) -> bool {
    let b = text.as_bytes();
    if !matches!(b.first(), Some(b'2' | b'4' | b'5')) || b.get(1) != Some(&b'.') {
        return false;
    }
    let (Some(_), p) = digits(b, 2) else { return false };
    if b.get(p) != Some(&b'.') || b[2] == b'0' && p > 3 {
        return false;
    }
    let (Some(_), q) = digits(b, p + 1) else { return false };
    if b[p + 1] == b'0' && q > p + 2 {
        return false;
    }
    !b.get(q).is_some_and(|&n| {
        n.is_ascii_alphanumeric() || (n == b'.' && b.get(q + 1).is_some_and(u8::is_ascii_digit))
    })
}

fn digits(b: &[u8], from: usize) -> (Option<u32>, usize) {
    let mut p = from;
    let mut v: u32 = 0;
    while p < b.len() && b[p].is_ascii_digit() && p - from < 3 {
        v = v * 10 + u32::from(b[p] - b'0');
        p += 1;
    }
    if p == from || (p < b.len() && b[p].is_ascii_digit()) { (None, p) } else { (Some(v), p) }
}

/// The SMTP command a remote server was answering when it refused,
/// as MTAs report it ("in reply to end of DATA command" in Postfix, "after
/// end of data" in Exim, ">>> DATA" in Sendmail's transcript).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Command {
    Connect,
    Helo,
    MailFrom,
    RcptTo,
    Data,
}

const COMMANDS: &[(&str, Command)] = &[
    ("end of data", Command::Data),
    ("after data", Command::Data),
    ("data command", Command::Data),
    (">>> data", Command::Data),
    ("data send", Command::Data),
    ("rcpt to", Command::RcptTo),
    ("rcpt_to", Command::RcptTo),
    ("smtp:rcpt", Command::RcptTo),
    ("does not like recipient", Command::RcptTo), // qmail
    ("rcpt command", Command::RcptTo),
    ("mail from", Command::MailFrom),
    ("after mail", Command::MailFrom),
    ("helo", Command::Helo),
    ("ehlo", Command::Helo),
    ("greeting", Command::Connect),
    ("initial connection", Command::Connect),
];

static COMMAND_SET: std::sync::LazyLock<aho_corasick::AhoCorasick> = std::sync::LazyLock::new(|| {
    aho_corasick::AhoCorasickBuilder::new()
        .kind(Some(aho_corasick::AhoCorasickKind::DFA))
        .ascii_case_insensitive(true)
        .match_kind(aho_corasick::MatchKind::LeftmostFirst)
        .build(COMMANDS.iter().map(|(p, _)| p))
        .expect("static command table compiles")
});

/// The last command named in `text`: in a transcript the final exchange is
/// the one that failed.
pub(crate) fn find_command(text: &str) -> Option<Command> {
    COMMAND_SET.find_iter(text).last().map(|m| COMMANDS[m.pattern().as_usize()].1)
}

/// The SMTP reply code in a diagnostic: a `4xx`/`5xx` token at the start,
/// after a colon or "said", or right before an enhanced status code.
pub(crate) fn find_reply(text: &str) -> Option<u16> {
    let b = text.as_bytes();
    let mut first_loose = None;
    let mut i = 0usize;
    while i + 3 <= b.len() {
        let c = b[i];
        if !(c == b'4' || c == b'5') || !b[i + 1].is_ascii_digit() || !b[i + 2].is_ascii_digit() {
            i += 1;
            continue;
        }
        let before_ok = i == 0
            || !(b[i - 1].is_ascii_alphanumeric()
                || matches!(b[i - 1], b'.' | b':' | b'-' | b'/' | b'#' | b'[' | b'='));
        let after = b.get(i + 3).copied();
        let after_ok = matches!(
            after,
            None | Some(b' ' | b'-' | b'\t' | b'\r' | b'\n' | b')' | b',' | b'>' | b'"' | b'\'')
        );
        if before_ok && after_ok {
            let code =
                u16::from(c - b'0') * 100 + u16::from(b[i + 1] - b'0') * 10 + u16::from(b[i + 2] - b'0');
            // Reply codes have a second digit 0-5 (RFC 5321 §4.2.1).
            if b[i + 1] <= b'5' {
                let rest = text.get(i + 4..).unwrap_or("");
                let prefix = text[..i].trim_end();
                let anchored = prefix.is_empty()
                    || prefix.ends_with(':')
                    || prefix.ends_with(';')
                    || prefix.ends_with("said")
                    || prefix.ends_with("<<<")
                    || prefix.ends_with('(')
                    || prefix.ends_with('\'')
                    || prefix.ends_with('"');
                let before_status = status_at_start(rest);
                if anchored || before_status {
                    return Some(code);
                }
                if first_loose.is_none() {
                    first_loose = Some(code);
                }
            }
        }
        i += 3;
    }
    first_loose
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes() {
        assert_eq!(find_status("smtp; 550 5.1.1 <a@b>... User unknown").as_deref(), Some("5.1.1"));
        assert_eq!(find_status("host 192.0.2.1 said (#5.05.001)").as_deref(), Some("5.5.1"));
        assert_eq!(find_status("Sendmail 8.14.4/8.14.4; 4.7.25 x").as_deref(), Some("4.7.25"));
        assert_eq!(find_status("no code here 1.2.3"), None);
    }

    #[test]
    fn reply_codes() {
        assert_eq!(find_reply("smtp; 550 5.1.1 User unknown"), Some(550));
        assert_eq!(find_reply("host mx.example.jp [192.0.2.20]: 421 busy"), Some(421));
        assert_eq!(find_reply("port 25 is closed"), None);
        // Unanchored, but right before a status code.
        assert_eq!(find_reply("mx.example answered 550 5.1.1 unknown"), Some(550));
        assert_eq!(find_reply("answered 550 5.01.1 unknown, then 451 x"), Some(550));
    }
}
