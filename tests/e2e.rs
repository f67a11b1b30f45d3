//! End to end: the `radbind` binary on the bundled example, checked against the simulator's
//! truth, for determinism, and for the messages a user sees on bad input.

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

fn run_example(out: &Path, threads: usize) -> PathBuf {
    let assert = radbind()
        .args([
            "run",
            "configs/example.yaml",
            "--quiet",
            "--threads",
            &threads.to_string(),
            "--out",
        ])
        .arg(out)
        .assert();
    let output = assert.get_output();
    assert_eq!(
        output.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    out.join("latest")
}

#[test]
fn example_run_recovers_true_ki_and_writes_every_output() {
    let tmp = tempfile::tempdir().unwrap();
    let run = run_example(tmp.path(), 2);

    for f in [
        "fits.csv",
        "fits.parquet",
        "wells.csv",
        "wells.parquet",
        "plates.csv",
        "report.html",
        "report.md",
        "run.json",
    ] {
        let p = run.join(f);
        assert!(p.is_file() && std::fs::metadata(&p).unwrap().len() > 0, "{f} missing or empty");
    }
    let header = std::fs::read_to_string(run.join("fits.csv")).unwrap();
    let header: Vec<&str> = header.lines().next().unwrap().split(',').collect();
    for col in [
        "experiment",
        "target",
        "compound",
        "plates",
        "radioligand",
        "radioligand_nM",
        "kd_nM",
        "model",
        "n_points",
        "top",
        "bottom",
        "hill_slope",
        "log_ic50",
        "log_ic50_se",
        "ic50_nM",
        "ic50_ci_low_nM",
        "ic50_ci_high_nM",
        "ki_nM",
        "ki_ci_low_nM",
        "ki_ci_high_nM",
        "pki",
        "r_squared",
        "sy_x",
        "status",
        "flags",
    ] {
        assert!(header.contains(&col), "fits.csv lacks column {col}: {header:?}");
    }

    let fits = read_csv(&run.join("fits.csv"));
    let truth = read_csv(&root().join("sample_data/mianserin-panel/truth.csv"));
    assert_eq!(fits.len(), truth.len(), "one curve per simulated compound and target");
    let mut complete = 0;
    for t in &truth {
        let f = fits
            .iter()
            .find(|f| f["target"] == t["target"] && f["compound"] == t["compound"])
            .unwrap_or_else(|| panic!("no fit for {} / {}", t["target"], t["compound"]));
        let true_ki: f64 = t["ki_nM"].parse().unwrap();
        if t["complete"] == "true" {
            complete += 1;
            assert_eq!(f["ic50_qualifier"], "", "{} / {} censored", t["target"], t["compound"]);
            let ki: f64 = f["ki_nM"].parse().unwrap();
            let err = (ki.log10() - true_ki.log10()).abs();
            assert!(
                err < 0.2,
                "{} / {}: Ki {ki} nM vs true {true_ki} nM ({err:.3} log units)",
                t["target"],
                t["compound"]
            );
            // The 95% CI is a real interval around the estimate.
            let lo: f64 = f["ki_ci_low_nM"].parse().unwrap();
            let hi: f64 = f["ki_ci_high_nM"].parse().unwrap();
            assert!(
                lo < ki && ki < hi,
                "{} / {}: CI [{lo}, {hi}] vs {ki}",
                t["target"],
                t["compound"]
            );
        } else {
            let ic50_true: f64 = t["ic50_nM"].parse().unwrap();
            let top: f64 = t["top_conc_nM"].parse().unwrap();
            if ic50_true > top {
                // Beyond the top concentration: reported as censored, never extrapolated.
                assert_eq!(
                    f["ic50_qualifier"], ">",
                    "{} / {} not censored",
                    t["target"], t["compound"]
                );
                // An inactive curve (a horizontal line fits as well) is censored too.
                assert!(
                    f["flags"].contains("ic50_above_range")
                        || f["flags"].contains("no_50pct_span")
                        || f["flags"].contains("inactive")
                );
                assert_eq!(f["log_ic50"], "", "censored log IC50 must stay empty");
                // The bound has its own column: ic50_nM and ki_nM hold measurements only.
                assert_eq!((f["ic50_nM"].as_str(), f["ki_nM"].as_str()), ("", ""), "{f:?}");
                let bound: f64 = f["ic50_bound_nM"].parse().expect("ic50_bound_nM");
                assert!(bound <= top * 1.0001, "bound {bound} beyond the top {top}");
                assert_eq!(f["ki_qualifier"], ">");
                assert!(f["ki_bound_nM"].parse::<f64>().expect("ki_bound_nM") < bound);
            }
        }
    }
    assert!(complete >= 12, "the example should have mostly complete curves ({complete})");

    // The weak 5-HT1A plate fails Z' 0.5 and its curves say so.
    let plates = read_csv(&run.join("plates.csv"));
    let p5 = plates.iter().find(|p| p["target"] == "5-HT1A").unwrap();
    assert!(p5["flags"].contains("z_prime_below_0.5"), "{p5:?}");
    assert!(
        fits.iter()
            .filter(|f| f["target"] == "5-HT1A")
            .all(|f| f["flags"].contains("plate_z_prime"))
    );

    // Every curve has an SVG and a PNG.
    let plots: Vec<_> =
        std::fs::read_dir(run.join("plots")).unwrap().map(|e| e.unwrap().path()).collect();
    let svgs = plots.iter().filter(|p| p.extension().is_some_and(|e| e == "svg")).count();
    let pngs = plots.iter().filter(|p| p.extension().is_some_and(|e| e == "png")).count();
    assert_eq!((svgs, pngs), (fits.len(), fits.len()));

    // The manifest carries every input's SHA-256.
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("run.json")).unwrap()).unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 2);
    assert!(inputs.iter().all(|i| i["sha256"].as_str().unwrap().len() == 64));
    assert_eq!(manifest["radbind_version"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn outputs_are_byte_identical_for_any_thread_count_and_rerun() {
    // Everything but run.json (which holds the run's times) must be identical for 1, 2 and 16
    // threads and across repeated runs.
    let runs: Vec<(usize, tempfile::TempDir)> =
        [1, 2, 16, 2].into_iter().map(|t| (t, tempfile::tempdir().unwrap())).collect();
    type Files = Vec<(String, Vec<u8>)>;
    let trees: Vec<(usize, Files)> = runs
        .iter()
        .map(|(t, dir)| {
            let run = run_example(dir.path(), *t);
            (*t, files(&run))
        })
        .collect();
    let (t0, first) = &trees[0];
    assert!(first.iter().any(|(n, _)| n == "fits.parquet"));
    for (t, other) in &trees[1..] {
        let names: Vec<&String> = other.iter().map(|(n, _)| n).collect();
        assert_eq!(names, first.iter().map(|(n, _)| n).collect::<Vec<_>>());
        for ((name, a), (_, b)) in first.iter().zip(other) {
            assert!(a == b, "{name} differs between --threads {t0} and --threads {t}");
        }
    }
}

/// Every file below a run directory except run.json, sorted by relative path.
fn files(run: &Path) -> Vec<(String, Vec<u8>)> {
    let run = std::fs::canonicalize(run).unwrap();
    let mut out = Vec::new();
    let mut stack = vec![run.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.file_name().is_some_and(|n| n != "run.json") {
                let rel = p.strip_prefix(&run).unwrap().display().to_string();
                out.push((rel, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

#[test]
fn reruns_keep_earlier_results() {
    let tmp = tempfile::tempdir().unwrap();
    run_example(tmp.path(), 2);
    run_example(tmp.path(), 2);
    let runs = std::fs::read_dir(tmp.path().join("runs")).unwrap().count();
    assert_eq!(runs, 2, "each run gets its own directory");
    let stray: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .filter(|n| n.starts_with(".incomplete"))
        .collect();
    assert!(stray.is_empty(), "staging left behind: {stray:?}");
}

#[test]
fn sample_data_is_what_the_simulation_config_makes() {
    let tmp = tempfile::tempdir().unwrap();
    radbind()
        .args(["simulate", "configs/simulate-example.yaml", "--out"])
        .arg(tmp.path())
        .assert()
        .success();
    for f in ["panel-run1.txt", "panel-run2.txt", "truth.csv"] {
        let made = std::fs::read(tmp.path().join(f)).unwrap();
        let committed = std::fs::read(root().join("sample_data/mianserin-panel").join(f)).unwrap();
        assert!(
            made == committed,
            "sample_data/mianserin-panel/{f} differs from a fresh simulation"
        );
    }
}

#[test]
fn table_and_curve_only_sample_data_are_what_their_simulation_configs_make() {
    for (config, dir, files) in [
        ("simulate-table.yaml", "table", &["competition.csv", "competition.xlsx", "truth.csv"][..]),
        (
            "simulate-curve-only.yaml",
            "curve-only",
            &["screen-run1.txt", "screen-run2.txt", "truth.csv"],
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        radbind()
            .args(["simulate", &format!("configs/{config}"), "--out"])
            .arg(tmp.path())
            .assert()
            .success();
        for f in files {
            let made = std::fs::read(tmp.path().join(f)).unwrap();
            let committed = std::fs::read(root().join("sample_data").join(dir).join(f)).unwrap();
            assert!(made == committed, "sample_data/{dir}/{f} differs from a fresh simulation");
        }
    }
}

#[test]
fn validate_shows_plate_maps_and_curves() {
    let out = radbind().args(["validate", "configs/example.yaml"]).assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.contains("P1: "), "{text}");
    assert!(text.contains("rotated 180°"), "{text}");
    assert!(text.contains("curves to fit: 24"), "{text}");
    assert!(text.contains("H1 / mianserin: 20 wells on P1"), "{text}");
    // Row A of a standard plate: total, the series (compound a, ranks 1-10), NSB.
    assert!(text.contains("  A     T  a1  a2  a3  a4  a5  a6  a7  a8  a9 a10   N"), "{text}");
    assert!(text.contains("no problems found"), "{text}");
}

#[test]
fn config_errors_name_file_line_and_key_and_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = std::fs::read_to_string(root().join("configs/example.yaml")).unwrap();
    let bad = cfg
        .replace("kd_nM: 0.4}", "kd_nm: 0.4}")
        .replace("../sample_data", &root().join("sample_data").display().to_string());
    let path = tmp.path().join("bad.yaml");
    std::fs::write(&path, &bad).unwrap();
    let out = radbind().arg("run").arg(&path).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("bad.yaml:11"), "{err}");
    assert!(err.contains("unknown field `kd_nm`"), "{err}");

    let bad = cfg
        .replace("target: SERT", "target: SERT2")
        .replace("../sample_data", &root().join("sample_data").display().to_string());
    std::fs::write(&path, &bad).unwrap();
    let out = radbind().arg("validate").arg(&path).assert().code(2);
    let err = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(err.contains("`plates[5].target`: unknown target `SERT2`"), "{err}");
    assert!(err.contains("bad.yaml:50"), "{err}");
}

#[test]
fn init_scaffolds_a_config_that_validates_from_a_real_microbeta_file() {
    // Needs ../shared/real-exports (real instrument files are not copied into the project).
    let Some(shared) = common::shared_dir() else { return };
    let export = shared.join("real-exports/microbeta/A16_244.txt");
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("scaffold.yaml");
    radbind().args(["init", "--from"]).arg(&export).arg("--output").arg(&cfg).assert().success();
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("16 plate(s), 4x6 (24 wells) (microbeta format)"), "{text}");
    assert!(text.contains("wells: 24"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("  - {plate: ")).count(), 16, "{text}");
    // Never overwrites.
    radbind().args(["init", "--output"]).arg(&cfg).assert().code(2);
    let out = radbind().arg("validate").arg(&cfg).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("16 plate(s) read"), "{stdout}");
    assert!(stdout.contains("P16: "), "{stdout}");
}

/// `radbind completions SHELL` prints a completion script that knows every subcommand, and
/// `radbind man` a roff man page with a section per subcommand.
#[test]
fn completions_and_man_page() {
    for shell in ["bash", "zsh", "fish"] {
        let out = radbind().args(["completions", shell]).assert().success();
        let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
        for sub in ["run", "summarize", "compare", "completions"] {
            assert!(text.contains(sub), "{shell}: {sub} missing");
        }
    }
    radbind().args(["completions", "tcsh"]).assert().code(2);
    let out = radbind().arg("man").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(text.starts_with(".ie") || text.contains(".TH radbind"), "{}", &text[..200]);
    assert!(text.contains(".TH radbind-summarize") && text.contains("baseline"), "man page");
}
