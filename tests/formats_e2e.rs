//! One simulated experiment read from every export format radbind knows, end to end through
//! the binary: `radbind simulate` writes two 96-well plates as a MicroBeta result file, the
//! test rewrites the same counts as a long CSV, a grid CSV (semicolons, decimal comma), a
//! TopCount-style count table (preamble, own headers, read through `columns:`), Hidex blocks
//! and an XLSX long sheet, and every format must give byte-identical `fits.csv`. The same
//! plates laid out by plate map CSVs must give the fits of the YAML layout.

use std::fmt::Write as _;
use std::path::Path;

use common::radbind_ok as radbind;
use radbind::ingest::RawPlate;
use radbind::types::WellPos;

mod common;

const ANALYSIS: &str = r#"experiment: formats
output: out
inputs: [INPUT]
FORMAT
targets:
  T: {radioligand: "[3H]x", radioligand_nM: 1, kd_nM: 1}
layouts:
  std:
    wells: 96
    total: column 1
    nsb: column 12
    series: {columns: 2-11, top: "10 µM", dilution: 3.162}
plates:
  - {plate: 1, target: T, layout: std, rows: {A-B: a, C-D: b, E-F: c, G-H: d}}
  - {plate: 2, target: T, layout: std, rows: {A-D: e, E-H: f}}
"#;

const TRUTH: &str = "  T: {a: {ki_nM: 1}, b: {ki_nM: 10}, c: {ki_nM: 100}, d: {ki_nM: 3}, \
                     e: {ki_nM: 2}, f: {ki_nM: 20}}\n";

/// Simulates the plates into `dir/plates/plates.txt` (MicroBeta) and reads them back.
fn simulate(dir: &Path) -> Vec<RawPlate> {
    std::fs::write(dir.join("analysis.yaml"), analysis("plates/plates.txt", "")).unwrap();
    let sim = format!(
        "analysis: analysis.yaml\nseed: 5\noutput: plates\n\
         counts: {{total_cpm: 4000, nsb_cpm: 300, counting_minutes: 1, pipetting_cv_pct: 3}}\n\
         truth:\n{TRUTH}"
    );
    std::fs::write(dir.join("sim.yaml"), sim).unwrap();
    radbind(dir, &["simulate", "sim.yaml"]);
    let plates = radbind::ingest::read_file(&dir.join("plates/plates.txt")).unwrap();
    assert_eq!(plates.len(), 2);
    assert_eq!(plates[0].meta.format, "microbeta");
    plates
}

fn analysis(input: &str, extra: &str) -> String {
    ANALYSIS.replace("INPUT", input).replace("FORMAT\n", extra)
}

/// Runs `config` (written to `dir/<name>.yaml`) into `dir/out-<name>` and returns fits.csv.
fn run(dir: &Path, name: &str, config: &str) -> String {
    let cfg = format!("{name}.yaml");
    let out = format!("out-{name}");
    std::fs::write(dir.join(&cfg), config).unwrap();
    radbind(dir, &["validate", &cfg]);
    radbind(dir, &["run", &cfg, "--quiet", "--out", &out]);
    std::fs::read_to_string(dir.join(out).join("latest/fits.csv")).unwrap()
}

/// Every counted well of every plate: (plate index, well, count).
fn counted(plates: &[RawPlate]) -> Vec<(usize, WellPos, f64)> {
    let mut v = Vec::new();
    for (k, p) in plates.iter().enumerate() {
        for (i, c) in p.values.iter().enumerate() {
            if let Some(c) = c {
                v.push((k, p.geometry.pos(i), *c));
            }
        }
    }
    v
}

fn long_csv(plates: &[RawPlate]) -> String {
    let mut s = String::from("plate,well,cpm\n");
    for (k, w, c) in counted(plates) {
        let _ = writeln!(s, "P{},{w},{c}", k + 1);
    }
    s
}

/// Grids named `Plate n`, semicolon-separated with decimal commas; uncounted wells empty.
fn grid_csv(plates: &[RawPlate]) -> String {
    let mut s = String::new();
    for (k, p) in plates.iter().enumerate() {
        let cols = usize::from(p.geometry.cols);
        let _ = writeln!(s, "Plate {}", k + 1);
        let head: Vec<String> = (1..=cols).map(|c| c.to_string()).collect();
        let _ = writeln!(s, ";{}", head.join(";"));
        for (r, row) in p.values.chunks(cols).enumerate() {
            let cells: Vec<String> = row
                .iter()
                .map(|v| v.map_or(String::new(), |v| v.to_string().replace('.', ",")))
                .collect();
            let label = char::from(b'A' + u8::try_from(r).unwrap());
            let _ = writeln!(s, "{label};{}", cells.join(";"));
        }
        s.push('\n');
    }
    s
}

/// A TopCount-style table: preamble, then headers that need a column map.
fn count_table(plates: &[RawPlate]) -> String {
    let mut s = String::from(
        "TopCount NXT,Version 2.53\nProtocol Name,3H binding\nDate,2026-11-21 12:00\n\n\
         Barcode,Well,Sample Type,Counts,Time (s)\n",
    );
    for (k, w, c) in counted(plates) {
        let _ = writeln!(s, "RB{:06},{w},Unk,{c},60", k + 1);
    }
    s
}

/// Hidex 300 SL blocks, one rack per plate, decimal comma.
fn hidex(plates: &[RawPlate]) -> String {
    let mut s = String::from("Hidex 300 SL;Results\nProtocol;3H binding 60s\n\n");
    for (n, (k, w, c)) in counted(plates).into_iter().enumerate() {
        let cpm = c.to_string().replace('.', ",");
        let _ =
            write!(s, "Sample;{}\nRack;R{}\nPosition;{w}\nCPM;{cpm}\nTime;60\n\n", n + 1, k + 1);
    }
    s
}

/// An XLSX workbook with one long sheet `Counts` (Plate, Well, CPM), written by radbind's own
/// one-sheet writer.
fn xlsx(plates: &[RawPlate]) -> Vec<u8> {
    use radbind::ingest::xlsx_write::{XlsxCell, write_sheet};
    let text = |s: &str| XlsxCell::Text(s.to_string());
    let mut rows = vec![vec![text("Plate"), text("Well"), text("CPM")]];
    for (k, w, c) in counted(plates) {
        rows.push(vec![text(&format!("P{}", k + 1)), text(&w.to_string()), XlsxCell::Number(c)]);
    }
    write_sheet("Counts", &rows)
}

#[test]
fn every_format_gives_the_same_fits() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plates = simulate(dir);
    let reference = run(dir, "microbeta", &analysis("plates/plates.txt", "format: microbeta\n"));
    assert_eq!(reference.lines().count(), 7, "{reference}");

    std::fs::write(dir.join("long.csv"), long_csv(&plates)).unwrap();
    std::fs::write(dir.join("grid.csv"), grid_csv(&plates)).unwrap();
    std::fs::write(dir.join("topcount.csv"), count_table(&plates)).unwrap();
    std::fs::write(dir.join("hidex.csv"), hidex(&plates)).unwrap();
    std::fs::write(dir.join("counts.xlsx"), xlsx(&plates)).unwrap();
    let columns = "format: count_table\ncolumns: {plate: Barcode, well: Well, value: Counts, \
                   time: \"Time (s)\"}\n";
    let cases = [
        ("long", analysis("long.csv", "format: long_csv\n")),
        ("long_auto", analysis("long.csv", "")),
        ("grid", analysis("grid.csv", "format: grid_csv\n")),
        ("grid_auto", analysis("grid.csv", "format: auto\n")),
        ("topcount", analysis("topcount.csv", columns)),
        ("hidex", analysis("hidex.csv", "format: hidex\n")),
        ("hidex_auto", analysis("hidex.csv", "")),
        ("xlsx", analysis("counts.xlsx", "format: xlsx\n")),
        ("xlsx_auto", analysis("counts.xlsx", "")),
    ];
    for (name, config) in &cases {
        let fits = run(dir, name, config);
        assert_eq!(fits, reference, "format {name}: fits differ from the MicroBeta run");
    }
    // The formats were really read as such.
    let plates_csv = std::fs::read_to_string(dir.join("out-topcount/latest/plates.csv")).unwrap();
    assert!(plates_csv.contains("topcount.csv"), "{plates_csv}");
}

/// The plate map CSV equivalent to the YAML layout of `ANALYSIS` (one per plate), with
/// headers, aliases and units as labs write them.
fn plate_map(compounds: &[(&str, &str)]) -> String {
    let mut s = String::from("Well;Type;Compound;Concentration (nM)\n");
    for r in 0..8u8 {
        let row = char::from(b'A' + r);
        let compound = compounds
            .iter()
            .find(|(rows, _)| rows.contains(row))
            .map(|(_, c)| *c)
            .unwrap_or_default();
        for col in 1..=12i32 {
            match col {
                1 => {
                    let _ = writeln!(s, "{row}{col:02};TB;;");
                }
                12 => {
                    let _ = writeln!(s, "{row}{col:02};NSB;;");
                }
                _ => {
                    let conc = 10_000.0 / 3.162f64.powi(col - 2);
                    let conc = conc.to_string().replace('.', ",");
                    let _ = writeln!(s, "{row}{col:02};sample;{compound};{conc}");
                }
            }
        }
    }
    s
}

#[test]
fn plate_map_gives_the_fits_of_the_yaml_layout() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    simulate(dir);
    let reference = run(dir, "yaml", &analysis("plates/plates.txt", ""));
    std::fs::create_dir_all(dir.join("maps")).unwrap();
    std::fs::write(
        dir.join("maps/plate1.csv"),
        plate_map(&[("AB", "a"), ("CD", "b"), ("EF", "c"), ("GH", "d")]),
    )
    .unwrap();
    std::fs::write(dir.join("maps/plate2.csv"), plate_map(&[("ABCD", "e"), ("EFGH", "f")]))
        .unwrap();
    let config = analysis("plates/plates.txt", "").replace(
        "  - {plate: 1, target: T, layout: std, rows: {A-B: a, C-D: b, E-F: c, G-H: d}}\n  \
         - {plate: 2, target: T, layout: std, rows: {A-D: e, E-H: f}}\n",
        "  - {plate: 1, target: T, plate_map: maps/plate1.csv}\n  \
         - {plate: 2, target: T, plate_map: maps/plate2.csv}\n",
    );
    assert!(config.contains("plate_map"));
    let fits = run(dir, "map", &config);
    assert_eq!(fits, reference, "plate-map fits differ from the YAML layout's");

    let plates_csv = std::fs::read_to_string(dir.join("out-map/latest/plates.csv")).unwrap();
    assert!(plates_csv.contains("plate map maps/plate1.csv"), "{plates_csv}");
    let out = radbind(dir, &["validate", "map.yaml"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("curves to fit: 6"), "{text}");
}

#[test]
fn init_from_every_format_validates() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let plates = simulate(dir);
    std::fs::write(dir.join("long.csv"), long_csv(&plates)).unwrap();
    std::fs::write(dir.join("grid.csv"), grid_csv(&plates)).unwrap();
    std::fs::write(dir.join("hidex.csv"), hidex(&plates)).unwrap();
    std::fs::write(dir.join("counts.xlsx"), xlsx(&plates)).unwrap();
    std::fs::write(dir.join("topcount.csv"), count_table(&plates).replace("Counts", "CPM"))
        .unwrap();
    for (file, format, barcode) in [
        ("plates/plates.txt", "microbeta", None),
        ("long.csv", "long_csv", Some("P1")),
        ("grid.csv", "grid_csv", None),
        ("hidex.csv", "hidex", Some("R1")),
        ("counts.xlsx", "xlsx", Some("P1")),
        ("topcount.csv", "count_table", Some("RB000001")),
    ] {
        let cfg = format!("init-{format}.yaml");
        radbind(dir, &["init", "--from", file, "--output", &cfg]);
        let text = std::fs::read_to_string(dir.join(&cfg)).unwrap();
        assert!(text.contains(&format!("format: {format}\n")), "{file}: {text}");
        assert!(text.contains("wells: 96"), "{file}: {text}");
        match barcode {
            Some(code) => assert!(text.contains(&format!("barcode: \"{code}\"")), "{file}: {text}"),
            None => assert!(text.contains("{plate: 2,"), "{file}: {text}"),
        }
        let out = radbind(dir, &["validate", &cfg]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("2 plate(s) read"), "{file}: {stdout}");
    }
}
