//! Shards and merge: `radbind run --shard i/n` for i = 1..n, then `radbind merge`, write the
//! tables of one unsharded run (`fits.csv` byte for byte, whatever n); the hive-partitioned
//! fits read back as one dataset; merge refuses shards that do not make one split.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The sample config `name` with absolute input paths and figures off.
fn config(dir: &Path, name: &str) -> PathBuf {
    let text = std::fs::read_to_string(root().join("configs").join(name)).unwrap();
    let text = text.replace("../sample_data", root().join("sample_data").to_str().unwrap());
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\nreport: {{figures: none}}\n")).unwrap();
    path
}

fn radbind(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_radbind")).args(args).output().unwrap()
}

/// Runs `cfg` into `out` (with `--shard` when given) and returns the run directory.
fn run(cfg: &Path, out: &Path, shard: Option<&str>) -> PathBuf {
    let mut args = vec!["run", cfg.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap()];
    if let Some(s) = shard {
        args.extend(["--shard", s]);
    }
    let o = radbind(&args);
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    out.join("latest")
}

/// Runs shards 1..=n of `cfg` under `dir` and returns their run directories.
fn shards(cfg: &Path, dir: &Path, n: usize) -> Vec<PathBuf> {
    (1..=n)
        .map(|i| run(cfg, &dir.join(format!("shard-{i}-of-{n}")), Some(&format!("{i}/{n}"))))
        .collect()
}

fn merge(dirs: &[PathBuf], out: &Path) -> Output {
    let mut args: Vec<&str> = vec!["merge"];
    args.extend(dirs.iter().map(|d| d.to_str().unwrap()));
    args.extend(["--out", out.to_str().unwrap()]);
    radbind(&args)
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

/// The partitioned fits of the merged run, `tables/fits/target=<t>/part-<i>.parquet`, read
/// as one hive-partitioned dataset, hold the rows of `fits.parquet`.
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
