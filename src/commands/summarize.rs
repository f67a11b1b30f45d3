//! `radbind summarize`: the assay history of finished runs. Pools each compound's potency
//! over independent experiments, follows each target's reference compound on a
//! Levey-Jennings chart with Westgard rules, and charts plate QC per run.
//!
//! A history is just run directories: each argument is a run (`OUT/runs/<time>`,
//! `OUT/latest`) or an output root whose `runs/` are all read. Per run, `run.json` gives the
//! experiment id, assay date and reference compounds, `fits.parquet` the potencies and
//! `plates.parquet` the plate QC (read with polars, `report::tables::read_parquet`). The
//! statistics are `report::summary`'s, the files `report::summary_page`'s.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

use crate::derive::reference::Measure;
use crate::derive::rows::Censor;
use crate::report::summary::{RecordedCurve, RecordedPlate, RunRecord, Summary, summarize};
use crate::report::tables::read_parquet;

/// Accepted reference runs needed before history limits apply (mean ± 3 SD of those runs).
pub const DEFAULT_BASELINE: usize = 5;

/// The run directories named by `paths`: a run directory as given, or every run under an
/// output root's `runs/`, in name order; each run once (`latest` and its run are the same).
///
/// # Errors
/// A path that is neither, or an output root without runs.
pub fn run_dirs(paths: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = Vec::new();
    let mut seen = Vec::new();
    for p in paths {
        let dirs = if p.join("run.json").is_file() {
            vec![p.clone()]
        } else if p.join("runs").is_dir() {
            let mut v: Vec<PathBuf> = std::fs::read_dir(p.join("runs"))
                .with_context(|| format!("reading {}", p.join("runs").display()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|d| d.join("run.json").is_file())
                .collect();
            v.sort();
            if v.is_empty() {
                bail!("{}: no finished run under runs/", p.display());
            }
            v
        } else {
            bail!(
                "{}: not a run directory (no run.json) nor an output directory (no runs/)",
                p.display()
            );
        };
        for d in dirs {
            let c =
                std::fs::canonicalize(&d).with_context(|| format!("reading {}", d.display()))?;
            if !seen.contains(&c) {
                seen.push(c);
                out.push(d);
            }
        }
    }
    Ok(out)
}

/// Reads what one run recorded for the history.
///
/// # Errors
/// A run without a readable `run.json`, `fits.parquet` or `plates.parquet`.
pub fn read_run(dir: &Path) -> Result<RunRecord> {
    let canonical =
        std::fs::canonicalize(dir).with_context(|| format!("reading {}", dir.display()))?;
    let run = canonical
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
    let manifest_path = dir.join("run.json");
    let text = std::fs::read_to_string(&manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let m: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not JSON", manifest_path.display()))?;
    let field = |k: &str| m.get(k).and_then(serde_json::Value::as_str).map(str::to_string);
    let experiment_id = field("experiment_id").unwrap_or_else(|| run.clone());
    // The assay date, else the day the run started (RFC 3339: its first ten characters).
    let date = field("assay_date")
        .or_else(|| field("started").map(|s| s.chars().take(10).collect()))
        .unwrap_or_default();
    let mut references = BTreeMap::new();
    for r in m.get("references").and_then(serde_json::Value::as_array).into_iter().flatten() {
        let get = |k: &str| r.get(k).and_then(serde_json::Value::as_str).unwrap_or_default();
        references.insert(get("target").to_string(), get("compound").to_string());
    }
    let fits = read_parquet(&dir.join("fits.parquet"))?;
    let target = fits.text("target")?;
    let compound = fits.text("compound")?;
    let qualifier = fits.text("ic50_qualifier")?;
    let status = fits.text("status")?;
    let flags = fits.text("flags")?;
    let exp_ids = fits.text_or_empty("experiment_id");
    let role = fits.text_or_empty("functional_role");
    let (pki, pic50) = (fits.numbers("pki"), fits.numbers("pic50"));
    let mut curves = Vec::with_capacity(fits.height);
    for i in 0..fits.height {
        let censor = Censor::from_mark(&qualifier[i]).with_context(|| {
            format!("{} row {}: ic50_qualifier `{}`", fits.path.display(), i + 1, qualifier[i])
        })?;
        let measure = Measure::of(pki[i], role[i] == "agonist");
        let value = if measure == Measure::PKi { pki[i] } else { pic50[i] };
        let failed = status[i].starts_with("failed") || status[i].starts_with("not_converged");
        curves.push(RecordedCurve {
            experiment_id: exp_ids[i].clone(),
            target: target[i].clone(),
            compound: compound[i].clone(),
            measure,
            value,
            censor,
            failed,
            flags: flags[i].split(';').filter(|f| !f.is_empty()).map(str::to_string).collect(),
        });
    }
    let plates = read_parquet(&dir.join("plates.parquet"))?;
    let pt = plates.text("target")?;
    let (z, sb) = (plates.numbers("z_prime"), plates.numbers("signal_to_background"));
    let (tot, nsb) = (plates.numbers("total_mean_cpm"), plates.numbers("nsb_mean_cpm"));
    let plates = (0..plates.height)
        .map(|i| RecordedPlate {
            target: pt[i].clone(),
            z_prime: z[i],
            signal_to_background: sb[i],
            total_cpm: tot[i],
            nsb_cpm: nsb[i],
        })
        .collect();
    Ok(RunRecord { run, experiment_id, date, references, curves, plates })
}

/// Reads the runs under `paths` and builds their summary.
///
/// # Errors
/// See [`run_dirs`] and [`read_run`].
pub fn summarize_runs(paths: &[PathBuf], baseline: usize) -> Result<Summary> {
    let dirs = run_dirs(paths)?;
    let runs = dirs.iter().map(|d| read_run(d)).collect::<Result<Vec<_>>>()?;
    Ok(summarize(runs, baseline))
}

/// The default output directory: `summary/` in the first output root given, else
/// `./summary`.
#[must_use]
pub fn default_out(paths: &[PathBuf]) -> PathBuf {
    paths
        .first()
        .filter(|p| p.join("runs").is_dir())
        .map_or_else(|| PathBuf::from("summary"), |p| p.join("summary"))
}

/// The one-screen text: per target and compound the pooled value, then the reference
/// verdicts that rejected a run.
#[must_use]
pub fn summary_text(s: &Summary) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "radbind: {} run(s), {} experiment value(s)",
        s.runs.len(),
        s.experiments.len()
    );
    for r in &s.rows {
        let value = match (r.bound, r.pooled) {
            (Some((c, b)), _) => format!("{} {} nM (censored)", c.mark(), crate::units::sig3(b)),
            (None, Some(p)) if p.n > 1 => format!(
                "{} {:.2} \u{b1} {:.2} (SEM, n = {}), 95 % CI {:.2}\u{2013}{:.2}",
                r.measure, p.mean, p.sem, p.n, p.ci.0, p.ci.1
            ),
            (None, Some(p)) => format!("{} {:.2} (n = 1)", r.measure, p.mean),
            (None, None) => "no value".to_string(),
        };
        let flags =
            if r.flags.is_empty() { String::new() } else { format!(" [{}]", r.flags.join(", ")) };
        let _ = writeln!(t, "  {} / {}: {value}{flags}", r.target, r.compound);
    }
    for h in &s.references {
        for p in h.points.iter().filter(|p| !p.4.accepted) {
            let why = p.4.rule.map_or("reference_out_of_range", |r| r.name());
            let _ = writeln!(
                t,
                "reference {} / {}: run {} ({}) rejected: {why}",
                h.target, h.compound, p.0, p.2
            );
        }
    }
    t
}
