//! The Parquet tables in the types every reader accepts: text as plain UTF-8 (`string`, not
//! Arrow's `string_view`) and counts as signed integers (no `UINT64`, which Spark rejects).
//! Read with pyarrow when it is installed (else a printed SKIP; a failure when
//! `RADBIND_REQUIRE_PYARROW` is set, as CI does), and with polars here.

use std::path::{Path, PathBuf};
use std::process::Command;

use polars::prelude::*;

/// Runs the mianserin sample (figures off) into `out` and returns the run directory.
fn sample_run(out: &Path) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("configs/example.yaml")).unwrap();
    let text = text.replace("../sample_data", root.join("sample_data").to_str().unwrap());
    let cfg = out.join("example.yaml");
    std::fs::write(&cfg, format!("{text}\nreport: {{figures: none}}\n")).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_radbind"))
        .args(["run", cfg.to_str().unwrap(), "--quiet", "--out"])
        .arg(out.join("out"))
        .output()
        .unwrap();
    assert!(o.status.code().is_some_and(|c| c <= 1), "{}", String::from_utf8_lossy(&o.stderr));
    out.join("out/latest")
}

const CHECK: &str = r#"
import sys
import pyarrow as pa
import pyarrow.parquet as pq
bad = []
for path in sys.argv[1:]:
    f = pq.ParquetFile(path)
    for field in f.schema_arrow:
        t = field.type
        if pa.types.is_string_view(t) or pa.types.is_large_string(t) or pa.types.is_unsigned_integer(t):
            bad.append(f"{path}: {field.name} is {t}")
    for col in f.schema:
        if col.logical_type.type == "INT" and '"isSigned":false' in col.logical_type.to_json().replace(" ", ""):
            bad.append(f"{path}: {col.name} is {col.logical_type}")
    pq.read_table(path)
print("\n".join(bad) if bad else "ok")
"#;

#[test]
fn pyarrow_reads_plain_strings_and_signed_counts() {
    let have = Command::new("python3")
        .args(["-c", "import pyarrow"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !have {
        assert!(
            std::env::var_os("RADBIND_REQUIRE_PYARROW").is_none(),
            "RADBIND_REQUIRE_PYARROW is set but python3 cannot import pyarrow"
        );
        eprintln!("SKIP: python3 with pyarrow not found");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let run = sample_run(tmp.path());
    let files: Vec<PathBuf> = ["fits", "wells", "plates", "selectivity"]
        .iter()
        .map(|t| run.join(format!("{t}.parquet")))
        .collect();
    let o = Command::new("python3").arg("-c").arg(CHECK).args(&files).output().unwrap();
    let said = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(said.trim(), "ok", "{said}");
}

#[test]
fn polars_reads_utf8_and_signed_counts() {
    let tmp = tempfile::tempdir().unwrap();
    let run = sample_run(tmp.path());
    let df = ParquetReader::new(std::fs::File::open(run.join("plates.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(df.column("n_total").unwrap().dtype(), &DataType::Int64);
    assert_eq!(df.column("plate").unwrap().dtype(), &DataType::String);
    let fits = ParquetReader::new(std::fs::File::open(run.join("fits.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(fits.column("n_points").unwrap().dtype(), &DataType::Int64);
    assert_eq!(fits.height(), 24);
}
