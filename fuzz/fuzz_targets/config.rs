//! Fuzzes config loading: bytes as YAML into `Options`, then `resolve` with a dummy path in
//! an empty directory. Errors are fine; panics are bugs.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use radbind::config::Options;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Globs are expanded against the file system; keep the fuzzer from walking it.
    if text.contains("**") {
        return;
    }
    if let Ok(options) = serde_yaml::from_str::<Options>(text) {
        let _ = radbind::config::resolve(
            Path::new("/nonexistent-radbind-fuzz/config.yaml"),
            text.to_string(),
            options,
        );
    }
});
