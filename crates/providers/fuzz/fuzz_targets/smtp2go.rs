//! Fuzz the smtp2go webhook (a mapper preset): the mapping alone and
//! `Providers::handle` (see common.rs).
#![no_main]

mod common;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let cfg = rebound_providers::mapper::presets::smtp2go();
    common::run("smtp2go", data, |d| common::preset_parse(&cfg, d));
});
