//! Text quirks across every reader (BOM, CRLF, decimal comma, missing trailing tab, header-less
//! files, empty plates), bad counts reported per well with file:line, and regression inputs
//! found by fuzzing (`fuzz/`): each must give `Ok` or an `IngestError`, never a panic.

use std::path::{Path, PathBuf};

use radbind::ingest::{Format, IngestError, RawPlate, ReadOptions, read_bytes, read_text};
use radbind::types::WellPos;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ingest").join(name)
}

fn mem(text: &str) -> Result<Vec<RawPlate>, IngestError> {
    read_text(Path::new("mem.txt"), text, &ReadOptions::default())
}

fn at(plate: &RawPlate, well: &str) -> Option<f64> {
    let pos = WellPos::parse(well).expect("test well label");
    plate.values[plate.geometry.index(pos).expect("well on plate")]
}

/// The first bad count cell of the first plate: (line, well, reason). A bad count leaves the
/// well out; the file is read on.
fn bad_count(result: Result<Vec<RawPlate>, IngestError>) -> (usize, String, String) {
    let plates = result.expect("a bad count cell does not fail the file");
    let b = plates[0].meta.bad_counts.first().expect("a bad count is recorded");
    assert_eq!(at(&plates[0], &b.well.to_string()), None, "the bad well is not counted");
    (b.line, b.well.to_string(), b.reason.clone())
}

fn err_line(r: Result<Vec<RawPlate>, IngestError>) -> (usize, String) {
    match r {
        Err(IngestError::Parse { line, message, .. }) => (line, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// The same file with a BOM and CRLF line endings reads the same as plain.
#[test]
fn bom_and_crlf_everywhere() {
    for name in [
        "topcount_96.csv",
        "mb2_96.tsv",
        "hidex_96.csv",
        "hidex_24_notime.csv",
        "grid_96.csv",
        "long_comma.csv",
        "mb_96_two_labels.txt",
    ] {
        let text = std::fs::read_to_string(fixture(name)).unwrap();
        let text = text.trim_start_matches('\u{feff}');
        let plain = text.replace("\r\n", "\n");
        let crlf = format!("\u{feff}{}", plain.replace('\n', "\r\n"));
        let p = Path::new(name);
        let a = read_bytes(p, plain.as_bytes(), &ReadOptions::default()).unwrap();
        let b = read_bytes(p, crlf.as_bytes(), &ReadOptions::default()).unwrap();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn microbeta_without_trailing_tabs() {
    let text = std::fs::read_to_string(fixture("mb_96_two_labels.txt")).unwrap();
    let trimmed: String = text.lines().map(|l| format!("{}\n", l.trim_end_matches('\t'))).collect();
    assert_eq!(mem(&text).unwrap(), mem(&trimmed).unwrap());
}

#[test]
fn decimal_comma_in_count_tables_and_grids() {
    let plates = mem("Info;x\nPlate;Well;CPM;Time\nP;A01;12,5;1,5\nP;B02;3;1,5\n").unwrap();
    assert_eq!(plates[0].meta.format, "count-table");
    assert_eq!(at(&plates[0], "A01"), Some(12.5));
    assert_eq!(plates[0].meta.counting_minutes, Some(1.5));
    let grid =
        "\t1\t2\t3\t4\t5\t6\nA\t1,5\t\t\t\t\t\nB\t\t\t\t\t\t\nC\t\t\t\t\t\t\nD\t\t\t\t\t\t2\n";
    let plates = mem(grid).unwrap();
    assert_eq!((at(&plates[0], "A01"), at(&plates[0], "D06")), (Some(1.5), Some(2.0)));
}

#[test]
fn header_less_long_tables_still_read() {
    let plates = mem("P1,A01,10\nP1,H12,20\n").unwrap();
    assert_eq!(plates[0].meta.format, "long-csv");
    assert_eq!(at(&plates[0], "H12"), Some(20.0));
}

#[test]
fn empty_plates_are_kept_with_a_warning() {
    let plates = mem("Plate,Well,CPM,Time\nP1,A01,5,1\nP2,A01,,1\nP2,A02,-,1\n").unwrap();
    assert_eq!(plates.len(), 2);
    assert!(plates[0].meta.warnings.is_empty());
    assert!(plates[1].meta.warnings.iter().any(|w| w.contains("empty plate")));
    let plates = mem("Sample;1\nPosition;A01\nCPM;-\n").unwrap();
    assert!(plates[0].meta.warnings.iter().any(|w| w.contains("empty plate")));
}

#[test]
fn bad_counts_in_every_reader() {
    // Long table, grid, Hidex, count table: negative, non-numeric, NaN, absurd.
    let cases: [(&str, usize, &str); 8] = [
        ("P,A01,-3\n", 1, "negative"),
        ("P,A01,abc\n", 1, "not a number"),
        ("Plate,Well,CPM\nP,A01,NaN\n", 2, "not a number"),
        ("Plate,Well,CPM\nP,A01,1e10\n", 2, "implausibly large"),
        ("Sample;1\nPosition;B03\nCPM;inf\n", 3, "B03"),
        ("Sample;1\nPosition;B03\nCPM;-1\n", 3, "negative"),
        ("x,y\nPlate,Well,CPM,DPM\nQ,C01,2000000000,1\n", 3, "well C01 of plate Q"),
        (",1,2,3,4,5,6\nA,1,1,1,1,1,1\nB,1,1,1,1,1,1\nC,1,1,1e12,1,1,1\nD,1,1,1,1,1,1\n", 4, "C03"),
    ];
    for (text, line, what) in cases {
        let (l, well, msg) = bad_count(mem(text));
        assert_eq!(l, line, "{text}: {msg}");
        assert!(msg.contains(what) || what.contains(&well), "{text}: {well} {msg}");
    }
    // In a MicroBeta file the list and the matrix must agree: a bad count in the list only is
    // a mismatch with the matrix, named at the list's line.
    let mb = std::fs::read_to_string(fixture("mb_96_two_labels.txt")).unwrap();
    let huge = mb.replacen("\tA01\t1015\t", "\tA01\t5e9\t", 1);
    assert_ne!(huge, mb);
    let (line, msg) = err_line(mem(&huge));
    assert_eq!(line, 15);
    assert!(msg.contains("A01 = a cell that is not a count") && msg.contains("5e9"), "{msg}");
    assert!(msg.contains("implausibly large") && msg.contains("1015"), "{msg}");
}

#[test]
fn forcing_formats_on_wrong_content_gives_errors() {
    let text = std::fs::read_to_string(fixture("hidex_96.csv")).unwrap();
    for f in Format::ALL {
        let opts = ReadOptions { format: Some(f), ..ReadOptions::default() };
        let r = read_text(Path::new("h.csv"), &text, &opts);
        assert_eq!(r.is_ok(), f == Format::Hidex, "{f:?}");
    }
}

/// Inputs the fuzzers found (`fuzz/`); each once panicked or must keep not panicking.
#[test]
fn fuzz_regressions() {
    let dir = fixture("fuzz");
    let Ok(entries) = std::fs::read_dir(&dir) else { return };
    for e in entries {
        let path = e.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        for f in Format::ALL {
            let opts = ReadOptions { format: Some(f), ..ReadOptions::default() };
            let _ = read_bytes(&path, &bytes, &opts);
        }
        let _ = read_bytes(&path, &bytes, &ReadOptions::default());
        let _ = radbind::ingest::parse_plate_map(&path, &String::from_utf8_lossy(&bytes));
    }
}

/// UTF-16 without a byte-order mark (either byte order) and CR-only line ends read like UTF-8;
/// UTF-16 that breaks is named in the error.
#[test]
fn utf16_without_bom_and_cr_line_ends() {
    let text = "plate,well,cpm\nP1,A01,10\nP1,B02,12\n";
    let plain = mem(text).unwrap();
    let be: Vec<u8> = text.encode_utf16().flat_map(u16::to_be_bytes).collect();
    let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    for bytes in [be, le, text.replace('\n', "\r").into_bytes()] {
        let plates = read_bytes(Path::new("x.csv"), &bytes, &ReadOptions::default()).unwrap();
        assert_eq!(plates[0].values, plain[0].values);
    }
    let mut broken = vec![0xFE, 0xFF];
    broken.extend(text.encode_utf16().flat_map(u16::to_be_bytes));
    broken.extend([0xDC, 0x00]);
    match read_bytes(Path::new("x.csv"), &broken, &ReadOptions::default()) {
        Err(IngestError::UnknownFormat { why, .. }) => {
            assert!(why.starts_with("the file looks like UTF-16BE text but is not valid"), "{why}");
        }
        other => panic!("expected an encoding error, got {other:?}"),
    }
}

/// Two plates with the same counts in every well (a copied block, relabelled): the file's
/// plates end before the copy.
#[test]
fn copied_plate_is_detected_by_content() {
    let grid = |name: &str| {
        let rows: String =
            ["A", "B", "C", "D"].iter().map(|r| format!("{r},1,2,3,4,5,6\n")).collect();
        format!("{name}\n,1,2,3,4,5,6\n{rows}\n")
    };
    let text = format!("{}{}", grid("Plate X"), grid("Plate Y"));
    match mem(&text) {
        Err(IngestError::Plates { message, .. }) => assert_eq!(
            message,
            "plate 2 of the file (`Plate Y`) repeats plate 1 (`Plate X`): the same counts in \
             every well; a plate block was copied twice, so the file's plates from 2 on are not \
             used; export the file again"
        ),
        other => panic!("expected a copied-block error, got {other:?}"),
    }
}
