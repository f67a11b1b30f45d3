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
    assert_eq!(c.curves_removed, vec![("SERT".to_string(), "citalopram".to_string())]);
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
