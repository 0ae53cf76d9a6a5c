//! Fuzz the generic webhook mapper with the configuration as input too:
//! the bytes are a configuration and a request body separated by the first
//! NUL. A configuration the validation accepts must map any body (and
//! query, and headers) without panicking, and whatever it accepts must
//! survive its own serialisation; with no NUL the bytes are the body for a
//! fixed configuration using every option.
#![no_main]

#[allow(dead_code)]
mod common;

use chrono::{TimeZone, Utc};
use libfuzzer_sys::fuzz_target;
use rebound_core::mapped::MappedProvider;
use rebound_providers::WebhookRequest;

const FIXED: &str = r#"{"name": "fuzz", "enabled": true,
  "events": {"in": "form_field", "field": "payload", "pointer": "/events"},
  "fields": {"address": "/to", "event_type": ["/kind", "root:/v", "header:x-kind"], "event_id": ["/id", "/ts"],
             "timestamp": "/ts", "diagnostic": "/why", "status": "/code", "campaign": "/meta"},
  "types": {"bounce": "hard", "bounce:soft": "soft", "spam": "complaint"},
  "authentication": {"type": "hmac", "algorithm": "sha1", "key": "a2V5", "key_encoding": "base64",
                     "header": "x-sig", "prefix": "v1=", "param": "s", "encoding": "base64",
                     "signed": "{url}{header:x-ts}{query:q}{form_sorted}{body}"},
  "timestamp": {"header": "x-ts", "param": "t"}, "url": "https://x.example/hook"}"#;

fuzz_target!(|data: &[u8]| {
    let (cfg_bytes, body) = match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], &data[i + 1..]),
        None => (FIXED.as_bytes(), data),
    };
    let Ok(cfg) = serde_json::from_slice::<MappedProvider>(cfg_bytes) else { return };
    if cfg.validate("fuzz").is_err() {
        return;
    }
    let back: MappedProvider = serde_json::from_value(serde_json::to_value(&cfg).expect("serialise"))
        .expect("an accepted configuration reads back");
    assert_eq!(back, cfg);
    let mut headers = http::HeaderMap::new();
    headers.insert("x-sig", "v1=AAAA; s=AAAA".parse().expect("header"));
    headers.insert("x-ts", "t=1799144130".parse().expect("header"));
    headers.insert("x-kind", "soft".parse().expect("header"));
    headers.insert("authorization", "Bearer x".parse().expect("header"));
    let query = String::from_utf8_lossy(body);
    let req = WebhookRequest { headers: &headers, query: Some(&query), body };
    let now = Utc.with_ymd_and_hms(2027, 1, 5, 10, 15, 30).single().expect("time");
    if let Ok(events) = rebound_providers::mapper::parse(&cfg, &req) {
        common::check(&cfg.name, &events);
    }
    if let Ok(events) = rebound_providers::mapper::handle(&cfg, &req, now, std::time::Duration::from_secs(300)) {
        common::check(&cfg.name, &events);
    }
});
