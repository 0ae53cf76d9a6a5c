//! Finding and normalising e-mail addresses in header values and free text.
//!
//! A deliberately small scanner rather than a full RFC 5322 §3.4 parser:
//! bounce texts quote addresses in every style (`<a@b>`, `rfc822; a@b`,
//! `"a@b"`, `a@b...`), and only the addr-spec itself matters here.

/// Characters allowed in a dot-atom local part (RFC 5322 §3.2.3 atext).
fn is_local_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~.".contains(&c)
}

fn is_domain_char(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-' || c == b'.' || c == b'_'
}

/// An address found in a text, with its byte span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found<'a> {
    pub addr: &'a str,
    pub start: usize,
    pub end: usize,
}

/// Iterate over the addr-specs in `text`, in order.
pub(crate) fn find_all(text: &str) -> impl Iterator<Item = Found<'_>> {
    let bytes = text.as_bytes();
    let mut from = 0usize;
    std::iter::from_fn(move || {
        while from < bytes.len() {
            let at = from + memchr::memchr(b'@', &bytes[from..])?;
            from = at + 1;
            let mut s = at;
            while s > 0 && is_local_char(bytes[s - 1]) {
                s -= 1;
            }
            // A local part never starts with a dot, nor with quote-like
            // leftovers of the surrounding text.
            // ("=?utf-8?b?...?=@host" is an RFC 2047 encoded-word some
            // MTAs leave in the local part; keep its "=".)
            while s < at
                && matches!(bytes[s], b'.' | b'\'' | b'`' | b'=' | b'/')
                && !(bytes[s] == b'=' && bytes.get(s + 1) == Some(&b'?'))
            {
                s += 1;
            }
            let mut e = at + 1;
            if e < bytes.len() && bytes[e] == b'[' {
                // Address literal (RFC 5321 §4.1.3); the longest, an IPv6
                // one, has 52 characters, so a "[" that does not close soon
                // is not one (and is not searched to the end of the text).
                let look = &bytes[e..bytes.len().min(e + 64)];
                if let Some(close) = memchr::memchr(b']', look) {
                    e += close + 1;
                }
            } else {
                while e < bytes.len() && is_domain_char(bytes[e]) {
                    e += 1;
                }
                while e > at + 1 && matches!(bytes[e - 1], b'.' | b'-' | b'_') {
                    e -= 1;
                }
            }
            if s == at || e <= at + 1 {
                continue;
            }
            let domain = &text[at + 1..e];
            if !domain.starts_with('[')
                && (!domain.contains('.') && !domain.eq_ignore_ascii_case("localhost"))
            {
                // "user@host" without a dot: keep it only when clearly an
                // address (some test MTAs use bare host names).
                if domain.len() < 2 {
                    continue;
                }
            }
            from = e;
            return Some(Found { addr: &text[s..e], start: s, end: e });
        }
        None
    })
}

/// The first addr-spec in a header or field value such as
/// `rfc822; <User@Example.org>` (RFC 3464 §2.3.2), lower-cased.
pub(crate) fn first(text: &str) -> Option<String> {
    find_all(text).next().map(|f| normalize(f.addr))
}

/// Lower-case and strip decorations; the local part is lower-cased too
/// because subscriber e-mails are matched case-insensitively (docs/design.md "Recording a bounce").
pub(crate) fn normalize(addr: &str) -> String {
    let a = addr.trim().trim_matches(|c| matches!(c, '<' | '>' | '"' | '\'' | '(' | ')' | ',' | ';' | ':'));
    let a = a.strip_prefix("mailto:").unwrap_or(a);
    a.to_ascii_lowercase()
}

/// Local parts that belong to mail systems, never to a subscriber
/// (RFC 2142 mailbox names and common daemon senders).
pub(crate) fn is_system_address(addr: &str) -> bool {
    let local = addr.split('@').next().unwrap_or("");
    let local = local.to_ascii_lowercase();
    matches!(
        local.as_str(),
        "mailer-daemon"
            | "postmaster"
            | "mail-daemon"
            | "maildaemon"
            | "mailerdaemon"
            | "root"
            | "abuse"
            | "noreply"
            | "no-reply"
            | "double-bounce"
            | "mdaemon"
            | "majordomo"
            | "nobody"
    ) || local.starts_with("mailer-daemon")
        || local.starts_with("postmaster")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_addresses_in_styles() {
        let t = "rfc822; <Kijitora@Example.JP>... User unknown, see postmaster@[192.0.2.1].";
        let all: Vec<_> = find_all(t).map(|f| f.addr).collect();
        assert_eq!(all, vec!["Kijitora@Example.JP", "postmaster@[192.0.2.1]"]);
        assert_eq!(first(t).as_deref(), Some("kijitora@example.jp"));
    }

    #[test]
    fn ignores_lone_at_signs() {
        assert_eq!(find_all("a @ b, @@, x@").count(), 0);
    }
}
