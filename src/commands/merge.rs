//! `radbind merge SHARD_DIRS... --out DIR`: the run directories of `radbind run --shard i/n`
//! joined into one run directory (`OUT/runs/<time>/`, `OUT/latest`).
//!
//! The shards must come from one config (the SHA-256 of its text in each run.json) and cover
//! shards 1..n exactly once. Each shard holds a contiguous range of whole curve groups in input
//! order (`crate::shard`), so:
//! - `fits.csv|parquet`: the shards' rows ordered by target, compound and experiment (each
//!   shard's `shard-fits-keys.json`), as a single run orders its curves: byte-identical to an
//!   unsharded run's `fits.csv`;
//! - `wells`, `plates`, `primary`, `hits`, `followup`: the shards' rows one after the other
//!   (input order), as a single run writes them;
//! - `selectivity.csv|parquet`: the panel built from the merged `fits.csv` read back, as a
//!   single run builds it;
//! - `run.json`: the first shard's, with the problems of all shards (each once, in order),
//!   the reference verdicts of all shards, the counts summed, the shards listed;
//! - `tables/fits/target=<t>/part-<i>.parquet`: every shard's partitioned fits, copied;
//! - `report.md`: a summary from the merged tables (counts, curves that are not `ok`,
//!   problems), not the full HTML/Markdown report of a single run (no figures).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::output;
use crate::shard::FITS_KEYS;

/// The tables joined shard after shard (input order).
const CONCATENATED: [&str; 5] = ["plates", "wells", "primary", "hits", "followup"];

/// A merged run, for the summary and the exit code.
#[derive(Debug)]
pub struct Merged {
    /// The merged run directory.
    pub run_dir: PathBuf,
    /// Number of shards joined.
    pub shards: usize,
    /// Plates of all shards.
    pub plates: u64,
    /// Curves of all shards.
    pub curves: usize,
    /// Curves that are not `ok`: `target / compound: status`.
    pub not_ok: Vec<String>,
    /// The problems of all shards.
    pub problems: Vec<String>,
}

impl Merged {
    /// The one-screen summary.
    #[must_use]
    pub fn text(&self) -> String {
        let mut s = format!(
            "merged {} shards: {} plates, {} curves ({} not ok), {} problems\nrun: {}\n",
            self.shards,
            self.plates,
            self.curves,
            self.not_ok.len(),
            self.problems.len(),
            self.run_dir.display()
        );
        for p in &self.problems {
            let _ = writeln!(s, "problem: {p}");
        }
        s
    }

    /// 0 when no shard had problems and no curve failed, else 1 (as `radbind run`).
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        let failed = self.not_ok.iter().any(|c| !c.ends_with(": flagged"));
        if self.problems.is_empty() && !failed { crate::exit::OK } else { crate::exit::PROBLEMS }
    }
}

/// One shard's run directory and what its run.json says.
struct ShardDir {
    dir: PathBuf,
    index: usize,
    manifest: Value,
}

/// Reads and checks the shards: one config, shards 1..n each once. Returns them in shard
/// order.
fn read_shards(dirs: &[PathBuf]) -> Result<Vec<ShardDir>> {
    let mut shards = Vec::new();
    for dir in dirs {
        let path = dir.join("run.json");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let manifest: Value =
            serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
        let shard = manifest.get("shard").ok_or_else(|| {
            anyhow!(
                "{}: not a shard (no `shard` in run.json; run with --shard i/n)",
                path.display()
            )
        })?;
        let index = shard["index"].as_u64().unwrap_or(0);
        if index == 0 || shard["count"].as_u64().is_none() || !shard["config_sha256"].is_string() {
            bail!("{}: `shard` needs index, count and config_sha256", path.display());
        }
        let index = usize::try_from(index)?;
        shards.push(ShardDir { dir: dir.clone(), index, manifest });
    }
    let first = &shards[0];
    let count = first.manifest["shard"]["count"].as_u64().unwrap_or(0);
    let hash = first.manifest["shard"]["config_sha256"].as_str().unwrap_or("");
    for s in &shards[1..] {
        let sh = &s.manifest["shard"];
        if sh["config_sha256"].as_str() != Some(hash) {
            bail!(
                "{} and {} are shards of different configs (config_sha256 differs)",
                first.dir.display(),
                s.dir.display()
            );
        }
        if sh["count"].as_u64() != Some(count) {
            bail!(
                "{} is shard {}/{} but {} is shard {}/{count}: not one split",
                s.dir.display(),
                s.index,
                sh["count"],
                first.dir.display(),
                first.index
            );
        }
        if s.manifest["inputs"] != first.manifest["inputs"] {
            bail!(
                "{} and {} read different inputs (paths or SHA-256 differ): the files changed \
                 between the shards' runs",
                first.dir.display(),
                s.dir.display()
            );
        }
    }
    shards.sort_by_key(|s| s.index);
    for w in shards.windows(2) {
        if w[0].index == w[1].index {
            bail!(
                "shard {}/{count} given twice: {} and {}",
                w[0].index,
                w[0].dir.display(),
                w[1].dir.display()
            );
        }
    }
    let count = usize::try_from(count)?;
    let missing: Vec<String> = (1..=count)
        .filter(|i| !shards.iter().any(|s| s.index == *i))
        .map(|i| i.to_string())
        .collect();
    if let Some(s) = shards.iter().find(|s| s.index > count) {
        bail!("{}: shard {} of {count} does not exist", s.dir.display(), s.index);
    }
    if !missing.is_empty() {
        bail!("shards missing: {} of {count}", missing.join(", "));
    }
    Ok(shards)
}

/// A CSV table's header line and its row lines (each with its `\n`). Text cells hold no line
/// breaks (`report::tables::csv_cell` escapes them), so a row is a line.
fn csv_lines(path: &Path) -> Result<(String, Vec<String>)> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.split_inclusive('\n').map(str::to_string);
    let header = lines.next().unwrap_or_default();
    Ok((header, lines.collect()))
}

/// A fits row's sort key: target, compound, the curve's own experiment (`None` first).
type Key = (String, String, Option<String>);

/// Joins the shards in `dirs` into a run under `out` (see the module docs).
///
/// # Errors
/// Shards that do not make one split of one config (the message says which and why), or
/// files that cannot be read or written.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<Merged> {
    if dirs.is_empty() {
        bail!("give the shards' run directories");
    }
    let shards = read_shards(dirs)?;
    let started = std::time::SystemTime::now();
    output::check_root(out)?;
    let staging = output::Staging::begin(out, &output::run_name(started))?;
    let dir = staging.dir();

    // fits: every shard's rows, ordered by curve key.
    let mut header: Option<String> = None;
    let mut rows: Vec<(Key, String)> = Vec::new();
    for s in &shards {
        let (h, lines) = csv_lines(&s.dir.join("fits.csv"))?;
        let keys_path = s.dir.join(FITS_KEYS);
        let keys: Vec<Key> = serde_json::from_str(
            &std::fs::read_to_string(&keys_path)
                .with_context(|| format!("reading {}", keys_path.display()))?,
        )
        .with_context(|| format!("reading {}", keys_path.display()))?;
        if keys.len() != lines.len() {
            bail!(
                "{}: {} keys for {} rows of fits.csv",
                keys_path.display(),
                keys.len(),
                lines.len()
            );
        }
        match &header {
            Some(first) if *first != h => {
                bail!("{}: fits.csv has other columns than shard 1's", s.dir.display())
            }
            _ => header = Some(h),
        }
        rows.extend(keys.into_iter().zip(lines));
    }
    let mut order: Vec<usize> = (0..rows.len()).collect();
    order.sort_by(|a, b| rows[*a].0.cmp(&rows[*b].0));
    let mut fits = header.unwrap_or_default();
    for i in &order {
        fits.push_str(&rows[*i].1);
    }
    write(&dir.join("fits.csv"), fits.as_bytes())?;
    let parts = |stem: &str| -> Vec<PathBuf> {
        shards
            .iter()
            .map(|s| s.dir.join(format!("{stem}.parquet")))
            .filter(|p| p.exists())
            .collect()
    };
    crate::report::tables::join_parquet(&parts("fits"), Some(&order), &dir.join("fits.parquet"))?;

    let primary = shards[0].manifest["shard"]["primary_target"].as_str();
    let entries = crate::report::tables::read_fits_ki(&dir.join("fits.csv"), "")?;
    crate::report::tables::write_selectivity(dir, entries, primary)?;

    // Tables in input order: shard after shard.
    for stem in CONCATENATED {
        let mut text: Option<String> = None;
        for s in &shards {
            let path = s.dir.join(format!("{stem}.csv"));
            if !path.exists() {
                continue;
            }
            let (h, lines) = csv_lines(&path)?;
            let t = text.get_or_insert(h);
            for l in lines {
                t.push_str(&l);
            }
        }
        if let Some(t) = text {
            write(&dir.join(format!("{stem}.csv")), t.as_bytes())?;
            crate::report::tables::join_parquet(
                &parts(stem),
                None,
                &dir.join(format!("{stem}.parquet")),
            )?;
        }
    }

    copy_partitions(&shards, dir)?;
    let merged = merged_manifest(&shards);
    let problems: Vec<String> = merged["problems"]
        .as_array()
        .map(|a| a.iter().filter_map(|p| p.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let table = crate::report::tables::read_parquet(&dir.join("fits.parquet"))?;
    let (targets, compounds, statuses) =
        (table.text("target")?, table.text("compound")?, table.text("status")?);
    let not_ok: Vec<String> = (0..table.height)
        .filter(|i| statuses[*i] != "ok")
        .map(|i| format!("{} / {}: {}", targets[i], compounds[i], statuses[i]))
        .collect();
    let plates = merged["counts"]["plates"].as_u64().unwrap_or(0);
    write(&dir.join("report.md"), summary_report(&merged, table.height, &not_ok).as_bytes())?;
    let mut json = serde_json::to_string_pretty(&merged)?;
    json.push('\n');
    write(&dir.join("run.json"), json.as_bytes())?;
    let run_dir = staging.commit()?;
    Ok(Merged { run_dir, shards: shards.len(), plates, curves: table.height, not_ok, problems })
}

/// Copies every shard's `tables/fits/target=<t>/part-<i>.parquet` into `dir`, so the merged
/// run holds the whole partitioned dataset.
fn copy_partitions(shards: &[ShardDir], dir: &Path) -> Result<()> {
    for s in shards {
        let from = s.dir.join("tables").join("fits");
        let Ok(parts) = std::fs::read_dir(&from) else { continue };
        for part in parts {
            let part = part.with_context(|| format!("reading {}", from.display()))?;
            let to = dir.join("tables").join("fits").join(part.file_name());
            std::fs::create_dir_all(&to).with_context(|| format!("creating {}", to.display()))?;
            for f in std::fs::read_dir(part.path())
                .with_context(|| format!("reading {}", part.path().display()))?
            {
                let f = f.with_context(|| format!("reading {}", part.path().display()))?;
                std::fs::copy(f.path(), to.join(f.file_name()))
                    .with_context(|| format!("copying {}", f.path().display()))?;
            }
        }
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// run.json of the merged run: shard 1's, with every shard's problems (each once, in shard
/// order), reference verdicts (ordered by target and experiment, as a single run) and counts
/// (summed), and the shards it was joined from; `shard` removed.
fn merged_manifest(shards: &[ShardDir]) -> Value {
    let mut v = shards[0].manifest.clone();
    let mut problems: Vec<Value> = Vec::new();
    let mut references: Vec<Value> = Vec::new();
    let mut counts: BTreeMap<String, u64> = BTreeMap::new();
    let mut listed = Vec::new();
    for s in shards {
        for p in s.manifest["problems"].as_array().into_iter().flatten() {
            if !problems.contains(p) {
                problems.push(p.clone());
            }
        }
        references.extend(s.manifest["references"].as_array().into_iter().flatten().cloned());
        for (k, n) in s.manifest["counts"].as_object().into_iter().flatten() {
            *counts.entry(k.clone()).or_default() += n.as_u64().unwrap_or(0);
        }
        listed.push(serde_json::json!({
            "index": s.index,
            "dir": s.dir.display().to_string(),
            "started": s.manifest["started"],
            "finished": s.manifest["finished"],
            "timings_s": s.manifest["timings_s"],
        }));
    }
    let key = |r: &Value| (r["target"].to_string(), r["experiment_id"].to_string());
    references.sort_by_key(key);
    if let Some(map) = v.as_object_mut() {
        map.remove("shard");
        map.remove("timings_s");
        map.insert("problems".into(), Value::Array(problems));
        map.insert("references".into(), Value::Array(references));
        map.insert("counts".into(), serde_json::json!(counts));
        map.insert("shards".into(), Value::Array(listed));
        map.insert(
            "finished".into(),
            Value::String(
                humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
            ),
        );
    }
    v
}

/// The merged run's `report.md`: what the tables hold (counts, curves not `ok`, problems).
fn summary_report(merged: &Value, curves: usize, not_ok: &[String]) -> String {
    use crate::units::printable;
    let mut s = format!(
        "# {} (merged from {} shards)\n\n",
        printable(merged["experiment"].as_str().unwrap_or("")),
        merged["shards"].as_array().map_or(0, Vec::len)
    );
    let c = &merged["counts"];
    let _ = writeln!(
        s,
        "{} plates, {curves} curves: {} ok, {} flagged, {} failed.\n",
        c["plates"], c["curves_ok"], c["curves_flagged"], c["curves_failed"]
    );
    s.push_str(
        "The results are in `fits.csv` (every curve), `plates.csv` and `wells.csv`; figures and \
         the full report are those of each shard's run directory.\n",
    );
    if !not_ok.is_empty() {
        s.push_str("\n## Curves that are not ok\n\n");
        for c in not_ok {
            let _ = writeln!(s, "- {}", printable(c));
        }
    }
    if let Some(p) = merged["problems"].as_array().filter(|p| !p.is_empty()) {
        s.push_str("\n## Problems\n\n");
        for x in p {
            let _ = writeln!(s, "- {}", printable(x.as_str().unwrap_or("")));
        }
    }
    s
}
