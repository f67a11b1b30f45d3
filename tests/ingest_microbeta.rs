//! MicroBeta reader and writer: the real exports in `../shared` plus synthetic fixtures in
//! `tests/data/ingest/`.

mod common;

use std::path::{Path, PathBuf};

use radbind::ingest::microbeta::{self, WriteablePlate};
use radbind::ingest::{
    Format, IngestError, RawPlate, ReadOptions, detect, read_file, read_file_with, read_text,
};
use radbind::types::{Geometry, WellPos};

const PROTOCOL: &str = "COPY_OF_H-3_KORTYZOL_5_MIN";
const NOT_NORMALIZED: &str = "DETECTORS NOT NORMALIZED";

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ingest").join(name)
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

fn parse_err(result: Result<Vec<RawPlate>, IngestError>) -> (usize, String) {
    match result {
        Err(IngestError::Parse { line, message, .. }) => (line, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

/// Reads one real export; `None` (test skipped) when `../shared` is absent.
fn real(name: &str) -> Option<Vec<RawPlate>> {
    let dir = common::shared_dir()?.join("real-exports/microbeta");
    let path = dir.join(name);
    let text = std::fs::read_to_string(&path).expect("real export readable");
    assert_eq!(detect(&text), Some(Format::MicroBeta), "{name} detected");
    Some(read_file(&path).unwrap_or_else(|e| panic!("{name}: {e}")))
}

/// Common checks of a real export: plates, 4x6, counted wells per plate, metadata.
fn check_real(plates: &[RawPlate], counted_per_plate: &[usize], warned: bool) {
    assert_eq!(plates.len(), counted_per_plate.len());
    for (i, (p, &n)) in plates.iter().zip(counted_per_plate).enumerate() {
        assert_eq!(p.index_in_file, i + 1);
        assert_eq!(p.label, format!("Plate {}", i + 1));
        assert_eq!(p.geometry, Geometry::W24);
        assert_eq!(counted(p), n, "counted wells on plate {}", i + 1);
        assert_eq!(p.meta.format, "microbeta");
        assert_eq!(p.meta.signal, "CCPM1");
        assert_eq!(p.meta.protocol.as_deref(), Some(PROTOCOL));
        assert!(p.meta.counted_at.is_some());
        assert_eq!(p.meta.warnings.iter().any(|w| w == NOT_NORMALIZED), warned);
    }
}

#[test]
fn real_a16_244_sixteen_full_cassettes() {
    let Some(plates) = real("A16_244.txt") else { return };
    check_real(&plates, &[24; 16], true);
    assert_eq!(at(&plates[0], "A01"), Some(1976.0));
    assert_eq!(at(&plates[15], "D03"), Some(16.0));
    assert_eq!(at(&plates[1], "B06"), Some(388.0));
    assert_eq!(plates[0].meta.counted_at.as_deref(), Some("Fri 18-Jan-2019  5:22"));
}

#[test]
fn real_a16_242() {
    let Some(plates) = real("A16_242.txt") else { return };
    check_real(&plates, &[24; 16], true);
    assert_eq!(at(&plates[0], "A01"), Some(2224.0));
    assert_eq!(at(&plates[8], "A05"), Some(291.0));
    assert_eq!(at(&plates[15], "B02"), Some(185.0));
}

#[test]
fn real_a16_272() {
    let Some(plates) = real("A16_272.txt") else { return };
    check_real(&plates, &[24; 16], true);
    assert_eq!(at(&plates[0], "A06"), Some(63.0));
    assert_eq!(at(&plates[8], "B03"), Some(364.0));
    assert_eq!(at(&plates[15], "B01"), Some(89.0));
}

#[test]
fn real_a16_283_list_omits_part_of_the_last_cassette() {
    let Some(plates) = real("A16_283.txt") else { return };
    // The matrices are complete; the COLUMNS list jumps from Unk_120 to Unk_143, so the list
    // misses 22 wells of cassette 6. The entries it has agree with the matrices.
    check_real(&plates, &[24; 6], true);
    assert_eq!(at(&plates[0], "A01"), Some(1909.0));
    assert_eq!(at(&plates[2], "C03"), Some(129.0));
    assert_eq!(at(&plates[5], "A01"), Some(1861.0));
    assert_eq!(at(&plates[5], "D06"), Some(243.0));
    assert!(plates[5].meta.warnings.iter().any(|w| w.contains("omits 22 of the 24")));
    assert!(plates[..5].iter().all(|p| p.meta.warnings.len() == 1));
}

#[test]
fn real_a16_226_one_partial_cassette() {
    let Some(plates) = real("A16_226.txt") else { return };
    check_real(&plates, &[10], true);
    assert_eq!(at(&plates[0], "C03"), Some(0.0));
    assert_eq!(at(&plates[0], "A01"), Some(6460.0));
    assert_eq!(at(&plates[0], "C05"), Some(23.0));
    assert_eq!(at(&plates[0], "A06"), None);
    assert_eq!(at(&plates[0], "B01"), None);
}

#[test]
fn real_a16_409_without_warning() {
    let Some(plates) = real("A16_409.txt") else { return };
    check_real(&plates, &[6], false);
    assert_eq!(at(&plates[0], "A01"), Some(33.0));
    assert_eq!(at(&plates[0], "A02"), Some(14818.0));
    assert_eq!(at(&plates[0], "C01"), Some(0.0));
    assert!(plates[0].meta.warnings.is_empty());
}

#[test]
fn real_files_all_parse_as_list_only_too() {
    // Dropping the PLATES block must give the same counts from the list alone (except the
    // part of A16_283 the list omits).
    let Some(dir) = common::shared_dir() else { return };
    for name in ["A16_226.txt", "A16_242.txt", "A16_244.txt", "A16_272.txt", "A16_409.txt"] {
        let path = dir.join("real-exports/microbeta").join(name);
        let text = std::fs::read_to_string(&path).expect("real export readable");
        let full = read_text(&path, &text, &ReadOptions::default()).expect("full file");
        let cut = text.find("PLATES:").expect("PLATES block");
        let list_only = format!("{}END\n", &text[..cut]);
        let from_list = read_text(&path, &list_only, &ReadOptions::default()).expect("list only");
        assert_eq!(full.len(), from_list.len(), "{name}");
        for (a, b) in full.iter().zip(&from_list) {
            assert_eq!(a.values, b.values, "{name} plate {}", a.index_in_file);
        }
    }
}

#[test]
fn synthetic_96_two_labels_default_and_chosen_signal() {
    let path = fixture("mb_96_two_labels.txt");
    let plates = read_file(&path).expect("parses");
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[0].geometry, Geometry::W96);
    assert_eq!(plates[0].meta.signal, "CCPM1");
    assert_eq!(plates[0].meta.protocol.as_deref(), Some("H3_KETANSERIN_1MIN"));
    assert_eq!(plates[0].meta.counted_at.as_deref(), Some("Mon  3-Mar-2025 14:05"));
    assert_eq!(counted(&plates[0]), 94);
    assert_eq!(counted(&plates[1]), 95);
    assert_eq!(at(&plates[0], "A01"), Some(1015.0));
    assert_eq!(at(&plates[0], "H12"), None);
    assert_eq!(at(&plates[1], "A01"), None);

    let opts = ReadOptions { signal: Some("ccpm2".into()), ..ReadOptions::default() };
    let two = read_file_with(&path, &opts).expect("CCPM2 parses");
    assert_eq!(two[0].meta.signal, "CCPM2");
    assert_eq!(at(&two[0], "A01"), Some(1515.0));

    let opts = ReadOptions { signal: Some("DPM1".into()), ..ReadOptions::default() };
    let (line, msg) = parse_err(read_file_with(&path, &opts));
    assert!(msg.contains("CCPM1, CCPM2") && msg.contains("DPM1"), "{msg}");
    assert!(line > 1);
}

#[test]
fn synthetic_384() {
    let plates = read_file(&fixture("mb_384.txt")).expect("parses");
    assert_eq!(plates.len(), 1);
    assert_eq!(plates[0].geometry, Geometry::W384);
    assert_eq!(counted(&plates[0]), 382);
    assert_eq!(at(&plates[0], "P24"), None);
    assert_eq!(at(&plates[0], "A06"), None);
    assert_eq!(at(&plates[0], "P23"), Some(f64::from(1000 + 15 * 37 + 22 * 11 + 15)));
}

#[test]
fn synthetic_matrix_only_with_dpm_label() {
    let path = fixture("mb_matrix_only.txt");
    let plates = read_file(&path).expect("parses");
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[0].meta.signal, "CCPM1");
    assert_eq!(counted(&plates[0]), 94);
    let opts = ReadOptions { signal: Some("DPM1".into()), ..ReadOptions::default() };
    let dpm = read_file_with(&path, &opts).expect("DPM1");
    assert_eq!(at(&dpm[1], "B01"), Some(f64::from(2000 + 37 + 500 + 15)));
}

#[test]
fn synthetic_list_only_splits_plates_and_infers_96() {
    let plates = read_file(&fixture("mb_list_only.txt")).expect("parses");
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[0].geometry, Geometry::W96);
    assert_eq!(counted(&plates[0]), 95);
    assert_eq!(counted(&plates[1]), 94);
    assert_eq!(at(&plates[1], "D04"), None);
    assert_eq!(at(&plates[1], "H12"), Some(f64::from(2000 + 7 * 37 + 11 * 11 + 15)));
}

/// A COLUMNS list written column by column (A01, B01, ..., H01, A02, ...) is read as the same
/// plates as the list written row by row, not as one plate per column.
#[test]
fn list_in_column_order_gives_the_same_plates() {
    let path = fixture("mb_list_only.txt");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let lines: Vec<&str> = text.lines().collect();
    let is_entry = |l: &str| {
        let cells: Vec<&str> = l.split('\t').collect();
        cells.len() > 3 && WellPos::parse(cells[2]).is_some()
    };
    let first = lines.iter().position(|l| is_entry(l)).expect("list entries");
    let end = first + lines[first..].iter().take_while(|l| is_entry(l)).count();
    let pos = |l: &str| WellPos::parse(l.split('\t').nth(2).expect("POS cell")).expect("well");
    // Plates of the list: positions restart once per plate (row order).
    let mut plates: Vec<Vec<&str>> = Vec::new();
    for l in &lines[first..end] {
        match plates.last_mut() {
            Some(p) if pos(p[p.len() - 1]) < pos(l) => p.push(l),
            _ => plates.push(vec![l]),
        }
    }
    assert_eq!(plates.len(), 2);
    for p in &mut plates {
        p.sort_by_key(|l| (pos(l).col, pos(l).row));
    }
    let reordered: Vec<&str> = lines[..first]
        .iter()
        .copied()
        .chain(plates.concat())
        .chain(lines[end..].iter().copied())
        .collect();
    let by_column = reordered.join("\n") + "\n";
    assert!(by_column.contains("\tA01\t") && by_column.find("\tB01\t") < by_column.find("\tA02\t"));
    let want = read_file(&path).expect("row order");
    let got = read_text(&path, &by_column, &ReadOptions::default()).expect("column order");
    assert_eq!(got.len(), 2, "{} plates", got.len());
    for (a, b) in want.iter().zip(&got) {
        assert_eq!(a.geometry, b.geometry);
        assert_eq!(a.values, b.values);
    }
}

#[test]
fn synthetic_crlf_and_bom() {
    let plates = read_file(&fixture("mb_crlf_bom.txt")).expect("parses");
    assert_eq!(plates.len(), 1);
    assert_eq!(plates[0].geometry, Geometry::W24);
    assert_eq!(counted(&plates[0]), 23);
    assert_eq!(at(&plates[0], "A01"), Some(1015.0));
    assert!(plates[0].meta.warnings.is_empty());
}

#[test]
fn truncated_file_names_last_line() {
    let path = fixture("mb_truncated.txt");
    let lines = std::fs::read_to_string(&path).expect("fixture").lines().count();
    let (line, msg) = parse_err(read_file(&path));
    assert_eq!(line, lines);
    assert!(
        msg.contains("expected row C of the CCPM1 matrix") && msg.contains("truncated"),
        "{msg}"
    );
}

#[test]
fn bad_count_names_line_and_well() {
    let (line, well, msg) = bad_count(read_file(&fixture("mb_bad_count.txt")));
    assert_eq!((line, well.as_str()), (24, "C03"));
    assert!(msg.contains("`12x`"), "{msg}");
}

#[test]
fn list_matrix_mismatch_names_both_lines() {
    let (line, msg) = parse_err(read_file(&fixture("mb_mismatch.txt")));
    assert_eq!(line, 22);
    assert!(msg.contains("B02 = 999") && msg.contains("line 51") && msg.contains("1063"), "{msg}");
}

/// A small 4x6 file built in memory, for error variants.
fn small(row_c: &str) -> String {
    format!(
        "C:\\x.txt\nRUN INFORMATION:\n================\nName: P\n\nPLATES:\n=======\nPlate 1\n\
         Cassette information:\nAssay:-/Prot:1/Cass:1/Func:STOP/Cassette no:   1/Shelf: 1/4*6\n\n\
         CCPM1\n\n \t1\t2\t3\t4\t5\t6\t\nA\t1\t2\t3\t4\t5\t6\t\nB\t-\t-\t-\t-\t-\t-\t\n{row_c}\n\
         D\t1\t1\t1\t1\t1\t1\t\n\nEnd of plate 1\nTotal count rate:  1 CCPM\nEND\n"
    )
}

#[test]
fn short_row_and_negative_count() {
    let p = Path::new("mem.txt");
    let opts = ReadOptions::default();
    let (line, msg) = parse_err(read_text(p, &small("C\t1\t2\t3\t4\t5\t"), &opts));
    assert_eq!((line, msg.as_str()), (17, "expected 6 values after row letter C, found 5"));
    let (line, well, msg) = bad_count(read_text(p, &small("C\t1\t2\t-7\t4\t5\t6\t"), &opts));
    assert_eq!((line, well.as_str()), (17, "C03"));
    assert!(msg.contains("negative"), "{msg}");
    // Kept as a count when asked (background-subtracted exports).
    let keep = ReadOptions { keep_negative: true, ..ReadOptions::default() };
    let plates = read_text(p, &small("C\t1\t2\t-7\t4\t5\t6\t"), &keep).unwrap();
    assert_eq!((at(&plates[0], "C03"), plates[0].meta.bad_counts.len()), (Some(-7.0), 0));
    let ok = read_text(p, &small("C\t1\t2\t3\t4\t5\t6\t"), &opts).expect("valid");
    assert_eq!(counted(&ok[0]), 18);
}

fn sample_plates() -> Vec<WriteablePlate> {
    let mut a = vec![None; 96];
    for (i, v) in a.iter_mut().enumerate().skip(1) {
        *v = Some((i * 137 % 5000) as f64 + 0.5 * (i % 2) as f64);
    }
    let b = (0..384).map(|i| (i % 7 != 3).then_some(i as f64)).collect();
    vec![
        WriteablePlate { geometry: Geometry::W96, values: a, label: "CCPM1".into() },
        WriteablePlate { geometry: Geometry::W384, values: b, label: "CCPM1".into() },
    ]
}

#[test]
fn writer_round_trip() {
    let plates = sample_plates();
    let text = microbeta::write(&plates, "H3_KETANSERIN_1MIN", "Mon  3-Mar-2025 14:05");
    assert_eq!(detect(&text), Some(Format::MicroBeta));
    assert!(text.contains(" \tSAMPLE\tPOS\tCCPM1\tCCPM1%\t\n"));
    assert!(text.contains("\tB01\t") && text.ends_with("END\n"));
    let back = read_text(Path::new("sim.txt"), &text, &ReadOptions::default()).expect("reads back");
    assert_eq!(back.len(), plates.len());
    for (w, r) in plates.iter().zip(&back) {
        assert_eq!(r.geometry, w.geometry);
        assert_eq!(r.values, w.values);
        assert_eq!(r.meta.signal, "CCPM1");
        assert_eq!(r.meta.protocol.as_deref(), Some("H3_KETANSERIN_1MIN"));
        assert_eq!(r.meta.counted_at.as_deref(), Some("Mon  3-Mar-2025 14:05"));
        assert!(r.meta.warnings.is_empty());
    }
}

#[test]
fn writer_counting_error_column() {
    let p = WriteablePlate {
        geometry: Geometry::W24,
        values: (0..24).map(|i| Some(f64::from(i * 100))).collect(),
        label: "CCPM1".into(),
    };
    let text = microbeta::write(&[p], "P", "now");
    assert!(text.contains(" \tUnk_1\tA01\t0\t200.0\t\n"), "{text}");
    assert!(text.contains(" \tUnk_2\tA02\t100\t20.0\t\n"));
    assert!(text.contains("Func:STOP/Cassette no:   1/Shelf: 1/4*6\n"));
    assert!(text.contains("Total count rate:    27600.0 CCPM\n"));
}

#[test]
fn second_label_is_checked_against_its_matrix_too() {
    let path = fixture("mb_96_two_labels.txt");
    let text = std::fs::read_to_string(&path).expect("fixture");
    // Unk_2 = A02; change its CCPM2 value (5th field) only.
    let bad =
        text.replacen("\tUnk_2\tA02\t1026\t6.2\t1526\t", "\tUnk_2\tA02\t1026\t6.2\t1500\t", 1);
    assert_ne!(bad, text, "fixture line found");
    let (_, msg) = parse_err(read_text(&path, &bad, &ReadOptions::default()));
    assert!(msg.contains("A02 = 1500") && msg.contains("CCPM2"), "{msg}");
}
