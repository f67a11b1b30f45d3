//! `radbind::compare` on two fixed run directories (`tests/data/compare/run_a`, `run_b`):
//! run B changes one Kd and the Z' threshold in the config, one input's hash, adds an
//! input, changes two Ki values, drops one curve, adds one (with a hostile name) and adds a
//! flag to one. The text output is compared with `tests/data/compare/expected.txt`;
//! `RADBIND_BLESS=1` rewrites that file.

use std::path::PathBuf;

use radbind::commands::compare::{DiffLine, compare};

fn data(p: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/compare").join(p)
}

#[test]
fn compare_text_snapshot() {
    let c = compare(&data("run_a"), &data("run_b")).expect("compare");
    let text = c.text();
    let expected_path = data("expected.txt");
    if std::env::var_os("RADBIND_BLESS").is_some() {
        std::fs::write(&expected_path, &text).expect("bless");
    }
    let expected = std::fs::read_to_string(&expected_path).expect("expected.txt");
    assert_eq!(text, expected, "compare text changed; rerun with RADBIND_BLESS=1 if intended");
}

#[test]
fn compare_finds_every_change() {
    let c = compare(&data("run_a"), &data("run_b")).expect("compare");
    assert!(
        c.config_diff.iter().any(|d| matches!(d, DiffLine::Added(l) if l.contains("kd_nM: 0.8")))
    );
    assert!(
        c.config_diff
            .iter()
            .any(|d| matches!(d, DiffLine::Removed(l) if l.contains("min_z_prime: 0.5")))
    );
    assert_eq!(c.inputs.len(), 2, "{:?}", c.inputs);
    assert_eq!(c.curves_removed.len(), 1);
    assert_eq!(c.curves_removed[0].to_string(), "SERT / citalopram");
    assert_eq!(c.curves_added.len(), 1);
    assert_eq!(c.ki_changes.len(), 2);
    // Largest first: clozapine 3-fold, then mianserin 1.5-fold.
    assert_eq!(c.ki_changes[0].compound, "clozapine");
    assert!((c.ki_changes[0].fold.expect("fold") - 3.0).abs() < 1e-9);
    assert!((c.ki_changes[0].delta_log.expect("dlog") - 3f64.log10()).abs() < 1e-9);
    assert_eq!(c.status_changes.len(), 1);
    assert_eq!(c.status_changes[0].flags_added, vec!["few_replicates".to_string()]);
    assert!(!c.is_identical());
}

#[test]
fn identical_runs_and_html() {
    let c = compare(&data("run_a"), &data("run_a")).expect("compare");
    assert!(c.is_identical());
    assert!(c.text().contains("No differences"));

    let c = compare(&data("run_a"), &data("run_b")).expect("compare");
    let html = c.html();
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(!html.contains("<script"), "user text is escaped");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    for bad in ["http://", "https://", "src=", "url("] {
        assert!(!html.contains(bad), "found {bad}");
    }
    assert_eq!(html, c.html(), "deterministic");
}

#[test]
fn missing_directory_is_an_error() {
    let e = compare(&data("run_a"), &data("nope")).expect_err("no run.json");
    assert!(format!("{e:#}").contains("run.json"));
}

/// Copies a fixture run into `out/runs/<time>` and points `out/latest` at it, as `radbind
/// run --out out` leaves it.
fn as_output_dir(run: &str, out: &std::path::Path, time: &str) {
    let dir = out.join("runs").join(time);
    std::fs::create_dir_all(&dir).expect("runs dir");
    for f in ["run.json", "fits.csv"] {
        std::fs::copy(data(run).join(f), dir.join(f)).expect("copy");
    }
    std::os::unix::fs::symlink(format!("runs/{time}"), out.join("latest")).expect("latest");
}

/// `radbind compare OUT_A OUT_B` takes each output directory's latest run and names each
/// run by its run time, not both `latest`; a run directory or `OUT/latest` still works.
#[test]
fn output_directories_resolve_to_their_latest_run() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (a, b) = (tmp.path().join("out_a"), tmp.path().join("out_b"));
    as_output_dir("run_a", &a, "2026-11-21T09-00-00Z");
    as_output_dir("run_b", &b, "2026-11-22T10-30-00Z");
    let c = compare(&a, &b).expect("compare output directories");
    assert_eq!(c.a.name, "2026-11-21T09-00-00Z");
    assert_eq!(c.b.name, "2026-11-22T10-30-00Z");
    assert!(c.text().starts_with("A: 2026-11-21T09-00-00Z ("), "{}", c.text());
    let latest = compare(&a.join("latest"), &b.join("latest")).expect("latest");
    assert_eq!(
        (latest.a.name.as_str(), latest.b.name.as_str()),
        (c.a.name.as_str(), c.b.name.as_str())
    );
    assert_eq!(latest.text(), c.text());
    // Two runs of the same name (two output roots, same second): named by the paths given.
    let d = tmp.path().join("out_d");
    as_output_dir("run_b", &d, "2026-11-21T09-00-00Z");
    let same = compare(&a, &d).expect("same name");
    assert_ne!(same.a.name, same.b.name);
    assert!(same.a.name.ends_with("out_a") && same.b.name.ends_with("out_d"), "{}", same.a.name);
    // An output directory without a finished run says so.
    let empty = tmp.path().join("out_e");
    std::fs::create_dir_all(empty.join("runs")).expect("runs");
    let e = compare(&a, &empty).expect_err("no latest");
    assert!(format!("{e:#}").contains("without a finished `latest` run"), "{e:#}");
}

/// Writes a copy of run A whose `fits.csv` is `edit`ed, into `dir`.
fn edited_copy(dir: &std::path::Path, edit: impl Fn(&str) -> String) {
    std::fs::create_dir_all(dir).expect("dir");
    std::fs::copy(data("run_a").join("run.json"), dir.join("run.json")).expect("copy");
    let fits = std::fs::read_to_string(data("run_a").join("fits.csv")).expect("fits");
    std::fs::write(dir.join("fits.csv"), edit(&fits)).expect("write");
}

/// A Ki 0.4 % different (a rerun's rounding) is not a change; 1.5 % is, and is listed.
#[test]
fn ki_within_the_tolerance_is_unchanged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // clozapine at 5-HT2A: Ki 4.907508623370488 nM in run A.
    let ki = "4.907508623370488";
    let near = tmp.path().join("near");
    edited_copy(&near, |f| f.replace(ki, &(4.907508623370488 * 1.004).to_string()));
    let c = compare(&data("run_a"), &near).expect("compare");
    assert!(c.ki_changes.is_empty() && c.is_identical(), "{}", c.text());
    assert!(c.text().contains("within 1 %"));
    let far = tmp.path().join("far");
    edited_copy(&far, |f| f.replace(ki, &(4.907508623370488 * 1.015).to_string()));
    let c = compare(&data("run_a"), &far).expect("compare");
    assert_eq!(c.ki_changes.len(), 1, "{}", c.text());
    assert!(c.text().contains("by more than 1 %"), "{}", c.text());
}

/// In a run of several independent experiments, a compound at a target is one curve per
/// experiment (`experiment_id`): experiments are compared with their own, never collide.
#[test]
fn curves_of_experiments_are_told_apart() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // Every curve twice: experiment 1 as in run A, experiment 2 with clozapine's Ki doubled.
    let two = |f: &str, factor: f64| -> String {
        let mut lines = f.lines();
        let head = format!("experiment_id,{}\n", lines.next().expect("header"));
        let rows: Vec<&str> = lines.collect();
        let mut out = head;
        for exp in ["1", "2"] {
            for r in &rows {
                let r = if exp == "2" {
                    r.replace("4.907508623370488", &(4.907508623370488 * factor).to_string())
                } else {
                    (*r).to_string()
                };
                out.push_str(&format!("{exp},{r}\n"));
            }
        }
        out
    };
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    edited_copy(&a, |f| two(f, 1.0));
    edited_copy(&b, |f| two(f, 2.0));
    let c = compare(&a, &b).expect("compare");
    assert!(c.curves_added.is_empty() && c.curves_removed.is_empty(), "{}", c.text());
    assert_eq!(c.a.curves, 16);
    assert_eq!(c.ki_changes.len(), 1, "{}", c.text());
    assert_eq!(c.ki_changes[0].experiment, "2");
    assert!(
        c.text().contains("5-HT2A / clozapine (experiment 2): 4.91 nM -> 9.82 nM"),
        "{}",
        c.text()
    );
}
