//! The assays beyond competition binding, end to end on the bundled sample data: saturation
//! (Kd, Bmax, units, depletion, `kd_from`), [35S]GTPγS (EC50, Emax, relative efficacy, Kb) and
//! uptake (IC50, Ki from [S] and Km). Each run's numbers are checked against the simulator's
//! truth files beside the sample data.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::{radbind_ok, read_csv};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `configs/<config>` into a temp dir; returns the dir (kept alive) and the run dir.
fn run(config: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = root().join("configs").join(config);
    radbind_ok(&root(), &["run", cfg.to_str().unwrap(), "--out", tmp.path().to_str().unwrap()]);
    let latest = tmp.path().join("latest");
    (tmp, latest)
}

fn f(r: &HashMap<String, String>, k: &str) -> f64 {
    r.get(k).and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

fn truth(dir: &str, file: &str) -> Vec<HashMap<String, String>> {
    read_csv(&root().join("sample_data").join(dir).join(file))
}

fn row<'a>(
    rows: &'a [HashMap<String, String>],
    target: &str,
    compound: Option<&str>,
) -> &'a HashMap<String, String> {
    rows.iter()
        .find(|r| r["target"] == target && compound.is_none_or(|c| r["compound"] == c))
        .unwrap_or_else(|| panic!("no row for {target} / {compound:?}"))
}

/// The first curve figure (SVG text) of a run.
fn first_curve_svg(dir: &Path) -> String {
    std::fs::read_dir(dir.join("plots"))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.path().extension().is_some_and(|x| x == "svg"))
        .map(|e| std::fs::read_to_string(e.path()).unwrap())
        .unwrap()
}

#[test]
fn saturation_recovers_kd_and_bmax_and_feeds_cheng_prusoff() {
    let (_tmp, dir) = run("saturation-example.yaml");
    let sat = read_csv(&dir.join("saturation.csv"));
    assert_eq!(sat.len(), 2);
    for t in truth("saturation", "truth_saturation.csv") {
        let r = row(&sat, &t["target"], None);
        let (kd, bmax) = (f(&t, "kd_nM"), f(&t, "bmax_cpm"));
        // The true values lie inside the fit's 95% intervals.
        assert!(
            f(r, "kd_ci_low_nM") <= kd && kd <= f(r, "kd_ci_high_nM"),
            "{}: Kd {kd} outside {}-{}",
            t["target"],
            r["kd_ci_low_nM"],
            r["kd_ci_high_nM"]
        );
        assert!(
            f(r, "bmax_ci_low_cpm") <= bmax && bmax <= f(r, "bmax_ci_high_cpm"),
            "{}: Bmax {bmax} outside {}-{}",
            t["target"],
            r["bmax_ci_low_cpm"],
            r["bmax_ci_high_cpm"]
        );
        // Units: fmol/mg = CPM / E / (S x 2.22) / mg, S decay-corrected.
        let (e, s) = (0.45, f(r, "specific_activity_Ci_per_mmol"));
        let mg = if t["target"] == "H1-saturation" { 0.1 } else { 0.05 };
        let expect = f(r, "bmax_cpm") / e / (s * 2.22) / mg;
        assert!((f(r, "bmax_fmol_per_mg") / expect - 1.0).abs() < 1e-9);
        assert!(f(r, "pct_specific_at_kd") > 50.0 && f(r, "pct_specific_at_kd") < 100.0);
    }
    // Decay: [3H]ketanserin calibrated 2026-02-01, assay 2026-11-20 (292 days).
    let ket = row(&sat, "5-HT2A-saturation", None);
    let decay = (-292.0 / (12.32 * 365.25_f64)).exp2();
    assert!((f(ket, "decay_fraction") - decay).abs() < 1e-12);
    assert!((f(ket, "specific_activity_Ci_per_mmol") - 67.0 * decay).abs() < 1e-9);
    // H1: more than 10% of the added radioligand bound, corrected and flagged; cells given.
    let h1 = row(&sat, "H1-saturation", None);
    assert_eq!(h1["depletion_corrected"], "true");
    assert!(h1["flags"].contains("ligand_depletion"), "{}", h1["flags"]);
    assert!(f(h1, "sites_per_cell") > 0.0);
    assert!(f(ket, "max_fraction_bound_pct") < 10.0);
    // The competition target took the saturation Kd, and run.json says so.
    let fits = read_csv(&dir.join("fits.csv"));
    for c in fits.iter().filter(|c| c["target"] == "5-HT2A") {
        assert_eq!(f(c, "kd_nM"), f(ket, "kd_nM"));
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
    let t = manifest["targets"].as_array().unwrap();
    let comp = t.iter().find(|t| t["target"] == "5-HT2A").unwrap();
    assert_eq!(comp["kd_source"], "saturation 5-HT2A-saturation");
    assert_eq!(comp["kd_nM"].as_f64().unwrap(), f(ket, "kd_nM"));
    // Ki with the measured Kd stays within 0.2 log units of truth.
    for t in truth("saturation", "truth.csv").iter().filter(|t| t["complete"] == "true") {
        let c = row(&fits, &t["target"], Some(&t["compound"]));
        let d = (f(c, "ki_nM") / f(t, "ki_nM")).log10();
        assert!(d.abs() < 0.2, "{} Ki {} vs {}", t["compound"], c["ki_nM"], t["ki_nM"]);
    }
    // The report shows the section and the figures exist.
    let html = std::fs::read_to_string(dir.join("report.html")).unwrap();
    assert!(html.contains("Saturation binding"));
    assert!(dir.join("figures/001_saturation_5-HT2A-saturation.svg").is_file());
    assert!(dir.join("figures/002_saturation_H1-saturation.png").is_file());
}

#[test]
fn gtpgs_recovers_ec50_emax_efficacy_and_kb() {
    let (_tmp, dir) = run("gtpgs-example.yaml");
    let fits = read_csv(&dir.join("fits.csv"));
    for t in truth("gtpgs", "truth_functional.csv") {
        let r = row(&fits, &t["target"], Some(&t["compound"]));
        assert_eq!(r["functional_role"], t["role"]);
        if t["role"] == "agonist" {
            // EC50 (in the IC50 columns) within its 95% CI; Emax within 2.5 SE.
            let ec50 = f(&t, "ec50_nM");
            assert!(
                f(r, "ic50_ci_low_nM") <= ec50 && ec50 <= f(r, "ic50_ci_high_nM"),
                "{}: EC50 {ec50} outside {}-{}",
                t["compound"],
                r["ic50_ci_low_nM"],
                r["ic50_ci_high_nM"]
            );
            // Emax within 20%: every response is relative to the plate's mean basal, whose own
            // error (8 wells, 4% CV: about 1.4%, here 3.7% high) scales all Emax values
            // together and is not part of a curve's SE. Relative efficacy cancels it.
            let rel_err = f(r, "emax_pct") / f(&t, "emax_pct") - 1.0;
            assert!(
                rel_err.abs() < 0.2,
                "{}: Emax {} vs {}",
                t["compound"],
                r["emax_pct"],
                t["emax_pct"]
            );
            assert!(f(r, "emax_se") > 0.0);
            // Relative efficacy within 0.15 of truth; partial agonists called partial.
            let rel = f(&t, "relative_efficacy");
            assert!((f(r, "relative_efficacy") - rel).abs() < 0.15, "{}", t["compound"]);
            let want = if rel < 0.8 { "partial" } else { "full" };
            assert_eq!(r["efficacy"], want, "{}", t["compound"]);
            assert_eq!(r["flags"].contains("partial_agonist"), rel < 0.8);
        } else {
            let kb = f(&t, "kb_nM");
            assert!(
                f(r, "kb_ci_low_nM") <= kb && kb <= f(r, "kb_ci_high_nM"),
                "Kb {kb} outside {}-{}",
                r["kb_ci_low_nM"],
                r["kb_ci_high_nM"]
            );
            assert!(r["ki_nM"].is_empty(), "no Ki for a functional antagonist");
        }
    }
    let svg = first_curve_svg(&dir);
    assert!(svg.contains("% stimulation over basal"));
}

#[test]
fn uptake_gives_ki_from_substrate_and_km() {
    let (_tmp, dir) = run("uptake-example.yaml");
    let fits = read_csv(&dir.join("fits.csv"));
    for t in truth("uptake", "truth.csv") {
        let r = row(&fits, &t["target"], Some(&t["compound"]));
        if t["complete"] == "true" {
            let d = (f(r, "ki_nM") / f(&t, "ki_nM")).log10();
            assert!(
                d.abs() < 0.2,
                "{} at {}: Ki {} vs {}",
                t["compound"],
                t["target"],
                r["ki_nM"],
                t["ki_nM"]
            );
            // Ki = IC50 / (1 + [S]/Km) with the config's [S] and Km.
            let (s, km) = if t["target"] == "SERT" { (20.0, 250.0) } else { (20.0, 400.0) };
            assert!(
                (f(r, "ki_nM") - f(r, "ic50_nM") / (1.0 + s / km)).abs() < 1e-9 * f(r, "ki_nM")
            );
        } else if f(&t, "ic50_nM") > f(&t, "top_conc_nM") {
            assert_eq!(r["ic50_qualifier"], ">", "{} at {}", t["compound"], t["target"]);
        }
    }
    let svg = first_curve_svg(&dir);
    assert!(svg.contains("% specific uptake"));
}

/// Writes `text` as a config beside a copy of the saturation sample export; returns stderr of
/// `radbind validate`.
fn validate_err(text: &str) -> String {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::copy(
        root().join("sample_data/saturation/saturation-run1.txt"),
        tmp.path().join("plates.txt"),
    )
    .unwrap();
    let cfg = tmp.path().join("c.yaml");
    std::fs::write(&cfg, text).unwrap();
    let out = assert_cmd::Command::cargo_bin("radbind")
        .unwrap()
        .args(["validate", cfg.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    String::from_utf8_lossy(&out.stderr).to_string()
}

const SAT: &str = r#"experiment: x
inputs: [plates.txt]
targets:
  S: {assay: saturation, radioligand: "[3H]x"}
  C: {radioligand: "[3H]x", radioligand_nM: 1, kd_from: S}
layouts:
  sat: {wells: 96, series: {columns: 1-12, top: "6 nM", dilution: 1.6}}
  std: {wells: 96, total: column 1, nsb: column 12, series: {columns: 2-11, top: "10 µM", dilution: 3.162}}
plates:
  - {plate: 1, target: S, layout: sat, rows: {A-C: total, D-F: nsb}}
  - {plate: 3, target: C, layout: std, rows: {A-B: m}}
"#;

#[test]
fn assay_config_mistakes_name_the_key() {
    let e = validate_err(&SAT.replace("kd_from: S", "kd_from: Q"));
    assert!(e.contains("targets.C.kd_from") && e.contains("unknown target `Q`"), "{e}");
    let e = validate_err(&SAT.replace("A-C: total", "A-C: totl"));
    assert!(e.contains("`totl` on a saturation plate"), "{e}");
    let e = validate_err(&SAT.replace("kd_from: S", "kd_from: S, kd_nM: 1"));
    assert!(e.contains("give `kd_from` or `kd_nM`, not both"), "{e}");
    let e = validate_err(&SAT.replace("assay: saturation,", "assay: saturaton,"));
    assert!(e.contains("targets.S.assay") && e.contains("unknown assay `saturaton`"), "{e}");
    let e = validate_err(&SAT.replace(
        "radioligand: \"[3H]x\"}\n  C",
        "radioligand: \"[3H]x\", saturation: {depletion: correct}}\n  C",
    ));
    assert!(e.contains("depletion correction needs"), "{e}");
    let e = validate_err(&SAT.replace(
        "radioligand: \"[3H]x\"}\n  C",
        "radioligand: \"[3H]x\", specific_activity_Ci_per_mmol: 80, counting_efficiency: 40}\n  C",
    ));
    assert!(e.contains("counting_efficiency is CPM/DPM, at most 1"), "{e}");
    let e = validate_err(&format!("assay_date: 2026-02-30\n{SAT}"));
    assert!(e.contains("assay_date") && e.contains("not a real day"), "{e}");
}
