//! Fuzz the mailgun webhook: its payload parser and `Providers::handle` (see common.rs).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::run("mailgun", data, |d| rebound_providers::mailgun::parse(d).ok());
});
