//! Walk a parsed MIME tree (RFC 2045/2046) and sort its parts into what a
//! bounce is made of: the human-readable notice, the machine-readable
//! `message/delivery-status` (RFC 3464 §2) or `message/feedback-report`
//! (RFC 5965 §3), and the returned original message or its headers
//! (RFC 6522 §3: `message/rfc822` or `text/rfc822-headers`).
//!
//! mail-parser does the MIME work (transfer encodings, charsets, broken
//! boundaries) and never panics; this module only classifies its parts.

use std::borrow::Cow;

use mail_parser::{Message, MessagePart, MimeHeaders, PartType};

/// Nested `message/rfc822` levels followed; deeper ones are ignored so a
/// crafted message cannot make the walk expensive.
const MAX_DEPTH: usize = 8;

/// The headers of the bounce itself that the classifier looks at.
#[derive(Debug, Default, Clone)]
pub(crate) struct TopHeaders {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub delivered_to: Vec<String>,
    pub x_original_to: Vec<String>,
    pub auto_submitted: String,
    pub precedence: String,
    pub autoreply: bool,
    pub failed_recipients: Vec<String>,
    pub date: Option<String>,
    pub message_id: Option<String>,
    pub return_path: String,
    pub content_type: String,
    pub report_type: String,
    /// X-Apple-Unsubscribe: Apple Mail's one-click unsubscribe message.
    pub apple_unsubscribe: bool,
}

/// Identifiers found in the returned original message (its headers).
#[derive(Debug, Default, Clone)]
pub(crate) struct Original {
    pub to: Vec<String>,
    pub from: Option<String>,
    pub message_id: Option<String>,
    pub subscriber: Option<String>,
    pub campaign: Option<String>,
    /// X-HmXmrOriginalRecipient: Microsoft's JMRP feedback loop puts the
    /// complaining recipient here instead of sending RFC 5965 fields.
    pub hm_recipient: Option<String>,
}

/// A bounce message sorted into its parts.
#[derive(Debug, Default)]
pub(crate) struct Doc<'m> {
    pub top: TopHeaders,
    /// Text of the notice: `text/plain` parts outside returned messages,
    /// in order. For a single-part bounce this also holds the pasted original.
    pub notice: Vec<Cow<'m, str>>,
    /// `text/html` notice parts, reduced to text; used only when there is no
    /// plain text.
    pub html: Vec<Cow<'m, str>>,
    pub delivery_status: Vec<Cow<'m, str>>,
    pub feedback: Vec<Cow<'m, str>>,
    pub originals: Vec<Original>,
    /// Raw `message/rfc822` bodies, for bounces that were forwarded whole.
    pub attached: Vec<&'m Message<'m>>,
}

fn raw_values<'a>(msg: &'a Message<'_>, name: &str) -> impl Iterator<Item = Cow<'a, str>> + 'a {
    let name = name.to_string();
    msg.parts[0].headers.iter().filter(move |h| h.name().eq_ignore_ascii_case(&name)).filter_map(move |h| {
        let raw = msg.raw_message.get(h.offset_start() as usize..h.offset_end() as usize)?;
        Some(String::from_utf8_lossy(raw))
    })
}

fn raw_value(msg: &Message<'_>, name: &str) -> Option<String> {
    raw_values(msg, name).next().map(|v| unfold(&v))
}

/// Join folded header lines (RFC 5322 §2.2.3).
pub(crate) fn unfold(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for (i, l) in crate::fields::lines(v).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(l.trim());
    }
    out.trim().to_string()
}

fn top_headers(msg: &Message<'_>) -> TopHeaders {
    let mut t = TopHeaders::default();
    for h in &msg.parts[0].headers {
        let raw = msg.raw_message.get(h.offset_start() as usize..h.offset_end() as usize).unwrap_or_default();
        let value = || unfold(&String::from_utf8_lossy(raw));
        let name = h.name();
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("From") {
            t.from = value();
        } else if is("To") {
            t.to.push(value());
        } else if is("Subject") {
            t.subject = h.value().as_text().map(str::to_string).unwrap_or_else(value);
        } else if is("Delivered-To") {
            t.delivered_to.push(value());
        } else if is("X-Original-To") {
            t.x_original_to.push(value());
        } else if is("Auto-Submitted") {
            t.auto_submitted = value().to_ascii_lowercase();
        } else if is("Precedence") {
            t.precedence = value().to_ascii_lowercase();
        } else if is("X-Autoreply")
            || is("X-Autorespond")
            || is("X-Auto-Response-Suppress-Vacation")
            || is("X-Vacation")
        {
            t.autoreply = true;
        } else if is("X-Failed-Recipients") {
            t.failed_recipients
                .extend(value().split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()));
        } else if is("Date") && t.date.is_none() {
            t.date = Some(value());
        } else if is("Message-ID") && t.message_id.is_none() {
            t.message_id = Some(value());
        } else if is("X-Apple-Unsubscribe") {
            t.apple_unsubscribe = value().eq_ignore_ascii_case("true");
        } else if is("Return-Path") {
            t.return_path = value();
        } else if is("Content-Type") {
            t.content_type = value().to_ascii_lowercase();
            if let Some(ct) = h.value().as_content_type() {
                t.report_type = ct.attribute("report-type").unwrap_or_default().to_ascii_lowercase();
            }
        }
    }
    t
}

/// Attribution data from a returned message's header block.
fn original_of(msg: &Message<'_>) -> Original {
    Original {
        to: raw_values(msg, "To").map(|v| unfold(&v)).collect(),
        from: raw_value(msg, "From"),
        message_id: raw_value(msg, "Message-ID"),
        subscriber: raw_value(msg, rebound_core::headers::X_LISTMONK_SUBSCRIBER),
        campaign: raw_value(msg, rebound_core::headers::X_LISTMONK_CAMPAIGN),
        hm_recipient: raw_value(msg, "X-HmXmrOriginalRecipient"),
    }
}

/// Attribution data from header lines inside text (`text/rfc822-headers`,
/// or an original pasted into a plain-text bounce).
pub(crate) fn original_from_text(text: &str) -> Original {
    let mut o = Original::default();
    let mut last: Option<&'static str> = None;
    for line in crate::fields::lines(text) {
        if line.starts_with([' ', '\t']) {
            if last == Some("to")
                && let Some(t) = o.to.last_mut()
            {
                t.push(' ');
                t.push_str(line.trim());
            }
            continue;
        }
        last = None;
        let Some((name, value)) = crate::fields::split_field(line) else { continue };
        let is = |n: &str| name.eq_ignore_ascii_case(n);
        if is("To") {
            o.to.push(value.to_string());
            last = Some("to");
        } else if is("From") && o.from.is_none() {
            o.from = Some(value.to_string());
        } else if is("Message-ID") && o.message_id.is_none() {
            o.message_id = Some(value.to_string());
        } else if is(rebound_core::headers::X_LISTMONK_SUBSCRIBER) && o.subscriber.is_none() {
            o.subscriber = Some(value.to_string());
        } else if is(rebound_core::headers::X_LISTMONK_CAMPAIGN) && o.campaign.is_none() {
            o.campaign = Some(value.to_string());
        } else if is("X-HmXmrOriginalRecipient") && o.hm_recipient.is_none() {
            o.hm_recipient = Some(value.to_string());
        }
    }
    o
}

pub(crate) fn build<'m>(msg: &'m Message<'m>) -> Doc<'m> {
    let mut doc = Doc { top: top_headers(msg), ..Default::default() };
    walk(msg, 0, 0, &mut doc);
    doc
}

fn content_type_of(part: &MessagePart<'_>) -> (String, String) {
    match part.content_type() {
        Some(ct) => (ct.ctype().to_ascii_lowercase(), ct.subtype().unwrap_or("").to_ascii_lowercase()),
        None => (String::new(), String::new()),
    }
}

fn walk<'m>(msg: &'m Message<'m>, id: usize, depth: usize, doc: &mut Doc<'m>) {
    let Some(part) = msg.parts.get(id) else { return };
    if depth > MAX_DEPTH {
        return;
    }
    let (ctype, sub) = content_type_of(part);
    match &part.body {
        PartType::Multipart(children) => {
            for &c in children {
                // A part never contains itself; guard anyway against a cycle.
                if c as usize != id {
                    walk(msg, c as usize, depth + 1, doc);
                }
            }
        }
        PartType::Message(inner) => {
            doc.originals.push(original_of(inner));
            doc.attached.push(inner);
        }
        PartType::Text(text) => classify_text(&ctype, &sub, Cow::Borrowed(text.as_ref()), doc),
        PartType::Html(html) => doc.html.push(Cow::Borrowed(html.as_ref())),
        PartType::Binary(bytes) | PartType::InlineBinary(bytes) => {
            if ctype == "message" || ctype == "text" {
                classify_text(&ctype, &sub, String::from_utf8_lossy(bytes), doc);
            }
        }
    }
}

/// Japanese MTAs (Domino, Notes, carriers) put ISO-2022-JP text (RFC 1468)
/// in parts or fields that declare no charset; its escape sequences are
/// plain 7-bit, so the text arrives undecoded. Decode it when the
/// designation escapes are there.
fn iso2022jp<'m>(text: Cow<'m, str>) -> Cow<'m, str> {
    if !text.contains("\u{1b}$B") && !text.contains("\u{1b}$@") {
        return text;
    }
    let (decoded, _, _) = encoding_rs::ISO_2022_JP.decode(text.as_bytes());
    Cow::Owned(decoded.into_owned())
}

fn classify_text<'m>(ctype: &str, sub: &str, text: Cow<'m, str>, doc: &mut Doc<'m>) {
    let text = iso2022jp(text);
    match (ctype, sub) {
        ("message", "delivery-status" | "global-delivery-status") => doc.delivery_status.push(text),
        ("message", "feedback-report") => doc.feedback.push(text),
        ("text", "rfc822-headers") | ("message", "rfc822-headers" | "global-headers") => {
            doc.originals.push(original_from_text(&text));
        }
        ("message", "rfc822" | "global" | "partial" | "external-body") => {
            // A returned message that mail-parser kept as bytes (e.g. nested
            // too deep): still good for attribution.
            doc.originals.push(original_from_text(&text));
        }
        ("message", _) => doc.notice.push(text),
        ("text", "html") => doc.html.push(text),
        _ => doc.notice.push(text),
    }
}

/// Crude HTML to text: drop tags, decode the few entities bounce notices
/// use. Enough for phrase matching and address scanning.
pub(crate) fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len() / 2);
    let mut in_tag = false;
    let mut tag = String::new();
    for c in html.chars() {
        match c {
            '<' => {
                in_tag = true;
                tag.clear();
            }
            '>' if in_tag => {
                in_tag = false;
                let t = tag.trim_start_matches('/').to_ascii_lowercase();
                if t.starts_with("br")
                    || t.starts_with('p')
                    || t.starts_with("div")
                    || t.starts_with("tr")
                    || t.starts_with("li")
                {
                    out.push('\n');
                }
            }
            _ if in_tag => {
                if tag.len() < 8 {
                    tag.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&amp;", "&")
}
