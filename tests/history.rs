//! Independent experiments and the assay history (`radbind simulate` with `series:`,
//! `radbind run`, `radbind summarize`) against the simulated truth: the pooled mean pKi and
//! its SEM, the coverage of its 95 % CI over many simulated series, the MSR against the
//! simulated between-run SD, and the bad run flagged. See: #19.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod common;

use radbind::commands::summarize::summarize_runs;
use radbind::report::summary::Summary;

/// One target, a reference and three compounds in duplicate rows, no figures (fast runs).
const ANALYSIS: &str = r#"experiment: history-test
inputs: [plates.txt]
targets:
  T: {radioligand: "[3H]x", radioligand_nM: 1.0, kd_nM: 1.0, reference: {compound: ref}}
layouts:
  std:
    wells: 96
    total: column 1
    nsb: column 12
    series: {columns: 2-11, top: "10 µM", dilution: 3.162}
plates:
  - {plate: 1, target: T, layout: std, rows: {A-B: ref, C-D: a, E-F: b, G-H: c}}
report: {figures: none}
"#;

/// The simulation config of a series: `n` experiments, between-experiment SD `sd`.
fn sim_config(seed: u64, n: usize, sd: f64, extra: &str) -> String {
    format!(
        "analysis: analysis.yaml\nseed: {seed}\noutput: sim\n\
         series: {{experiments: {n}, between_sd: {sd}, start_date: \"2026-01-05\"{extra}}}\n\
         counts: {{total_cpm: 5000, nsb_cpm: 400, counting_minutes: 1, pipetting_cv_pct: 3}}\n\
         truth:\n  T:\n    ref: {{ki_nM: 1.0}}\n    a: {{ki_nM: 5.0}}\n    b: {{ki_nM: 30.0}}\n    \
         c: {{ki_nM: 200.0}}\n"
    )
}

/// Simulates a series in `dir`, runs every experiment into `dir/out` and summarizes it.
fn series(dir: &Path, sim: &str) -> (Summary, PathBuf) {
    std::fs::write(dir.join("analysis.yaml"), ANALYSIS).expect("analysis config");
    std::fs::write(dir.join("sim.yaml"), sim).expect("sim config");
    let sim_dir = dir.join("sim");
    radbind::commands::write_simulation(&dir.join("sim.yaml"), Some(&sim_dir), 1)
        .expect("simulate");
    let mut configs: Vec<PathBuf> = std::fs::read_dir(&sim_dir)
        .expect("sim dir")
        .filter_map(|e| e.ok().map(|e| e.path().join("analysis.yaml")))
        .filter(|p| p.is_file())
        .collect();
    configs.sort();
    let out = dir.join("out");
    for c in &configs {
        let args = radbind::RunArgs {
            config: c.clone(),
            out: Some(out.clone()),
            threads: Some(1),
            progress: false,
            shard: None,
        };
        radbind::run(&args).expect("run");
    }
    (summarize_runs(&[out], 5).expect("summarize"), sim_dir)
}

/// truth_series.csv: per (experiment, compound) the true p, and the population p per compound.
fn truth(sim_dir: &Path) -> (HashMap<(String, String), f64>, HashMap<String, f64>) {
    let rows = common::read_csv(&sim_dir.join("truth_series.csv"));
    let mut per = HashMap::new();
    let mut pop = HashMap::new();
    for r in rows {
        let p: f64 = r["p_true"].parse().expect("p_true");
        per.insert((r["experiment_id"].clone(), r["compound"].clone()), p);
        pop.insert(r["compound"].clone(), r["p_population"].parse().expect("p_population"));
    }
    (per, pop)
}

/// Over 30 simulated series of three experiments (SD 0.15 between experiments), the pooled
/// mean pKi is unbiased, its SEM matches the spread of the means around the truth, and its
/// 95 % CI covers the population pKi about 95 % of the time (120 intervals: 0.88 to 0.995
/// holds with probability > 0.99 when the true coverage is 0.95).
#[test]
fn pooled_mean_sem_and_ci_coverage_over_many_series() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (mut covered, mut total) = (0usize, 0usize);
    let (mut err_sum, mut err_sq, mut sem_sq) = (0.0, 0.0, 0.0);
    for k in 0..30u64 {
        let dir = tmp.path().join(format!("s{k}"));
        std::fs::create_dir_all(&dir).expect("dir");
        let (s, sim_dir) = series(&dir, &sim_config(1000 + k, 3, 0.15, ""));
        let (per, pop) = truth(&sim_dir);
        for row in &s.rows {
            let p = row.pooled.expect("three exact experiments");
            assert_eq!(p.n, 3, "{} / {}", row.target, row.compound);
            // Each experiment's value is near its own truth (the fit's error, not the spread).
            for e in s.experiments.iter().filter(|e| e.compound == row.compound) {
                let t = per[&(e.experiment.clone(), e.compound.clone())];
                assert!(
                    (e.value - t).abs() < 0.3,
                    "{} {}: {} vs {t}",
                    e.experiment,
                    e.compound,
                    e.value
                );
            }
            let t = pop[&row.compound];
            let err = p.mean - t;
            err_sum += err;
            err_sq += err * err;
            sem_sq += p.sem * p.sem;
            total += 1;
            if p.ci.0 <= t && t <= p.ci.1 {
                covered += 1;
            }
        }
    }
    let n = total as f64;
    let bias = err_sum / n;
    let rmse = (err_sq / n).sqrt();
    let rms_sem = (sem_sq / n).sqrt();
    let coverage = covered as f64 / n;
    eprintln!(
        "series: {total} intervals, bias {bias:.4}, RMSE {rmse:.4}, RMS SEM {rms_sem:.4}, coverage {coverage:.3}"
    );
    assert_eq!(total, 120);
    assert!(bias.abs() < 0.04, "bias {bias}");
    // The SD of a mean of 3 is about sqrt(0.15² + fit noise²) / sqrt(3) ≈ 0.09.
    assert!((0.06..0.13).contains(&rmse), "RMSE {rmse}");
    assert!((0.7..1.4).contains(&(rms_sem / rmse)), "SEM {rms_sem} vs RMSE {rmse}");
    assert!((0.88..=0.995).contains(&coverage), "coverage {coverage}");
}

/// A 20-run history with SD 0.1 between runs and run 14 shifted by −0.8 log units: the
/// reference's MSR estimates 10^(2√2 s) with s about the simulated SD (plus the fit's own
/// error), run 14 is rejected on the Levey-Jennings chart and its values are not pooled, and
/// the pooled means are within their CI of the population truth.
#[test]
fn twenty_run_history_flags_the_bad_run_and_estimates_the_msr() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let sim = sim_config(77, 20, 0.1, ", bad_run: {experiment: 14, shift: -0.8}");
    let (s, sim_dir) = series(tmp.path(), &sim);
    assert_eq!(s.runs.len(), 20);
    let h = &s.references[0];
    assert_eq!((h.target.as_str(), h.compound.as_str()), ("T", "ref"));
    let rejected: Vec<&str> =
        h.points.iter().filter(|p| !p.4.accepted).map(|p| p.1.as_str()).collect();
    // The bad run, and at most one false alarm among 15 judged runs (this seed has one:
    // exp-18, 3.7 SD high by chance, 1_3s).
    assert!(rejected.contains(&"exp-14") && rejected.len() <= 2, "rejected runs {rejected:?}");
    let (mean, sd) = h.limits.expect("limits");
    let s_hat = h.msr.log10() / (2.0 * std::f64::consts::SQRT_2);
    assert!((sd - s_hat).abs() < 1e-12);
    // 18-19 accepted runs: the SD is within about ±35 % of sqrt(0.1² + fit noise²) ≈ 0.12.
    assert!((0.065..0.16).contains(&sd), "reference SD {sd}");
    let (_, pop) = truth(&sim_dir);
    assert!((mean - pop["ref"]).abs() < 0.1, "reference mean {mean}");
    for row in &s.rows {
        let p = row.pooled.expect("pooled");
        let n_rej = rejected.len();
        assert_eq!(
            (p.n, row.n_excluded),
            (20 - n_rej, n_rej),
            "{}: rejected runs excluded",
            row.compound
        );
        assert!(p.ci.0 - 0.02 <= pop[&row.compound] && pop[&row.compound] <= p.ci.1 + 0.02);
    }
    let bad = s.experiments.iter().filter(|e| e.experiment == "exp-14");
    assert!(bad.clone().count() == 4 && bad.clone().all(|e| e.excluded == "westgard_1_3s"));

    // The files: summary, experiments, references, the page and the charts.
    let dir = tmp.path().join("summary");
    radbind::report::summary_page::write_summary(&s, &dir).expect("write");
    let rows = common::read_csv(&dir.join("summary.csv"));
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0]["n_pooled"], (20 - rejected.len()).to_string());
    let refs = common::read_csv(&dir.join("references.csv"));
    let r14 = refs.iter().find(|r| r["experiment_id"] == "exp-14").expect("run 14");
    assert_eq!((r14["westgard"].as_str(), r14["accepted"].as_str()), ("1_3s", "false"));
    let html = std::fs::read_to_string(dir.join("summary.html")).expect("page");
    assert!(html.contains("<svg") && html.contains("1_3s") && html.contains("Plate QC trends"));
    assert!(dir.join("figures/001_levey_jennings_T.png").is_file());
}

/// A configured range flags the run itself: every curve of the target gets
/// `reference_out_of_range`, run.json says so, and summarize excludes it.
#[test]
fn a_configured_reference_range_flags_the_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let analysis = ANALYSIS
        .replace("reference: {compound: ref}", "reference: {compound: ref, pki: 9.0, limit: 0.3}");
    std::fs::write(tmp.path().join("analysis.yaml"), &analysis).expect("write");
    let sim = sim_config(5, 2, 0.0, ", bad_run: {experiment: 2, shift: -0.8}");
    std::fs::write(tmp.path().join("sim.yaml"), sim).expect("write");
    let sim_dir = tmp.path().join("sim");
    radbind::commands::write_simulation(&tmp.path().join("sim.yaml"), Some(&sim_dir), 1)
        .expect("simulate");
    let out = tmp.path().join("out");
    let mut dirs = Vec::new();
    for k in 1..=2 {
        let config = sim_dir.join(format!("exp-{k:02}/analysis.yaml"));
        let args = radbind::RunArgs {
            config,
            out: Some(out.clone()),
            threads: Some(1),
            progress: false,
            shard: None,
        };
        let summary = radbind::run(&args).expect("run");
        dirs.push(summary.run_dir);
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dirs[1].join("run.json")).expect("run.json"))
            .expect("json");
    assert_eq!(manifest["experiment_id"], "exp-02");
    assert_eq!(manifest["references"][0]["verdict"], "out_of_range");
    let fits = common::read_csv(&dirs[1].join("fits.csv"));
    assert!(fits.iter().all(|r| r["flags"].contains("reference_out_of_range")));
    let fits = common::read_csv(&dirs[0].join("fits.csv"));
    assert!(fits.iter().all(|r| !r["flags"].contains("reference_out_of_range")));
    let s = summarize_runs(&[out], 5).expect("summarize");
    assert!(s.rows.iter().all(|r| r.n_excluded == 1 && r.pooled.is_some_and(|p| p.n == 1)));
}
