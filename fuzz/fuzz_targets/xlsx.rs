//! Fuzzes the xlsx reader through `ingest::read_bytes` with the format forced, and with format
//! detection when the input starts with the ZIP magic. Detection on other bytes is the text
//! detectors', which the text targets fuzz (under `perf record` it took most of this target's
//! time).
#![no_main]

use libfuzzer_sys::fuzz_target;
use radbind::ingest::{Format, ReadOptions};

mod common;

fuzz_target!(|data: &[u8]| {
    if data.starts_with(b"PK\x03\x04") {
        common::read_forced(data, Format::Xlsx, ReadOptions::default());
    } else {
        common::read_only_forced(data, Format::Xlsx, ReadOptions::default());
    }
});
