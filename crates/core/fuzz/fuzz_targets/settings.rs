//! Fuzz the settings parser: a PUT /api/settings body (`Settings::apply_update`)
//! and stored rows (`Settings::from_map`). Any bytes must give settings or an
//! error, never a panic; accepted settings must survive their own round trip
//! (what is saved is read back at the next start) and masking.
#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use rebound_core::Settings;
use serde_json::{Map, Value};

fuzz_target!(|data: &[u8]| {
    let Ok(Value::Object(update)) = serde_json::from_slice::<Value>(data) else { return };
    let current = Settings::default();
    if let Ok(next) = current.apply_update(&update) {
        // Saved as rows, read back at the next start: must load, and the same.
        let map = next.to_map();
        let again = Settings::from_map(&map).expect("saved settings must load again");
        assert_eq!(again.to_map(), map, "settings round trip changed them");
        let masked = next.masked();
        // The masked form sent back (what the UI and API clients do) keeps the secrets.
        let back: Map<String, Value> = masked.to_map().into_iter().collect();
        let kept = next.apply_update(&back).expect("the masked settings must be accepted back");
        assert_eq!(kept.to_map(), map, "sending the masked settings back changed them");
    }
    let rows: BTreeMap<String, Value> = update.into_iter().collect();
    let _ = Settings::from_map(&rows);
});
