//! Fuzzes the concentration-table reader through `ingest::read_bytes` with the format forced,
//! with the usual column names and with a unit given.
#![no_main]

use libfuzzer_sys::fuzz_target;
use radbind::ingest::{Format, ReadOptions, TableColumns};

mod common;

fuzz_target!(|data: &[u8]| {
    common::read_forced(data, Format::ConcentrationTable, ReadOptions::default());
    let table =
        TableColumns { concentration_unit: Some("nM".into()), ..TableColumns::default() };
    let opts = ReadOptions { table: Some(table), ..ReadOptions::default() };
    common::read_only_forced(data, Format::ConcentrationTable, opts);
});
