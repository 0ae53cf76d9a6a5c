//! `rebound parse` as an operator runs it on notices: one JSON line per
//! message, each result saying why it got its reason and its type.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

fn parse(file: &str) -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../dsn/tests/conformance").join(file);
    let out = Command::new(env!("CARGO_BIN_EXE_rebound"))
        .arg("parse")
        .arg(&path)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run rebound parse");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let line = String::from_utf8(out.stdout).expect("utf-8");
    serde_json::from_str(line.trim()).unwrap_or_else(|e| panic!("{e}: {line}"))
}

#[test]
fn each_result_explains_its_verdict() {
    let v = parse("postfix/unknown-user.eml");
    let r = &v["results"][0];
    assert_eq!(r["type"], "hard");
    assert_eq!(r["why"], "status 5.1.1 → userunknown → hard", "{r}");
    assert_eq!(r["explanation"]["reason"]["by"], "status");
    assert_eq!(r["explanation"]["reason"]["evidence"], "5.1.1");

    // Greylisted until the queue gave up: the 4.x.x decides, soft.
    let v = parse("postfix/greylisted-until-expiry.eml");
    let r = &v["results"][0];
    assert_eq!(r["type"], "soft", "{r}");
    assert_eq!(r["reason"], "expired");
    let why = r["why"].as_str().unwrap();
    assert!(why.contains("4.7.1") && why.ends_with("soft"), "{why}");

    // The delay warning before it is no bounce at all.
    let v = parse("postfix/greylisted-until-expiry.delayed.eml");
    assert_eq!(v["results"], Value::Array(vec![]), "{v}");
}
