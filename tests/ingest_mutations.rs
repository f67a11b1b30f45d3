//! Mutation smoke test of every reader on stable Rust (the coverage-guided fuzzers live in
//! `fuzz/`): fixtures with random byte edits, line duplications and truncations must give
//! `Ok` with well-formed plates or an `IngestError`, never a panic.

use std::path::Path;

use proptest::prelude::*;
use radbind::ingest::{Format, MAX_COUNT, ReadOptions, parse_plate_map, read_bytes};

const FIXTURES: [&str; 14] = [
    "mb_96_two_labels.txt",
    "mb_list_only.txt",
    "mb_crlf_bom.txt",
    "long_comma.csv",
    "long_semicolon.csv",
    "grid_two.csv",
    "grid_96.csv",
    "topcount_96.csv",
    "topcount_awkward.csv",
    "mb2_96.tsv",
    "hidex_96.csv",
    "hidex_24_notime.csv",
    "platemap_semicolon.csv",
    "xlsx_grids.xlsx",
];

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ingest").join(name))
        .expect("fixture")
}

/// One edit: (kind, position, byte).
fn mutate(mut bytes: Vec<u8>, edits: &[(u8, usize, u8)]) -> Vec<u8> {
    const SPECIAL: &[u8] = b"\t;,\n\r-\"0123456789.eE+AHP:";
    for &(kind, at, b) in edits {
        if bytes.is_empty() {
            bytes.push(b);
            continue;
        }
        let at = at % bytes.len();
        match kind % 6 {
            0 => bytes[at] = b,
            1 => bytes[at] = SPECIAL[usize::from(b) % SPECIAL.len()],
            2 => bytes.insert(at, SPECIAL[usize::from(b) % SPECIAL.len()]),
            3 => {
                bytes.remove(at);
            }
            4 => bytes.truncate(at),
            _ => {
                // Duplicate the line around `at`.
                let start = bytes[..at].iter().rposition(|&c| c == b'\n').map_or(0, |i| i + 1);
                let end = bytes[at..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |i| at + i + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(start..start, line);
            }
        }
    }
    bytes
}

fn check(bytes: &[u8]) {
    let path = Path::new("mutant.txt");
    let mut runs = vec![ReadOptions::default()];
    runs.extend(Format::ALL.map(|f| ReadOptions { format: Some(f), ..ReadOptions::default() }));
    for opts in runs {
        if let Ok(plates) = read_bytes(path, bytes, &opts) {
            for p in plates {
                assert_eq!(p.values.len(), p.geometry.len());
                assert!(
                    p.values
                        .iter()
                        .flatten()
                        .all(|v| v.is_finite() && *v >= 0.0 && *v <= MAX_COUNT)
                );
            }
        }
    }
    let _ = parse_plate_map(path, &String::from_utf8_lossy(bytes));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0..FIXTURES.len(),
        edits in proptest::collection::vec((any::<u8>(), any::<usize>(), any::<u8>()), 1..8),
    ) {
        check(&mutate(fixture(FIXTURES[which]), &edits));
    }
}
