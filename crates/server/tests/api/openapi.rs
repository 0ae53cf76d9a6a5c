//! GET /api/openapi.json describes every route of router.rs (and of the
//! mailbox routes it merges), and every operation it describes is routed:
//! the description cannot drift from the code without this failing.

use std::collections::BTreeSet;

use rebound_testkit::{Backend, TestServer};
use serde_json::Value;

/// (METHOD, path) of every `.route("path", get(..).post(..))` in Rust source.
fn routes_in(src: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    let mut rest = src;
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + ".route(".len()..];
        // The call's text, up to its closing parenthesis.
        let mut depth = 1;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                match c {
                    '(' => depth += 1,
                    ')' => depth -= 1,
                    _ => {}
                }
                depth == 0
            })
            .map(|(j, _)| j)
            .expect("balanced .route(...)");
        let call = &rest[..end];
        let path = call.split('"').nth(1).expect("a path literal").to_string();
        for method in ["get", "post", "put", "delete", "patch"] {
            let needle = format!("{method}(");
            let found = call
                .match_indices(&needle)
                .any(|(k, _)| k == 0 || !call[..k].ends_with(|c: char| c.is_alphanumeric() || c == '_'));
            if found {
                out.insert((method.to_uppercase(), path.clone()));
            }
        }
    }
    out
}

fn spec_operations(spec: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, ops) in spec["paths"].as_object().expect("paths") {
        for method in ops.as_object().expect("operations").keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

#[test]
fn every_route_is_described_and_every_description_is_routed() {
    let mut routed = routes_in(include_str!("../../src/router.rs"));
    routed.extend(routes_in(include_str!("../../src/handlers/mailboxes.rs")));
    assert!(routed.len() > 30, "the route parser found too little: {routed:?}");
    let spec = serde_json::to_value(rebound_server::openapi::document()).unwrap();
    let described = spec_operations(&spec);
    let undescribed: Vec<_> = routed.difference(&described).collect();
    assert!(undescribed.is_empty(), "routes missing from the OpenAPI description: {undescribed:?}");
    let unrouted: Vec<_> = described.difference(&routed).collect();
    assert!(unrouted.is_empty(), "described but not routed: {unrouted:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_description_is_served_and_each_operation_reaches_a_handler() {
    let s = TestServer::start(Backend::Sqlite).await;
    let res = s.client.get(s.url("/api/openapi.json")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let spec: Value = res.json().await.unwrap();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3."), "{spec}");
    assert_eq!(spec["info"]["title"], "rebound");
    for (method, path) in spec_operations(&spec) {
        let url = path
            .replace("{id}", "987654")
            .replace("{uuid}", "00000000-0000-4000-8000-000000000000")
            // Only Elastic Email and Mandrill are notified with GET (405 for the others).
            .replace("{provider}", if method == "GET" { "elasticemail" } else { "ses" });
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let res = s.req(m, &url).header("Content-Type", "application/json").body("{}").send().await.unwrap();
        let status = res.status().as_u16();
        let body = res.text().await.unwrap_or_default();
        assert_ne!(status, 405, "{method} {path} is not routed: {body}");
        assert!(!body.contains("no such endpoint"), "{method} {path} fell through to the fallback");
    }
}
