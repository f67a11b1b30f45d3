//! The `fit:` options end to end through `radbind simulate` / `radbind run`: the models
//! (`fit_ki`, `agonist`, `two_site` via `compare`), `bounds`, ROUT `outliers`, and the errors a
//! bad `fit:` section gives.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::Path;

use assert_cmd::Command;
use common::{radbind_ok as radbind, read_csv};

mod common;

fn by_compound(rows: Vec<HashMap<String, String>>) -> HashMap<String, HashMap<String, String>> {
    rows.into_iter().map(|r| (r["compound"].clone(), r)).collect()
}

fn num(row: &HashMap<String, String>, col: &str) -> f64 {
    row[col].parse().unwrap_or_else(|_| panic!("{col} is not a number: {row:?}"))
}

const ANALYSIS: &str = r#"experiment: fit-options
output: out
inputs: [plates/plates.txt]
targets:
  T: {radioligand: "[3H]x", radioligand_nM: 1, kd_nM: 0.5}
layouts:
  std:
    wells: 96
    total: column 1
    nsb: column 12
    series: {columns: 2-11, top: "10 µM", dilution: 3.162}
plates:
  - {plate: 1, target: T, layout: std, rows: {A-B: a, C-D: b, E-F: c, G-H: d}}
"#;

/// Compound `c` rises (Hill slope +1): an agonist-like curve.
const TRUTH: &str = "  T: {a: {ki_nM: 1}, b: {ki_nM: 10}, c: {ic50_nM: 30, hill_slope: 1}, \
                     d: {ki_nM: 3}}\n";

/// Simulates the plate of [`ANALYSIS`] into `dir/plates`.
fn simulate(dir: &Path) {
    std::fs::write(dir.join("analysis.yaml"), ANALYSIS).unwrap();
    let sim = format!(
        "analysis: analysis.yaml\nseed: 11\noutput: plates\n\
         counts: {{total_cpm: 4000, nsb_cpm: 300, counting_minutes: 1, pipetting_cv_pct: 3}}\n\
         truth:\n{TRUTH}"
    );
    std::fs::write(dir.join("sim.yaml"), sim).unwrap();
    radbind(dir, &["simulate", "sim.yaml"]);
}

/// Runs the analysis with a `fit:` section into `dir/<out>`; returns the fits by compound.
fn run_with(dir: &Path, fit: &str, out: &str) -> HashMap<String, HashMap<String, String>> {
    let config = format!("{ANALYSIS}fit: {fit}\n");
    let name = format!("{out}.yaml");
    std::fs::write(dir.join(&name), config).unwrap();
    // Flagged curves are results: exit 0 or 1 both complete.
    let status = Command::cargo_bin("radbind")
        .unwrap()
        .current_dir(dir)
        .args(["run", &name, "--quiet", "--out", out])
        .output()
        .unwrap();
    assert!(matches!(status.status.code(), Some(0 | 1)), "{status:?}");
    by_compound(read_csv(&dir.join(out).join("latest/fits.csv")))
}

#[test]
fn fit_ki_gives_the_ki_of_one_site_and_cheng_prusoff() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path());
    let one = run_with(dir.path(), "{model: one_site}", "one");
    let ki = run_with(dir.path(), "{model: fit_ki}", "ki");
    for c in ["a", "b", "d"] {
        let (a, b) = (num(&one[c], "ki_nM"), num(&ki[c], "ki_nM"));
        assert!(((a - b) / a).abs() < 1e-6, "{c}: one_site Ki {a}, fit_ki Ki {b}");
        let ic50 = num(&ki[c], "ic50_nM");
        assert!((ic50 / (1.0 + 1.0 / 0.5) - b).abs() < 1e-9 * b, "IC50 = Ki (1 + [L]/Kd)");
        let (lo, hi) = (num(&ki[c], "ki_ci_low_nM"), num(&ki[c], "ki_ci_high_nM"));
        assert!(lo < b && b < hi);
        assert_eq!(ki[c]["model"], "fit_ki");
    }
    // Truth Ki 1, 10, 3 nM.
    for (c, truth) in [("a", 1.0f64), ("b", 10.0), ("d", 3.0)] {
        assert!((num(&ki[c], "ki_nM").log10() - truth.log10()).abs() < 0.15, "{c}");
    }
}

#[test]
fn agonist_gives_the_ec50_of_a_rising_curve() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path());
    let f = run_with(dir.path(), "{model: agonist}", "ago");
    let c = &f["c"];
    assert_eq!(c["model"], "agonist");
    assert!(num(c, "hill_slope") > 0.0, "{c:?}");
    let ec50 = num(c, "ic50_nM");
    assert!((ec50.log10() - 30f64.log10()).abs() < 0.15, "EC50 {ec50} vs truth 30 nM");
    assert!(c["ki_nM"].is_empty() && c["pki"].is_empty(), "no Ki for an agonist: {c:?}");
    assert_eq!(c["status"], "ok", "{c:?}");
    // A falling curve fitted as an agonist is flagged.
    assert!(f["a"]["flags"].contains("not_rising"), "{:?}", f["a"]);
}

#[test]
fn bounds_hold() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path());
    let f = run_with(
        dir.path(),
        "{bounds: {hill_slope: [-0.9, -0.5], bottom: [-2, 2], top: [95, 105]}}",
        "bounded",
    );
    for c in ["a", "b", "d"] {
        let r = &f[c];
        let (h, b, t) = (num(r, "hill_slope"), num(r, "bottom"), num(r, "top"));
        assert!((-0.9 - 1e-9..=-0.5 + 1e-9).contains(&h), "{c}: hill {h}");
        assert!((-2.0 - 1e-9..=2.0 + 1e-9).contains(&b), "{c}: bottom {b}");
        assert!((95.0 - 1e-9..=105.0 + 1e-9).contains(&t), "{c}: top {t}");
        assert!(!r["status"].starts_with("not_converged"), "{c}: {r:?}");
    }
    // The simulated slope is -1: the bound at -0.9 is active and said so.
    assert!(f["a"]["flags"].contains("at_bound_hill_slope"), "{:?}", f["a"]);
}

#[test]
fn rout_excludes_a_planted_outlier_and_lists_it() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path());
    // Plant an outlier: C06 (compound b at 100 nM, about 25% specific binding) set to the
    // total-binding level.
    let path = dir.path().join("plates/plates.txt");
    let text = std::fs::read_to_string(&path).unwrap();
    let mut planted = String::new();
    let mut hits = 0;
    for line in text.lines() {
        let cells: Vec<&str> = line.split('\t').collect();
        // The COLUMNS list (`\tUnk_n\tC06\tcpm...`) and the CCPM1 matrix (`C\tcol1\t...`).
        let at = if cells.len() > 3 && cells[2] == "C06" {
            Some(3)
        } else if cells.len() > 12 && cells[0] == "C" {
            Some(6)
        } else {
            None
        };
        if let Some(k) = at {
            let mut c = cells.clone();
            c[k] = "4100";
            writeln!(planted, "{}", c.join("\t")).unwrap();
            hits += 1;
        } else {
            writeln!(planted, "{line}").unwrap();
        }
    }
    assert_eq!(hits, 2, "C06 in the list and the matrix");
    std::fs::write(&path, planted).unwrap();

    let plain = run_with(dir.path(), "{}", "plain");
    let f = run_with(dir.path(), "{outliers: {method: rout, q_pct: 1}}", "rout");
    let b = &f["b"];
    let n_out = num(b, "n_outliers");
    assert!((1.0..=2.0).contains(&n_out), "the planted point (and at most one more): {b:?}");
    assert_eq!(num(b, "n_points") + n_out, num(&plain["b"], "n_points"));
    // The refit without it is closer to the truth (Ki 10 nM).
    let err = |r: &HashMap<String, String>| (num(r, "ki_nM").log10() - 1.0).abs();
    assert!(err(b) <= err(&plain["b"]) + 1e-12, "{b:?}");
    assert!(err(b) < 0.15, "{b:?}");
    let wells = read_csv(&dir.path().join("rout/latest/wells.csv"));
    let c06 = wells.iter().find(|w| w["well"] == "C06").unwrap();
    assert_eq!(c06["excluded"], "true", "{c06:?}");
    assert_eq!(c06["excluded_reason"], "ROUT outlier (Q = 1%)");
    let listed: Vec<_> =
        wells.iter().filter(|w| w["excluded_reason"].starts_with("ROUT")).collect();
    let total: f64 = f.values().map(|r| num(r, "n_outliers")).sum();
    assert_eq!(listed.len() as f64, total, "every ROUT exclusion is listed in wells.csv");
}

/// Deterministic noise in [-1, 1) (a 64-bit LCG), so the test data do not depend on a crate.
fn noise(state: &mut u64) -> f64 {
    *state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
    ((*state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
}

/// True two-site parameters of [`two_site_plate`]: Ki high, Ki low (nM), fraction high.
const TWO_SITES: (f64, f64, f64) = (0.3, 300.0, 0.5);

/// Long-CSV plate in `dir/plates`: total column 1, NSB column 12, one compound in all eight rows
/// with two sites ([`TWO_SITES`]: F = 0.5, Ki 0.3 nM and 300 nM; [L] = 1 nM, Kd = 0.5 nM ->
/// IC50 0.9 and 900 nM).
fn two_site_plate(dir: &Path) {
    std::fs::create_dir_all(dir.join("plates")).unwrap();
    let (total, nsb, factor) = (4000.0, 300.0, 3.0);
    let (ki_hi, ki_lo, frac) = TWO_SITES;
    let mut csv = String::from("plate,well,cpm\n");
    let mut state = 7u64;
    for (r, row) in "ABCDEFGH".chars().enumerate() {
        for col in 1..=12u32 {
            let cpm = match col {
                1 => total,
                12 => nsb,
                _ => {
                    let conc = 10_000.0 / 3.162f64.powi(col as i32 - 2);
                    let s = |ki: f64| 1.0 / (1.0 + conc / (ki * factor));
                    nsb + (total - nsb) * (frac * s(ki_hi) + (1.0 - frac) * s(ki_lo))
                }
            };
            let _ = r;
            writeln!(csv, "1,{row}{col:02},{:.0}", cpm + 40.0 * noise(&mut state)).unwrap();
        }
    }
    std::fs::write(dir.join("plates/plates.txt"), csv).unwrap();
}

#[test]
fn two_site_compound_is_preferred_and_both_ki_reported() {
    let dir = tempfile::tempdir().unwrap();
    two_site_plate(dir.path());
    let (ki_hi, ki_lo, frac) = TWO_SITES;
    let analysis = ANALYSIS
        .replace("rows: {A-B: a, C-D: b, E-F: c, G-H: d}", "rows: {A-H: twosite}")
        + "fit: {compare: {models: [slope, one_vs_two_sites], method: f_test, alpha: 0.05}}\n";
    std::fs::write(dir.path().join("analysis.yaml"), analysis).unwrap();
    radbind(dir.path(), &["run", "analysis.yaml", "--quiet"]);
    let f = by_compound(read_csv(&dir.path().join("out/latest/fits.csv")));
    let r = &f["twosite"];
    assert_eq!(r["compare"], "one_vs_two_sites", "{r:?}");
    assert_eq!(r["preferred_model"], "two_site", "{r:?}");
    assert!(r["model"].starts_with("two_site"), "{r:?}");
    assert!(num(r, "compare_p") < 0.05 && num(r, "compare_statistic") > 1.0, "{r:?}");
    let (hi, lo) = (num(r, "ki_hi_nM"), num(r, "ki_lo_nM"));
    assert!((hi.log10() - ki_hi.log10()).abs() < 0.3, "high-affinity Ki {hi} vs {ki_hi}");
    assert!((lo.log10() - ki_lo.log10()).abs() < 0.3, "low-affinity Ki {lo} vs {ki_lo}");
    assert!((num(r, "fraction_hi") - frac).abs() < 0.15, "{r:?}");
    // The main Ki column holds the high-affinity site.
    assert!((num(r, "ki_nM") - hi).abs() < 1e-9 * hi);
}

#[test]
fn bad_fit_options_name_their_key() {
    let dir = tempfile::tempdir().unwrap();
    for (fit, key) in [
        ("{model: three_site}", "fit.model"),
        ("{bounds: {top: [110, 90]}}", "fit.bounds.top"),
        ("{outliers: {method: grubbs}}", "fit.outliers.method"),
        ("{outliers: {q_pct: 50}}", "fit.outliers.q_pct"),
        ("{compare: {models: [three_sites]}}", "fit.compare.models[0]"),
        ("{compare: {models: [slope], method: bic}}", "fit.compare.method"),
        ("{model: agonist, compare: {models: [slope]}}", "fit.compare"),
        ("{weighting: 1/x}", "fit.weighting"),
        ("{ci: bootstrap}", "fit.ci"),
        ("{model: two_site, bounds: {top: [90, 110]}}", "fit.bounds.top"),
        ("{share: [log_ic50]}", "fit.share[0]"),
        ("{share: [top], weighting: poisson}", "fit.share"),
        ("{counting_minutes: 0}", "fit.counting_minutes"),
    ] {
        std::fs::write(dir.path().join("a.yaml"), format!("{ANALYSIS}fit: {fit}\n")).unwrap();
        let out = Command::cargo_bin("radbind")
            .unwrap()
            .current_dir(dir.path())
            .args(["validate", "a.yaml"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{fit}: {err}");
        assert!(err.contains(key), "{fit}: expected {key} in {err}");
    }
}

#[test]
fn weighting_profile_ci_and_shared_plateaus() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path());
    let truth = [("a", 1.0f64), ("b", 10.0), ("d", 3.0)];
    // Poisson weights from the counts: the Ki stay close to the truth.
    // (1/y2 on % specific binding weights the points near 0% enormously: not asserted.)
    for w in ["poisson", "1/y"] {
        let f = run_with(dir.path(), &format!("{{weighting: {w}, counting_minutes: 1}}"), "w");
        for (c, ki) in truth {
            let got = num(&f[c], "ki_nM");
            assert!((got.log10() - ki.log10()).abs() < 0.2, "{w} {c}: Ki {got} vs {ki}");
        }
    }
    // Profile CI: brackets the estimate, and the IC50 CI is the profile interval.
    let f = run_with(dir.path(), "{ci: profile}", "profile");
    for (c, _) in truth {
        let r = &f[c];
        let (lo, hi) = (num(r, "log_ic50_profile_low"), num(r, "log_ic50_profile_high"));
        let est = num(r, "log_ic50");
        assert!(lo < est && est < hi, "{c}: {lo} {est} {hi}");
        let ic_lo = num(r, "ic50_ci_low_nM");
        assert!((ic_lo.log10() - 9.0 - lo).abs() < 1e-9, "{c}: {ic_lo} vs 10^{lo} M");
    }
    // Shared Top and Bottom: one value for every curve of the target.
    let f = run_with(dir.path(), "{share: [top, bottom]}", "shared");
    let tops: Vec<String> = f.values().map(|r| r["top"].clone()).collect();
    assert!(tops.windows(2).all(|w| w[0] == w[1]), "{tops:?}");
    for (c, ki) in truth {
        assert!(f[c]["model"].contains("shared top+bottom"), "{:?}", f[c]);
        let got = num(&f[c], "ki_nM");
        assert!((got.log10() - ki.log10()).abs() < 0.15, "shared {c}: Ki {got} vs {ki}");
    }
}

/// Weighting and the profile CI work for every model: `fit_ki` is one site reparameterised, so
/// its Ki and profile Ki CI equal one site's under the same weights; bounds combine with
/// weights; a weighted two-site fit gets a profile interval of its high-affinity LogIC50.
#[test]
fn weighting_and_profile_ci_for_fit_ki_two_site_and_bounds() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path());
    let opts = "weighting: poisson, counting_minutes: 1, ci: profile";
    let one = run_with(dir.path(), &format!("{{model: one_site, {opts}}}"), "one");
    let ki = run_with(dir.path(), &format!("{{model: fit_ki, {opts}}}"), "ki");
    for c in ["a", "b", "d"] {
        for col in ["ki_nM", "ki_ci_low_nM", "ki_ci_high_nM"] {
            let (a, b) = (num(&one[c], col), num(&ki[c], col));
            assert!(((a - b) / a).abs() < 1e-5, "{c} {col}: one_site {a}, fit_ki {b}");
        }
        // The CI is the profile interval (in LogIC50 units, shifted by log10(1 + [L]/Kd)).
        let lo = num(&ki[c], "log_ic50_profile_low");
        let ki_lo = num(&ki[c], "ki_ci_low_nM");
        assert!((lo - (ki_lo * 3.0).log10() + 9.0).abs() < 1e-9, "{c}: {lo} vs {ki_lo}");
    }
    // Weights with bounds: the bound holds and is reported.
    let f = run_with(dir.path(), "{weighting: 1/y, bounds: {hill_slope: [-0.9, -0.5]}}", "wb");
    for c in ["a", "b", "d"] {
        let h = num(&f[c], "hill_slope");
        assert!((-0.9 - 1e-9..=-0.5 + 1e-9).contains(&h), "{c}: hill {h}");
    }
    assert!(f["a"]["flags"].contains("at_bound_hill_slope"), "{:?}", f["a"]);

    let dir = tempfile::tempdir().unwrap();
    two_site_plate(dir.path());
    let analysis = ANALYSIS
        .replace("rows: {A-B: a, C-D: b, E-F: c, G-H: d}", "rows: {A-H: twosite}")
        + "fit: {model: two_site, weighting: poisson, ci: profile}\n";
    std::fs::write(dir.path().join("analysis.yaml"), analysis).unwrap();
    radbind(dir.path(), &["run", "analysis.yaml", "--quiet"]);
    let f = by_compound(read_csv(&dir.path().join("out/latest/fits.csv")));
    let r = &f["twosite"];
    let (ki_hi, ki_lo, _) = TWO_SITES;
    let (hi, lo) = (num(r, "ki_hi_nM"), num(r, "ki_lo_nM"));
    assert!((hi.log10() - ki_hi.log10()).abs() < 0.3, "high-affinity Ki {hi} vs {ki_hi}");
    assert!((lo.log10() - ki_lo.log10()).abs() < 0.3, "low-affinity Ki {lo} vs {ki_lo}");
    let (plo, phi) = (num(r, "log_ic50_profile_low"), num(r, "log_ic50_profile_high"));
    let est = num(r, "log_ic50");
    assert!(plo < est && est < phi && phi - plo < 1.5, "{plo} {est} {phi}");

    // A weighted comparison (both models with the one-site fit's weights) still finds the
    // two sites.
    let analysis = ANALYSIS
        .replace("rows: {A-B: a, C-D: b, E-F: c, G-H: d}", "rows: {A-H: twosite}")
        + "fit: {weighting: poisson, compare: {models: [one_vs_two_sites], method: f_test}}\n";
    std::fs::write(dir.path().join("cmp.yaml"), analysis).unwrap();
    radbind(dir.path(), &["run", "cmp.yaml", "--quiet", "--out", "cmp"]);
    let f = by_compound(read_csv(&dir.path().join("cmp/latest/fits.csv")));
    let r = &f["twosite"];
    assert_eq!(r["preferred_model"], "two_site", "{r:?}");
    assert!(num(r, "compare_p") < 0.05, "{r:?}");
    let hi = num(r, "ki_hi_nM");
    assert!((hi.log10() - ki_hi.log10()).abs() < 0.3, "high-affinity Ki {hi} vs {ki_hi}");
}
