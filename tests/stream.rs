//! Runs in batches (`radbind::stream`): the sample configs cut into batches of one plate
//! (`RADBIND_BATCH_PLATES=1`) write the same tables, byte for byte, as in one pass, with and
//! without figures; the Parquet tables hold the same values.

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample config `name` with absolute input paths and `report: {figures: <figures>}`.
fn config(dir: &Path, name: &str, figures: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs").join(name)).unwrap();
    let sample = root().join("sample_data");
    let text = text.replace("../sample_data", sample.to_str().unwrap());
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\nreport: {{figures: {figures}}}\n")).unwrap();
    path
}

fn files_in(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| d.count())
}

/// Runs `cfg` into `out` (batches of `batch` plates, or the default) and returns the run.
fn run(cfg: &Path, out: &Path, batch: Option<usize>) -> PathBuf {
    run_spilled(cfg, out, batch, None)
}

/// [`run`], the curve rows spilled after `spill` curves (`RADBIND_SPILL_CURVES`).
fn run_spilled(cfg: &Path, out: &Path, batch: Option<usize>, spill: Option<usize>) -> PathBuf {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_radbind"));
    cmd.args(["run", cfg.to_str().unwrap(), "--quiet", "--threads", "2", "--out"]).arg(out);
    match batch {
        Some(n) => cmd.env("RADBIND_BATCH_PLATES", n.to_string()),
        None => cmd.env_remove("RADBIND_BATCH_PLATES"),
    };
    match spill {
        Some(n) => cmd.env("RADBIND_SPILL_CURVES", n.to_string()),
        None => cmd.env_remove("RADBIND_SPILL_CURVES"),
    };
    let o = cmd.output().unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    out.join("latest")
}

fn read_parquet(p: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap()).finish().unwrap()
}

fn compare(a: &Path, b: &Path, files: &[&str]) {
    for f in files {
        let (pa, pb) = (a.join(f), b.join(f));
        assert_eq!(pa.exists(), pb.exists(), "{f}");
        if !pa.exists() {
            continue;
        }
        if f.ends_with(".parquet") {
            assert!(read_parquet(&pa).equals_missing(&read_parquet(&pb)), "{f} differs");
        } else {
            let (x, y) = (std::fs::read(&pa).unwrap(), std::fs::read(&pb).unwrap());
            assert!(x == y, "{f} differs between one pass and batches");
        }
    }
}

const TABLES: &[&str] = &[
    "fits.csv",
    "wells.csv",
    "plates.csv",
    "selectivity.csv",
    "primary.csv",
    "hits.csv",
    "followup.csv",
    "fits.parquet",
    "wells.parquet",
    "plates.parquet",
];

#[test]
fn batches_of_one_plate_write_the_tables_of_one_pass() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["example.yaml", "primary-screen.yaml", "gtpgs-example.yaml", "uptake-example.yaml"]
    {
        let cfg = config(tmp.path(), name, "none");
        let one = run(&cfg, &tmp.path().join(format!("{name}-one")), None);
        let cut = run(&cfg, &tmp.path().join(format!("{name}-cut")), Some(1));
        let manifest = std::fs::read_to_string(cut.join("run.json")).unwrap();
        assert!(manifest.contains("\"normalise\""), "{name}: stage times recorded");
        compare(&one, &cut, TABLES);
    }
}

/// Every sample read and laid out a plate at a time (`stream::files`: its entries name plates
/// by number) and its curve rows spilled after every batch and merged at the end: the tables
/// of one pass, and a report that says what it leaves to them.
#[test]
fn spilled_curve_rows_merge_into_the_tables_of_one_pass() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["example.yaml", "primary-screen.yaml", "gtpgs-example.yaml", "uptake-example.yaml"]
    {
        let cfg = config(tmp.path(), name, "none");
        let one = run(&cfg, &tmp.path().join(format!("{name}-one")), None);
        let cut = run_spilled(&cfg, &tmp.path().join(format!("{name}-cut")), Some(1), Some(1));
        compare(&one, &cut, TABLES);
        assert!(!cut.join(".spill-fits").exists(), "{name}: spill files removed");
        let report = std::fs::read_to_string(cut.join("report.md")).unwrap();
        let one_report = std::fs::read_to_string(one.join("report.md")).unwrap();
        assert!(!one_report.contains("A large run"), "{name}");
        // [35S]GTPγS curves depend on the reference agonist: never spilled; a primary screen
        // has no curves to spill.
        let spilled = !matches!(name, "gtpgs-example.yaml" | "primary-screen.yaml");
        assert_eq!(report.contains("A large run"), spilled, "{name}: {report}");
        let manifest = std::fs::read_to_string(cut.join("run.json")).unwrap();
        let one_manifest = std::fs::read_to_string(one.join("run.json")).unwrap();
        let counts =
            |m: &str| m[m.find("\"counts\"").unwrap()..].split('}').next().unwrap().to_string();
        assert_eq!(counts(&manifest), counts(&one_manifest), "{name}: run.json counts");
    }
}

#[test]
fn batches_with_figures_write_the_same_report() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "example.yaml", "svg");
    let one = run(&cfg, &tmp.path().join("one"), None);
    let cut = run(&cfg, &tmp.path().join("cut"), Some(2));
    let mut files: Vec<&str> = TABLES.to_vec();
    files.extend(["report.md", "report.html", "prism/H1.pzfx", "plots/001_H1_mianserin.svg"]);
    compare(&one, &cut, &files);
}

#[test]
fn curve_figures_flagged_draws_the_flagged_curves_only() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "example.yaml", "svg, curve_figures: flagged");
    for batch in [None, Some(2)] {
        let out = tmp.path().join(format!("out-{batch:?}"));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_radbind"));
        cmd.args(["run", cfg.to_str().unwrap(), "--threads", "2", "--out"]).arg(&out);
        if let Some(n) = batch {
            cmd.env("RADBIND_BATCH_PLATES", n.to_string());
        }
        let o = cmd.output().unwrap();
        let said = String::from_utf8_lossy(&o.stdout);
        assert!(said.contains("curve figures: flagged and failed curves only"), "{said}");
        let run = out.join("latest");
        let fits = CsvReadOptions::default()
            .try_into_reader_with_file_path(Some(run.join("fits.csv")))
            .unwrap()
            .finish()
            .unwrap();
        let status = fits.column("status").unwrap().str().unwrap().clone();
        let flags = fits.column("flags").unwrap().str().unwrap().clone();
        let drawn = status
            .iter()
            .zip(flags.iter())
            .filter(|(s, f)| s != &Some("ok") || f.is_some_and(|f| !f.is_empty()))
            .count();
        assert!(drawn < fits.height(), "the sample has unflagged curves");
        assert_eq!(files_in(&run.join("plots")), drawn, "one SVG per flagged curve");
        assert_eq!(files_in(&run.join("residuals")), drawn);
    }
}

/// A campaign's config as one `plates:` entry per plate (`entries`), or as one entry whose
/// plates take their compounds from a `plate,compound` list (written beside it). Plates
/// `k` and `k + 6` hold the same four compounds (replicate plates six apart), and plate 12
/// leaves its last block empty (`-`).
fn listed_campaign(dir: &Path, entries: bool) -> PathBuf {
    use std::fmt::Write as _;
    let names = |n: u32| -> Vec<String> {
        let k = (n - 1) % 6 + 1;
        let mut v: Vec<String> = "abcd".chars().map(|c| format!("cpd-{k}{c}")).collect();
        if n == 12 {
            v[3] = "-".to_string();
        }
        v
    };
    let mut s = String::from(
        "experiment: listed\noutput: out\ninputs: [plates/*.txt]\ntargets:\n\
         \x20 T1: {radioligand: \"[3H]ligand\", radioligand_nM: 1.0, kd_nM: 1.0}\n\
         layouts:\n  std96:\n    wells: 96\n    total: column 1\n    nsb: column 12\n\
         \x20   series: {columns: 2-11, top: \"10 µM\", dilution: 3.162}\n\
         report: {figures: none}\nplates:\n",
    );
    if entries {
        for n in 1..=12 {
            let rows: Vec<String> = ["A-B", "C-D", "E-F", "G-H"]
                .iter()
                .zip(names(n))
                .filter(|(_, c)| c != "-")
                .map(|(r, c)| format!("{r}: {c}"))
                .collect();
            let _ = writeln!(
                s,
                "  - {{plate: {n}, target: T1, layout: std96, rows: {{{}}}}}",
                rows.join(", ")
            );
        }
    } else {
        let mut list = String::from("plate,compound\n");
        for n in 1..=12 {
            for c in names(n) {
                let _ = writeln!(list, "{n},{c}");
            }
        }
        std::fs::write(dir.join("compounds.csv"), list).unwrap();
        s.push_str(
            "  - {plate: \"1-12\", target: T1, layout: std96, rows: [A-B, C-D, E-F, G-H], \
             compound_list: compounds.csv}\n",
        );
    }
    let path = dir.join(if entries { "entries.yaml" } else { "listed.yaml" });
    std::fs::write(&path, s).unwrap();
    path
}

/// One entry with a `plate,compound` list is the same campaign as one entry per plate: the
/// same tables, in one pass and in batches of one plate (replicate plates six apart stay in
/// one batch: their curve pools both plates' wells), and `radbind simulate` makes its plates.
#[test]
fn a_compound_list_entry_is_one_entry_per_plate() {
    let tmp = tempfile::tempdir().unwrap();
    let listed = listed_campaign(tmp.path(), false);
    let entries = listed_campaign(tmp.path(), true);
    let mut sim = String::from(
        "analysis: listed.yaml\nseed: 5\noutput: plates\nfiles:\n\
         \x20 - {name: a.txt, plates: 1-5}\n  - {name: b.txt, plates: 6-12}\n\
         counts: {total_cpm: 4000, nsb_cpm: 400, counting_minutes: 1, pipetting_cv_pct: 4}\n\
         truth:\n  T1:\n",
    );
    for k in 1..=6 {
        for (j, c) in "abcd".chars().enumerate() {
            sim.push_str(&format!(
                "    cpd-{k}{c}: {{ki_nM: {}}}\n",
                0.5 * f64::from(k * 4 + j as u32)
            ));
        }
    }
    std::fs::write(tmp.path().join("sim.yaml"), sim).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_radbind"))
        .args(["simulate", "sim.yaml"])
        .current_dir(tmp.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let by_entry = run(&entries, &tmp.path().join("by-entry"), None);
    let one = run(&listed, &tmp.path().join("one"), None);
    let cut = run(&listed, &tmp.path().join("cut"), Some(1));
    compare(&by_entry, &one, TABLES);
    compare(&by_entry, &cut, TABLES);
    let fits = std::fs::read_to_string(one.join("fits.csv")).unwrap();
    // 6 compound sets × 4, less the empty block of plate 12 (its compound has plate 6).
    assert_eq!(fits.lines().count() - 1, 24, "{fits}");
    let header: Vec<&str> = fits.lines().next().unwrap().split(',').collect();
    let plates_col = header.iter().position(|h| *h == "plates").expect("plates column");
    let row = fits.lines().find(|l| l.contains("cpd-1a")).unwrap();
    assert!(
        row.split(',').nth(plates_col).unwrap().contains('7'),
        "replicate plates pooled: {row}"
    );
}
