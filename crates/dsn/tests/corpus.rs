//! Runs the parser over the Sisimai-labelled corpus (629 real bounces from
//! Sisimai's set-of-emails, labelled by Sisimai 5.1.0p3) and scores it with
//! the corpus' own score.py. The corpus is not part of the repository: it
//! is read from `$REBOUND_CORPUS`, else from `../shared/corpus` beside the
//! checkout. Without it the test says plainly that the score did not run,
//! and passes; with `REBOUND_REQUIRE_CORPUS=1` (set by CI) it fails.
//! The parser's own regression cases, which always run, are in
//! tests/conformance.rs and tests/regressions.rs.
//!
//! Three runs:
//! * "sisimai-comparable": delay warnings reported (as Sisimai does), reason
//!   classification; scored with the sisimai type map. The floors apply here.
//! * "strict": rebound's defaults (delay warnings are not bounces); precision,
//!   type and status floors apply, recall is printed (the corpus labels 24
//!   delay-warning recipients as bounces).
//! * "permanent": the listmonk-compatible classification (5.x.x hard),
//!   scored with `--type-map permanent`; printed for comparison.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use rebound_dsn::{Classification, ParseOptions, input, output::JsonLine, parse_with};

const FLOOR_RECALL: f64 = 0.98;
const FLOOR_PRECISION: f64 = 0.97;
const FLOOR_TYPE: f64 = 0.95;
const FLOOR_STATUS: f64 = 0.95;
/// README: filed under not/ but really a bounce (a full mailbox).
const KNOWN_NOT_FILE_BOUNCE: &str = "not/rb-issue-368-bug.eml";

fn corpus() -> Option<PathBuf> {
    let dir = match std::env::var_os("REBOUND_CORPUS") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus"),
    };
    if dir.join("score.py").is_file() && dir.join("set-of-emails/bsd").is_dir() {
        return Some(dir);
    }
    let required = std::env::var("REBOUND_REQUIRE_CORPUS").is_ok_and(|v| v == "1");
    assert!(
        !required,
        "REBOUND_REQUIRE_CORPUS=1 and no Sisimai corpus at {} (score.py, labels.jsonl, set-of-emails/)",
        dir.display()
    );
    // Straight to stderr: the test harness hides what a passing test prints.
    let _ = writeln!(
        std::io::stderr(),
        "NOTE: the Sisimai corpus score did NOT run: no corpus at {} (set REBOUND_CORPUS to its \
         directory; REBOUND_REQUIRE_CORPUS=1 makes its absence fail)",
        dir.display()
    );
    None
}

/// Parse bsd/ and not/ and write the JSONL score.py reads.
fn predict(corpus: &Path, opts: &ParseOptions, out: &Path) -> usize {
    let root = corpus.join("set-of-emails");
    let mut f = std::io::BufWriter::new(std::fs::File::create(out).expect("create predictions"));
    let mut n = 0;
    for sub in ["bsd", "not"] {
        for item in input::walk(&[root.join(sub)]) {
            let m = item.expect("read corpus file");
            let rel = Path::new(&m.path)
                .strip_prefix(&root)
                .expect("under set-of-emails")
                .to_string_lossy()
                .replace('\\', "/");
            let parsed = parse_with(&m.bytes, opts);
            writeln!(f, "{}", JsonLine::new(rel, m.index, &parsed).to_json()).expect("write predictions");
            n += 1;
        }
    }
    f.flush().expect("flush predictions");
    n
}

struct Score {
    recall: f64,
    precision: f64,
    type_agreement: f64,
    status_agreement: f64,
    output: String,
}

fn score(corpus: &Path, preds: &Path, args: &[&str]) -> Score {
    let out = Command::new("python3")
        .arg(corpus.join("score.py"))
        .arg(preds)
        .args(args)
        .output()
        .expect("run python3 score.py");
    let output = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "score.py failed: {}\n{}", String::from_utf8_lossy(&out.stderr), output);
    let line = output
        .lines()
        .rev()
        .find(|l| l.starts_with("score:"))
        .unwrap_or_else(|| panic!("no score line in:\n{output}"));
    let get = |key: &str| -> f64 {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key).and_then(|v| v.strip_prefix('=')))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {line}"))
    };
    Score {
        recall: get("recipient_recall"),
        precision: get("recipient_precision"),
        type_agreement: get("type_agreement"),
        status_agreement: get("status_agreement"),
        output,
    }
}

fn nonbounce_line(output: &str) -> &str {
    output.lines().find(|l| l.starts_with("non-bounce files reported as bounces:")).unwrap_or("")
}

fn check_not_files(output: &str) {
    let line = nonbounce_line(output);
    let listed = line.split_once('(').map(|(_, rest)| rest.trim_end_matches(')')).unwrap_or("");
    for f in listed.split(", ").filter(|s| !s.is_empty()) {
        assert_eq!(f, KNOWN_NOT_FILE_BOUNCE, "a non-bounce file was reported as a bounce: {line}");
    }
}

#[test]
fn corpus_scores_meet_the_floors() {
    let Some(corpus) = corpus() else { return };
    let tmp = tempfile::tempdir().expect("temp dir");

    let comparable = ParseOptions { report_delays: true, ..ParseOptions::default() };
    let p1 = tmp.path().join("sisimai-comparable.jsonl");
    let files = predict(&corpus, &comparable, &p1);
    // 632 files; a few start with an mbox "From " line and hold two messages.
    assert!(files >= 632, "only {files} messages read from bsd/ and not/");
    let s = score(&corpus, &p1, &["--by-family"]);
    println!(
        "=== sisimai-comparable (delay warnings reported), --type-map sisimai, --by-family\n{}",
        s.output
    );

    let p2 = tmp.path().join("strict.jsonl");
    predict(&corpus, &ParseOptions::default(), &p2);
    let strict = score(&corpus, &p2, &[]);
    println!(
        "=== strict (rebound defaults: delay warnings are not bounces), --type-map sisimai\n{}",
        strict.output
    );

    let permanent_opts = ParseOptions {
        classification: Classification::Permanent,
        report_delays: true,
        ..ParseOptions::default()
    };
    let p3 = tmp.path().join("permanent.jsonl");
    predict(&corpus, &permanent_opts, &p3);
    let perm = score(&corpus, &p3, &["--type-map", "permanent"]);
    println!("=== listmonk-compatible classification, --type-map permanent\n{}", perm.output);

    let floors = |name: &str, s: &Score, check_recall: bool| {
        if check_recall {
            assert!(s.recall >= FLOOR_RECALL, "{name}: recipient recall {} < {FLOOR_RECALL}", s.recall);
        }
        assert!(
            s.precision >= FLOOR_PRECISION,
            "{name}: recipient precision {} < {FLOOR_PRECISION}",
            s.precision
        );
        assert!(s.type_agreement >= FLOOR_TYPE, "{name}: type agreement {} < {FLOOR_TYPE}", s.type_agreement);
        assert!(
            s.status_agreement >= FLOOR_STATUS,
            "{name}: status agreement {} < {FLOOR_STATUS}",
            s.status_agreement
        );
        check_not_files(&s.output);
    };
    floors("sisimai-comparable", &s, true);
    floors("strict", &strict, false);
    floors("permanent", &perm, true);
}
