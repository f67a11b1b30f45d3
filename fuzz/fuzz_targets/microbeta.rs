//! Fuzzes the microbeta reader through `ingest::read_bytes` with the format forced.
#![no_main]

use libfuzzer_sys::fuzz_target;
use radbind::ingest::{Format, ReadOptions};

mod common;

fuzz_target!(|data: &[u8]| {
    common::read_forced(data, Format::MicroBeta, ReadOptions::default());
});
