//! RFC 3464 delivery status notifications: the per-recipient fields of a
//! `message/delivery-status` part (or, for broken MIME, of the notice
//! text), completed from the notice's own account of each recipient.

use std::collections::HashMap;

use crate::classify::{self, Evidence, Judged};
use crate::explain::Basis;
use crate::fields::{self, RecipientFields};
use crate::reading::{Cx, clip, contains_ci, excluded, not_bounce, report};
use crate::reason::Reason;
use crate::{Action, NotBounceKind, Parsed, Recipient, ReportKind, address, codes, text};

pub(crate) fn read(cx: &Cx<'_>) -> Option<Parsed> {
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
    let mut out: Vec<Recipient> = Vec::new();
    let (mut delayed, mut delivered) = (0, 0);
    // The notice around the recipients is one recipient's evidence only
    // when it names one: with several, it is the others' answers too.
    let no_context = classify::Context::new("");
    let context = if rcpts.len() == 1 { &cx.facts.context } else { &no_context };
    for r in rcpts.iter() {
        if out.len() > crate::MAX_RECIPIENTS {
            break;
        }
        match recipient(cx, &msgf, r, &scanned, context) {
            Outcome::Reported(rc) => out.push(*rc),
            Outcome::Delayed => delayed += 1,
            Outcome::Delivered => delivered += 1,
            Outcome::Nobody => {}
        }
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
    Some(report(cx, ReportKind::Dsn, out, msgf.reporting_mta.clone(), None))
}

enum Outcome {
    Reported(Box<Recipient>),
    /// A delay warning, not reported (see `ParseOptions::report_delays`).
    Delayed,
    /// Delivered, relayed or expanded.
    Delivered,
    /// A block that names no address.
    Nobody,
}

fn recipient(
    cx: &Cx<'_>,
    msgf: &fields::MessageFields,
    r: &RecipientFields,
    scanned: &HashMap<&str, &str>,
    context: &classify::Context<'_>,
) -> Outcome {
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
        return Outcome::Nobody;
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
        // A catch-all Status and no Diagnostic-Code: the notice may quote
        // the remote reply with the precise code. (With a Diagnostic-Code,
        // the notice's codes are the reporting MTA's own paraphrase.)
        status = classify::best_status(None, from_text, reply)
            .filter(|t| !t.ends_with(".0.0"))
            .or(status)
            .or_else(|| classify::best_status(None, "", reply));
    }
    let command =
        codes::find_command(&diag).or_else(|| codes::find_command(from_text)).or_else(|| cx.facts.command());
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
        Action::Delivered | Action::Relayed | Action::Expanded => return Outcome::Delivered,
        // "Action: delayed" with X.4.7 (delivery time expired) and the
        // recipient's own line saying it expired: the MTA gave up
        // (OpenSMTPD reports its expiries so). Without those words it is a
        // warning that the time is running out (Outlook's delay notices
        // carry 4.4.7 and a Will-Retry-Until).
        Action::Delayed
            if classify::says_expired(r.status.as_deref())
                && (text::says_final(&diag) || text::says_final(from_text)) =>
        {
            action = Action::Failed
        }
        Action::Delayed => {
            let final_words =
                text::says_final(&diag) || cx.facts.says_final() || text::says_final(&cx.doc.top.subject);
            let delay_words = text::says_delayed(&diag)
                || cx.facts.says_delayed()
                || text::says_delayed(&cx.doc.top.subject);
            if !final_words || delay_words {
                if !cx.opts.report_delays {
                    return Outcome::Delayed;
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
    // The remote server's own words decide; the notice's paraphrase only
    // when they say nothing.
    let no_context = classify::Context::new("");
    let vendor = r.vendor_category.as_deref().and_then(|c| {
        crate::reason::from_vendor_category(c).map(|v| Judged::new(v, Basis::VendorCategory, c))
    });
    let judged = vendor.unwrap_or_else(|| {
        let own = classify::judge_reason(&Evidence {
            status: status.as_deref(),
            command,
            reply,
            diagnostic: &diag,
            context: &no_context,
        });
        if !matches!(own.reason, Reason::OnHold | Reason::Undefined) && !diag.is_empty() {
            return own;
        }
        classify::judge_reason(&Evidence { status: status.as_deref(), command, reply, diagnostic, context })
    });
    let v = classify::settle(judged, action, status.as_deref(), reply, cx.opts.classification);
    Outcome::Reported(Box::new(Recipient {
        original_address: orig.filter(|o| *o != addr),
        address: addr,
        action: Some(action),
        status,
        reply_code: reply,
        diagnostic: Some(clip(if diag.is_empty() { diagnostic } else { &diag })).filter(|d| !d.is_empty()),
        remote_mta: r.remote_mta.clone(),
        reporting_mta: msgf.reporting_mta.clone(),
        reason: v.reason,
        bounce_type: v.bounce_type,
        explanation: v.explanation,
        date: r
            .last_attempt
            .clone()
            .or_else(|| msgf.arrival_date.clone())
            .or_else(|| cx.doc.top.date.clone()),
    }))
}
