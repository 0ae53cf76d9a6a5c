//! Fuzz the elasticemail webhook (a mapper preset): the mapping alone and
//! `Providers::handle` (see common.rs).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;
use rebound_core::Secret;

fuzz_target!(|data: &[u8]| {
    let cfg = rebound_providers::mapper::presets::elasticemail(&Secret::new("ee-key"));
    common::run("elasticemail", data, |d| common::preset_parse(&cfg, d));
});
