//! Fuzz the azure webhook: its payload parser and `Providers::handle` (see common.rs).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use rebound_providers::Outcome;

fuzz_target!(|data: &[u8]| {
    common::run("azure", data, |d| match rebound_providers::azure::parse(d) {
        Ok(Outcome::Events(events)) => Some(events),
        _ => None,
    });
});
