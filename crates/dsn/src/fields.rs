//! Header-style field blocks: the `message/delivery-status` body of RFC 3464
//! §2.1 (per-message fields, then one block per recipient), the
//! `message/feedback-report` body of RFC 5965 §3.1, and the same fields when a
//! broken MIME structure leaves them inside plain text.

use std::borrow::Cow;

/// One `Name: value` field with folded continuation lines joined (RFC 5322
/// §2.2.3 unfolding; RFC 3464 §2.1 uses the same syntax).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    pub name: &'a str,
    pub value: Cow<'a, str>,
    /// A blank line came before this field: RFC 3464 separates the
    /// per-message block from each per-recipient block that way.
    pub after_blank: bool,
}

/// Iterate the fields of a block of text, with any line ending (LF, CRLF,
/// CR). Lines that are not fields are skipped, so prose around the fields
/// does no harm.
pub(crate) fn fields(text: &str) -> Vec<Field<'_>> {
    let mut out: Vec<Field<'_>> = Vec::new();
    let mut blank = false;
    let mut in_field = false;
    for line in lines(text) {
        if line.trim().is_empty() {
            blank = true;
            in_field = false;
            continue;
        }
        let first = line.as_bytes()[0];
        if (first == b' ' || first == b'\t') && in_field {
            if let Some(last) = out.last_mut() {
                let v = last.value.to_mut();
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        match split_field(line) {
            Some((name, value)) => {
                out.push(Field { name, value: Cow::Borrowed(value), after_blank: blank });
                in_field = true;
            }
            None => in_field = false,
        }
        blank = false;
    }
    out
}

/// `Name: value` where the name is a header field name (RFC 5322 §3.6.8:
/// printable ASCII without colon or space).
pub(crate) fn split_field(line: &str) -> Option<(&str, &str)> {
    let colon = memchr::memchr(b':', line.as_bytes())?;
    let name = &line[..colon];
    if name.is_empty() || name.len() > 64 || !name.bytes().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    Some((name, line[colon + 1..].trim()))
}

/// Lines of a text with LF, CRLF or lone CR endings.
pub(crate) fn lines(text: &str) -> impl Iterator<Item = &str> {
    let b = text.as_bytes();
    let mut pos = 0usize;
    std::iter::from_fn(move || {
        if pos >= b.len() {
            return None;
        }
        let start = pos;
        match memchr::memchr2(b'\n', b'\r', &b[pos..]) {
            Some(off) => {
                let end = pos + off;
                pos = end + 1;
                if b[end] == b'\r' && b.get(end + 1) == Some(&b'\n') {
                    pos += 1;
                }
                Some(&text[start..end])
            }
            None => {
                pos = b.len();
                Some(&text[start..])
            }
        }
    })
}

/// RFC 3464 §2.2 per-message fields.
#[derive(Debug, Default, Clone)]
pub(crate) struct MessageFields {
    pub reporting_mta: Option<String>,
    pub arrival_date: Option<String>,
}

/// RFC 3464 §2.3 per-recipient fields.
#[derive(Debug, Default, Clone)]
pub(crate) struct RecipientFields {
    pub original_recipient: Option<String>,
    pub final_recipient: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub remote_mta: Option<String>,
    pub diagnostic: Option<String>,
    pub last_attempt: Option<String>,
    /// A vendor's own classification field (PowerMTA's
    /// X-PowerMTA-BounceCategory).
    pub vendor_category: Option<String>,
}

/// Parse a delivery-status body. Blocks are split on blank lines as §2.1
/// says, and also whenever a second Final-Recipient (or Original-Recipient)
/// appears, because some MTAs omit the blank lines. Field order inside a
/// block is free: Postfix puts Original-Recipient after Final-Recipient.
pub(crate) fn delivery_status(text: &str) -> (MessageFields, Vec<RecipientFields>) {
    let mut msg = MessageFields::default();
    let mut rcpts: Vec<RecipientFields> = Vec::new();
    let mut cur: Option<RecipientFields> = None;
    for f in fields(text) {
        let name = f.name.to_ascii_lowercase();
        let value = f.value.trim();
        let starts_rcpt =
            matches!(name.as_str(), "final-recipient" | "original-recipient" | "x-actual-recipient");
        if let Some(c) = cur.as_ref() {
            let has_rcpt = c.final_recipient.is_some() || c.original_recipient.is_some();
            let new_block = (f.after_blank && (starts_rcpt || is_message_field(&name) || has_rcpt))
                || (name == "final-recipient" && c.final_recipient.is_some())
                || (name == "original-recipient" && c.original_recipient.is_some());
            if new_block {
                rcpts.extend(cur.take());
            }
        }
        if is_message_field(&name) && cur.is_none() {
            match name.as_str() {
                "reporting-mta" => msg.reporting_mta = Some(type_stripped(value).to_string()),
                "arrival-date" => msg.arrival_date = Some(value.to_string()),
                _ => {}
            }
            continue;
        }
        match name.as_str() {
            "original-recipient" => {
                cur.get_or_insert_with(RecipientFields::default).original_recipient = Some(value.to_string())
            }
            "final-recipient" => {
                cur.get_or_insert_with(RecipientFields::default).final_recipient = Some(value.to_string())
            }
            "x-powermta-bouncecategory" => {
                cur.get_or_insert_with(RecipientFields::default).vendor_category =
                    Some(value.to_ascii_lowercase())
            }
            "x-actual-recipient" => {
                let c = cur.get_or_insert_with(RecipientFields::default);
                if c.final_recipient.is_none() {
                    c.final_recipient = Some(value.to_string());
                }
            }
            "action" => {
                cur.get_or_insert_with(RecipientFields::default).action = Some(value.to_ascii_lowercase())
            }
            "status" => cur.get_or_insert_with(RecipientFields::default).status = Some(value.to_string()),
            "remote-mta" => {
                cur.get_or_insert_with(RecipientFields::default).remote_mta =
                    Some(type_stripped(value).to_string())
            }
            "diagnostic-code" => {
                cur.get_or_insert_with(RecipientFields::default).diagnostic =
                    Some(type_stripped(value).to_string())
            }
            "last-attempt-date" => {
                cur.get_or_insert_with(RecipientFields::default).last_attempt = Some(value.to_string())
            }
            _ => {}
        }
    }
    rcpts.extend(cur);
    rcpts.retain(|r| r.final_recipient.is_some() || r.original_recipient.is_some());
    (msg, rcpts)
}

fn is_message_field(name: &str) -> bool {
    matches!(
        name,
        "reporting-mta"
            | "arrival-date"
            | "received-from-mta"
            | "original-envelope-id"
            | "dsn-gateway"
            | "x-postfix-queue-id"
            | "x-postfix-sender"
    )
}

/// Strip the `type;` prefix of an RFC 3464 typed value (`dns; mx.example`,
/// `smtp; 550 5.1.1 ...`, `rfc822; a@b`).
pub(crate) fn type_stripped(value: &str) -> &str {
    match memchr::memchr(b';', value.as_bytes()) {
        Some(i) if i <= 12 && value[..i].bytes().all(|c| c.is_ascii_alphanumeric() || c == b'-') => {
            value[i + 1..].trim()
        }
        _ => value.trim(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_blocks_with_any_line_ending() {
        for eol in ["\n", "\r\n", "\r"] {
            let t = [
                "Reporting-MTA: dns; mx.example.org",
                "",
                "Final-Recipient: rfc822; a@example.com",
                "Action: failed",
                "Status: 5.1.1",
                "Diagnostic-Code: smtp; 550 5.1.1",
                "  user unknown",
                "",
                "Final-Recipient: rfc822; b@example.com",
                "Action: delayed",
                "Status: 4.4.1",
            ]
            .join(eol);
            let (m, r) = delivery_status(&t);
            assert_eq!(m.reporting_mta.as_deref(), Some("mx.example.org"));
            assert_eq!(r.len(), 2);
            assert_eq!(r[0].diagnostic.as_deref(), Some("550 5.1.1 user unknown"));
            assert_eq!(r[1].action.as_deref(), Some("delayed"));
        }
    }
}
