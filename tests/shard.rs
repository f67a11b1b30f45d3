//! Shards and merge: `radbind run --shard i/n` for i = 1..n, then `radbind merge`, write the
//! tables of one unsharded run (`fits.csv` byte for byte, whatever n) and its report, figures,
//! Prism files and run.json (on the sample data and on a simulated campaign, in one pass and in
//! batches); the hive-partitioned fits read back as one dataset (polars' `scan_parquet`);
//! merge refuses shards that do not make one split.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample config `name` with absolute input paths and figures off.
fn config(dir: &Path, name: &str) -> PathBuf {
    config_with(dir, name, "{figures: none}")
}

/// The sample config `name` with absolute input paths and `report: <report>`.
fn config_with(dir: &Path, name: &str, report: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs").join(name)).unwrap();
    let text = text.replace("../sample_data", root().join("sample_data").to_str().unwrap());
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\nreport: {report}\n")).unwrap();
    path
}

/// The binary, with batches of `batch` plates (`RADBIND_BATCH_PLATES`) or the default.
fn radbind_batched(args: &[&str], batch: Option<usize>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_radbind"));
    cmd.args(args);
    match batch {
        Some(n) => cmd.env("RADBIND_BATCH_PLATES", n.to_string()),
        None => cmd.env_remove("RADBIND_BATCH_PLATES"),
    };
    cmd.output().unwrap()
}

fn radbind(args: &[&str]) -> Output {
    radbind_batched(args, None)
}

/// Runs `cfg` into `out` (with `--shard` when given) and returns the run directory.
fn run(cfg: &Path, out: &Path, shard: Option<&str>) -> PathBuf {
    run_batched(cfg, out, shard, None)
}

fn run_batched(cfg: &Path, out: &Path, shard: Option<&str>, batch: Option<usize>) -> PathBuf {
    let mut args = vec!["run", cfg.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()];
    if let Some(s) = shard {
        args.extend(["--shard", s]);
    }
    let o = radbind_batched(&args, batch);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    out.join("latest")
}

/// Runs shards 1..=n of `cfg` under `dir` and returns their run directories.
fn shards(cfg: &Path, dir: &Path, n: usize) -> Vec<PathBuf> {
    shards_batched(cfg, dir, n, None)
}

fn shards_batched(cfg: &Path, dir: &Path, n: usize, batch: Option<usize>) -> Vec<PathBuf> {
    (1..=n)
        .map(|i| {
            let out = dir.join(format!("shard-{i}-of-{n}"));
            run_batched(cfg, &out, Some(&format!("{i}/{n}")), batch)
        })
        .collect()
}

fn merge(dirs: &[PathBuf], out: &Path) -> Output {
    merge_batched(dirs, out, None)
}

fn merge_batched(dirs: &[PathBuf], out: &Path, batch: Option<usize>) -> Output {
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    radbind_batched(&args, batch)
}

/// Every file of a run directory (relative paths, sorted), without run.json and what only a
/// shard or a merged run holds (`tables/`, `shard-results.msgpack`).
fn files(run: &Path) -> Vec<String> {
    fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().to_str().unwrap().to_string();
            if p.is_dir() {
                if rel != "tables" {
                    walk(base, &p, out);
                }
            } else if rel != "run.json" && rel != "shard-results.msgpack" {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(run, run, &mut out);
    out.sort();
    out
}

/// The fields of run.json that differ between a merged run and one run: the times, the
/// worker threads, the stage times and the shards (README, "Shards and merge").
const RUN_JSON_DIFFERS: &[&str] = &["started", "finished", "threads", "timings_s", "shards"];

/// The merged run `merged` holds the files of the single run `one`, each the same (Parquet:
/// the same values; everything else byte for byte: reports, figures, Prism files, CSV), and
/// the same run.json but for [`RUN_JSON_DIFFERS`].
fn assert_same_run(one: &Path, merged: &Path, what: &str) {
    let names = files(one);
    assert_eq!(names, files(merged), "{what}: the files of the runs");
    for f in &names {
        let (a, b) = (one.join(f), merged.join(f));
        if f.ends_with(".parquet") {
            assert!(read_parquet(&a).equals_missing(&read_parquet(&b)), "{what}: {f} differs");
        } else {
            let (x, y) = (std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
            if x != y && f.ends_with(".md") {
                // The first line that differs, to read in the failure.
                let (x, y) = (String::from_utf8_lossy(&x), String::from_utf8_lossy(&y));
                let d = x.lines().zip(y.lines()).find(|(p, q)| p != q);
                panic!("{what}: {f} differs from one run's: {d:?}");
            }
            assert!(x == y, "{what}: {f} differs from one run's");
        }
    }
    let json = |dir: &Path| -> serde_json::Value {
        let mut v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("run.json")).unwrap()).unwrap();
        for k in RUN_JSON_DIFFERS {
            v.as_object_mut().unwrap().remove(*k);
        }
        v
    };
    assert_eq!(json(one), json(merged), "{what}: run.json");
}

fn read_parquet(p: &Path) -> DataFrame {
    ParquetReader::new(std::fs::File::open(p).unwrap()).finish().unwrap()
}

const CSV: &[&str] =
    &["fits.csv", "wells.csv", "plates.csv", "selectivity.csv", "primary.csv", "hits.csv"];
const PARQUET: &[&str] = &["fits.parquet", "wells.parquet", "plates.parquet"];

#[test]
fn shards_merged_write_the_tables_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, counts) in [
        ("example.yaml", &[1, 2, 3, 4][..]),
        ("primary-screen.yaml", &[4][..]),
        ("gtpgs-example.yaml", &[4][..]),
        ("uptake-example.yaml", &[3][..]),
        // A reference compound per target: its verdict reaches every curve of the target.
        ("history-example.yaml", &[3][..]),
    ] {
        let cfg = config(tmp.path(), name);
        let one = run(&cfg, &tmp.path().join(format!("{name}-one")), None);
        for &n in counts {
            let dirs = shards(&cfg, &tmp.path().join(format!("{name}-{n}")), n);
            let out = tmp.path().join(format!("{name}-merged-{n}"));
            let o = merge(&dirs, &out);
            assert!(
                o.status.code().is_some_and(|c| c <= 1),
                "{}",
                String::from_utf8_lossy(&o.stderr)
            );
            let merged = out.join("latest");
            for f in CSV {
                let (a, b) = (one.join(f), merged.join(f));
                assert_eq!(a.exists(), b.exists(), "{name} n={n}: {f}");
                if a.exists() {
                    let same = std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap();
                    assert!(same, "{name} n={n}: {f} differs from one run");
                }
            }
            for f in PARQUET {
                let same =
                    read_parquet(&one.join(f)).equals_missing(&read_parquet(&merged.join(f)));
                assert!(same, "{name} n={n}: {f} differs from one run");
            }
            let a: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(one.join("run.json")).unwrap())
                    .unwrap();
            let b: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(merged.join("run.json")).unwrap())
                    .unwrap();
            for key in ["problems", "references", "counts", "inputs", "config_text"] {
                assert_eq!(a[key], b[key], "{name} n={n}: run.json `{key}`");
            }
            assert_eq!(b["shards"].as_array().map(Vec::len), Some(n));
        }
    }
}

/// The merged run has the report of one run: `report.html` and `report.md` byte for byte,
/// the same figures (SVG and PNG) and Prism files, run.json but for the fields that must
/// differ.
#[test]
fn shards_merged_write_the_report_of_one_run() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, report, n) in [
        ("example.yaml", "{figures: svg+png}", 4),
        ("gtpgs-example.yaml", "{figures: svg}", 4),
        ("primary-screen.yaml", "{figures: svg}", 4),
        ("history-example.yaml", "{figures: svg}", 3),
    ] {
        let cfg = config_with(tmp.path(), name, report);
        let one = run(&cfg, &tmp.path().join(format!("{name}-one")), None);
        let dirs = shards(&cfg, &tmp.path().join(format!("{name}-shards")), n);
        let out = tmp.path().join(format!("{name}-merged"));
        let o = merge(&dirs, &out);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
        assert_same_run(&one, &out.join("latest"), &format!("{name} n={n}"));
        assert!(files(&one).iter().any(|f| f.ends_with(".svg")), "{name}: no figures");
    }
}

/// The config of a simulated campaign over the files `radbind simulate --repeat <repeat>`
/// writes of the example's plates: six targets, each plate its own four compounds.
fn campaign_config(repeat: usize, report: &str) -> String {
    use std::fmt::Write as _;
    let mut s = format!(
        "experiment: campaign\noutput: out\n\
         inputs: [panel-run1_r*.txt, panel-run2_r*.txt]\ntargets:\n\
         \x20 H1:      {{radioligand: \"[3H]pyrilamine\",  radioligand_nM: 1.5, kd_nM: 1.2}}\n\
         \x20 5-HT2A:  {{radioligand: \"[3H]ketanserin\",  radioligand_nM: 1.0, kd_nM: 0.4}}\n\
         \x20 5-HT2C:  {{radioligand: \"[3H]mesulergine\", radioligand_nM: 1.0, kd_nM: 1.0}}\n\
         \x20 alpha2A: {{radioligand: \"[3H]RX821002\",    radioligand_nM: 0.5, kd_nM: 0.3}}\n\
         \x20 5-HT1A:  {{radioligand: \"[3H]8-OH-DPAT\",   radioligand_nM: 1.0, kd_nM: 1.0}}\n\
         \x20 SERT:    {{radioligand: \"[3H]citalopram\",  radioligand_nM: 1.0, kd_nM: 1.5}}\n\
         layouts:\n  standard96:\n    wells: 96\n    total: column 1\n    nsb: column 12\n\
         \x20   series: {{columns: 2-11, top: \"10 µM\", dilution: 3.162}}\n\
         report: {report}\nplates:\n",
    );
    let halves = [
        [("H1", "pyrilamine"), ("5-HT2A", "ketanserin"), ("5-HT2C", "mesulergine")],
        [("alpha2A", "yohimbine"), ("5-HT1A", "8-OH-DPAT"), ("SERT", "citalopram")],
    ];
    let mut n = 0;
    for half in halves {
        for r in 1..=repeat {
            for (t, reference) in half {
                n += 1;
                let rot = if t == "SERT" { ", rotated: true" } else { "" };
                let _ = writeln!(
                    s,
                    "  - {{plate: {n}, target: {t}, layout: standard96{rot}, rows: {{A-B: \
                     mianserin-{r:02}, C-D: {{compound: {reference}-{r:02}, top: \"1 µM\", \
                     dilution: 3.162}}, E-F: clozapine-{r:02}, G-H: fluoxetine-{r:02}}}}}"
                );
            }
        }
    }
    s
}

/// A simulated campaign of 30 plates (120 curves), merged from 4 shards: in one pass (every
/// curve's points, so Prism files) and, with one run and the merge in batches of 4 plates,
/// with flagged curves' figures only (the points of the others dropped, so no Prism files,
/// as one run in batches).
#[test]
fn simulated_campaign_merged_is_one_run_in_one_pass_and_in_batches() {
    let tmp = tempfile::tempdir().unwrap();
    let sim = root().join("configs/simulate-example.yaml");
    let o = radbind(
        &["simulate", sim.to_str().unwrap(), "--repeat", "5", "--out"]
            .iter()
            .copied()
            .chain([tmp.path().to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    for (report, batch) in
        [("{figures: none}", None), ("{figures: svg, curve_figures: flagged}", Some(4))]
    {
        let cfg = tmp.path().join("campaign.yaml");
        std::fs::write(&cfg, campaign_config(5, report)).unwrap();
        let tag = batch.map_or("one-pass".to_string(), |b| format!("batches-{b}"));
        let one = run_batched(&cfg, &tmp.path().join(format!("{tag}-one")), None, batch);
        // The shards (7 or 8 plates) run in one pass, as the shards of a campaign too large
        // for one pass may: the merge keeps what one run in batches keeps.
        let dirs = shards(&cfg, &tmp.path().join(format!("{tag}-shards")), 4);
        let out = tmp.path().join(format!("{tag}-merged"));
        let o = merge_batched(&dirs, &out, batch);
        assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
        assert_same_run(&one, &out.join("latest"), &tag);
        let prism = files(&one).iter().any(|f| f.starts_with("prism/"));
        assert_eq!(prism, batch.is_none(), "{tag}: Prism files only with every point");
    }
}

/// The partitioned fits of the merged run, `tables/fits/target=<t>/part-<i>.parquet`, read
/// as one hive-partitioned dataset (by hand, by polars' `scan_parquet` and by pyarrow when
/// installed), hold the rows of `fits.parquet`; a shard's, those of the shard's.
#[test]
fn partitioned_fits_read_as_one_hive_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "example.yaml");
    let dirs = shards(&cfg, tmp.path(), 4);
    let o = merge(&dirs, &tmp.path().join("merged"));
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    let merged = tmp.path().join("merged/latest");
    let fits = read_parquet(&merged.join("fits.parquet"));
    // Every partition file read, its target from the directory name (`target=<t>`).
    let mut rows: Vec<(String, String, f64)> = Vec::new();
    let base = merged.join("tables/fits");
    for part in std::fs::read_dir(&base).unwrap() {
        let part = part.unwrap();
        let name = part.file_name().into_string().unwrap();
        let target = name.strip_prefix("target=").expect("hive directory").to_string();
        for f in std::fs::read_dir(part.path()).unwrap() {
            let df = read_parquet(&f.unwrap().path());
            assert!(df.column("target").is_err(), "the partition column is not in the files");
            let c = df.column("compound").unwrap().str().unwrap().clone();
            let k = df.column("ki_nM").unwrap().f64().unwrap().clone();
            for i in 0..df.height() {
                rows.push((
                    target.clone(),
                    c.get(i).unwrap().to_string(),
                    k.get(i).unwrap_or(f64::NAN),
                ));
            }
        }
    }
    let (t, c, k) = (
        fits.column("target").unwrap().str().unwrap().clone(),
        fits.column("compound").unwrap().str().unwrap().clone(),
        fits.column("ki_nM").unwrap().f64().unwrap().clone(),
    );
    let mut want: Vec<(String, String, f64)> = (0..fits.height())
        .map(|i| (t.get(i).unwrap().into(), c.get(i).unwrap().into(), k.get(i).unwrap_or(f64::NAN)))
        .collect();
    let key =
        |a: &(String, String, f64), b: &(String, String, f64)| (&a.0, &a.1).cmp(&(&b.0, &b.1));
    rows.sort_by(key);
    want.sort_by(key);
    assert_eq!(rows.len(), 24);
    for (a, b) in rows.iter().zip(&want) {
        assert!(a.0 == b.0 && a.1 == b.1 && a.2.to_bits() == b.2.to_bits(), "{a:?} vs {b:?}");
    }
    // polars' lazy reader with hive partitioning (as the README's line reads it), over the
    // merged run's partitions and over one shard's: the rows of its `fits.parquet`.
    for run in [&merged, &dirs[1]] {
        let scanned = scan_hive(&run.join("tables/fits"));
        let table = sorted_fits(read_parquet(&run.join("fits.parquet")).lazy());
        assert!(table.height() > 0, "{}", run.display());
        assert!(scanned.equals_missing(&table), "{}: {scanned} vs {table}", run.display());
    }
    // A hive-partitioned reader (pyarrow's dataset, as Spark and DuckDB read it), when
    // installed.
    let have = Command::new("python3")
        .args(["-c", "import pyarrow.dataset"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        eprintln!("SKIP: python3 with pyarrow not found");
        return;
    }
    let script = "import sys, pyarrow.dataset as ds\n\
        t = ds.dataset(sys.argv[1], format='parquet', partitioning='hive').to_table()\n\
        print(t.num_rows, sorted(set(t.column('target').to_pylist())))";
    let o = Command::new("python3").args(["-c", script]).arg(&base).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    // Python sorts the target names as Rust does (by code point).
    let mut targets: Vec<String> = want.iter().map(|r| format!("'{}'", r.0)).collect();
    targets.dedup();
    let expected = format!("24 [{}]", targets.join(", "));
    assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), expected);
}

/// Target, compound and Ki of a fits table, sorted by target and compound.
fn sorted_fits(lf: LazyFrame) -> DataFrame {
    lf.select([col("target"), col("compound"), col("ki_nM")])
        .sort(["target", "compound"], SortMultipleOptions::default())
        .collect()
        .unwrap()
}

/// The partitioned fits under `base` (`target=<t>/part-<i>.parquet`) read by polars'
/// `scan_parquet` with hive partitioning: [`sorted_fits`].
fn scan_hive(base: &Path) -> DataFrame {
    let glob = format!("{}/**/*.parquet", base.display());
    // Partition values as text (parsing them as dates needs polars' date types).
    let hive_options = HiveOptions { try_parse_dates: false, ..HiveOptions::new_enabled() };
    let args = ScanArgsParquet { hive_options, ..Default::default() };
    sorted_fits(LazyFrame::scan_parquet(PlRefPath::from(glob.as_str()), args).unwrap())
}

#[test]
fn merge_refuses_what_is_not_one_split() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = config(tmp.path(), "example.yaml");
    let dirs = shards(&cfg, tmp.path(), 3);
    let err = |o: Output| {
        assert_eq!(o.status.code(), Some(2));
        String::from_utf8_lossy(&o.stderr).to_string()
    };
    let e = err(merge(&dirs[..2], &tmp.path().join("m1")));
    assert!(e.contains("shards missing: 3 of 3"), "{e}");
    let e = err(merge(
        &[dirs[0].clone(), dirs[0].clone(), dirs[1].clone(), dirs[2].clone()],
        &tmp.path().join("m2"),
    ));
    assert!(e.contains("shard 1/3 given twice"), "{e}");
    let one = run(&cfg, &tmp.path().join("one"), None);
    let e = err(merge(&[one], &tmp.path().join("m3")));
    assert!(e.contains("not a shard"), "{e}");
    // Another config (one more line) is another split.
    let other = tmp.path().join("other.yaml");
    std::fs::write(&other, format!("{}\n# another\n", std::fs::read_to_string(&cfg).unwrap()))
        .unwrap();
    let b = run(&other, &tmp.path().join("other"), Some("2/3"));
    let e = err(merge(&[dirs[0].clone(), b, dirs[2].clone()], &tmp.path().join("m4")));
    assert!(e.contains("different configs"), "{e}");
    // Plates that depend on each other are not sharded: the error names the config key.
    let sat = config(tmp.path(), "saturation-example.yaml");
    let o = radbind(
        &["run", sat.to_str().unwrap(), "--quiet", "--shard", "1/2", "--out"]
            .iter()
            .copied()
            .chain([tmp.path().join("sat").to_str().unwrap()])
            .collect::<Vec<_>>(),
    );
    let e = err(o);
    assert!(e.contains("cannot be sharded") && e.contains("kd_from"), "{e}");
}
