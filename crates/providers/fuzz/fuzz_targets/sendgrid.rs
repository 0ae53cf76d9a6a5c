//! Fuzz the sendgrid webhook: its payload parser and `Providers::handle` (see common.rs).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    common::run("sendgrid", data, |d| rebound_providers::sendgrid::parse(d).ok());
});
