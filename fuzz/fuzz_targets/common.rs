//! Shared by the fuzz targets: run one reader on bytes, requiring an `Ok` or an `IngestError`
//! (any panic is a bug) and checking the plates it returns are consistent.

use std::path::Path;

use radbind::ingest::{Format, RawPlate, ReadOptions, read_bytes};

/// Reads `data` with a forced format, then with format detection; every returned plate must
/// be well-formed.
pub fn read_forced(data: &[u8], format: Format, opts: ReadOptions) {
    read_only_forced(data, format, opts);
    if let Ok(plates) = read_bytes(Path::new("fuzz.input"), data, &ReadOptions::default()) {
        check(&plates);
    }
}

/// Reads `data` with a forced format only (for a second set of options on the same input,
/// whose detection [`read_forced`] already ran).
pub fn read_only_forced(data: &[u8], format: Format, opts: ReadOptions) {
    let opts = ReadOptions { format: Some(format), ..opts };
    if let Ok(plates) = read_bytes(Path::new("fuzz.input"), data, &opts) {
        check(&plates);
    }
}

/// Plates are internally consistent: one value per well, counts finite and in range.
pub fn check(plates: &[RawPlate]) {
    for p in plates {
        assert_eq!(p.values.len(), p.geometry.len(), "one value per well");
        for v in p.values.iter().flatten() {
            assert!(v.is_finite() && *v >= 0.0 && *v <= radbind::ingest::MAX_COUNT, "count {v}");
        }
    }
}
