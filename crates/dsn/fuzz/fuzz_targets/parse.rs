//! Fuzz `rebound_dsn::parse`: any bytes must give a result, never a panic.
//! Also exercises the VERP decoder and the JSON output on the same input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rebound_dsn::{ParseOptions, output::JsonLine, parse_with, verp};

fuzz_target!(|data: &[u8]| {
    let opts = ParseOptions { report_delays: data.len() % 2 == 0, max_size: 1 << 20, ..ParseOptions::default() };
    let parsed = parse_with(data, &opts);
    let _ = JsonLine::new("fuzz", None, &parsed).to_json();
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = verp::decode_plus(s);
        let _ = verp::decode("bounces+{subscriber_uuid}.{campaign_uuid}@site.com", s);
    }
});
