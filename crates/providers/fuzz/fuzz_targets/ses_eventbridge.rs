//! Fuzz the SES-through-EventBridge webhook: its parser and
//! `Providers::handle` with the right API key (see common.rs).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::run("ses_eventbridge", data, |d| rebound_providers::ses_eventbridge::parse(d).ok());
});
