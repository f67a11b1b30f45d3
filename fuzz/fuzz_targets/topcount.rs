//! Fuzzes the count-table (TopCount/MicroBeta2) reader, with the default column map and with
//! a custom one that skips two preamble lines.
#![no_main]

use libfuzzer_sys::fuzz_target;
use radbind::ingest::{ColumnMap, Format, ReadOptions};

mod common;

fuzz_target!(|data: &[u8]| {
    common::read_forced(data, Format::CountTable, ReadOptions::default());
    let map = ColumnMap {
        plate: "Barcode".into(),
        well: "Pos".into(),
        value: "DPM".into(),
        time: Some("Time (s)".into()),
        skip_lines: 2,
    };
    common::read_only_forced(
        data,
        Format::CountTable,
        ReadOptions { columns: Some(map), ..ReadOptions::default() },
    );
});
