//! The parse pipeline: MIME walk, then the first of these that applies:
//! ARF complaint ([`crate::complaint`]), an SES event ([`crate::ses`]),
//! RFC 3464 fields ([`crate::dsn_report`]), auto-reply, plain-text notice
//! ([`crate::text_report`]), and last a bounce forwarded whole inside
//! another message.

use std::borrow::Cow;

use mail_parser::MessageParser;

use crate::mime::{self, Doc, Original};
use crate::reading::{Cx, NoticeFacts, contains_ci, not_bounce, parse_uuid};
use crate::{
    Attribution, NotBounceKind, ParseOptions, Parsed, address, complaint, dsn_report, ses, text, text_report,
    verp,
};

/// One parser for the process. Only the MIME headers and Subject are
/// parsed into structures; every other header stays raw, because this crate
/// reads addresses with its own scanner and structured parsing of
/// Received headers alone cost a fifth of the parse time.
static PARSER: std::sync::LazyLock<MessageParser> = std::sync::LazyLock::new(|| {
    MessageParser::new().with_mime_headers().header_text(mail_parser::HeaderName::Subject)
});

/// Bounces forwarded inside bounces are followed this deep.
const MAX_NESTING: usize = 3;

pub(crate) fn analyze(raw: &[u8], opts: &ParseOptions, depth: usize) -> Parsed {
    let truncated = raw.len() > opts.max_size;
    let raw = line_endings(&raw[..raw.len().min(opts.max_size)]);
    let Some(msg) = PARSER.parse(raw.as_ref()) else {
        return not_bounce(NotBounceKind::Unparseable, Attribution::default());
    };
    let doc = mime::build(&msg);
    let notice_full: Cow<'_, str> = if !doc.notice.is_empty() {
        join(&doc.notice)
    } else if !doc.html.is_empty() {
        // HTML only when there is no plain text: converting costs time.
        Cow::Owned(doc.html.iter().map(|h| mime::html_to_text(h)).collect::<Vec<_>>().join("\n"))
    } else if doc.delivery_status.is_empty() && doc.feedback.is_empty() {
        // A multipart whose boundary was lost (a parameter on an unfolded
        // line, a truncated header) leaves no text part at all: read the
        // raw body as text rather than give up.
        raw_body(raw.as_ref())
    } else {
        Cow::Borrowed("")
    };
    let (notice, pasted) = text::notice_part(&notice_full);
    let mut originals = doc.originals.clone();
    if !pasted.is_empty() {
        originals.push(mime::original_from_text(pasted));
    }
    let attribution = attribution(&doc, &originals, &notice_full, opts);
    let cx = Cx {
        doc: &doc,
        notice,
        notice_full: &notice_full,
        originals: &originals,
        attribution,
        truncated,
        opts,
        facts: NoticeFacts::new(notice),
    };

    if (cx.doc.top.report_type == "feedback-report" || !cx.doc.feedback.is_empty())
        && let Some(p) = complaint::feedback(&cx)
    {
        return p;
    }
    if let Some(p) = complaint::vendor(&cx) {
        return p;
    }
    if let Some(p) = ses::from_notice(&cx) {
        return p;
    }
    if let Some(p) = dsn_report::read(&cx) {
        return p;
    }
    let bouncy = looks_like_bounce(&cx);
    if !bouncy && is_auto_reply(&cx.doc.top) {
        return not_bounce(NotBounceKind::AutoReply, cx.attribution);
    }
    let mut guess = None;
    if bouncy {
        match text_report::read(&cx) {
            Some((p, true)) => return p,
            Some((p, false)) => guess = Some(p),
            None => {}
        }
    }
    // A bounce forwarded whole (message/rfc822) beats a guess made from the
    // outer notice.
    if depth < MAX_NESTING {
        for inner in &doc.attached {
            if let Parsed::Bounce(mut r) = analyze(inner.raw_message(), opts, depth + 1) {
                merge_attribution(&mut r.attribution, &cx.attribution);
                return Parsed::Bounce(r);
            }
        }
    }
    if let Some(p) = guess {
        return p;
    }
    not_bounce(
        if is_auto_reply(&cx.doc.top) { NotBounceKind::AutoReply } else { NotBounceKind::Other },
        cx.attribution,
    )
}

/// Old Mac-style messages end lines with a lone CR, which the MIME parser
/// does not treat as a line end (RFC 5322 §2.3 allows only CRLF; LF is the
/// Unix convention). Rewrite lone CRs as LF; CRLF stays as it is.
fn line_endings(raw: &[u8]) -> Cow<'_, [u8]> {
    let lone = memchr::memchr_iter(b'\r', raw).any(|i| raw.get(i + 1) != Some(&b'\n'));
    if !lone {
        return Cow::Borrowed(raw);
    }
    let mut out = raw.to_vec();
    for i in 0..out.len() {
        if out[i] == b'\r' && out.get(i + 1) != Some(&b'\n') {
            out[i] = b'\n';
        }
    }
    Cow::Owned(out)
}

fn join<'a>(parts: &[Cow<'a, str>]) -> Cow<'a, str> {
    if parts.len() == 1 {
        return parts[0].clone();
    }
    Cow::Owned(parts.iter().map(|p| p.as_ref()).collect::<Vec<_>>().join("\n"))
}

fn merge_attribution(into: &mut Attribution, outer: &Attribution) {
    into.subscriber_uuid = into.subscriber_uuid.or(outer.subscriber_uuid);
    into.campaign_uuid = into.campaign_uuid.or(outer.campaign_uuid);
    if into.original_message_id.is_none() {
        into.original_message_id.clone_from(&outer.original_message_id);
    }
    into.verp = into.verp.or(outer.verp);
}

/// X-Listmonk headers of the original (attached, as headers, or pasted),
/// then VERP ids of the bounce's own addressee.
fn attribution(doc: &Doc<'_>, originals: &[Original], notice_full: &str, opts: &ParseOptions) -> Attribution {
    let mut a = Attribution::default();
    for o in originals {
        a.subscriber_uuid = a.subscriber_uuid.or_else(|| o.subscriber.as_deref().and_then(parse_uuid));
        a.campaign_uuid = a.campaign_uuid.or_else(|| o.campaign.as_deref().and_then(parse_uuid));
        if a.original_message_id.is_none() {
            a.original_message_id = o.message_id.as_ref().map(|m| m.trim().to_string());
        }
    }
    if a.subscriber_uuid.is_none() && contains_ci(notice_full, "x-listmonk-") {
        // Headers quoted somewhere in the notice ("pasted as text").
        let o = mime::original_from_text(notice_full);
        a.subscriber_uuid = o.subscriber.as_deref().and_then(parse_uuid);
        a.campaign_uuid = a.campaign_uuid.or_else(|| o.campaign.as_deref().and_then(parse_uuid));
    }
    let top = &doc.top;
    for v in top.to.iter().chain(&top.delivered_to).chain(&top.x_original_to) {
        for f in address::find_all(v) {
            let ids = match &opts.verp_template {
                Some(t) => verp::decode(t, f.addr).or_else(|| verp::decode_plus(f.addr)),
                None => verp::decode_plus(f.addr),
            };
            if ids.is_some() {
                a.verp = ids;
                break;
            }
        }
        if a.verp.is_some() {
            break;
        }
    }
    if let Some(v) = a.verp {
        a.subscriber_uuid = a.subscriber_uuid.or(Some(v.subscriber_uuid));
        a.campaign_uuid = a.campaign_uuid.or(v.campaign_uuid);
    }
    a
}

/// RFC 3834 §5 auto-replies and the vacation notices that predate it.
pub(crate) fn is_auto_reply(top: &mime::TopHeaders) -> bool {
    const VACATION: &[&str] = &[
        "out of office",
        "out of the office",
        "automatic reply",
        "auto reply",
        "autoreply",
        "auto-reply",
        "auto:",
        "vacation",
        "away from",
        "away until",
        "abwesenheit",
        "absence",
        "on leave",
        "réponse automatique",
        "respuesta automática",
        "autosvar",
        "automatische antwort",
    ];
    let subject = top.subject.to_lowercase();
    top.auto_submitted.starts_with("auto-replied")
        || top.autoreply
        || top.precedence == "auto_reply"
        || VACATION.iter().any(|v| subject.contains(v))
}

pub(crate) fn looks_like_bounce(cx: &Cx<'_>) -> bool {
    let top = &cx.doc.top;
    !top.failed_recipients.is_empty()
        || text::sender_says_bounce(&top.from)
        || text::subject_says_bounce(&top.subject)
        || (top.return_path.trim() == "<>" && text::body_says_bounce(cx.notice))
        || text::body_says_bounce_strongly(cx.notice)
        || top.report_type == "delivery-status"
}

/// The body of a message as text: everything after the first empty line.
fn raw_body(raw: &[u8]) -> Cow<'_, str> {
    let start = memchr::memmem::find(raw, b"\n\n")
        .map(|i| i + 2)
        .or_else(|| memchr::memmem::find(raw, b"\r\n\r\n").map(|i| i + 4))
        .unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[start..])
}
