//! The conformance suite: bounce notices that real Postfix 3.7, Exim 4.96
//! and OpenSMTPD 6.8 produced for a newsletter's failures
//! (`scripts/conformance/generate`, see docs/parser.md), committed in
//! tests/conformance with their labels, which are known by construction
//! (labels.jsonl: the failure each original was sent to meet).
//!
//! An MTA may report the recipients of one original in several notices
//! (OpenSMTPD sends one per delivery attempt that failed), so the failed
//! recipients are scored per original, over all its notices. Each notice is
//! parsed with LF and with CRLF line endings, and the parser is scored per
//! family on four things, each of which must reach 0.99:
//! * recipients: the failed recipients found (recall) and nothing else
//!   (precision), delay warnings and success notices included as the
//!   non-bounces they are;
//! * type: hard or soft, for each recipient found;
//! * status: the recipient's own status code;
//! * attribution: the subscriber and campaign of the returned original,
//!   and for a notice about several recipients, no recipient explained by
//!   another one's diagnostic.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rebound_dsn::{ParseOptions, Parsed, Report};
use serde::Deserialize;

const FLOOR: f64 = 0.99;
const VERP: &str = "bounces+{subscriber_uuid}.{campaign_uuid}@lists.test";

#[derive(Debug, Deserialize)]
struct Label {
    file: String,
    family: String,
    scenario: String,
    bounce: bool,
    #[serde(default)]
    why: Option<String>,
    recipients: Vec<Expected>,
}

#[derive(Debug, Deserialize)]
struct Expected {
    address: String,
    #[serde(rename = "type")]
    bounce_type: String,
    status: String,
    reason: String,
    subscriber_uuid: Option<String>,
    campaign_uuid: String,
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}

fn labels() -> Vec<Label> {
    let text = std::fs::read_to_string(dir().join("labels.jsonl")).expect("tests/conformance/labels.jsonl");
    text.lines().filter(|l| !l.trim().is_empty()).map(|l| serde_json::from_str(l).expect("label")).collect()
}

/// The notice with every line ending made `eol`.
fn with_eol(raw: &[u8], eol: &str) -> Vec<u8> {
    let lf = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    lf.replace('\n', eol).into_bytes()
}

fn options() -> ParseOptions {
    ParseOptions { verp_template: Some(VERP.into()), ..ParseOptions::default() }
}

#[derive(Default)]
struct Tally {
    notices: usize,
    expected: usize,
    predicted: usize,
    found: usize,
    typed: usize,
    status: usize,
    attributed: usize,
    reason: usize,
    misses: Vec<String>,
}

impl Tally {
    fn ratio(n: usize, d: usize) -> f64 {
        if d == 0 { 1.0 } else { n as f64 / d as f64 }
    }
    fn recall(&self) -> f64 {
        Self::ratio(self.found, self.expected)
    }
    fn precision(&self) -> f64 {
        Self::ratio(self.found, self.predicted)
    }
    fn type_agreement(&self) -> f64 {
        Self::ratio(self.typed, self.found)
    }
    fn status_agreement(&self) -> f64 {
        Self::ratio(self.status, self.found)
    }
    fn attribution(&self) -> f64 {
        Self::ratio(self.attributed, self.found)
    }
    fn reason_agreement(&self) -> f64 {
        Self::ratio(self.reason, self.found)
    }
}

/// One original's final notices (all labelled alike), parsed with `eol`.
fn score(labels: &[&Label], eol: &str, t: &mut Tally) {
    let label = labels[0];
    let files: Vec<&str> = labels.iter().map(|l| l.file.as_str()).collect();
    let name = format!("{} ({})", files.join(" + "), if eol == "\n" { "LF" } else { "CRLF" });
    t.expected += label.recipients.len();
    let mut failures = Vec::new();
    for l in labels {
        let raw = std::fs::read(dir().join(&l.file)).unwrap_or_else(|e| panic!("{}: {e}", l.file));
        match rebound_dsn::parse_with(&with_eol(&raw, eol), &options()) {
            Parsed::Bounce(report) => {
                let rs: Vec<_> = report.failures().cloned().collect();
                t.predicted += rs.len();
                if !label.bounce && !rs.is_empty() {
                    let why = label.why.as_deref().unwrap_or("");
                    t.misses.push(format!("{} ({eol:?}): a {why} notice read as a bounce", l.file));
                }
                failures.extend(rs.into_iter().map(|r| (report.clone(), r)));
            }
            parsed @ Parsed::NotBounce(_) if label.bounce => {
                t.misses.push(format!("{} ({eol:?}): not read as a bounce: {parsed:?}", l.file));
            }
            Parsed::NotBounce(_) => {}
        }
    }
    for e in &label.recipients {
        let Some((report, r)) = failures.iter().find(|(_, r)| r.address == e.address) else {
            t.misses.push(format!("{name}: {} not found", e.address));
            continue;
        };
        t.found += 1;
        let got = r.bounce_type.as_str();
        if got == e.bounce_type {
            t.typed += 1;
        } else {
            t.misses.push(format!("{name}: {} type {got}, not {}: {}", e.address, e.bounce_type, why(r)));
        }
        if r.status.as_deref() == Some(e.status.as_str()) {
            t.status += 1;
        } else {
            t.misses.push(format!("{name}: {} status {:?}, not {}", e.address, r.status, e.status));
        }
        if r.reason.as_str() == e.reason {
            t.reason += 1;
        }
        match attribution_error(label, e, report, r) {
            None => t.attributed += 1,
            Some(err) => t.misses.push(format!("{name}: {}: {err}", e.address)),
        }
    }
}

fn why(r: &rebound_dsn::Recipient) -> String {
    format!("{} ({})", r.reason, r.diagnostic.as_deref().unwrap_or(""))
}

fn attribution_error(
    label: &Label,
    e: &Expected,
    report: &Report,
    r: &rebound_dsn::Recipient,
) -> Option<String> {
    let a = &report.attribution;
    if a.campaign_uuid.map(|u| u.to_string()).as_deref() != Some(e.campaign_uuid.as_str()) {
        return Some(format!("campaign {:?}", a.campaign_uuid));
    }
    if let Some(s) = &e.subscriber_uuid
        && a.subscriber_uuid.map(|u| u.to_string()).as_deref() != Some(s.as_str())
    {
        return Some(format!("subscriber {:?}, not {s}", a.subscriber_uuid));
    }
    // With several recipients, each must be explained by its own answer.
    let diagnostic = r.diagnostic.as_deref().unwrap_or("").to_ascii_lowercase();
    for other in label.recipients.iter().filter(|o| o.address != e.address) {
        if diagnostic.contains(&other.address) {
            return Some(format!("diagnostic names {}: {diagnostic}", other.address));
        }
    }
    None
}

#[test]
fn real_mta_notices_meet_the_floors() {
    let labels = labels();
    assert!(labels.len() >= 60, "only {} labelled notices", labels.len());
    // The final notices of one original together; each non-bounce alone.
    let mut groups: BTreeMap<(String, String, String), Vec<&Label>> = BTreeMap::new();
    for l in &labels {
        assert!(!l.scenario.is_empty(), "{}", l.file);
        let key = if l.bounce { String::new() } else { l.file.clone() };
        groups.entry((l.family.clone(), l.scenario.clone(), key)).or_default().push(l);
    }
    let mut by_family: BTreeMap<String, Tally> = BTreeMap::new();
    for ((family, _, _), group) in &groups {
        by_family.entry(family.clone()).or_default().notices += group.len();
        for eol in ["\n", "\r\n"] {
            score(group, eol, by_family.entry(family.clone()).or_default());
        }
    }
    // Recipients count each failed recipient once; every one is scored on
    // LF and on CRLF.
    println!(
        "{:<10} {:>7} {:>10} {:>7} {:>9} {:>6} {:>7} {:>11} {:>7}",
        "family", "notices", "recipients", "recall", "precision", "type", "status", "attribution", "reason"
    );
    let mut failed = Vec::new();
    for (family, t) in &by_family {
        println!(
            "{family:<10} {:>7} {:>10} {:>7.4} {:>9.4} {:>6.4} {:>7.4} {:>11.4} {:>7.4}",
            t.notices,
            t.expected / 2,
            t.recall(),
            t.precision(),
            t.type_agreement(),
            t.status_agreement(),
            t.attribution(),
            t.reason_agreement()
        );
        for (what, v) in [
            ("recall", t.recall()),
            ("precision", t.precision()),
            ("type", t.type_agreement()),
            ("status", t.status_agreement()),
            ("attribution", t.attribution()),
        ] {
            if v < FLOOR {
                failed.push(format!("{family} {what} {v:.4} < {FLOOR}"));
            }
        }
    }
    for t in by_family.values() {
        for m in &t.misses {
            println!("  miss: {m}");
        }
    }
    assert!(failed.is_empty(), "below the floors: {failed:?}");
}

/// A redelivery (an MTA's retry after a lost acknowledgement, a mailbox
/// fetched twice) prepends a Received header: the bytes differ, the notice
/// does not.
fn redelivered(raw: &[u8]) -> Vec<u8> {
    let mut v = b"Received: from mail.lists.test by mail.lists.test with LMTP id again;\r\n \
Thu, 03 Dec 2026 10:00:00 +0000\r\n"
        .to_vec();
    v.extend_from_slice(raw);
    v
}

/// The notice without its Message-ID header (identity from what it reports).
fn without_message_id(raw: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text.split_once("\r\n\r\n").or_else(|| text.split_once("\n\n")).unwrap_or((&text, ""));
    let head: Vec<&str> =
        head.lines().filter(|l| !l.to_ascii_lowercase().starts_with("message-id:")).collect();
    format!("{}\r\n\r\n{body}", head.join("\r\n")).into_bytes()
}

#[test]
fn a_notice_delivered_twice_has_one_identity_and_distinct_notices_have_distinct_ones() {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let mut seen_without_id: BTreeMap<String, String> = BTreeMap::new();
    for label in labels().iter().filter(|l| l.bounce) {
        let raw = std::fs::read(dir().join(&label.file)).unwrap();
        let id = |bytes: &[u8]| match rebound_dsn::parse_with(bytes, &options()) {
            Parsed::Bounce(r) => r.notice_id.unwrap_or_else(|| panic!("{}: no identity", label.file)),
            other => panic!("{}: {other:?}", label.file),
        };
        let first = id(&raw);
        assert_eq!(id(&redelivered(&raw)), first, "{}: a redelivery changed the identity", label.file);
        let bare = without_message_id(&raw);
        let by_content = id(&bare);
        assert_ne!(by_content, first, "{}: the Message-ID was not removed", label.file);
        assert_eq!(id(&redelivered(&bare)), by_content, "{}: without a Message-ID", label.file);
        if let Some(other) = seen.insert(first.clone(), label.file.clone()) {
            panic!("{} and {other} share the identity {first}", label.file);
        }
        if let Some(other) = seen_without_id.insert(by_content.clone(), label.file.clone()) {
            panic!("{} and {other} share the identity {by_content}", label.file);
        }
    }
}
