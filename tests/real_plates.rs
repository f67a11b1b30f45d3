//! Plates as labs lay them out, end to end through `radbind simulate` and `radbind run`:
//! curve-only plates (a 12-point series across whole rows, no control wells) with replicate
//! and rotated plates, IC50-only targets, a controls-only control plate, series ends that
//! double as controls, background plates, and the errors that point the way.

use std::collections::HashMap;
use std::path::Path;

use assert_cmd::Command;
use common::{radbind_ok as radbind, read_csv};

mod common;

/// The simulator's truth: compound -> IC50, nM.
fn truth_ic50(dir: &Path) -> HashMap<String, f64> {
    read_csv(&dir.join("plates/truth.csv"))
        .into_iter()
        .map(|r| (r["compound"].clone(), r["ic50_nM"].parse().unwrap()))
        .collect()
}

fn simulate(dir: &Path, analysis: &str, truth_yaml: &str) {
    std::fs::write(dir.join("analysis.yaml"), analysis).unwrap();
    let sim = format!(
        "analysis: analysis.yaml\nseed: 5\noutput: plates\n\
         counts: {{total_cpm: 4000, nsb_cpm: 300, counting_minutes: 1, pipetting_cv_pct: 3}}\n\
         truth:\n{truth_yaml}"
    );
    std::fs::write(dir.join("sim.yaml"), sim).unwrap();
    radbind(dir, &["simulate", "sim.yaml"]);
}

/// Runs `radbind run analysis.yaml` (exit 0 or 1), returns (exit code, fits rows).
fn run(dir: &Path) -> (i32, Vec<HashMap<String, String>>) {
    let out = Command::cargo_bin("radbind")
        .unwrap()
        .current_dir(dir)
        .args(["run", "analysis.yaml", "--quiet", "--out", "out"])
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    assert!(matches!(code, 0 | 1), "{}", String::from_utf8_lossy(&out.stderr));
    (code, read_csv(&dir.join("out/latest/fits.csv")))
}

/// A target with [L] and Kd (the simulator needs them to turn its Ki truth into counts).
const FULL: &str = "{radioligand: \"[3H]x\", radioligand_nM: 1, kd_nM: 1}";
const ROWS: &str = "{A: a, B: b, C: c, D: d, E: e, F: f, G: g, H: h}";
const TRUTH: &str = "  T: {a: {ki_nM: 1}, b: {ki_nM: 10}, c: {ki_nM: 100}, d: {ki_nM: 3}, \
                     e: {ki_nM: 2}, f: {ki_nM: 20}, g: {ki_nM: 200}, h: {ki_nM: 5}}\n";

fn curve_only(target: &str) -> String {
    format!(
        "experiment: curve-only\noutput: out\ninputs: [plates/plates.txt]\n\
         targets:\n  T: {target}\n\
         layouts:\n  rows12:\n    series: {{columns: 1-12, top: \"10 µM\", dilution: 3.162}}\n\
         plates:\n  - {{plate: \"1-2\", target: T, layout: rows12, rows: {ROWS}}}\n  \
         - {{plate: 3, rotated: true, target: T, layout: rows12, rows: {ROWS}}}\n"
    )
}

#[test]
fn curve_only_plates_with_replicate_and_rotated_plates() {
    // A profiling lab's layout: a 12-point half-log series across each whole row, one
    // compound per row, no total or NSB wells; three replicate plates, the third counted
    // turned by 180°. Every well is a curve point; the 4PL's plateaus come from the data.
    let dir = tempfile::tempdir().unwrap();
    simulate(
        dir.path(),
        &curve_only("{radioligand: \"[3H]x\", radioligand_nM: 1, kd_nM: 1}"),
        TRUTH,
    );
    let (code, fits) = run(dir.path());
    assert_eq!(code, 0);
    let truth = truth_ic50(dir.path());
    assert_eq!(fits.len(), 8);
    let mut covered = 0;
    for r in &fits {
        assert_eq!(r["n_points"], "36", "every well of the three plates is used: {r:?}");
        assert_eq!(r["status"], "ok", "{r:?}");
        assert_eq!(r["response"], "% of fitted span");
        let (ic50, lo, hi): (f64, f64, f64) = (
            r["ic50_nM"].parse().unwrap(),
            r["ic50_ci_low_nM"].parse().unwrap(),
            r["ic50_ci_high_nM"].parse().unwrap(),
        );
        let t = truth[&r["compound"]];
        assert!((ic50 / t).log10().abs() < 0.15, "{}: IC50 {ic50} vs {t}", r["compound"]);
        covered += usize::from(lo <= t && t <= hi);
        // Top/bottom in % of the fitted span; the plateaus in CPM near the simulated counts.
        assert_eq!(r["top"].parse::<f64>().unwrap(), 100.0);
        let top: f64 = r["top_signal"].parse().unwrap();
        let bottom: f64 = r["bottom_signal"].parse().unwrap();
        assert!((3400.0..4600.0).contains(&top), "top {top} CPM");
        assert!((150.0..450.0).contains(&bottom), "bottom {bottom} CPM");
        assert!(!r["ki_nM"].is_empty(), "Ki from [L] and Kd");
    }
    assert!(covered >= 6, "95% CIs cover the truth for {covered} of 8 curves");
    let plates = read_csv(&dir.path().join("out/latest/plates.csv"));
    assert!(plates.iter().all(|p| p["normalisation"] == "raw_signal"), "{plates:?}");
    let wells = read_csv(&dir.path().join("out/latest/wells.csv"));
    assert!(wells.iter().all(|w| !w["pct_specific"].is_empty()), "% of span for every well");
    let v = radbind(dir.path(), &["validate", "analysis.yaml"]);
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(text.contains("no control wells"), "{text}");
}

#[test]
fn an_ic50_only_target_never_mentions_ki() {
    // No [L], no Kd: IC50 and pIC50 with CIs, Ki columns empty, no Ki in figures or tables.
    let dir = tempfile::tempdir().unwrap();
    simulate(
        dir.path(),
        &curve_only("{radioligand: \"[3H]x\", radioligand_nM: 1, kd_nM: 1}"),
        TRUTH,
    );
    std::fs::write(dir.path().join("analysis.yaml"), curve_only("{}")).unwrap();
    let (code, fits) = run(dir.path());
    assert_eq!(code, 0);
    for r in &fits {
        assert!(r["ki_nM"].is_empty() && r["pki"].is_empty() && r["kd_nM"].is_empty(), "{r:?}");
        assert!(!r["ic50_ci_low_nM"].is_empty() && !r["pic50"].is_empty(), "{r:?}");
    }
    let latest = dir.path().join("out/latest");
    let md = std::fs::read_to_string(latest.join("report.md")).unwrap();
    assert!(md.contains("| 95% CI (") && md.contains("| pIC50 |"), "{md}");
    assert!(md.contains("## IC50 by compound and target"), "{md}");
    assert!(!md.contains("Ki (95% CI)") && !md.contains("pKi") && !md.contains("Selectivity"));
    let html = std::fs::read_to_string(latest.join("report.html")).unwrap();
    assert!(!html.contains("Ki (95% CI)") && !html.contains("pKi"), "HTML mentions Ki");
    let svg = std::fs::read_to_string(latest.join("plots/001_T_a.svg")).unwrap();
    assert!(svg.contains("pIC50") && !svg.contains("Ki "), "figure subtitle");
    assert!(!latest.join("figures/selectivity.svg").exists());
}

#[test]
fn half_a_ligand_is_an_error_not_an_ic50_only_target() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("analysis.yaml"),
        curve_only("{radioligand: \"[3H]x\", radioligand_nM: 1}"),
    )
    .unwrap();
    let out = Command::cargo_bin("radbind")
        .unwrap()
        .current_dir(dir.path())
        .args(["validate", "analysis.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("kd_nM") && err.contains("IC50 only"), "{err}");
}

#[test]
fn a_controls_only_plate_without_a_series() {
    // The control plate needs neither `series` nor compounds.
    let dir = tempfile::tempdir().unwrap();
    let analysis = r#"experiment: control-plate
output: out
inputs: [plates/plates.txt]
targets:
  T: {radioligand: "[3H]x", radioligand_nM: 1, kd_nM: 1}
layouts:
  controls: {total: columns 1-6, nsb: columns 7-12}
  samples:
    series: {columns: 1-12, top: "10 µM", dilution: 3.162}
plates:
  - {plate: 1, target: T, layout: controls}
  - {plate: 2, target: T, layout: samples, controls_from: 1, rows: {A-B: a, C-D: b, E-F: c, G-H: d}}
"#;
    simulate(
        dir.path(),
        analysis,
        "  T: {a: {ki_nM: 3}, b: {ki_nM: 30}, c: {ki_nM: 0.8}, d: {ki_nM: 100}}\n",
    );
    let (code, fits) = run(dir.path());
    assert_eq!(code, 0);
    let truth = truth_ic50(dir.path());
    for r in &fits {
        assert_eq!(r["response"], "% specific binding");
        let ic50: f64 = r["ic50_nM"].parse().unwrap();
        assert!((ic50 / truth[&r["compound"]]).log10().abs() < 0.2, "{r:?}");
    }
}

#[test]
fn series_ends_double_as_controls() {
    // A lab that uses each compound's lowest concentration as total binding and its highest as
    // NSB: those wells stay curve points and also normalise the plate.
    let dir = tempfile::tempdir().unwrap();
    let analysis = format!(
        "experiment: ends\noutput: out\ninputs: [plates/plates.txt]\n\
         targets:\n  T: {{radioligand: \"[3H]x\", radioligand_nM: 1, kd_nM: 1}}\n\
         layouts:\n  rows12:\n    top_from: lowest_concentration\n    \
         bottom_from: highest_concentration\n    \
         series: {{columns: 1-12, top: \"100 µM\", dilution: 3.162}}\n\
         plates:\n  - {{plate: 1, target: T, layout: rows12, rows: {ROWS}}}\n"
    );
    let truth = "  T: {a: {ki_nM: 1}, b: {ki_nM: 10}, c: {ki_nM: 30}, d: {ki_nM: 3}, \
                 e: {ki_nM: 2}, f: {ki_nM: 20}, g: {ki_nM: 15}, h: {ki_nM: 5}}\n";
    simulate(dir.path(), &analysis, truth);
    let (code, fits) = run(dir.path());
    assert_eq!(code, 0);
    let plates = read_csv(&dir.path().join("out/latest/plates.csv"));
    assert_eq!(plates[0]["n_total"], "8", "one lowest-concentration well per row");
    assert_eq!(plates[0]["n_nsb"], "8");
    assert!(fits.iter().all(|r| r["n_points"] == "12" && r["response"] == "% specific binding"));

    // NSB from a reference compound's saturating concentration only (`a` at 100 µM: 3 × 10^5
    // its IC50), for every compound on the plate.
    let reference = analysis.replace(
        "bottom_from: highest_concentration\n",
        "bottom_from: highest_concentration\n    bottom_compound: a\n",
    );
    std::fs::write(dir.path().join("analysis.yaml"), reference).unwrap();
    let (code, fits) = run(dir.path());
    assert_eq!(code, 0);
    let plates = read_csv(&dir.path().join("out/latest/plates.csv"));
    assert_eq!((plates[0]["n_total"].as_str(), plates[0]["n_nsb"].as_str()), ("8", "1"));
    let truth = truth_ic50(dir.path());
    for r in &fits {
        let ic50: f64 = r["ic50_nM"].parse().unwrap();
        assert!((ic50 / truth[&r["compound"]]).log10().abs() < 0.2, "{r:?}");
    }
}

#[test]
fn background_plates_are_listed_not_fitted() {
    // An export with an empty plate (a few CPM everywhere) among the assay plates.
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &curve_only(FULL), TRUTH);
    let mut blank = String::from("plate,well,cpm\n");
    for (k, w) in
        (0..96).map(|i| format!("{}{:02}", (b'A' + i / 12) as char, i % 12 + 1)).enumerate()
    {
        blank.push_str(&format!("1,{w},{}\n", 3 + k % 4));
    }
    std::fs::write(dir.path().join("plates/blank.csv"), blank).unwrap();
    let with_blank = curve_only("{}")
        .replace("inputs: [plates/plates.txt]", "inputs: [plates/plates.txt, plates/blank.csv]")
        + &format!("  - {{plate: 4, target: T, layout: rows12, rows: {ROWS}}}\n");
    std::fs::write(dir.path().join("analysis.yaml"), &with_blank).unwrap();
    let (code, fits) = run(dir.path());
    assert_eq!(code, 0, "a background plate is not a failure");
    assert!(fits.iter().all(|r| r["n_points"] == "36"), "no point from the blank plate");
    let plates = read_csv(&dir.path().join("out/latest/plates.csv"));
    let p4 = plates.iter().find(|p| p["plate"] == "P4").unwrap();
    assert!(p4["flags"].contains("background_plate") && p4["normalisation"] == "background");
    let v = radbind(dir.path(), &["validate", "analysis.yaml"]);
    assert!(String::from_utf8_lossy(&v.stdout).contains("P4 is a background plate"));
    // `qc.background_cpm: 0` fits it anyway (as a failing curve-only plate here: flat).
    std::fs::write(dir.path().join("analysis.yaml"), with_blank + "qc: {background_cpm: 0}\n")
        .unwrap();
    let (_, fits) = run(dir.path());
    assert!(fits.iter().all(|r| r["n_points"] == "48"), "{fits:?}");
}

#[test]
fn a_plate_counted_rotated_says_so() {
    // Controls in column 1 (total) and 12 (NSB), the plate counted turned and `rotated` left
    // out: its window is upside down, and the failure says to check `rotated`.
    let dir = tempfile::tempdir().unwrap();
    let analysis = r#"experiment: rotated
output: out
inputs: [plates/plates.txt]
targets:
  T: {radioligand: "[3H]x", radioligand_nM: 1, kd_nM: 1}
layouts:
  std:
    total: column 1
    nsb: column 12
    series: {columns: 2-11, top: "10 µM", dilution: 3.162}
plates:
  - {plate: 1, target: T, layout: std, rotated: true, rows: {A-D: a, E-H: b}}
"#;
    simulate(dir.path(), analysis, "  T: {a: {ki_nM: 3}, b: {ki_nM: 30}}\n");
    std::fs::write(dir.path().join("analysis.yaml"), analysis.replace("rotated: true, ", ""))
        .unwrap();
    let (code, fits) = run(dir.path());
    assert_eq!(code, 1);
    assert_eq!(fits.len(), 2);
    let text = std::fs::read_to_string(dir.path().join("out/latest/fits.csv")).unwrap();
    assert_eq!(text.matches("failed: plate P1 has no usable").count(), 2, "{text}");
    assert!(text.contains("set `rotated: true` on its `plates:` entry"), "{text}");
    let plates = read_csv(&dir.path().join("out/latest/plates.csv"));
    assert!(plates[0]["flags"].contains("looks_rotated"));
}

#[test]
fn two_entries_claiming_one_plate_name_their_lines() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &curve_only(FULL), TRUTH);
    let twice = curve_only("{}") + "  - {plate: 2, target: T, layout: rows12, rows: {A: z}}\n";
    std::fs::write(dir.path().join("analysis.yaml"), twice).unwrap();
    let out = Command::cargo_bin("radbind")
        .unwrap()
        .current_dir(dir.path())
        .args(["validate", "analysis.yaml"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("plates[2] (analysis.yaml:12) and plates[0] (analysis.yaml:10) both claim"),
        "{text}"
    );
}

#[test]
fn plate_maps_need_no_layouts_and_a_curve_mixing_kinds_fails_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &curve_only(FULL), TRUTH);
    // Plate 1 by a map without controls, plate 2 by a map with them: compound `a` is on both.
    let mut no_ctrl = String::from("well,role,compound,conc_nM\n");
    let mut ctrl = no_ctrl.clone();
    for c in 1..=12 {
        let conc = 10_000.0 / 3.162f64.powi(c - 1);
        no_ctrl.push_str(&format!("A{c:02},sample,a,{conc}\nB{c:02},sample,b,{conc}\n"));
        ctrl.push_str(&format!("A{c:02},sample,a,{conc}\n"));
    }
    ctrl.push_str("H01,total,,\nH02,total,,\nH11,nsb,,\nH12,nsb,,\n");
    std::fs::write(dir.path().join("map1.csv"), no_ctrl).unwrap();
    std::fs::write(dir.path().join("map2.csv"), ctrl).unwrap();
    std::fs::write(
        dir.path().join("analysis.yaml"),
        "experiment: maps\noutput: out\ninputs: [plates/plates.txt]\ntargets:\n  T: {}\n\
         plates:\n  - {plate: 1, target: T, plate_map: map1.csv}\n  \
         - {plate: 2, target: T, plate_map: map2.csv}\n",
    )
    .unwrap();
    let (code, fits) = run(dir.path());
    assert_eq!(code, 1);
    let a = fits.iter().find(|r| r["compound"] == "a").unwrap();
    assert!(a["status"].contains("no control wells but plate P2 has"), "{}", a["status"]);
    // `b` (one row on plate 1 only) is fitted on the raw signal (flagged: one replicate).
    let b = fits.iter().find(|r| r["compound"] == "b").unwrap();
    assert_eq!((b["status"].as_str(), b["n_points"].as_str()), ("flagged", "12"), "{b:?}");
}
