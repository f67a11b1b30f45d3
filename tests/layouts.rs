//! Layouts as labs use them, end to end through `radbind simulate` and `radbind run`:
//! a plate counted rotated by 180°, a 384-well plate with the series down the rows and
//! concentrations given with units, and controls on a separate control plate.

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use common::{radbind_ok as radbind, read_csv};

mod common;

fn fits(dir: &Path) -> Vec<HashMap<String, String>> {
    read_csv(&dir.join("out/latest/fits.csv"))
}

fn truth(dir: &Path) -> HashMap<String, f64> {
    let text = std::fs::read_to_string(dir.join("plates/truth.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[1].to_string(), c[2].parse().unwrap())
        })
        .collect()
}

/// Every fitted Ki within 0.2 log units of the simulator's truth.
fn assert_ki_near_truth(dir: &Path, fits: &[HashMap<String, String>]) {
    let truth = truth(dir);
    for row in fits {
        let ki: f64 = row["ki_nM"].parse().unwrap();
        let err = (ki.log10() - truth[&row["compound"]].log10()).abs();
        assert!(err < 0.2, "{}: Ki {ki} vs {}", row["compound"], truth[&row["compound"]]);
    }
}

/// Writes an analysis and a simulation config into `dir`, simulates, runs, returns the fits.
fn simulate_and_run(dir: &Path, analysis: &str, truth_yaml: &str) -> Vec<HashMap<String, String>> {
    std::fs::write(dir.join("analysis.yaml"), analysis).unwrap();
    let sim = format!(
        "analysis: analysis.yaml\nseed: 11\noutput: plates\n\
         counts: {{total_cpm: 4000, nsb_cpm: 300, counting_minutes: 1, pipetting_cv_pct: 3}}\n\
         truth:\n{truth_yaml}"
    );
    std::fs::write(dir.join("sim.yaml"), sim).unwrap();
    radbind(dir, &["simulate", "sim.yaml"]);
    radbind(dir, &["run", "analysis.yaml", "--quiet"]);
    fits(dir)
}

const STANDARD: &str = r#"experiment: rotation
output: out
inputs: [plates/plates.txt]
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
  - {plate: 2, target: T, layout: std, ROTATED rows: {A-B: e, C-D: f, E-F: g, G-H: h}}
"#;

const STANDARD_TRUTH: &str = "  T: {a: {ki_nM: 1}, b: {ki_nM: 10}, c: {ki_nM: 100}, d: {ki_nM: 3}, \
                              e: {ki_nM: 2}, f: {ki_nM: 20}, g: {ki_nM: 200}, h: {ki_nM: 5}}\n";

#[test]
fn rotated_plate_gives_the_same_fits_as_upright() {
    // See issue "Read what the instruments write": a plate counted turned by 180° and analysed
    // with `rotated: true` must give the fits of the same plate counted upright.
    let upright = tempfile::tempdir().unwrap();
    let rotated = tempfile::tempdir().unwrap();
    let a = simulate_and_run(upright.path(), &STANDARD.replace("ROTATED ", ""), STANDARD_TRUTH);
    let b = simulate_and_run(
        rotated.path(),
        &STANDARD.replace("ROTATED ", "rotated: true, "),
        STANDARD_TRUTH,
    );
    // The exports really differ: plate 2's counts are in the opposite corners.
    let fa = std::fs::read(upright.path().join("plates/plates.txt")).unwrap();
    let fb = std::fs::read(rotated.path().join("plates/plates.txt")).unwrap();
    assert_ne!(fa, fb);
    assert_eq!(a, b, "fits differ between the upright and the rotated plate");

    // Analysed without `rotated`, the rotated plate's curves are nonsense: NSB and total swap.
    std::fs::write(rotated.path().join("analysis.yaml"), STANDARD.replace("ROTATED ", "")).unwrap();
    // (It completes, possibly with failed curves: exit 0 or 1.)
    let status = Command::cargo_bin("radbind")
        .unwrap()
        .current_dir(rotated.path())
        .args(["run", "analysis.yaml", "--quiet", "--out", "wrong"])
        .output()
        .unwrap()
        .status;
    assert!(matches!(status.code(), Some(0 | 1)));
    let wrong = std::fs::read_to_string(rotated.path().join("wrong/latest/plates.csv")).unwrap();
    assert!(wrong.contains("total_not_above_nsb") || wrong.contains("z_prime_below"), "{wrong}");
}

#[test]
fn plate_384_series_down_rows_with_unit_concentrations() {
    let dir = tempfile::tempdir().unwrap();
    let analysis = r#"experiment: p384
output: out
inputs: [plates/plates.txt]
targets:
  T: {radioligand: "[3H]x", radioligand_conc: "0.5 nM", kd: "500 pM"}
layouts:
  q384:
    wells: 384
    total: A23-P23
    nsb: column 24
    series:
      rows: A-P
      direction: low_to_high
      concentrations: ["100 pM", "200 pM", "500 pM", "1 nM", "2 nM", "5 nM", "10 nM", "20 nM",
                       "50 nM", "100 nM", "200 nM", "500 nM", "1 µM", "2 µM", "5 µM", "10 µM"]
plates:
  - {plate: 1, target: T, layout: q384, columns: {1-2: a, 3-4: b, 5-6: c, 7-8: d}}
"#;
    let f = simulate_and_run(
        dir.path(),
        analysis,
        "  T: {a: {ki_nM: 3}, b: {ki_nM: 30}, c: {ki_nM: 0.8}, d: {ki_nM: 100}}\n",
    );
    assert_eq!(f.len(), 4);
    assert!(f.iter().all(|row| row["n_points"] == "32"), "{f:?}");
    assert_ki_near_truth(dir.path(), &f);
}

#[test]
fn controls_on_a_separate_plate() {
    let dir = tempfile::tempdir().unwrap();
    let analysis = r#"experiment: control-plate
output: out
inputs: [plates/plates.txt]
targets:
  T: {radioligand: "[3H]x", radioligand_nM: 1, kd_nM: 1}
layouts:
  controls:
    wells: 96
    total: columns 1-6
    nsb: columns 7-12
    series: {columns: 1-12, top: "10 µM", dilution: 3.162}
  samples:
    wells: 96
    series: {columns: 1-12, top: "10 µM", dilution: 3.162}
plates:
  - {plate: 1, target: T, layout: controls, rows: {}}
  - {plate: 2, target: T, layout: samples, controls_from: 1, rows: {A-B: a, C-D: b, E-F: c, G-H: d}}
"#;
    let f = simulate_and_run(
        dir.path(),
        analysis,
        "  T: {a: {ki_nM: 3}, b: {ki_nM: 30}, c: {ki_nM: 0.8}, d: {ki_nM: 100}}\n",
    );
    assert_eq!(f.len(), 4);
    assert_ki_near_truth(dir.path(), &f);
    let plates = std::fs::read_to_string(dir.path().join("out/latest/plates.csv")).unwrap();
    assert!(plates.contains("controls_from_P1"), "{plates}");
}

/// A plate map CSV: `(well, role, compound, conc_nM)` lines.
fn map_csv(lines: &[(String, &str, &str, String)]) -> String {
    let mut s = String::from("well,role,compound,conc_nM\n");
    for (w, r, c, x) in lines {
        s.push_str(&format!("{w},{r},{c},{x}\n"));
    }
    s
}

#[test]
fn plate_maps_with_control_plate_rotation_and_file() {
    // The YAML layout of `controls_on_a_separate_plate`, with the sample plate counted rotated;
    // the same plates described by plate maps must give the same fits.
    let dir = tempfile::tempdir().unwrap();
    let yaml = r#"experiment: maps
output: out
inputs: [plates/plates.txt]
targets:
  T: {radioligand: "[3H]x", radioligand_nM: 1, kd_nM: 1}
layouts:
  controls:
    wells: 96
    total: columns 1-6
    nsb: columns 7-12
    series: {columns: 1-12, top: "10 µM", dilution: 3.162}
  samples:
    wells: 96
    series: {columns: 1-12, top: "10 µM", dilution: 3.162}
plates:
  - {plate: 1, target: T, layout: controls, rows: {}}
  - {plate: 2, target: T, layout: samples, controls_from: 1, rotated: true, rows: {A-D: a, E-H: b}}
"#;
    let reference = simulate_and_run(dir.path(), yaml, "  T: {a: {ki_nM: 3}, b: {ki_nM: 30}}\n");
    assert_eq!(reference.len(), 2);

    let mut controls = Vec::new();
    let mut samples = Vec::new();
    for r in 'A'..='H' {
        for c in 1..=12i32 {
            let well = format!("{r}{c:02}");
            controls.push((well.clone(), if c <= 6 { "total" } else { "nsb" }, "", String::new()));
            let conc = 10_000.0 / 3.162f64.powi(c - 1);
            samples.push((well, "sample", if r <= 'D' { "a" } else { "b" }, conc.to_string()));
        }
    }
    std::fs::create_dir_all(dir.path().join("maps")).unwrap();
    std::fs::write(dir.path().join("maps/controls.csv"), map_csv(&controls)).unwrap();
    std::fs::write(dir.path().join("maps/samples.csv"), map_csv(&samples)).unwrap();
    let maps = yaml.replace(
        "  - {plate: 1, target: T, layout: controls, rows: {}}\n  - {plate: 2, target: T, \
         layout: samples, controls_from: 1, rotated: true, rows: {A-D: a, E-H: b}}\n",
        "  - {plate: 1, file: plates.txt, target: T, plate_map: maps/controls.csv}\n  - {plate: \
         2, file: \"*.txt\", target: T, plate_map: maps/samples.csv, controls_from: 1, \
         rotated: true}\n",
    );
    assert!(maps.contains("plate_map"));
    std::fs::write(dir.path().join("maps.yaml"), maps).unwrap();
    radbind(dir.path(), &["validate", "maps.yaml"]);
    radbind(dir.path(), &["run", "maps.yaml", "--quiet", "--out", "out"]);
    assert_eq!(fits(dir.path()), reference, "plate-map fits differ from the YAML layout's");
    let plates = std::fs::read_to_string(dir.path().join("out/latest/plates.csv")).unwrap();
    assert!(plates.contains("controls_from_P1"), "{plates}");
}
