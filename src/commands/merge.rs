//! `radbind merge SHARD_DIRS... --out DIR`: the run directories of `radbind run --shard i/n`
//! joined into one run directory (`OUT/runs/<time>/`, `OUT/latest`) with the tables, figures,
//! Prism files, reports and run.json a single run of the config writes.
//!
//! The shards must come from one config (the SHA-256 of its text in each run.json), have read
//! the same inputs and cover shards 1..n exactly once. Each shard holds a contiguous range of
//! whole curve groups in input order (`crate::shard`) and keeps its results
//! (`shard-results.msgpack`, [`crate::shard::ShardResults`]), so the merge rebuilds the results
//! one run would have ([`join`]) and hands them to the report stage:
//! - curve rows: every shard's, ordered by target, compound and experiment, as one run orders
//!   its curves; plate, well and primary-screen rows shard after shard (input order);
//!   reference verdicts by target and experiment;
//! - problems in one run's order: those of reading and laying out the inputs (every shard has
//!   them) once, then each shard's plate problems, the [35S]GTPγS problems by target, the
//!   primary-screen ones;
//! - a run of more than `stream::batch_size()` plates, which one run analyses in batches,
//!   keeps what that run keeps ([`thin`]): the points of the curves it draws, the wells it
//!   lists or draws, no Prism files when points are missing.
//!
//! `wells.csv|parquet` are the shards' joined (a shard keeps only the wells its report needs).
//! run.json gains `shards` (each shard's directory, start, end and stage times) and its
//! `timings_s` are the shards' summed per stage; `tables/fits/target=<t>/part-<i>.parquet`
//! are every shard's partitioned fits, copied.

use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::config::CurveFigures;
use crate::derive::rows::{CurveRow, RunResults};
use crate::report::{self, FigureOptions};
use crate::shard::ShardResults;
use crate::{RunSummary, output};

/// A merged run: its summary (as `radbind run` prints it) and the number of shards joined.
#[derive(Debug)]
pub struct Merged {
    /// The merged run, as a single run summarises itself.
    pub summary: RunSummary,
    /// Number of shards joined.
    pub shards: usize,
}

impl Merged {
    /// The one-screen summary: the shards joined, then a run's summary.
    #[must_use]
    pub fn text(&self) -> String {
        format!(
            "merged {} shards\n{}",
            self.shards,
            crate::commands::validate::summary_text(&self.summary)
        )
    }

    /// As `radbind run`: 0 when nothing failed, else 1.
    #[must_use]
    pub fn exit_code(&self) -> u8 {
        self.summary.exit_code()
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
    output::check_root(out)?;
    let kept = shards
        .iter()
        .map(|s| crate::shard::read_results(&s.dir))
        .collect::<Result<Vec<ShardResults>>>()?;
    // A shard of more than `stream::SPILL_CURVES` curves kept only its flagged and failed
    // curve rows: joining those would lose rows, so such shards are refused.
    if let Some((s, _)) = shards.iter().zip(&kept).find(|(_, k)| k.results.large.is_some()) {
        bail!(
            "{}: the shard has more than {} curves, too many to merge (its run keeps only the \
             flagged curves' rows); split the run into more shards (`--shard i/n` with a larger n)",
            s.dir.display(),
            crate::stream::SPILL_CURVES
        );
    }
    let mut figures: FigureOptions = kept[0].figures.into();
    let mut results = join(kept)?;
    figures.curves = figures.curves.for_curves(results.curves.len());
    // As `lib::run`: more plates than a batch (and none depending on another, which a
    // sharded run never has) are analysed in batches.
    let batched = results.plates.len() > crate::stream::batch_size();
    if batched {
        thin(&mut results, if figures.draw { figures.curves } else { CurveFigures::None });
    }
    let now = SystemTime::now();
    results.finished = humantime::format_rfc3339_seconds(now).to_string();
    let staging = output::Staging::begin(out, &output::run_name(now))?;
    let dir = staging.dir();
    join_row_tables(&shards, dir)?;
    let ctx = report::manifest::RunContext {
        resolved: shards[0].manifest["config"].clone(),
        threads: rayon::current_num_threads(),
        timings: Vec::new(),
        wells_written: true,
        points_dropped: batched && results.curves.iter().any(|c| c.points.is_empty()),
        shard: None,
        plate_lists: None,
    };
    let outcome = report::write_report(&results, &ctx, dir, figures, &|_| {})?;
    copy_partitions(&shards, dir)?;
    finish_manifest(&shards, dir)?;
    let run_dir = staging.commit()?;
    let summary = RunSummary::new(run_dir, out.to_path_buf(), &results, &outcome, Vec::new());
    Ok(Merged { summary, shards: shards.len() })
}

/// A curve row's sort key: target, compound, the curve's own experiment (`None` first).
type Key = (String, String, Option<String>);

/// The results one run would have from the shards' (in shard order; see the module docs).
/// `finished` is left for the caller.
///
/// # Errors
/// A shard whose problems do not end with its [35S]GTPγS and primary-screen problems (a
/// results file not written by `radbind run --shard`).
pub fn join(kept: Vec<ShardResults>) -> Result<RunResults> {
    let mut merged: Option<RunResults> = None;
    let mut upstream: Vec<Vec<String>> = Vec::new();
    let mut functional: Vec<(String, String)> = Vec::new();
    let mut curves: Vec<(Key, CurveRow)> = Vec::new();
    for (i, k) in kept.into_iter().enumerate() {
        let ShardResults { mut results, curve_experiments, functional_problems, .. } = k;
        // The problems of derive come last: functional, then primary screen.
        let own: Vec<String> = functional_problems
            .iter()
            .map(|(_, p)| p.clone())
            .chain(crate::derive::primary::problems(&results.primary.rows))
            .collect();
        let n = results.problems.len();
        if n < own.len() || results.problems[n - own.len()..] != own[..] {
            bail!("shard {}: its problems do not end with those of its curves", i + 1);
        }
        results.problems.truncate(n - own.len());
        upstream.push(std::mem::take(&mut results.problems));
        functional.extend(functional_problems);
        for (c, e) in std::mem::take(&mut results.curves).into_iter().zip(curve_experiments) {
            curves.push(((c.target.clone(), c.compound.clone(), e), c));
        }
        match &mut merged {
            None => merged = Some(results),
            Some(m) => {
                m.plates.append(&mut results.plates);
                m.wells.append(&mut results.wells);
                m.primary.rows.append(&mut results.primary.rows);
                m.history.references.append(&mut results.history.references);
                if results.started < m.started {
                    m.started = results.started;
                }
            }
        }
    }
    let mut m = merged.ok_or_else(|| anyhow!("no shards to join"))?;
    // Stable sorts: rows of one key keep their shard order.
    curves.sort_by(|a, b| a.0.cmp(&b.0));
    m.curves = curves.into_iter().map(|(_, c)| c).collect();
    m.history
        .references
        .sort_by(|a, b| (&a.target, &a.experiment_id).cmp(&(&b.target, &b.experiment_id)));
    functional.sort_by(|a, b| a.0.cmp(&b.0));
    // Reading and layout come before the shard is chosen: every shard lists those problems
    // first, the same.
    let common = upstream
        .iter()
        .map(|u| u.iter().zip(&upstream[0]).take_while(|(a, b)| a == b).count())
        .min()
        .unwrap_or(0);
    let mut problems = upstream[0][..common].to_vec();
    for u in &upstream {
        problems.extend(u[common..].iter().cloned());
    }
    problems.extend(functional.into_iter().map(|(_, p)| p));
    problems.extend(crate::derive::primary::problems(&m.primary.rows));
    m.problems = problems;
    Ok(m)
}

/// What a run in batches keeps (`stream::analyse`) of results that hold more: the points of
/// the curves whose figures `which` (resolved: `all`, `flagged` or `none`) draws, and the
/// wells that are excluded, on a primary-screen plate or on a plate whose heat maps are drawn.
fn thin(r: &mut RunResults, which: CurveFigures) {
    // `which` is resolved by the run's size already, so `auto` here keeps every curve.
    let drawn = |flagged: bool| crate::stream::kept(which, false, flagged);
    let primary: HashSet<&str> = r.primary.rows.iter().map(|p| p.plate.as_str()).collect();
    let flagged: HashSet<&str> =
        r.plates.iter().filter(|p| !p.flags.is_empty()).map(|p| p.plate.as_str()).collect();
    let keep: Vec<bool> = r
        .wells
        .iter()
        .map(|w| {
            w.excluded.is_some()
                || primary.contains(w.plate.as_str())
                || drawn(flagged.contains(w.plate.as_str()))
        })
        .collect();
    let mut k = keep.into_iter();
    r.wells.retain(|_| k.next().unwrap_or(true));
    for c in &mut r.curves {
        if !drawn(c.is_flagged() || c.is_failed()) {
            c.points = Vec::new();
        }
    }
}

/// `wells` and `plates` (CSV and Parquet): each the shards' rows one after the other, as one
/// run writes them (a run in batches appends both as it goes, so the report stage does not
/// write them).
fn join_row_tables(shards: &[ShardDir], dir: &Path) -> Result<()> {
    join_table(shards, dir, "wells")?;
    join_table(shards, dir, "plates")
}

/// `<name>.csv` and `<name>.parquet`: the shards' rows one after the other (the CSV copied
/// line by line: a text cell holds no line break, `report::tables::csv_cell`).
fn join_table(shards: &[ShardDir], dir: &Path, name: &str) -> Result<()> {
    let csv = format!("{name}.csv");
    let to = dir.join(&csv);
    let file = std::fs::File::create(&to).with_context(|| format!("creating {}", to.display()))?;
    let mut w = std::io::BufWriter::new(file);
    let mut header: Option<Vec<u8>> = None;
    for s in shards {
        let path = s.dir.join(&csv);
        let f =
            std::fs::File::open(&path).with_context(|| format!("opening {}", path.display()))?;
        let mut r = BufReader::new(f);
        let mut first = Vec::new();
        r.read_until(b'\n', &mut first).with_context(|| format!("reading {}", path.display()))?;
        match &header {
            Some(h) if *h != first => {
                bail!("{}: {csv} has other columns than shard 1's", s.dir.display())
            }
            Some(_) => {}
            None => {
                w.write_all(&first).with_context(|| format!("writing {}", to.display()))?;
                header = Some(first);
            }
        }
        std::io::copy(&mut r, &mut w).with_context(|| format!("copying {}", path.display()))?;
    }
    w.flush().with_context(|| format!("writing {}", to.display()))?;
    let parquet = format!("{name}.parquet");
    let parts: Vec<PathBuf> = shards.iter().map(|s| s.dir.join(&parquet)).collect();
    crate::report::tables::join_parquet(&parts, None, &dir.join(&parquet))
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

/// run.json of the merged run, as the report stage wrote it, with `timings_s` the shards'
/// summed per stage and `shards`: each shard's directory, start, end and stage times.
fn finish_manifest(shards: &[ShardDir], dir: &Path) -> Result<()> {
    let path = dir.join("run.json");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let mut v: Value =
        serde_json::from_str(&text).with_context(|| format!("reading {}", path.display()))?;
    let mut timings = serde_json::Map::new();
    let mut listed = Vec::new();
    for s in shards {
        for (stage, t) in s.manifest["timings_s"].as_object().into_iter().flatten() {
            let sum = timings.get(stage).and_then(Value::as_f64).unwrap_or(0.0)
                + t.as_f64().unwrap_or(0.0);
            timings.insert(stage.clone(), serde_json::json!(sum));
        }
        listed.push(serde_json::json!({
            "index": s.index,
            "dir": s.dir.display().to_string(),
            "started": s.manifest["started"],
            "finished": s.manifest["finished"],
            "timings_s": s.manifest["timings_s"],
        }));
    }
    if let Some(map) = v.as_object_mut() {
        map.insert("timings_s".into(), Value::Object(timings));
        map.insert("shards".into(), Value::Array(listed));
    }
    let mut json = serde_json::to_string_pretty(&v)?;
    json.push('\n');
    write(&path, json.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shard::{FigurePolicy, RESULTS_FORMAT};

    fn shard(
        curves: &[(&str, &str)],
        problems: &[&str],
        functional: &[(&str, &str)],
    ) -> ShardResults {
        let mut results = crate::test_support::sample_results();
        let row = results.curves[0].clone();
        results.curves = curves
            .iter()
            .map(|(t, c)| CurveRow { target: (*t).into(), compound: (*c).into(), ..row.clone() })
            .collect();
        results.problems = problems.iter().map(|p| (*p).to_string()).collect();
        ShardResults {
            format: RESULTS_FORMAT,
            curve_experiments: vec![None; curves.len()],
            functional_problems: functional
                .iter()
                .map(|(t, p)| ((*t).to_string(), (*p).to_string()))
                .collect(),
            figures: FigurePolicy::from(FigureOptions::default()),
            results,
        }
    }

    /// Curves in one run's order; problems: reading and layout once, then each shard's plate
    /// problems, then the functional ones by target.
    #[test]
    fn join_orders_curves_and_problems_as_one_run() {
        let a = shard(
            &[("T2", "a"), ("T3", "z")],
            &["file x unreadable", "P1: no controls", "target T3: no reference"],
            &[("T3", "target T3: no reference")],
        );
        let b = shard(
            &[("T1", "b"), ("T2", "b")],
            &["file x unreadable", "P5: no controls", "target T1: no reference"],
            &[("T1", "target T1: no reference")],
        );
        let m = join(vec![a, b]).unwrap();
        let keys: Vec<(&str, &str)> =
            m.curves.iter().map(|c| (c.target.as_str(), c.compound.as_str())).collect();
        assert_eq!(keys, [("T1", "b"), ("T2", "a"), ("T2", "b"), ("T3", "z")]);
        assert_eq!(
            m.problems,
            [
                "file x unreadable",
                "P1: no controls",
                "P5: no controls",
                "target T1: no reference",
                "target T3: no reference"
            ]
        );
        assert_eq!(m.plates.len(), 4);
        // A results file whose problems do not end with its functional ones is refused.
        let bad = shard(&[("T1", "b")], &["P5: no controls"], &[("T1", "target T1: x")]);
        assert!(join(vec![bad]).is_err());
    }
}
