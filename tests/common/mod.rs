//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The project's `../shared` folder (reference data and real exports), if present.
///
/// Tests that need it call this and return early when it is `None`, printing a SKIP line.
/// With `RADBIND_REQUIRE_SHARED=1` (set by `.ci/run`), a missing folder fails the test instead,
/// so CI can never pass by skipping.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared");
    if dir.join("reference-data").is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var_os("RADBIND_REQUIRE_SHARED").is_none(),
        "RADBIND_REQUIRE_SHARED is set but {} is missing",
        dir.display()
    );
    eprintln!("SKIP: {} not found; test needs ../shared", dir.display());
    None
}

/// The valid base config; cases edit its text.
pub const BASE_CONFIG: &str = r#"experiment: bad-input-corpus
output: out
inputs: [plate.csv]
targets:
  T1: {radioligand: "[3H]ligand", radioligand_nM: 1.0, kd_nM: 1.0}
layouts:
  std:
    wells: 96
    total: column 1
    nsb: column 12
    series: {columns: 2-11, top: "10 µM", dilution: 3.162}
plates:
  - {plate: 1, target: T1, layout: std, rows: {A-D: cmpd-a, E-H: cmpd-b}}
"#;

/// A clean 96-well plate as a long CSV: total 3000, NSB 300, two compounds (IC50 10 nM, 1 µM).
pub fn base_plate() -> String {
    let mut s = String::from("plate,well,cpm\n");
    for row in 0..8u8 {
        for col in 1..=12u32 {
            let cpm = match col {
                1 => 3000.0,
                12 => 300.0,
                c => {
                    let conc_nm = 10_000.0 / 3.162f64.powi(i32::try_from(c).unwrap() - 2);
                    let ic50 = if row < 4 { 10.0 } else { 1000.0 };
                    300.0 + 2700.0 / (1.0 + conc_nm / ic50)
                }
            };
            // A little deterministic scatter so fits have residuals.
            let jitter = f64::from((u32::from(row) * 7 + col * 13) % 11) - 5.0;
            s.push_str(&format!("P1,{}{:02},{:.0}\n", char::from(b'A' + row), col, cpm + jitter));
        }
    }
    s
}

/// Runs the `radbind` binary in `dir` and asserts it succeeded (printing its output if not).
pub fn radbind_ok(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = assert_cmd::Command::cargo_bin("radbind")
        .expect("binary builds")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("radbind runs");
    assert!(
        out.status.success(),
        "radbind {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Rows of a CSV written by radbind, by column name (no commas inside the cells tests read).
pub fn read_csv(path: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    lines
        .map(|l| header.iter().map(|h| h.to_string()).zip(l.split(',').map(String::from)).collect())
        .collect()
}
