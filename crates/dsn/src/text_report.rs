//! Notices without RFC 3464 fields: the recipients the text scanner
//! ([`crate::text`]) finds, each judged by the words that follow it.

use std::cell::OnceCell;
use std::collections::HashMap;

use crate::classify::{self, Evidence, Judged};
use crate::explain::Basis;
use crate::reading::{Cx, clip, excluded, not_bounce, report};
use crate::reason::Reason;
use crate::{Action, NotBounceKind, Parsed, Recipient, ReportKind, address, codes, text};

/// The report, and whether its recipients were named by the notice itself
/// (true) or only guessed.
pub(crate) fn read(cx: &Cx<'_>) -> Option<(Parsed, bool)> {
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
        for v in top.failed_recipients.iter().take(crate::MAX_RECIPIENTS + 1) {
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
    if warning && !cx.opts.report_delays {
        return Some((not_bounce(NotBounceKind::Delayed, cx.attribution.clone()), true));
    }
    let action = if warning { Action::Delayed } else { Action::Failed };
    let subject_reason = OnceCell::new();
    // The notice around the recipients is one recipient's evidence only
    // when it names one: with several, it is the others' answers too.
    let no_context = classify::Context::new("");
    let alone = found.len() == 1;
    let context = if alone { &cx.facts.context } else { &no_context };
    let out = found
        .into_iter()
        .map(|r| {
            let reply = codes::find_reply(&r.diagnostic);
            let status = classify::best_status(None, &r.diagnostic, reply)
                .or_else(|| if alone { cx.facts.status() } else { None });
            let command = codes::find_command(&r.diagnostic).or_else(|| cx.facts.command());
            let mut judged = classify::judge_reason(&Evidence {
                status: status.as_deref(),
                command,
                reply,
                diagnostic: &r.diagnostic,
                context,
            });
            if judged.reason == Reason::OnHold
                && alone
                && let Some(from_subject) = subject_reason
                    .get_or_init(|| crate::reason::match_text(subject).map(|t| (t.reason, t.phrase)))
            {
                judged = Judged::new(from_subject.0, Basis::Subject, from_subject.1);
            }
            let v = classify::settle(judged, action, status.as_deref(), reply, cx.opts.classification);
            Recipient {
                address: r.address,
                original_address: None,
                action: Some(action),
                status,
                reply_code: reply,
                diagnostic: Some(clip(&r.diagnostic)).filter(|d| !d.is_empty()),
                remote_mta: None,
                reporting_mta: None,
                reason: v.reason,
                bounce_type: v.bounce_type,
                explanation: v.explanation,
                date: top.date.clone(),
            }
        })
        .collect();
    Some((report(cx, ReportKind::Text, out, None, None), named))
}
