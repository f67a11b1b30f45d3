//! Fuzzes the plate map CSV reader: `Ok` or an `IngestError`, never a panic.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(map) = radbind::ingest::parse_plate_map(Path::new("map.csv"), &text) {
        for e in &map.entries {
            assert!(radbind::ingest::plate_map::ROLES.contains(&e.role.as_str()));
            assert!(e.conc_nm.is_none_or(|c| c.is_finite() && c >= 0.0));
        }
    }
});
