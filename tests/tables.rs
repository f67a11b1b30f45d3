//! Concentration tables end to end, and data without control wells: a real competitive
//! radioimmunoassay and drc's S.alba data read as tables and fitted to their published
//! least-squares optima; simulated tables (CSV and XLSX) and curve-only plates (replicate and
//! rotated plates) recovering the simulator's truth within the CIs; `init --from` scaffolds
//! that run, for every kind of input.
//!
//! Reference conventions (see `../shared/reference-data/*/SOURCE.txt`): drc's LL.4 is
//! `c + (d - c) / (1 + exp(b (log x - log e)))` with `b = -hill`, `c` = bottom, `d` = top,
//! `e` = IC50 in the data's dose unit; dose-0 rows are data at the top plateau, as radbind fits
//! zero-concentration lines.

mod common;

use std::collections::HashMap;
use std::path::Path;

use common::{radbind_ok, read_csv};

/// Runs radbind in `dir`; returns the exit code and the output (stdout + stderr).
fn radbind(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = assert_cmd::Command::cargo_bin("radbind")
        .expect("binary builds")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("radbind runs");
    let text =
        format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// The fits of the latest run under `out`, by compound.
fn fits(out: &Path) -> HashMap<String, HashMap<String, String>> {
    read_csv(&out.join("latest/fits.csv")).into_iter().map(|r| (r["compound"].clone(), r)).collect()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row.get(col)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("column {col} is not a number in {row:?}"))
}

/// `|got - want| <= tol |want|`.
fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!((got - want).abs() <= tol * want.abs(), "{what}: got {got}, want {want} (tol {tol})");
}

/// A one-target table config for `input` (absolute), with extra `columns:` entries.
fn table_config(dir: &Path, name: &str, input: &Path, columns: &str) {
    let text = format!(
        "experiment: {name}\noutput: out-{name}\ninputs: [{input:?}]\nformat: concentration_table\n\
         columns: {{{columns}}}\ntargets:\n  T: {{radioligand: \"[125I]tracer\", radioligand_nM: \
         1.0, kd_nM: 1.0}}\nfit: {{model: four_parameter}}\nreport: {{figures: none}}\n"
    );
    std::fs::write(dir.join(format!("{name}.yaml")), text).unwrap();
}

#[test]
fn ria_table_matches_the_published_least_squares_fit() {
    let Some(shared) = common::shared_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    // conc in ng/ml, no unit in the header: read as nM, so the IC50 is in ng/ml.
    let ria = shared.join("reference-data/nlreg_ria/data/ria.csv");
    table_config(dir, "ria", &ria, "concentration_unit: nM");
    radbind(dir, &["run", "ria.yaml"]);
    let f = fits(&dir.join("out-ria"));
    let row = &f["ria"];
    assert_eq!(num(row, "n_points"), 16.0, "{row:?}");
    // ols_LL4_fits.txt: b = 1.85645, c = 1.66274, d = 24.62168, e = 336.4384 (J'J SE 15.5499).
    close(num(row, "ic50_nM"), 336.4384, 1e-5, "IC50");
    close(num(row, "hill_slope"), -1.85645, 1e-4, "Hill slope");
    let se_e = num(row, "ic50_nM") * std::f64::consts::LN_10 * num(row, "log_ic50_se");
    close(se_e, 15.5499, 1e-3, "SE of IC50");
    // No control wells: fitted on the response as given, plateaus in its units.
    close(num(row, "top_signal"), 24.62168, 1e-5, "Top");
    close(num(row, "bottom_signal"), 1.66274, 1e-4, "Bottom");
}

#[test]
fn drc_s_alba_table_fits_each_herbicide_to_drc() {
    let Some(shared) = common::shared_dir() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let data = shared.join("reference-data/drc/data/S.alba.csv");
    table_config(
        dir,
        "salba",
        &data,
        "concentration: Dose, concentration_unit: nM, compound: Herbicide, response: DryMatter",
    );
    radbind(dir, &["run", "salba.yaml"]);
    let f = fits(&dir.join("out-salba"));
    let reference = read_csv(&shared.join("reference-data/drc/fits/ll4_separate_fits.csv"));
    let unq = |s: &str| s.trim_matches('"').to_string();
    let mut checked = 0;
    for r in reference.iter().filter(|r| unq(&r["\"dataset\""]) == "S.alba") {
        let group = unq(&r["\"group\""]);
        assert_eq!(unq(&r["\"quality\""]), "good");
        let row = &f[&group];
        let want = |k: &str| unq(&r[&format!("\"{k}\"")]).parse::<f64>().unwrap();
        close(num(row, "ic50_nM"), want("lm_e"), 1e-4, &format!("{group} IC50"));
        close(num(row, "hill_slope"), -want("lm_b"), 1e-3, &format!("{group} Hill"));
        close(num(row, "top_signal"), want("lm_d"), 1e-4, &format!("{group} top"));
        checked += 1;
    }
    assert_eq!(checked, 2);
}

/// Truth per compound of a simulation's truth.csv: (IC50 nM, Hill slope).
fn truth(path: &Path) -> HashMap<String, (f64, f64)> {
    read_csv(path)
        .into_iter()
        .map(|r| {
            (
                r["compound"].clone(),
                (r["ic50_nM"].parse().unwrap(), r["hill_slope"].parse().unwrap()),
            )
        })
        .collect()
}

/// Every compound of `truth` fitted (`ok` or `flagged`, never failed) within 25% of its true
/// IC50, and its true IC50 inside the 95% CI for all but `misses` compounds (95% intervals
/// miss about one compound in twenty); returns the table of recovered vs true values.
fn recovered(
    fits: &HashMap<String, HashMap<String, String>>,
    truth: &HashMap<String, (f64, f64)>,
    misses: usize,
) -> String {
    let mut table = String::from(
        "compound    true_IC50_nM  fitted_IC50_nM  95%_CI_nM             in_CI  true_hill  fitted_hill  status\n",
    );
    let mut names: Vec<&String> = truth.keys().collect();
    names.sort();
    let mut outside = Vec::new();
    for name in names {
        let (ic50, hill) = truth[name];
        let row = fits.get(name).unwrap_or_else(|| panic!("no fit for {name}"));
        assert!(["ok", "flagged"].contains(&row["status"].as_str()), "{name}: {row:?}");
        let (lo, hi) = (num(row, "ic50_ci_low_nM"), num(row, "ic50_ci_high_nM"));
        let fitted = num(row, "ic50_nM");
        let inside = lo <= ic50 && ic50 <= hi;
        table.push_str(&format!(
            "{name:<11} {ic50:>12.4} {fitted:>15.4}  [{lo:.4}, {hi:.4}]  {inside:>6} {hill:>10.2} {:>12.3}  {}\n",
            num(row, "hill_slope"),
            row["status"]
        ));
        assert!((fitted / ic50).ln().abs() < 1.25f64.ln(), "{name}: IC50 {fitted} vs {ic50}");
        if !inside {
            outside.push(name.clone());
        }
    }
    assert!(outside.len() <= misses, "true IC50 outside the 95% CI: {outside:?}\n{table}");
    table
}

/// Copies a sample simulation config and its analysis config into `dir`, with the output
/// and inputs redirected there.
fn sample_configs(dir: &Path, sim: &str, analysis: &str, data: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("configs");
    let s = std::fs::read_to_string(root.join(sim)).unwrap();
    let s = s.replace(&format!("output: ../sample_data/{data}"), "output: data");
    std::fs::write(dir.join(sim), s).unwrap();
    let a = std::fs::read_to_string(root.join(analysis)).unwrap();
    let a = a.replace(&format!("../sample_data/{data}/"), "data/").replace(
        &format!("output: ../outputs/{}", analysis.trim_end_matches(".yaml")),
        "output: out",
    );
    std::fs::write(dir.join(analysis), a).unwrap();
}

#[test]
fn simulated_tables_recover_the_truth_from_csv_and_xlsx() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sample_configs(dir, "simulate-table.yaml", "table-example.yaml", "table");
    radbind_ok(dir, &["simulate", "simulate-table.yaml"]);
    let truth = truth(&dir.join("data/truth.csv"));
    radbind(dir, &["run", "table-example.yaml"]);
    let csv = fits(&dir.join("out"));
    println!("{}", recovered(&csv, &truth, 0));
    // The same lines in the workbook give the same fits.
    let a = std::fs::read_to_string(dir.join("table-example.yaml")).unwrap();
    let x =
        a.replace("competition.csv", "competition.xlsx").replace("output: out", "output: out-x");
    std::fs::write(dir.join("xlsx.yaml"), x).unwrap();
    radbind(dir, &["run", "xlsx.yaml"]);
    let xlsx = fits(&dir.join("out-x"));
    for (name, row) in &csv {
        assert_eq!(row["ic50_nM"], xlsx[name]["ic50_nM"], "{name}");
    }
    // Every line is a point: 3 replicates x (10 concentrations + zero dose).
    assert!(csv.values().all(|r| num(r, "n_points") == 33.0), "{csv:?}");
    let wells = std::fs::read_to_string(dir.join("out/latest/wells.csv")).unwrap();
    assert!(wells.contains(",\"competition.csv:2, replicate 1\"\n"), "{wells}");
}

#[test]
fn curve_only_plates_with_replicate_and_rotated_plates_recover_the_truth() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sample_configs(dir, "simulate-curve-only.yaml", "curve-only-example.yaml", "curve-only");
    radbind_ok(dir, &["simulate", "simulate-curve-only.yaml"]);
    let truth = truth(&dir.join("data/truth.csv"));
    radbind(dir, &["run", "curve-only-example.yaml"]);
    let f = fits(&dir.join("out"));
    // 16 compounds: at most 2 outside their 95% CI (P(3 or more) = 4% for exact intervals).
    println!("{}", recovered(&f, &truth, 2));
    // Every well of the three replicate plates is a point: 12 concentrations x 3 plates.
    assert!(f.values().all(|r| num(r, "n_points") == 36.0), "{f:?}");
}

/// `init --from` on `input` (relative to `dir`), then `run` as written: the run completes.
fn scaffold_runs(dir: &Path, input: &str, name: &str) -> String {
    let cfg = format!("{name}.yaml");
    radbind_ok(dir, &["init", "--from", input, "--output", &cfg]);
    let (code, out) = radbind(dir, &["run", &cfg, "--out", &format!("out-{name}")]);
    let text = std::fs::read_to_string(dir.join(&cfg)).unwrap();
    assert!(code == 0 || code == 1, "{name}: exit {code}\n{out}\n{text}");
    assert!(dir.join(format!("out-{name}/latest/fits.csv")).is_file(), "{name}: {out}");
    text
}

#[test]
fn init_from_scaffolds_configs_that_run() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    sample_configs(dir, "simulate-table.yaml", "table-example.yaml", "table");
    radbind_ok(dir, &["simulate", "simulate-table.yaml"]);
    std::fs::rename(dir.join("data"), dir.join("tables")).unwrap();
    sample_configs(dir, "simulate-curve-only.yaml", "curve-only-example.yaml", "curve-only");
    radbind_ok(dir, &["simulate", "simulate-curve-only.yaml"]);
    // A concentration table, CSV and XLSX: its columns, relative input path.
    for file in ["tables/competition.csv", "tables/competition.xlsx"] {
        let name = if file.ends_with("csv") { "table-csv" } else { "table-xlsx" };
        let text = scaffold_runs(dir, file, name);
        assert!(text.contains("format: concentration_table"), "{text}");
        assert!(text.contains(&format!("inputs: [\"{file}\"]")), "{text}");
        assert!(text.contains("concentration: \"Concentration (uM)\""), "{text}");
        let f = fits(&dir.join(format!("out-{name}")));
        assert_eq!(f.len(), 3, "{f:?}");
    }
    // Curve-only plates: curves along the rows, the two turned plates said and set.
    let text = scaffold_runs(dir, "data/screen-run1.txt", "curve-only");
    assert!(text.contains("layout: curves"), "{text}");
    assert!(text.contains("direction: high_to_low"), "{text}");
    let turned: Vec<&str> =
        text.lines().filter(|l| l.starts_with("  - {") && l.contains("rotated: true")).collect();
    assert_eq!(turned.len(), 1, "{text}");
    assert!(turned[0].starts_with("  - {plate: 2,"), "{text}");
    let f = fits(&dir.join("out-curve-only"));
    assert_eq!(f.len(), 24, "3 plates x 8 rows: {f:?}");
    // One row per compound and plate: flagged `few_replicates` at most, never failed.
    for (name, r) in &f {
        let fine = r["status"] == "ok" || r["flags"] == "few_replicates";
        assert!(fine, "{name}: {} {}", r["status"], r["flags"]);
    }
    // Plates with control columns.
    let panel = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample_data/mianserin-panel");
    std::fs::copy(panel.join("panel-run1.txt"), dir.join("panel.txt")).unwrap();
    let text = scaffold_runs(dir, "panel.txt", "controls");
    assert!(text.contains("total: column 1, nsb: column 12"), "{text}");
    assert_eq!(text.matches("layout: controls").count(), 3, "{text}");
    // Real MicroBeta RIA cassettes and a published table without a unit in its header.
    let Some(shared) = common::shared_dir() else { return };
    let ria = shared.join("reference-data/nlreg_ria/data/ria.csv");
    std::fs::copy(&ria, dir.join("ria.csv")).unwrap();
    let text = scaffold_runs(dir, "ria.csv", "ria");
    assert!(text.contains("concentration_unit: nM   # CHECK"), "{text}");
    for f in ["A16_244.txt", "A16_226.txt", "A16_283.txt"] {
        let real = shared.join("real-exports/microbeta").join(f);
        std::fs::copy(&real, dir.join(f)).unwrap();
        scaffold_runs(dir, f, f.trim_end_matches(".txt"));
    }
}

#[test]
fn table_errors_name_the_line_and_the_key() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("t.csv"), "compound,conc,cpm\na,1,100\n").unwrap();
    table_config(dir, "nounit", &dir.join("t.csv"), "compound: compound");
    let (code, out) = radbind(dir, &["run", "nounit.yaml"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("t.csv:1:") && out.contains("columns.concentration_unit"), "{out}");
    table_config(dir, "missing", &dir.join("t.csv"), "concentration_unit: nM, target: Receptor");
    let (code, out) = radbind(dir, &["run", "missing.yaml"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("`columns.target` names a column this header does not have"), "{out}");
    let text = std::fs::read_to_string(dir.join("missing.yaml")).unwrap();
    std::fs::write(
        dir.join("plates.yaml"),
        format!("{text}plates:\n  - {{plate: 1, target: T, layout: x}}\n"),
    )
    .unwrap();
    let (code, out) = radbind(dir, &["validate", "plates.yaml"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("remove `plates:`"), "{out}");
}
