//! The parse pipeline: MIME walk, then the first of these that applies:
//! ARF complaint, RFC 3464 fields, auto-reply, plain-text notice, and last a
//! bounce forwarded whole inside another message.

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use mail_parser::MessageParser;
use uuid::Uuid;

use crate::classify::{self, Evidence};
use crate::fields::{self, RecipientFields};
use crate::mime::{self, Doc, Original};
use crate::reason::Reason;
use crate::{
    Action, Attribution, NotBounce, NotBounceKind, ParseOptions, Parsed, Recipient, Report, ReportKind,
    address, arf, codes, ses, text, verp,
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

/// Longest diagnostic kept in a report.
const MAX_DIAGNOSTIC: usize = 1000;

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
        && let Some(p) = feedback(&cx)
    {
        return p;
    }
    if let Some(p) = vendor_complaint(&cx) {
        return p;
    }
    if let Some(p) = ses_event(&cx) {
        return p;
    }
    if let Some(p) = dsn(&cx) {
        return p;
    }
    let bouncy = looks_like_bounce(&cx);
    if !bouncy && is_auto_reply(&cx.doc.top) {
        return not_bounce(NotBounceKind::AutoReply, cx.attribution);
    }
    let mut guess = None;
    if bouncy {
        match text_bounce(&cx) {
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

struct Cx<'a> {
    doc: &'a Doc<'a>,
    /// Notice text without the pasted original.
    notice: &'a str,
    notice_full: &'a str,
    originals: &'a [Original],
    attribution: Attribution,
    truncated: bool,
    opts: &'a ParseOptions,
    facts: NoticeFacts<'a>,
}

/// What the notice text as a whole says, found once per message: each
/// recipient may fall back on it, and searching the notice again per
/// recipient would make a notice listing many of them cost its length
/// times their number.
struct NoticeFacts<'a> {
    text: &'a str,
    context: classify::Context<'a>,
    command: OnceCell<Option<codes::Command>>,
    status: OnceCell<Option<String>>,
    says_final: OnceCell<bool>,
    says_delayed: OnceCell<bool>,
}

impl<'a> NoticeFacts<'a> {
    fn new(text: &'a str) -> Self {
        NoticeFacts {
            text,
            context: classify::Context::new(text),
            command: OnceCell::new(),
            status: OnceCell::new(),
            says_final: OnceCell::new(),
            says_delayed: OnceCell::new(),
        }
    }

    fn command(&self) -> Option<codes::Command> {
        *self.command.get_or_init(|| codes::find_command(self.text))
    }

    fn status(&self) -> Option<String> {
        self.status.get_or_init(|| codes::find_status(self.text)).clone()
    }

    fn says_final(&self) -> bool {
        *self.says_final.get_or_init(|| text::says_final(self.text))
    }

    fn says_delayed(&self) -> bool {
        *self.says_delayed.get_or_init(|| text::says_delayed(self.text))
    }
}

fn join<'a>(parts: &[Cow<'a, str>]) -> Cow<'a, str> {
    if parts.len() == 1 {
        return parts[0].clone();
    }
    Cow::Owned(parts.iter().map(|p| p.as_ref()).collect::<Vec<_>>().join("\n"))
}

fn not_bounce(why: NotBounceKind, attribution: Attribution) -> Parsed {
    Parsed::NotBounce(NotBounce { why, attribution })
}

fn merge_attribution(into: &mut Attribution, outer: &Attribution) {
    into.subscriber_uuid = into.subscriber_uuid.or(outer.subscriber_uuid);
    into.campaign_uuid = into.campaign_uuid.or(outer.campaign_uuid);
    if into.original_message_id.is_none() {
        into.original_message_id.clone_from(&outer.original_message_id);
    }
    into.verp = into.verp.or(outer.verp);
}

fn parse_uuid(v: &str) -> Option<Uuid> {
    Uuid::try_parse(v.trim().trim_matches(['<', '>', '"', '\''])).ok()
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

pub(crate) fn contains_ci(hay: &str, needle: &str) -> bool {
    let n = needle.as_bytes();
    let first = n[0];
    let h = hay.as_bytes();
    let mut i = 0;
    while let Some(off) = memchr::memchr2(first.to_ascii_lowercase(), first.to_ascii_uppercase(), &h[i..]) {
        let s = i + off;
        if h.len() - s >= n.len() && h[s..s + n.len()].eq_ignore_ascii_case(n) {
            return true;
        }
        i = s + 1;
    }
    false
}

/// Addresses that are the sender side of the bounce, never a failed
/// recipient: the bounce's own addressee and the original's sender.
fn excluded(cx: &Cx<'_>) -> HashSet<String> {
    let top = &cx.doc.top;
    let mut out: HashSet<String> = HashSet::new();
    // Delivered-To and X-Original-To are left out: some MTAs (DragonFly)
    // put the failed recipient there.
    for v in top.to.iter().chain(std::iter::once(&top.return_path)).chain(std::iter::once(&top.from)) {
        out.extend(address::find_all(v).map(|f| address::normalize(f.addr)));
    }
    for o in cx.originals {
        if let Some(f) = &o.from {
            out.extend(address::find_all(f).map(|f| address::normalize(f.addr)));
        }
    }
    out
}

fn clip(s: &str) -> String {
    let s = s.trim();
    if s.len() <= MAX_DIAGNOSTIC {
        return s.to_string();
    }
    let mut end = MAX_DIAGNOSTIC;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}

fn report(
    cx: &Cx<'_>,
    kind: ReportKind,
    recipients: Vec<Recipient>,
    reporting_mta: Option<String>,
    feedback_type: Option<String>,
) -> Parsed {
    Parsed::Bounce(Report {
        kind,
        recipients,
        attribution: cx.attribution.clone(),
        reporting_mta,
        date: cx.doc.top.date.clone(),
        feedback_type,
        truncated: cx.truncated,
        message_id: cx.doc.top.message_id.clone(),
    })
}

/// RFC 5965 complaint.
fn feedback(cx: &Cx<'_>) -> Option<Parsed> {
    let body =
        if cx.doc.feedback.is_empty() { Cow::Borrowed(cx.notice_full) } else { join(&cx.doc.feedback) };
    let f = arf::parse(&body);
    if f.feedback_type.is_none() && cx.doc.feedback.is_empty() {
        return None;
    }
    let mut addrs: Vec<String> =
        f.original_rcpt_to.iter().chain(&f.removal_recipient).filter_map(|v| address::first(v)).collect();
    if addrs.is_empty() {
        for o in cx.originals {
            addrs.extend(o.to.iter().filter_map(|v| address::first(v)));
            if !addrs.is_empty() {
                break;
            }
        }
    }
    addrs.retain(|a| !address::is_system_address(a));
    addrs.dedup();
    addrs.truncate(crate::MAX_RECIPIENTS);
    let date = f.arrival_date.clone().or_else(|| cx.doc.top.date.clone());
    let recipients = addrs
        .into_iter()
        .map(|a| Recipient {
            address: a,
            original_address: None,
            action: None,
            status: None,
            reply_code: None,
            diagnostic: Some(clip(cx.notice)).filter(|d| !d.is_empty()),
            remote_mta: f.source_ip.clone(),
            reporting_mta: f.reporting_mta.clone(),
            reason: Reason::Feedback,
            bounce_type: rebound_core::BounceType::Complaint,
            date: date.clone(),
        })
        .collect();
    Some(report(
        cx,
        ReportKind::Feedback,
        recipients,
        f.reporting_mta.clone(),
        f.feedback_type.or(Some("abuse".into())),
    ))
}

/// Feedback loops that do not use RFC 5965: Microsoft's JMRP (the
/// complained-about message attached, recipient in
/// X-HmXmrOriginalRecipient) and Apple Mail's unsubscribe message (sent by
/// the subscriber, marked X-Apple-Unsubscribe: true).
fn vendor_complaint(cx: &Cx<'_>) -> Option<Parsed> {
    let (addr, feedback_type) = if let Some(a) =
        cx.originals.iter().find_map(|o| o.hm_recipient.as_deref().and_then(address::first))
    {
        (a, "abuse")
    } else if cx.doc.top.apple_unsubscribe {
        (address::first(&cx.doc.top.from)?, "opt-out")
    } else {
        return None;
    };
    let r = Recipient {
        address: addr,
        original_address: None,
        action: None,
        status: None,
        reply_code: None,
        diagnostic: Some(clip(cx.notice)).filter(|d| !d.is_empty()),
        remote_mta: None,
        reporting_mta: None,
        reason: Reason::Feedback,
        bounce_type: rebound_core::BounceType::Complaint,
        date: cx.doc.top.date.clone(),
    };
    Some(report(cx, ReportKind::Feedback, vec![r], None, Some(feedback_type.to_string())))
}

/// An Amazon SES event sent as e-mail (see [`crate::ses`]).
fn ses_event(cx: &Cx<'_>) -> Option<Parsed> {
    let n = ses::notification(cx.notice_full)?;
    let mut attribution = cx.attribution.clone();
    if let Some(m) = &n.mail {
        for h in &m.headers {
            if h.name.eq_ignore_ascii_case(rebound_core::headers::X_LISTMONK_SUBSCRIBER) {
                attribution.subscriber_uuid = attribution.subscriber_uuid.or_else(|| parse_uuid(&h.value));
            } else if h.name.eq_ignore_ascii_case(rebound_core::headers::X_LISTMONK_CAMPAIGN) {
                attribution.campaign_uuid = attribution.campaign_uuid.or_else(|| parse_uuid(&h.value));
            } else if h.name.eq_ignore_ascii_case("Message-ID") && attribution.original_message_id.is_none() {
                attribution.original_message_id = Some(h.value.clone());
            }
        }
    }
    let mut out = Vec::new();
    let mut feedback_type = None;
    let mut reporting_mta = None;
    match n.notification_type.as_str() {
        "Bounce" => {
            let b = n.bounce?;
            reporting_mta = b.reporting_mta.as_deref().map(|m| fields::type_stripped(m).to_string());
            for r in b.bounced_recipients.iter().take(crate::MAX_RECIPIENTS) {
                let Some(addr) = address::first(&r.email_address) else { continue };
                let diag = r.diagnostic_code.as_deref().map(fields::type_stripped).unwrap_or("").to_string();
                let reply = codes::find_reply(&diag);
                let status = classify::best_status(r.status.as_deref(), &diag, reply);
                let command = codes::find_command(&diag);
                let mut reason = classify::reason(&Evidence {
                    status: status.as_deref(),
                    command,
                    reply,
                    diagnostic: &diag,
                    context: &classify::Context::new(""),
                });
                if matches!(reason, Reason::OnHold | Reason::Undefined) && b.bounce_type == "Permanent" {
                    reason = Reason::Undefined;
                }
                out.push(Recipient {
                    address: addr,
                    original_address: None,
                    action: Some(Action::Failed),
                    bounce_type: classify::bounce_type(
                        reason,
                        status.as_deref(),
                        reply,
                        cx.opts.classification,
                    ),
                    status,
                    reply_code: reply,
                    diagnostic: Some(clip(&diag)).filter(|d| !d.is_empty()),
                    remote_mta: None,
                    reporting_mta: reporting_mta.clone(),
                    reason,
                    date: b.timestamp.clone(),
                });
            }
        }
        "Complaint" => {
            let c = n.complaint?;
            feedback_type = Some(c.complaint_feedback_type.clone().unwrap_or_else(|| "abuse".into()));
            for r in c.complained_recipients.iter().take(crate::MAX_RECIPIENTS) {
                let Some(addr) = address::first(&r.email_address) else { continue };
                out.push(Recipient {
                    address: addr,
                    original_address: None,
                    action: None,
                    status: None,
                    reply_code: None,
                    diagnostic: None,
                    remote_mta: None,
                    reporting_mta: None,
                    reason: Reason::Feedback,
                    bounce_type: rebound_core::BounceType::Complaint,
                    date: c.timestamp.clone(),
                });
            }
        }
        _ => return Some(not_bounce(NotBounceKind::Delivered, attribution)),
    }
    if out.is_empty() {
        return None;
    }
    let kind = if feedback_type.is_some() { ReportKind::Feedback } else { ReportKind::Dsn };
    Some(Parsed::Bounce(Report {
        kind,
        recipients: out,
        attribution,
        reporting_mta,
        date: cx.doc.top.date.clone(),
        feedback_type,
        truncated: cx.truncated,
        message_id: cx.doc.top.message_id.clone(),
    }))
}

/// RFC 3464 per-recipient fields, from `message/delivery-status` parts or,
/// for broken MIME, from the notice text.
fn dsn(cx: &Cx<'_>) -> Option<Parsed> {
    let mut msgf = fields::MessageFields::default();
    let mut rcpts: Vec<RecipientFields> = Vec::new();
    for ds in &cx.doc.delivery_status {
        let (m, r) = fields::delivery_status(ds);
        msgf.reporting_mta = msgf.reporting_mta.or(m.reporting_mta);
        msgf.arrival_date = msgf.arrival_date.or(m.arrival_date);
        rcpts.extend(r);
    }
    if rcpts.is_empty()
        && (contains_ci(cx.notice_full, "final-recipient:")
            || contains_ci(cx.notice_full, "original-recipient:"))
    {
        let (m, r) = fields::delivery_status(cx.notice_full);
        msgf = m;
        rcpts = r.into_iter().filter(|r| r.action.is_some() || r.status.is_some()).collect();
    }
    if rcpts.is_empty() {
        return None;
    }
    // The notice's own account of each recipient is only needed when a
    // recipient has no Diagnostic-Code; scanning costs a tenth of a parse.
    let scanned = if rcpts.iter().any(|r| r.diagnostic.as_deref().is_none_or(|d| d.trim().is_empty())) {
        text::scan_recipients(cx.notice, &excluded(cx))
    } else {
        Vec::new()
    };
    let scanned: HashMap<&str, &str> =
        scanned.iter().rev().map(|s| (s.address.as_str(), s.diagnostic.as_str())).collect();
    let no_context = classify::Context::new("");
    let mut out: Vec<Recipient> = Vec::new();
    let (mut delayed, mut delivered) = (0, 0);
    let mut capped = false;
    for r in rcpts {
        if out.len() == crate::MAX_RECIPIENTS {
            capped = true;
            break;
        }
        let fin = r.final_recipient.as_deref().and_then(address::first);
        let orig = r.original_recipient.as_deref().and_then(address::first);
        // A Final-Recipient with a source route or a bare host name
        // ("@relay:user@server") is an internal hop; the Original-Recipient
        // is the address the sender knows.
        let internal = r
            .final_recipient
            .as_deref()
            .is_some_and(|v| fields::type_stripped(v).trim_start_matches('<').starts_with('@'))
            || fin.as_deref().is_some_and(|a| !a.rsplit('@').next().unwrap_or("").contains(['.', '[']));
        let Some(addr) =
            (if internal && orig.is_some() { orig.clone() } else { fin.clone().or_else(|| orig.clone()) })
        else {
            continue;
        };
        let diag = r.diagnostic.clone().unwrap_or_default();
        let from_text = scanned
            .get(addr.as_str())
            .or_else(|| orig.as_deref().and_then(|o| scanned.get(o)))
            .copied()
            .unwrap_or("");
        let reply = codes::find_reply(&diag).or_else(|| codes::find_reply(from_text));
        let mut status = classify::best_status(r.status.as_deref(), &diag, None);
        if diag.is_empty() && status.as_deref().is_none_or(|s| s.ends_with(".0.0")) {
            // A catch-all Status and no Diagnostic-Code: the notice may
            // quote the remote reply with the precise code. (With a
            // Diagnostic-Code, the notice's codes are the reporting MTA's
            // own paraphrase.)
            status = classify::best_status(None, from_text, reply)
                .filter(|t| !t.ends_with(".0.0"))
                .or(status)
                .or_else(|| classify::best_status(None, "", reply));
        }
        let command = codes::find_command(&diag)
            .or_else(|| codes::find_command(from_text))
            .or_else(|| cx.facts.command());
        let mut action = r.action.as_deref().and_then(Action::parse).unwrap_or(
            match status.as_deref().map(|s| s.as_bytes()[0]) {
                Some(b'2') => Action::Delivered,
                Some(b'4') => Action::Delayed,
                _ => Action::Failed,
            },
        );
        if status.as_deref().is_some_and(|s| s.starts_with('2')) && action == Action::Failed {
            action = Action::Delivered;
        }
        match action {
            Action::Delivered | Action::Relayed | Action::Expanded => {
                delivered += 1;
                continue;
            }
            Action::Delayed => {
                let final_words =
                    text::says_final(&diag) || cx.facts.says_final() || text::says_final(&cx.doc.top.subject);
                let delay_words = text::says_delayed(&diag)
                    || cx.facts.says_delayed()
                    || text::says_delayed(&cx.doc.top.subject);
                if !final_words || delay_words {
                    delayed += 1;
                    if !cx.opts.report_delays {
                        continue;
                    }
                } else {
                    // "Action: delayed" but the text says the MTA gave up.
                    action = Action::Failed;
                }
            }
            Action::Failed => {}
        }
        let combined;
        let diagnostic: &str = if from_text.is_empty() || diag.contains(from_text) {
            &diag
        } else if diag.is_empty() {
            from_text
        } else {
            combined = format!("{diag} {from_text}");
            &combined
        };
        // The remote server's own words decide; the notice's paraphrase
        // only when they say nothing.
        let vendor = r.vendor_category.as_deref().and_then(crate::reason::from_vendor_category);
        let mut reason = vendor.unwrap_or_else(|| {
            classify::reason(&Evidence {
                status: status.as_deref(),
                command,
                reply,
                diagnostic: &diag,
                context: &no_context,
            })
        });
        if vendor.is_none() && (matches!(reason, Reason::OnHold | Reason::Undefined) || diag.is_empty()) {
            reason = classify::reason(&Evidence {
                status: status.as_deref(),
                command,
                reply,
                diagnostic,
                context: &cx.facts.context,
            });
        }
        if action == Action::Delayed
            && matches!(reason, Reason::OnHold | Reason::Undefined | Reason::NetworkError)
        {
            reason = Reason::Expired;
        }
        let mut bounce_type = classify::bounce_type(reason, status.as_deref(), reply, cx.opts.classification);
        if action == Action::Delayed {
            bounce_type = rebound_core::BounceType::Soft;
        }
        out.push(Recipient {
            original_address: orig.filter(|o| *o != addr),
            address: addr,
            action: Some(action),
            status,
            reply_code: reply,
            diagnostic: Some(clip(if diag.is_empty() { diagnostic } else { &diag }))
                .filter(|d| !d.is_empty()),
            remote_mta: r.remote_mta.clone(),
            reporting_mta: msgf.reporting_mta.clone(),
            reason,
            bounce_type,
            date: r
                .last_attempt
                .clone()
                .or_else(|| msgf.arrival_date.clone())
                .or_else(|| cx.doc.top.date.clone()),
        });
    }
    if out.is_empty() {
        let why = if delayed > 0 {
            NotBounceKind::Delayed
        } else if delivered > 0 {
            NotBounceKind::Delivered
        } else {
            return None;
        };
        return Some(not_bounce(why, cx.attribution.clone()));
    }
    dedup(&mut out);
    let mut p = report(cx, ReportKind::Dsn, out, msgf.reporting_mta.clone(), None);
    if let Parsed::Bounce(r) = &mut p {
        r.truncated |= capped;
    }
    Some(p)
}

fn dedup(out: &mut Vec<Recipient>) {
    let mut seen = std::collections::HashSet::new();
    out.retain(|r| seen.insert(r.address.clone()));
}

/// RFC 3834 §5 auto-replies and the vacation notices that predate it.
fn is_auto_reply(top: &mime::TopHeaders) -> bool {
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

fn looks_like_bounce(cx: &Cx<'_>) -> bool {
    let top = &cx.doc.top;
    !top.failed_recipients.is_empty()
        || text::sender_says_bounce(&top.from)
        || text::subject_says_bounce(&top.subject)
        || (top.return_path.trim() == "<>" && text::body_says_bounce(cx.notice))
        || text::body_says_bounce_strongly(cx.notice)
        || top.report_type == "delivery-status"
}

/// A notice without RFC 3464 fields. The flag says whether the
/// recipients were named by the notice itself (true) or only guessed.
fn text_bounce(cx: &Cx<'_>) -> Option<(Parsed, bool)> {
    let exclude = excluded(cx);
    let top = &cx.doc.top;
    let mut found = text::scan_recipients(cx.notice, &exclude);
    let listed_by_line = found.iter().any(|r| r.strength >= 4 && !exclude.contains(&r.address));
    if !top.failed_recipients.is_empty() && !listed_by_line {
        // Exim names the failed recipients in a header; the notice text,
        // when it lists them one per line, is as good and more precise.
        let by_address: HashMap<&str, &str> =
            found.iter().rev().map(|r| (r.address.as_str(), r.diagnostic.as_str())).collect();
        let mut listed = Vec::new();
        for v in top.failed_recipients.iter().take(crate::MAX_RECIPIENTS) {
            let Some(a) = address::first(v) else { continue };
            let diag = by_address.get(a.as_str()).map(|d| d.to_string()).unwrap_or_default();
            listed.push(text::TextRecipient { address: a, diagnostic: diag, strength: 4 });
        }
        if !listed.is_empty() {
            found = listed;
        }
    }
    if found.is_empty() {
        // Last resort: the returned original's To, when it names one address.
        for o in cx.originals {
            let to: Vec<String> = o
                .to
                .iter()
                .flat_map(|v| address::find_all(v).map(|f| address::normalize(f.addr)).collect::<Vec<_>>())
                .filter(|a| !exclude.contains(a))
                .collect();
            if to.len() == 1 {
                found.push(text::TextRecipient {
                    address: to[0].clone(),
                    diagnostic: String::new(),
                    strength: 0,
                });
                break;
            }
        }
    }
    if found.is_empty() {
        return None;
    }
    let named = found[0].strength >= 2;
    let subject = &top.subject;
    let warning = (cx.facts.says_delayed() || text::says_delayed(subject))
        && !(cx.facts.says_final() || text::says_final(subject));
    let subject_reason = OnceCell::new();
    if warning && !cx.opts.report_delays {
        return Some((not_bounce(NotBounceKind::Delayed, cx.attribution.clone()), true));
    }
    let action = if warning { Action::Delayed } else { Action::Failed };
    let mut out = Vec::new();
    for r in found {
        let reply = codes::find_reply(&r.diagnostic);
        let status = classify::best_status(None, &r.diagnostic, reply).or_else(|| cx.facts.status());
        let command = codes::find_command(&r.diagnostic).or_else(|| cx.facts.command());
        let reason = classify::reason(&Evidence {
            status: status.as_deref(),
            command,
            reply,
            diagnostic: &r.diagnostic,
            context: &cx.facts.context,
        });
        let reason = if matches!(reason, Reason::OnHold) {
            *subject_reason.get_or_init(|| reason_from_subject(subject))
        } else {
            Some(reason)
        }
        .unwrap_or(reason);
        let reason = if warning && matches!(reason, Reason::OnHold | Reason::Undefined | Reason::NetworkError)
        {
            Reason::Expired
        } else {
            reason
        };
        let mut bounce_type = classify::bounce_type(reason, status.as_deref(), reply, cx.opts.classification);
        if action == Action::Delayed {
            bounce_type = rebound_core::BounceType::Soft;
        }
        out.push(Recipient {
            address: r.address,
            original_address: None,
            action: Some(action),
            status,
            reply_code: reply,
            diagnostic: Some(clip(&r.diagnostic)).filter(|d| !d.is_empty()),
            remote_mta: None,
            reporting_mta: None,
            reason,
            bounce_type,
            date: top.date.clone(),
        });
    }
    dedup(&mut out);
    Some((report(cx, ReportKind::Text, out, None, None), named))
}

fn reason_from_subject(subject: &str) -> Option<Reason> {
    crate::reason::from_text(subject)
}

/// The body of a message as text: everything after the first empty line.
fn raw_body(raw: &[u8]) -> Cow<'_, str> {
    let start = memchr::memmem::find(raw, b"\n\n")
        .map(|i| i + 2)
        .or_else(|| memchr::memmem::find(raw, b"\r\n\r\n").map(|i| i + 4))
        .unwrap_or(raw.len());
    String::from_utf8_lossy(&raw[start..])
}
