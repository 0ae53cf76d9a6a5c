//! The parser's hand-written regression cases: every `tests/data/NAME.eml`
//! that has a `NAME.expected.json` beside it is parsed with LF and with CRLF
//! line endings, and must give what that file says: bounce or not (and
//! why not), and for each failed recipient its address, action, type,
//! status and reason, plus the attribution found.
//!
//! Expected files are written by hand from what the notice says, never
//! copied from the parser's output.

use std::path::{Path, PathBuf};

use rebound_dsn::{NotBounceKind, ParseOptions, Parsed, parse_with};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    /// "bounce", or the NotBounceKind of a message that is not one.
    outcome: String,
    #[serde(default)]
    recipients: Vec<ExpectedRecipient>,
    #[serde(default)]
    subscriber_uuid: Option<String>,
    #[serde(default)]
    campaign_uuid: Option<String>,
    /// Why these expectations, in a sentence.
    #[serde(default)]
    because: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedRecipient {
    address: String,
    action: Option<String>,
    #[serde(rename = "type")]
    bounce_type: String,
    status: Option<String>,
    reason: String,
}

fn data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data")
}

fn with_eol(raw: &[u8], eol: &str) -> Vec<u8> {
    let lf = String::from_utf8_lossy(raw).replace("\r\n", "\n");
    lf.replace('\n', eol).into_bytes()
}

fn not_bounce_name(k: NotBounceKind) -> String {
    serde_json::to_value(k).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// What differs between the parse and the expectation, if anything.
fn check(e: &Expected, p: &Parsed) -> Vec<String> {
    let mut out = Vec::new();
    let r = match p {
        Parsed::NotBounce(n) => {
            if e.outcome != not_bounce_name(n.why) {
                out.push(format!("outcome {} ({:?}), expected {}", not_bounce_name(n.why), n.why, e.outcome));
            }
            return out;
        }
        Parsed::Bounce(r) => r,
    };
    if e.outcome != "bounce" {
        out.push(format!("a bounce, expected {}: {:?}", e.outcome, r.recipients));
        return out;
    }
    if r.recipients.len() != e.recipients.len() {
        out.push(format!("{} recipients, expected {}", r.recipients.len(), e.recipients.len()));
    }
    for x in &e.recipients {
        let Some(got) = r.recipients.iter().find(|g| g.address == x.address) else {
            out.push(format!("{} not found", x.address));
            continue;
        };
        let action = got.action.map(|a| a.as_str().to_string());
        let have = (action, got.bounce_type.as_str(), got.status.clone(), got.reason.as_str());
        let want = (x.action.clone(), x.bounce_type.as_str(), x.status.clone(), x.reason.as_str());
        if have != want {
            out.push(format!(
                "{}: (action, type, status, reason) {have:?}, expected {want:?} [{}]",
                x.address, got.explanation.summary
            ));
        }
    }
    let a = &r.attribution;
    if e.subscriber_uuid.as_deref() != a.subscriber_uuid.map(|u| u.to_string()).as_deref() {
        out.push(format!("subscriber {:?}, expected {:?}", a.subscriber_uuid, e.subscriber_uuid));
    }
    if e.campaign_uuid.as_deref() != a.campaign_uuid.map(|u| u.to_string()).as_deref() {
        out.push(format!("campaign {:?}, expected {:?}", a.campaign_uuid, e.campaign_uuid));
    }
    out
}

#[test]
fn hand_written_cases_give_their_expected_results_on_lf_and_crlf() {
    let mut cases: Vec<PathBuf> = std::fs::read_dir(data())
        .expect("tests/data")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".expected.json"))
        .collect();
    cases.sort();
    assert!(cases.len() >= 15, "only {} regression cases", cases.len());
    let mut failures = Vec::new();
    for exp_path in &cases {
        let name = exp_path.file_name().unwrap().to_string_lossy().replace(".expected.json", "");
        let e: Expected = serde_json::from_str(&std::fs::read_to_string(exp_path).unwrap())
            .unwrap_or_else(|err| panic!("{}: {err}", exp_path.display()));
        assert!(!e.because.is_empty(), "{name}: say why in \"because\"");
        let raw = std::fs::read(data().join(format!("{name}.eml"))).expect("the case's .eml");
        for eol in ["\n", "\r\n"] {
            let p = parse_with(&with_eol(&raw, eol), &ParseOptions::default());
            for f in check(&e, &p) {
                failures.push(format!("{name} ({}): {f}", if eol == "\n" { "LF" } else { "CRLF" }));
            }
        }
    }
    assert!(failures.is_empty(), "regressions:\n{}", failures.join("\n"));
}
