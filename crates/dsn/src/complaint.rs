//! Complaints: RFC 5965 feedback reports, and the feedback loops that do
//! not use that format.

use std::borrow::Cow;

use crate::explain::{Basis, Explanation, Step};
use crate::reading::{Cx, clip, report};
use crate::reason::Reason;
use crate::{BounceType, Parsed, Recipient, ReportKind, address, arf};

/// One complaining recipient.
fn complainant(address: String, cx: &Cx<'_>, feedback_type: &str, date: Option<String>) -> Recipient {
    let step = Step::new(Basis::Feedback, feedback_type);
    Recipient {
        address,
        original_address: None,
        action: None,
        status: None,
        reply_code: None,
        diagnostic: Some(clip(cx.notice)).filter(|d| !d.is_empty()),
        remote_mta: None,
        reporting_mta: None,
        reason: Reason::Feedback,
        bounce_type: BounceType::Complaint,
        explanation: Explanation::new(Reason::Feedback, step.clone(), BounceType::Complaint, step),
        date,
    }
}

/// RFC 5965 complaint.
pub(crate) fn feedback(cx: &Cx<'_>) -> Option<Parsed> {
    let body = if cx.doc.feedback.is_empty() {
        Cow::Borrowed(cx.notice_full)
    } else {
        Cow::Owned(cx.doc.feedback.iter().map(|p| p.as_ref()).collect::<Vec<_>>().join("\n"))
    };
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
    addrs.truncate(crate::MAX_RECIPIENTS + 1);
    let date = f.arrival_date.clone().or_else(|| cx.doc.top.date.clone());
    let feedback_type = f.feedback_type.clone().unwrap_or_else(|| "abuse".into());
    let recipients = addrs
        .into_iter()
        .map(|a| Recipient {
            remote_mta: f.source_ip.clone(),
            reporting_mta: f.reporting_mta.clone(),
            ..complainant(a, cx, &feedback_type, date.clone())
        })
        .collect();
    Some(report(cx, ReportKind::Feedback, recipients, f.reporting_mta.clone(), Some(feedback_type)))
}

/// Feedback loops that do not use RFC 5965: Microsoft's JMRP (the
/// complained-about message attached, recipient in
/// X-HmXmrOriginalRecipient) and Apple Mail's unsubscribe message (sent by
/// the subscriber, marked X-Apple-Unsubscribe: true).
pub(crate) fn vendor(cx: &Cx<'_>) -> Option<Parsed> {
    let (addr, feedback_type) = if let Some(a) =
        cx.originals.iter().find_map(|o| o.hm_recipient.as_deref().and_then(address::first))
    {
        (a, "abuse")
    } else if cx.doc.top.apple_unsubscribe {
        (address::first(&cx.doc.top.from)?, "opt-out")
    } else {
        return None;
    };
    let r = complainant(addr, cx, feedback_type, cx.doc.top.date.clone());
    Some(report(cx, ReportKind::Feedback, vec![r], None, Some(feedback_type.to_string())))
}
