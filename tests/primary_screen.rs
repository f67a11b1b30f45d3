//! Primary screens end to end: the simulated 12-plate screen (known true inhibition) analysed
//! by `configs/primary-screen.yaml`, the mixed primary + curve export, `validate` and
//! `init --secondary`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;

use common::read_csv;

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn radbind() -> Command {
    let mut c = Command::cargo_bin("radbind").expect("binary builds");
    c.current_dir(root());
    c
}

/// Runs a config into `out`; returns the run directory, the exit code and stdout.
fn run(config: &str, out: &Path) -> (PathBuf, Option<i32>, String) {
    let o =
        radbind().args(["run", config, "--threads", "2", "--out"]).arg(out).output().expect("runs");
    (out.join("latest"), o.status.code(), String::from_utf8_lossy(&o.stdout).into_owned())
}

fn f(row: &HashMap<String, String>, k: &str) -> f64 {
    row[k].parse().unwrap_or(f64::NAN)
}

#[test]
fn simulated_screen_recovers_true_inhibition_and_calls_hits() {
    let tmp = tempfile::tempdir().unwrap();
    // The committed sample data are what the simulator writes: same seed, same bytes.
    let sim = tmp.path().join("sim");
    radbind()
        .args(["simulate", "configs/simulate-primary.yaml", "--out"])
        .arg(&sim)
        .assert()
        .success();
    for name in ["screen-run1.txt", "truth_primary.csv"] {
        let a = std::fs::read(sim.join(name)).unwrap();
        let b = std::fs::read(root().join("sample_data/primary-screen").join(name)).unwrap();
        assert!(a == b, "{name}: the sample data are not what simulate-primary.yaml writes");
    }
    let (dir, code, stdout) = run("configs/primary-screen.yaml", &tmp.path().join("out"));
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("12 primary"), "{stdout}");
    assert!(stdout.contains("0 curve(s)"), "{stdout}");
    let truth: HashMap<String, (f64, bool)> = read_csv(&sim.join("truth_primary.csv"))
        .iter()
        .map(|r| (r["compound"].clone(), (f(r, "inhibition_pct"), r["hit"] == "true")))
        .collect();
    let rows = read_csv(&dir.join("primary.csv"));
    assert_eq!(rows.len(), 240);
    let (mut within_2se, mut within_t95, mut abs_err) = (0, 0, 0.0);
    let mut table = [[0usize; 2]; 2];
    for r in &rows {
        let (true_inh, true_hit) = truth[&r["compound"]];
        let (inh, se) = (f(r, "pct_inhibition"), f(r, "se_pct_specific"));
        assert_eq!(r["n"], "4");
        let err = (inh - true_inh).abs();
        abs_err += err / rows.len() as f64;
        // Beyond 10 points is not noise (SD of one well about 4 %SB here): a wrong block,
        // well or normalisation. (Against the SE alone a few means of 4 wells lie further:
        // their SD came out small, and the plate's control means add an error of their own.)
        assert!(err < 10.0, "{}: {inh:.1} vs true {true_inh} (SE {se:.2})", r["compound"]);
        within_2se += usize::from(err <= 2.0 * se);
        // t(0.975, 3 df) = 3.182: the 95% interval of a mean of 4 replicates.
        within_t95 += usize::from(err <= 3.182 * se);
        let hit = r["hit"] == "true";
        table[usize::from(true_hit)][usize::from(hit)] += 1;
        // Far from the threshold the call must match the truth.
        if (true_inh - 50.0).abs() > 10.0 {
            assert_eq!(hit, true_hit, "{}: {inh:.1} vs true {true_inh}", r["compound"]);
        }
    }
    eprintln!(
        "mean |error| {abs_err:.2} %; within 2 SE {within_2se}/240, within t95 SE \
         {within_t95}/240; hit calls [true non-hit: {:?}, true hit: {:?}] (called no, yes)",
        table[0], table[1]
    );
    assert!(abs_err < 3.0, "mean |error| {abs_err}");
    assert!(within_t95 >= 216, "only {within_t95}/240 within the 95% interval");
    let hits = read_csv(&dir.join("hits.csv"));
    let follow = read_csv(&dir.join("followup.csv"));
    assert_eq!(hits.len(), table[0][1] + table[1][1]);
    assert_eq!(follow.len(), hits.len());
    assert!(
        follow.iter().all(|r| r["source_plate"].starts_with('P') && !r["source_well"].is_empty())
    );
    assert!(dir.join("primary.parquet").is_file());
    // No curve figure, no fit: primary wells are not curves.
    assert_eq!(read_csv(&dir.join("fits.csv")).len(), 0);
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("report lacks {s}"));
    assert!(at("<h2>Primary screen</h2>") < at("% inhibition by well"));
    assert!(at("Hits (") < at("Primary plate QC"));
    assert!(at("Primary plate QC") < at("Distribution of % inhibition"));

    // The follow-up config for the hits.
    let o =
        radbind().arg("init").arg("--secondary").arg(dir.join("followup.csv")).output().unwrap();
    assert!(o.status.success());
    let y = String::from_utf8_lossy(&o.stdout);
    assert!(y.contains("[3H]ketanserin"), "targets come from the primary run: {y}");
    let opts: serde_yaml::Value = serde_yaml::from_str(&y).expect("yaml");
    let n_plates = opts["plates"].as_sequence().map_or(0, Vec::len);
    assert_eq!(n_plates, hits.len().div_ceil(4));
}

#[test]
fn mixed_export_runs_primary_and_curve_plates() {
    let tmp = tempfile::tempdir().unwrap();
    let (dir, code, stdout) = run("configs/mixed-example.yaml", tmp.path());
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("4 plate(s) (2 curve, 2 primary)"), "{stdout}");
    assert!(stdout.contains("8 curve(s)"), "{stdout}");
    let fits = read_csv(&dir.join("fits.csv"));
    assert_eq!(fits.len(), 8);
    assert!(fits.iter().all(|r| !r["status"].starts_with("failed")), "{fits:?}");
    assert_eq!(read_csv(&dir.join("primary.csv")).len(), 40);
    // Validate says which plates are primary.
    let o = radbind().args(["validate", "configs/mixed-example.yaml"]).output().unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(text.contains("primary screen plates: 2: P1 (5-HT2A), P2 (5-HT2A)"), "{text}");
    assert!(text.contains("curves to fit: 8"), "{text}");
    assert!(text.contains("p20"), "{text}");
}

#[test]
fn a_plate_map_can_hold_primary_wells() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let data = root().join("sample_data/mixed/mixed-run1.txt");
    let mut map = String::from("well,role,compound,concentration\n");
    for r in "ABCDEFGH".chars() {
        map.push_str(&format!("{r}01,total,,\n{r}12,nsb,,\n"));
        for c in 2..=11 {
            let k = (c - 2) * 2 + usize::from("EFGH".contains(r)) + 1;
            map.push_str(&format!("{r}{c:02},sample,MX-{k:03},10 uM\n"));
        }
    }
    std::fs::write(d.join("map.csv"), map).unwrap();
    let cfg = format!(
        "experiment: map-primary\ninputs: [{}]\ntargets: {{5-HT2A: {{}}}}\nplates:\n  - {{plate: 1, \
         target: 5-HT2A, plate_map: map.csv, primary: true}}\n",
        data.display()
    );
    std::fs::write(d.join("c.yaml"), cfg).unwrap();
    let o = radbind()
        .arg("run")
        .arg(d.join("c.yaml"))
        .args(["--quiet", "--out"])
        .arg(d.join("out"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(o.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&o.stderr));
    let rows = read_csv(&d.join("out/latest/primary.csv"));
    assert_eq!(rows.len(), 20);
    // The same wells as the layout of mixed-example.yaml: the same numbers.
    let (layout_dir, _, _) = run("configs/mixed-example.yaml", &d.join("out2"));
    let by_layout = read_csv(&layout_dir.join("primary.csv"));
    for r in &rows {
        let l = by_layout.iter().find(|x| x["compound"] == r["compound"]).unwrap();
        assert_eq!(r["pct_inhibition"], l["pct_inhibition"], "{}", r["compound"]);
    }
}
