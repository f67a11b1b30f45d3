//! Count tables (TopCount/MicroBeta2 through a column map), Hidex sample blocks, XLSX
//! workbooks and plate map CSVs from `tests/data/ingest/`, with detection and forcing.

use std::path::{Path, PathBuf};

use radbind::ingest::{
    ColumnMap, Format, IngestError, RawPlate, ReadOptions, detect, detect_bytes, read_file,
    read_file_with, read_plate_map,
};
use radbind::types::{Geometry, WellPos};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ingest").join(name)
}

/// The value the fixture generators wrote for plate `p`, 0-based row `r` and column `c`.
fn v(p: u32, r: u32, c: u32) -> f64 {
    f64::from((p * 500 + r * 31 + c * 7) % 5000 + 20)
}

fn at(plate: &RawPlate, well: &str) -> Option<f64> {
    let pos = WellPos::parse(well).expect("test well label");
    plate.values[plate.geometry.index(pos).expect("well on plate")]
}

fn counted(plate: &RawPlate) -> usize {
    plate.values.iter().filter(|v| v.is_some()).count()
}

/// The first bad count cell of the first plate: (line, well, reason). A bad count leaves the
/// well out; the file is read on.
fn bad_count(result: Result<Vec<RawPlate>, IngestError>) -> (usize, String, String) {
    let plates = result.expect("a bad count cell does not fail the file");
    let b = plates[0].meta.bad_counts.first().expect("a bad count is recorded");
    assert_eq!(at(&plates[0], &b.well.to_string()), None, "the bad well is not counted");
    (b.line, b.well.to_string(), b.reason.clone())
}

fn detected(name: &str) -> Option<Format> {
    detect_bytes(&std::fs::read(fixture(name)).expect("fixture"))
}

fn parse_err<T: std::fmt::Debug>(result: Result<T, IngestError>) -> (usize, String) {
    match result {
        Err(IngestError::Parse { line, message, .. }) => (line, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

// ----------------------------------------------------------------------------- count tables

#[test]
fn topcount_with_preamble_and_crlf() {
    assert_eq!(detected("topcount_96.csv"), Some(Format::CountTable));
    let plates = read_file(&fixture("topcount_96.csv")).unwrap();
    assert_eq!(plates.len(), 2);
    let (a, b) = (&plates[0], &plates[1]);
    assert_eq!((a.label.as_str(), b.label.as_str()), ("RB000123", "RB000124"));
    assert_eq!(a.geometry, Geometry::W96);
    assert_eq!(a.meta.format, "count-table");
    assert_eq!(a.meta.signal, "CPM");
    assert_eq!(a.meta.protocol.as_deref(), Some("3H-Filtermat Binding"));
    assert_eq!(a.meta.counted_at.as_deref(), Some("2024-03-12 14:22"));
    assert_eq!(a.meta.counting_minutes, Some(1.0));
    assert!(a.meta.warnings.is_empty(), "{:?}", a.meta.warnings);
    assert_eq!(at(a, "C07"), Some(v(0, 2, 6)));
    assert_eq!(at(b, "H11"), Some(v(1, 7, 10)));
    assert_eq!(at(b, "H12"), None);
    assert_eq!((counted(a), counted(b)), (96, 95));
}

#[test]
fn microbeta2_tab_decimal_comma_seconds_and_bom() {
    assert_eq!(detected("mb2_96.tsv"), Some(Format::CountTable));
    let plates = read_file(&fixture("mb2_96.tsv")).unwrap();
    assert_eq!(plates.len(), 1);
    let p = &plates[0];
    assert_eq!(p.label, "1");
    assert_eq!(at(p, "B03"), Some(v(0, 1, 2) + 0.5));
    assert_eq!(at(p, "H12"), None);
    // One well counted for 120 s, the rest for 60 s: the mean, with a warning.
    let t = p.meta.counting_minutes.unwrap();
    assert!((t - 97.0 / 96.0).abs() < 1e-12, "{t}");
    assert!(p.meta.warnings.iter().any(|w| w.contains("counting time varies")));
    let opts = ReadOptions { signal: Some("dpm".into()), ..ReadOptions::default() };
    let dpm = read_file_with(&fixture("mb2_96.tsv"), &opts).unwrap();
    assert_eq!(dpm[0].meta.signal, "DPM");
    assert_eq!(at(&dpm[0], "H12"), Some(v(0, 7, 11) * 2.0));
}

#[test]
fn awkward_topcount_semicolon_quoted_header_no_barcode_hms_time() {
    assert_eq!(detected("topcount_awkward.csv"), Some(Format::CountTable));
    let plates = read_file(&fixture("topcount_awkward.csv")).unwrap();
    assert_eq!(plates.len(), 1);
    let p = &plates[0];
    assert_eq!(p.geometry, Geometry::W24);
    assert_eq!(p.label, "plate 1");
    assert_eq!(p.meta.signal, "ccpm1");
    assert_eq!(p.meta.protocol.as_deref(), Some("Cortisol RIA"));
    assert_eq!(p.meta.counting_minutes, Some(0.5));
    assert!(p.meta.warnings.iter().any(|w| w.contains("no plate id")));
    assert_eq!(at(p, "D06"), Some(v(0, 3, 5)));
}

#[test]
fn custom_column_map() {
    let map = ColumnMap {
        plate: "assay plate".into(),
        well: "LOCATION".into(),
        value: "Net Counts".into(),
        time: Some("seconds".into()),
        skip_lines: 0,
    };
    let opts = ReadOptions { columns: Some(map.clone()), ..ReadOptions::default() };
    let plates = read_file_with(&fixture("colmap_custom.csv"), &opts).unwrap();
    assert_eq!(plates.len(), 1);
    assert_eq!(plates[0].label, "P7");
    assert_eq!(plates[0].meta.signal, "Net Counts");
    assert_eq!(plates[0].meta.counting_minutes, Some(0.75));
    assert_eq!(at(&plates[0], "E05"), Some(v(2, 4, 4)));
    // skip_lines past the header: the mapped header is never found.
    let opts =
        ReadOptions { columns: Some(ColumnMap { skip_lines: 4, ..map }), ..ReadOptions::default() };
    let (line, msg) = parse_err(read_file_with(&fixture("colmap_custom.csv"), &opts));
    assert_eq!(line, 5);
    assert!(msg.contains("`assay plate`") && msg.contains("`Net Counts`"), "{msg}");
    // The usual names take the example line 2 for the header and trip on line 3.
    let (line, msg) = parse_err(read_file(&fixture("colmap_custom.csv")));
    assert_eq!(line, 3, "{msg}");
    // Skipping the preamble with the usual names: no such header after line 3.
    let opts = ReadOptions {
        columns: Some(ColumnMap { skip_lines: 3, ..ColumnMap::default() }),
        ..ReadOptions::default()
    };
    let (line, msg) = parse_err(read_file_with(&fixture("colmap_custom.csv"), &opts));
    assert_eq!(line, 4);
    assert!(msg.contains("Plate/Barcode"), "{msg}");
}

#[test]
fn bad_counts_name_file_line_and_well() {
    for (name, line, well, what) in [
        ("topcount_nan.csv", 30, "C05", "not a number"),
        ("topcount_negative.csv", 39, "D02", "negative"),
        ("topcount_absurd.csv", 56, "E07", "implausibly large"),
    ] {
        let plates = read_file(&fixture(name)).unwrap();
        assert_eq!(plates[0].label, "B1");
        let (l, w, reason) = bad_count(Ok(plates));
        assert_eq!((l, w.as_str()), (line, well), "{name}");
        assert!(reason.contains(what), "{reason}");
    }
}

// ----------------------------------------------------------------------------- Hidex

#[test]
fn hidex_blocks_with_rack_and_decimal_comma() {
    assert_eq!(detected("hidex_96.csv"), Some(Format::Hidex));
    let plates = read_file(&fixture("hidex_96.csv")).unwrap();
    assert_eq!(plates.len(), 1);
    let p = &plates[0];
    assert_eq!((p.label.as_str(), p.geometry), ("R1", Geometry::W96));
    assert_eq!(p.meta.format, "hidex");
    assert_eq!(p.meta.protocol.as_deref(), Some("3H binding 60s"));
    assert_eq!(p.meta.counted_at.as_deref(), Some("12.03.2024 14:22:05"));
    assert_eq!(p.meta.counting_minutes, Some(1.0));
    assert_eq!(at(p, "G08"), Some(v(0, 6, 7) + 0.25));
    assert_eq!(counted(p), 96);
    let opts = ReadOptions { signal: Some("DPM".into()), ..ReadOptions::default() };
    let dpm = read_file_with(&fixture("hidex_96.csv"), &opts).unwrap();
    assert_eq!(at(&dpm[0], "G08"), Some(v(0, 6, 7) * 2.0 + 0.5));
}

#[test]
fn hidex_cassette_without_rack() {
    let plates = read_file(&fixture("hidex_24_notime.csv")).unwrap();
    let p = &plates[0];
    assert_eq!((p.label.as_str(), p.geometry), ("plate 1", Geometry::W24));
    assert_eq!(at(p, "A06"), None);
    assert_eq!(at(p, "D01"), Some(v(1, 3, 0)));
    assert_eq!(p.meta.counting_minutes, Some(1.5));
    assert!(p.meta.warnings.iter().any(|w| w.contains("counting time varies")));
}

#[test]
fn hidex_block_without_position() {
    let (line, msg) = parse_err(read_file(&fixture("hidex_no_position.csv")));
    assert_eq!(line, 5);
    assert!(msg.contains("Position"), "{msg}");
}

// ----------------------------------------------------------------------------- XLSX

#[test]
fn xlsx_sheet_per_plate() {
    assert_eq!(detected("xlsx_grids.xlsx"), Some(Format::Xlsx));
    let plates = read_file(&fixture("xlsx_grids.xlsx")).unwrap();
    let labels: Vec<&str> = plates.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(plates.len(), 2, "the Notes sheet is skipped: {labels:?}");
    let (a, b) = (&plates[0], &plates[1]);
    assert_eq!((a.label.as_str(), b.label.as_str()), ("Plate A", "Plate B"));
    assert_eq!((a.index_in_file, b.index_in_file), (1, 2));
    assert_eq!(a.meta.format, "xlsx");
    assert_eq!(a.geometry, Geometry::W96);
    assert_eq!(at(a, "A01"), None);
    assert_eq!(at(a, "B02"), Some(v(0, 1, 1) + 0.5));
    assert_eq!(at(a, "H12"), Some(v(0, 7, 11)));
    assert_eq!(at(b, "H12"), None);
    assert_eq!(at(b, "C04"), Some(v(1, 2, 3)));
}

#[test]
fn xlsx_detected_by_magic_bytes_whatever_the_name() {
    let dir = tempfile::tempdir().unwrap();
    let renamed = dir.path().join("export.dat");
    std::fs::copy(fixture("xlsx_grids.xlsx"), &renamed).unwrap();
    assert_eq!(read_file(&renamed).unwrap().len(), 2);
}

#[test]
fn xlsx_long_table_sheet() {
    let plates = read_file(&fixture("xlsx_long.xlsx")).unwrap();
    assert_eq!(plates.len(), 2);
    assert_eq!((plates[0].label.as_str(), plates[1].label.as_str()), ("P1", "2"));
    assert_eq!(at(&plates[1], "F09"), Some(v(1, 5, 8)));
    let opts = ReadOptions { signal: Some("DPM".into()), ..ReadOptions::default() };
    let dpm = read_file_with(&fixture("xlsx_long.xlsx"), &opts).unwrap();
    assert_eq!(at(&dpm[0], "F09"), Some(v(0, 5, 8) * 2.0));
}

#[test]
fn xlsx_errors_name_sheet_and_row() {
    let (line, well, msg) = bad_count(read_file(&fixture("xlsx_bad.xlsx")));
    assert_eq!((line, well.as_str()), (6, "C05"));
    assert!(msg.starts_with("sheet `Bad`, row 6: "), "{msg}");
    // A text file forced to XLSX, and garbage with the ZIP magic, are format errors.
    let opts = ReadOptions { format: Some(Format::Xlsx), ..ReadOptions::default() };
    assert!(matches!(
        read_file_with(&fixture("grid_96.csv"), &opts),
        Err(IngestError::UnknownFormat { .. })
    ));
    let bytes = b"PK\x03\x04 not really a zip";
    let r = radbind::ingest::read_bytes(Path::new("x.xlsx"), bytes, &ReadOptions::default());
    assert!(matches!(r, Err(IngestError::UnknownFormat { .. })), "{r:?}");
}

// ----------------------------------------------------------------------------- plate maps

#[test]
fn plate_map_96() {
    let map = read_plate_map(&fixture("platemap_96.csv")).unwrap();
    assert_eq!(map.entries.len(), 96);
    let e = |w: &str| {
        let pos = WellPos::parse(w).unwrap();
        map.entries.iter().find(|e| e.well == pos).unwrap().clone()
    };
    assert_eq!(e("A01").role, "total");
    assert_eq!(e("C02").compound.as_deref(), Some("Cpd-2"));
    assert_eq!(e("C02").conc_nm, Some(10_000.0));
    assert!((e("A09").conc_nm.unwrap() - 1e-3).abs() < 1e-15);
    assert_eq!(e("H12").role, "nsb");
    assert_eq!(e("H12").conc_nm, Some(10_000.0));
}

#[test]
fn plate_map_semicolon_aliases_bom_crlf() {
    let map = read_plate_map(&fixture("platemap_semicolon.csv")).unwrap();
    let roles: Vec<&str> = map.entries.iter().map(|e| e.role.as_str()).collect();
    assert_eq!(roles, ["total", "sample", "vehicle", "blank", "empty"]);
    assert_eq!(map.entries[1].conc_nm, Some(2.5));
    assert_eq!(map.entries[2].conc_nm, Some(0.0));
    let map = read_plate_map(&fixture("platemap_noheader.csv")).unwrap();
    assert_eq!(map.entries.len(), 3);
    assert_eq!(map.entries[2].conc_nm, Some(10_000.0));
}

#[test]
fn plate_map_errors_name_the_line() {
    let (line, msg) = parse_err(read_plate_map(&fixture("platemap_bad_role.csv")));
    assert_eq!(line, 3);
    assert!(msg.contains("sampel") && msg.contains("total, nsb"), "{msg}");
    let p = Path::new("m.csv");
    let parse = radbind::ingest::parse_plate_map;
    assert_eq!(parse_err(parse(p, "well,role\nA01,sample\n")).0, 2);
    assert_eq!(parse_err(parse(p, "well,role,compound,conc\nA01,sample,X,10 kg\n")).0, 2);
    assert_eq!(parse_err(parse(p, "A01,total\nA1,nsb\n")).0, 2);
    assert_eq!(parse_err(parse(p, "compound,conc\nX,1\n")).0, 1);
    assert_eq!(parse_err(parse(p, "well,role,compound,conc\nA01,sample,X,-1\n")).0, 2);
}

// ----------------------------------------------------------------------------- detection

#[test]
fn formats_by_name_and_forcing() {
    for f in Format::ALL {
        assert_eq!(Format::from_name(f.name()), Some(f));
    }
    assert_eq!(Format::from_name("topcount"), None);
    // Plain long tables stay long tables; forcing a wrong format is an error naming a line.
    assert_eq!(detect("Plate,Well,CPM\nP1,A01,10\n"), Some(Format::LongCsv));
    let opts = ReadOptions { format: Some(Format::Hidex), ..ReadOptions::default() };
    assert!(read_file_with(&fixture("topcount_96.csv"), &opts).is_err());
    let opts = ReadOptions { format: Some(Format::CountTable), ..ReadOptions::default() };
    let plates = read_file_with(&fixture("long_comma.csv"), &opts).unwrap();
    assert_eq!(plates[0].meta.format, "count-table");
}
