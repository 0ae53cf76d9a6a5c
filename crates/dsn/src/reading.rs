//! What every reader of a notice shares: the message being read, the facts
//! found once per notice, and how a reader builds its answer. The readers
//! (complaint, ses, dsn_report, text_report) and the pipeline that picks one
//! ([`crate::analyze`]) both stand on this module, so neither imports the
//! other's internals.

use std::cell::OnceCell;
use std::collections::HashSet;

use uuid::Uuid;

use crate::mime::{Doc, Original};
use crate::{
    Attribution, NotBounce, NotBounceKind, ParseOptions, Parsed, Recipient, Report, ReportKind, address,
    classify, codes, text,
};

/// Longest diagnostic kept in a report.
const MAX_DIAGNOSTIC: usize = 1000;

/// One message being read: its parts, and what every reader shares.
pub(crate) struct Cx<'a> {
    pub doc: &'a Doc<'a>,
    /// Notice text without the pasted original.
    pub notice: &'a str,
    pub notice_full: &'a str,
    pub originals: &'a [Original],
    pub attribution: Attribution,
    pub truncated: bool,
    pub opts: &'a ParseOptions,
    pub facts: NoticeFacts<'a>,
}

/// What the notice text as a whole says, found once per message: each
/// recipient may fall back on it, and searching the notice again per
/// recipient would make a notice listing many of them cost its length
/// times their number.
pub(crate) struct NoticeFacts<'a> {
    text: &'a str,
    pub context: classify::Context<'a>,
    command: OnceCell<Option<codes::Command>>,
    status: OnceCell<Option<String>>,
    says_final: OnceCell<bool>,
    says_delayed: OnceCell<bool>,
}

impl<'a> NoticeFacts<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        NoticeFacts {
            text,
            context: classify::Context::new(text),
            command: OnceCell::new(),
            status: OnceCell::new(),
            says_final: OnceCell::new(),
            says_delayed: OnceCell::new(),
        }
    }

    pub fn command(&self) -> Option<codes::Command> {
        *self.command.get_or_init(|| codes::find_command(self.text))
    }

    pub fn status(&self) -> Option<String> {
        self.status.get_or_init(|| codes::find_status(self.text)).clone()
    }

    pub fn says_final(&self) -> bool {
        *self.says_final.get_or_init(|| text::says_final(self.text))
    }

    pub fn says_delayed(&self) -> bool {
        *self.says_delayed.get_or_init(|| text::says_delayed(self.text))
    }
}

pub(crate) fn not_bounce(why: NotBounceKind, attribution: Attribution) -> Parsed {
    Parsed::NotBounce(NotBounce { why, attribution })
}

pub(crate) fn parse_uuid(v: &str) -> Option<Uuid> {
    Uuid::try_parse(v.trim().trim_matches(['<', '>', '"', '\''])).ok()
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
pub(crate) fn excluded(cx: &Cx<'_>) -> HashSet<String> {
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

pub(crate) fn clip(s: &str) -> String {
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

pub(crate) fn report(
    cx: &Cx<'_>,
    kind: ReportKind,
    recipients: Vec<Recipient>,
    reporting_mta: Option<String>,
    feedback_type: Option<String>,
) -> Parsed {
    report_with(cx, kind, recipients, reporting_mta, feedback_type, cx.attribution.clone())
}

pub(crate) fn report_with(
    cx: &Cx<'_>,
    kind: ReportKind,
    mut recipients: Vec<Recipient>,
    reporting_mta: Option<String>,
    feedback_type: Option<String>,
    attribution: Attribution,
) -> Parsed {
    dedup(&mut recipients);
    let truncated = cx.truncated || recipients.len() > crate::MAX_RECIPIENTS;
    recipients.truncate(crate::MAX_RECIPIENTS);
    let message_id = cx.doc.top.message_id.clone().filter(|m| !m.trim().is_empty());
    let notice_id = crate::identity::notice_id(
        message_id.as_deref(),
        cx.doc.top.date.as_deref(),
        reporting_mta.as_deref(),
        attribution.original_message_id.as_deref(),
        &recipients,
    );
    Parsed::Bounce(Report {
        kind,
        recipients,
        attribution,
        reporting_mta,
        date: cx.doc.top.date.clone(),
        feedback_type,
        truncated,
        message_id,
        notice_id,
    })
}

fn dedup(out: &mut Vec<Recipient>) {
    let mut seen = HashSet::new();
    out.retain(|r| seen.insert(r.address.clone()));
}
