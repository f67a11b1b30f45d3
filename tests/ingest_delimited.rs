//! Long tables and plate grids (CSV, semicolon, tab) from `tests/data/ingest/`, plus format
//! detection and the errors a user sees.

use std::path::{Path, PathBuf};

use radbind::ingest::{
    Format, IngestError, RawPlate, ReadOptions, detect, read_file, read_file_with, read_text,
};
use radbind::types::{Geometry, WellPos};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ingest").join(name)
}

/// The value the fixture generator wrote for plate `p`, 0-based row `r` and column `c`.
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

fn detected(name: &str) -> Option<Format> {
    detect(&std::fs::read_to_string(fixture(name)).expect("fixture"))
}

fn parse_err(result: Result<Vec<RawPlate>, IngestError>) -> (usize, String) {
    match result {
        Err(IngestError::Parse { line, message, .. }) => (line, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// The first bad count cell of the first plate: (line, well, reason). A bad count leaves the
/// well out; the file is read on.
fn bad_count(result: Result<Vec<RawPlate>, IngestError>) -> (usize, String, String) {
    let plates = result.expect("a bad count cell does not fail the file");
    let b = plates[0].meta.bad_counts.first().expect("a bad count is recorded");
    assert_eq!(at(&plates[0], &b.well.to_string()), None, "the bad well is not counted");
    (b.line, b.well.to_string(), b.reason.clone())
}

fn mem(text: &str) -> Result<Vec<RawPlate>, IngestError> {
    read_text(Path::new("mem.csv"), text, &ReadOptions::default())
}

#[test]
fn long_comma_with_header_and_quotes() {
    assert_eq!(detected("long_comma.csv"), Some(Format::LongCsv));
    let plates = read_file(&fixture("long_comma.csv")).expect("parses");
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[0].label, "run 1, plate 1");
    assert_eq!(plates[1].label, "P2");
    assert_eq!(plates[0].geometry, Geometry::W96);
    assert_eq!(plates[0].meta.format, "long-csv");
    assert_eq!(plates[0].meta.signal, "CPM");
    assert_eq!(counted(&plates[0]), 95);
    assert_eq!(at(&plates[0], "A01"), None);
    assert_eq!(at(&plates[0], "H12"), Some(v(1, 7, 11)));
    assert_eq!(at(&plates[1], "A01"), Some(v(2, 0, 0)));
}

#[test]
fn long_semicolon_decimal_comma_bom_crlf() {
    assert_eq!(detected("long_semicolon.csv"), Some(Format::LongCsv));
    let plates = read_file(&fixture("long_semicolon.csv")).expect("parses");
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[0].label, "BC001");
    assert_eq!(plates[0].meta.signal, "counts");
    assert_eq!(counted(&plates[1]), 96);
    assert_eq!(at(&plates[1], "C05"), Some(v(2, 2, 4) + 0.5));
}

#[test]
fn long_tab_without_header_384() {
    assert_eq!(detected("long_tab_noheader.tsv"), Some(Format::LongCsv));
    let plates = read_file(&fixture("long_tab_noheader.tsv")).expect("parses");
    assert_eq!(plates.len(), 1);
    assert_eq!(plates[0].label, "PL-7");
    assert_eq!(plates[0].geometry, Geometry::W384);
    assert_eq!(plates[0].meta.signal, "cpm");
    assert_eq!(at(&plates[0], "P24"), Some(v(3, 15, 23) + 0.25));
}

#[test]
fn long_comma_without_header_is_a_cassette() {
    let plates = read_file(&fixture("long_comma_noheader.csv")).expect("parses");
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[0].geometry, Geometry::W24);
    assert_eq!(counted(&plates[1]), 12);
    assert_eq!(at(&plates[1], "B06"), Some(v(5, 1, 5)));
}

#[test]
fn long_signal_column_choice() {
    let text = "plate,well,cpm,dpm\nP1,A1,10,25\nP1,H12,20,50\n";
    let opts = ReadOptions { signal: Some("DPM".into()), ..ReadOptions::default() };
    let plates = read_text(Path::new("m.csv"), text, &opts).expect("dpm column");
    assert_eq!(plates[0].meta.signal, "dpm");
    assert_eq!(at(&plates[0], "H12"), Some(50.0));
    let opts = ReadOptions { signal: Some("CCPM2".into()), ..ReadOptions::default() };
    let (line, msg) = parse_err(read_text(Path::new("m.csv"), text, &opts));
    assert_eq!(line, 1);
    assert!(msg.contains("CCPM2") && msg.contains("plate, well, cpm, dpm"), "{msg}");
}

#[test]
fn long_errors_name_line_and_well() {
    let (line, well, msg) = bad_count(mem("plate,well,cpm\nP1,A1,10\nP1,B2,12x\n"));
    assert_eq!((line, well.as_str()), (3, "B02"));
    assert!(msg.contains("`12x`"), "{msg}");
    let (line, well, msg) = bad_count(mem("P1,A2,10\nP1,A01,-3\n"));
    assert_eq!((line, well.as_str()), (2, "A01"));
    assert!(msg.contains("negative"), "{msg}");
    let (line, msg) = parse_err(mem("P1,A1,10\nP1,A01,11\n"));
    assert_eq!(line, 2);
    assert!(msg.contains("lines 1 and 2"), "{msg}");
    let (line, msg) = parse_err(mem("P1,A1,10\nP1,A2\n"));
    assert_eq!(line, 2);
    assert!(msg.contains("expected at least 3 fields"), "{msg}");
}

#[test]
fn grid_96_with_empty_and_dash() {
    assert_eq!(detected("grid_96.csv"), Some(Format::GridCsv));
    let plates = read_file(&fixture("grid_96.csv")).expect("parses");
    assert_eq!(plates.len(), 1);
    assert_eq!(plates[0].geometry, Geometry::W96);
    assert_eq!(plates[0].meta.format, "grid-csv");
    assert_eq!(plates[0].label, "Plate 1");
    assert_eq!(counted(&plates[0]), 94);
    assert_eq!(at(&plates[0], "A01"), None);
    assert_eq!(at(&plates[0], "H12"), None);
    assert_eq!(at(&plates[0], "D07"), Some(v(1, 3, 6)));
}

#[test]
fn grid_384_tab_without_leading_cell() {
    assert_eq!(detected("grid_384.tsv"), Some(Format::GridCsv));
    let plates = read_file(&fixture("grid_384.tsv")).expect("parses");
    assert_eq!(plates[0].geometry, Geometry::W384);
    assert_eq!(counted(&plates[0]), 384);
    assert_eq!(at(&plates[0], "P24"), Some(v(2, 15, 23)));
}

#[test]
fn two_named_grids_semicolon_decimal_comma() {
    assert_eq!(detected("grid_two.csv"), Some(Format::GridCsv));
    let plates = read_file(&fixture("grid_two.csv")).expect("parses");
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[0].label, "Plate 1");
    assert_eq!(plates[1].label, "plate 2");
    assert_eq!(plates[1].index_in_file, 2);
    assert_eq!(at(&plates[0], "B03"), Some(v(1, 1, 2) + 0.5));
    assert_eq!(counted(&plates[1]), 88);
    assert_eq!(at(&plates[1], "A12"), None);
}

#[test]
fn two_grids_separated_by_a_blank_line() {
    let plates = read_file(&fixture("grid_blank_sep.csv")).expect("parses");
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[1].label, "Plate 2");
    assert_eq!(at(&plates[1], "H12"), Some(v(2, 7, 11)));
}

#[test]
fn grid_errors() {
    let header = ",1,2,3,4,5,6\n";
    let (line, msg) = parse_err(mem(&format!("{header}A,1,2,3,4,5,6\nB,1,2,3,4,5\n")));
    assert_eq!((line, msg.as_str()), (3, "expected 6 values after row letter B, found 5"));
    let (line, msg) = parse_err(mem(&format!("{header}A,1,2,3,4,5,6\nC,1,2,3,4,5,6\n")));
    assert_eq!((line, msg.as_str()), (3, "expected row letter B, found `C`"));
    let (line, msg) = parse_err(mem(&format!("{header}A,1,2,3,4,5,6\n")));
    assert_eq!(line, 1);
    assert!(msg.contains("1 rows x 6 columns"), "{msg}");
    let rows: String = ["A", "B", "C", "D"].iter().map(|r| format!("{r},1,2,x,4,5,6\n")).collect();
    let plates = mem(&format!("{header}{rows}")).expect("bad cells leave wells out");
    let bad: Vec<(usize, String)> =
        plates[0].meta.bad_counts.iter().map(|b| (b.line, b.well.to_string())).collect();
    assert_eq!(bad, [(2, "A03".into()), (3, "B03".into()), (4, "C03".into()), (5, "D03".into())]);
    assert!(plates[0].meta.bad_counts[0].reason.contains("`x`"));
    assert_eq!(counted(&plates[0]), 20);
}

#[test]
fn empty_and_unknown_files_are_refused_clearly() {
    match read_file(&fixture("empty.csv")) {
        Err(IngestError::UnknownFormat { why, .. }) => assert!(why.contains("empty"), "{why}"),
        other => panic!("expected UnknownFormat, got {other:?}"),
    }
    assert!(matches!(mem("\u{feff}\r\n  \r\n"), Err(IngestError::UnknownFormat { .. })));
    assert!(matches!(mem("hello world\n"), Err(IngestError::UnknownFormat { .. })));
    assert_eq!(detect("just text"), None);
}

#[test]
fn forced_format_overrides_detection() {
    let path = fixture("long_comma_noheader.csv");
    let opts = ReadOptions { format: Some(Format::GridCsv), ..ReadOptions::default() };
    let (_, msg) = parse_err(read_file_with(&path, &opts));
    assert!(msg.contains("plate grid"), "{msg}");
}

#[test]
fn latin1_file_is_decoded_with_a_warning() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("latin1.csv");
    let text = b"plate,well,cpm\nTr\xe4ger 1,A1,10\n";
    std::fs::write(&path, text).expect("write temp file");
    let plates = read_file(&path).expect("Latin-1 decodes");
    assert_eq!(plates[0].label, "Tr\u{e4}ger 1");
    assert!(plates[0].meta.warnings.iter().any(|w| w.contains("Latin-1")));
}

#[test]
fn oversized_file_is_refused_before_reading() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("huge.csv");
    let file = std::fs::File::create(&path).expect("create temp file");
    // Sparse: no disk space is used and nothing is read.
    file.set_len(radbind::ingest::MAX_FILE_BYTES + 1).expect("sparse length");
    match read_file(&path) {
        Err(e @ IngestError::Io { .. }) => assert!(e.to_string().contains("limit"), "{e}"),
        other => panic!("expected an Io error, got {other:?}"),
    }
}
