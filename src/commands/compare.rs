//! Comparing two run directories: what changed between a run and its rerun.
//!
//! Each side is a run directory (`OUT/runs/<time>`, `OUT/latest`) or an output directory
//! (`--out` of `radbind run`), whose `latest` run is taken; a run is named by its directory
//! (the run time), so `OUT_A` and `OUT_B` read as their runs, not both as `latest`.
//! A curve is a target × compound, × experiment in a run with several independent
//! experiments (`fits.csv` column `experiment_id`), so experiments never collide.
//!
//! [`compare`] reads each directory's `run.json` (config text, inputs with SHA-256) and
//! `fits.csv` (one row per curve) and reports config changes as a line diff, inputs added,
//! removed or changed (by path, then by hash), curves added or removed, curves whose Ki
//! changed (fold change and Δlog10, censored bounds compared as bounds) and curves whose
//! status or flags changed. [`Comparison::text`] and [`Comparison::html`] render it; the HTML
//! is one self-contained page with every string escaped.
//!
//! `fits.csv` is read by `report::tables::read_fits_ki`, the same reader `radbind panel` uses.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::fit::status::CurveStatus;
use crate::report::text::escape;

/// A fold change at or above this is marked as notable in the text and HTML.
pub const NOTABLE_FOLD: f64 = 2.0;

/// Ki values (or bounds) within this relative difference are the same: `|Ki_B / Ki_A − 1|`
/// up to 1 % (rounding in a rerun, another thread count's summation order) is not a change.
pub const KI_TOLERANCE: f64 = 0.01;

/// A curve of a run: target, compound and, in a run of several independent experiments,
/// the experiment (`fits.csv` column `experiment_id`; empty otherwise).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CurveKey {
    /// Target.
    pub target: String,
    /// Compound.
    pub compound: String,
    /// Experiment id (empty: the run is the experiment).
    pub experiment: String,
}

impl std::fmt::Display for CurveKey {
    /// `H1 / mianserin`, or `H1 / mianserin (experiment 2)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} / {}", self.target, self.compound)?;
        if !self.experiment.is_empty() {
            write!(f, " (experiment {})", self.experiment)?;
        }
        Ok(())
    }
}

/// One side of the comparison: a run directory as read.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The run directory's name (e.g. `2026-11-21T21-16-43Z`; `latest` resolved to the run
    /// it points at); the path as given when both runs have the same name.
    pub name: String,
    /// Experiment name from `run.json`.
    pub experiment: String,
    /// radbind version that made the run.
    pub version: String,
    /// Start time from `run.json`.
    pub started: String,
    /// Number of curves in `fits.csv`.
    pub curves: usize,
}

/// One line of the config diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    /// In both (context).
    Same(String),
    /// Only in run A.
    Removed(String),
    /// Only in run B.
    Added(String),
    /// Unchanged lines left out between hunks.
    Skipped(usize),
}

/// An input file that differs between the runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputChange {
    /// Path as recorded in `run.json`.
    pub path: String,
    /// SHA-256 in run A (`None`: not in A).
    pub sha256_a: Option<String>,
    /// SHA-256 in run B (`None`: not in B).
    pub sha256_b: Option<String>,
}

/// A curve's Ki in one run: the value, or a bound with its qualifier.
#[derive(Debug, Clone, PartialEq)]
pub struct KiValue {
    /// Ki in nM (the bound when censored); `None` when not determined.
    pub ki_nm: Option<f64>,
    /// `">"`, `"<"` or `""`.
    pub qualifier: String,
}

impl KiValue {
    fn text(&self) -> String {
        match self.ki_nm {
            Some(v) if self.qualifier.is_empty() => crate::units::format_conc_nm(v),
            Some(v) => format!("{} {}", self.qualifier, crate::units::format_conc_nm(v)),
            None => "n.d.".to_string(),
        }
    }
}

/// A curve whose Ki changed.
#[derive(Debug, Clone, PartialEq)]
pub struct KiChange {
    /// Target.
    pub target: String,
    /// Compound.
    pub compound: String,
    /// Experiment id (empty: the run is the experiment).
    pub experiment: String,
    /// Ki in run A.
    pub a: KiValue,
    /// Ki in run B.
    pub b: KiValue,
    /// Ki_B / Ki_A when both are numbers (bounds included).
    pub fold: Option<f64>,
    /// log10 Ki_B − log10 Ki_A (= −ΔpKi).
    pub delta_log: Option<f64>,
}

/// A curve whose status or flags changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    /// Target.
    pub target: String,
    /// Compound.
    pub compound: String,
    /// Experiment id (empty: the run is the experiment).
    pub experiment: String,
    /// Status in run A.
    pub status_a: String,
    /// Status in run B.
    pub status_b: String,
    /// Flags in B that A did not have.
    pub flags_added: Vec<String>,
    /// Flags in A that B does not have.
    pub flags_removed: Vec<String>,
}

/// Everything that differs between two runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Run A (the reference).
    pub a: RunInfo,
    /// Run B (the rerun).
    pub b: RunInfo,
    /// Line diff of the config text (empty when identical).
    pub config_diff: Vec<DiffLine>,
    /// Inputs added, removed or changed.
    pub inputs: Vec<InputChange>,
    /// Curves only in B.
    pub curves_added: Vec<CurveKey>,
    /// Curves only in A.
    pub curves_removed: Vec<CurveKey>,
    /// Curves in both whose Ki changed by more than [`KI_TOLERANCE`], largest |Δlog| first.
    pub ki_changes: Vec<KiChange>,
    /// Curves in both whose status or flags changed.
    pub status_changes: Vec<StatusChange>,
}

/// One row of `fits.csv`, the columns compare needs.
#[derive(Debug, Clone)]
struct FitRow {
    ki: KiValue,
    status: CurveStatus,
    flags: Vec<String>,
}

struct Run {
    info: RunInfo,
    config_text: String,
    inputs: Vec<(String, String)>,
    fits: BTreeMap<CurveKey, FitRow>,
}

/// Compares two runs, each a run directory (holding `run.json` and `fits.csv`) or an output
/// directory whose `latest` run is taken.
///
/// # Errors
/// When a path is neither, or a file cannot be parsed.
pub fn compare(run_a: &Path, run_b: &Path) -> Result<Comparison> {
    let (dir_a, dir_b) = (run_dir(run_a)?, run_dir(run_b)?);
    let mut a = read_run(&dir_a)?;
    let mut b = read_run(&dir_b)?;
    if a.info.name == b.info.name {
        a.info.name = run_a.display().to_string();
        b.info.name = run_b.display().to_string();
    }
    Ok(compare_runs(&a, &b))
}

/// The run directory of `path`: itself when it holds `run.json`, else its `latest` run (an
/// output directory of `radbind run`), resolved to `runs/<time>`.
///
/// # Errors
/// When `path` is neither.
pub fn run_dir(path: &Path) -> Result<PathBuf> {
    let dir = if path.join("run.json").is_file() {
        path.to_path_buf()
    } else if path.join("latest").join("run.json").is_file() {
        path.join("latest")
    } else if path.join("runs").is_dir() {
        anyhow::bail!(
            "{}: an output directory without a finished `latest` run; give a run directory \
             ({}/runs/<time>)",
            path.display(),
            path.display()
        );
    } else {
        anyhow::bail!(
            "{}: no run.json (is this a radbind run directory, or an output directory with \
             `latest`?)",
            path.display()
        );
    };
    std::fs::canonicalize(&dir).with_context(|| format!("reading {}", dir.display()))
}

fn compare_runs(a: &Run, b: &Run) -> Comparison {
    // Inputs by path.
    let ia: BTreeMap<&str, &str> = a.inputs.iter().map(|(p, h)| (p.as_str(), h.as_str())).collect();
    let ib: BTreeMap<&str, &str> = b.inputs.iter().map(|(p, h)| (p.as_str(), h.as_str())).collect();
    let paths: BTreeSet<&str> = ia.keys().chain(ib.keys()).copied().collect();
    let inputs = paths
        .into_iter()
        .filter(|p| ia.get(p) != ib.get(p))
        .map(|p| InputChange {
            path: p.to_string(),
            sha256_a: ia.get(p).map(|s| (*s).to_string()),
            sha256_b: ib.get(p).map(|s| (*s).to_string()),
        })
        .collect();

    let mut curves_added = Vec::new();
    let mut curves_removed = Vec::new();
    let mut ki_changes = Vec::new();
    let mut status_changes = Vec::new();
    for k in a.fits.keys().filter(|k| !b.fits.contains_key(*k)) {
        curves_removed.push(k.clone());
    }
    for (k, fb) in &b.fits {
        let Some(fa) = a.fits.get(k) else {
            curves_added.push(k.clone());
            continue;
        };
        let CurveKey { target, compound, experiment } = k.clone();
        let same_ki = fa.ki.qualifier == fb.ki.qualifier
            && match (fa.ki.ki_nm, fb.ki.ki_nm) {
                (Some(x), Some(y)) => same_within_tolerance(x, y),
                (None, None) => true,
                _ => false,
            };
        if !same_ki {
            let (fold, delta_log) = match (fa.ki.ki_nm, fb.ki.ki_nm) {
                (Some(x), Some(y)) if x > 0.0 && y > 0.0 => {
                    (Some(y / x), Some(y.log10() - x.log10()))
                }
                _ => (None, None),
            };
            ki_changes.push(KiChange {
                target: target.clone(),
                compound: compound.clone(),
                experiment: experiment.clone(),
                a: fa.ki.clone(),
                b: fb.ki.clone(),
                fold,
                delta_log,
            });
        }
        let fa_set: BTreeSet<&String> = fa.flags.iter().collect();
        let fb_set: BTreeSet<&String> = fb.flags.iter().collect();
        if fa.status != fb.status || fa_set != fb_set {
            status_changes.push(StatusChange {
                target,
                compound,
                experiment,
                status_a: fa.status.to_string(),
                status_b: fb.status.to_string(),
                flags_added: fb_set.difference(&fa_set).map(|s| (*s).clone()).collect(),
                flags_removed: fa_set.difference(&fb_set).map(|s| (*s).clone()).collect(),
            });
        }
    }
    // Largest change first; curves without a number last; ties by name (stable sort).
    ki_changes.sort_by(|x, y| {
        let m = |c: &KiChange| c.delta_log.map_or(-1.0, f64::abs);
        m(y).total_cmp(&m(x))
    });
    Comparison {
        a: a.info.clone(),
        b: b.info.clone(),
        config_diff: line_diff(&a.config_text, &b.config_text, 2),
        inputs,
        curves_added,
        curves_removed,
        ki_changes,
        status_changes,
    }
}

/// `true` when two Ki values (nM) differ by at most [`KI_TOLERANCE`] relative to the first.
fn same_within_tolerance(x: f64, y: f64) -> bool {
    x == y || (x > 0.0 && y > 0.0 && (y / x - 1.0).abs() <= KI_TOLERANCE)
}

fn read_run(dir: &Path) -> Result<Run> {
    let manifest = dir.join("run.json");
    let text = std::fs::read_to_string(&manifest).with_context(|| {
        format!("reading {} (is this a radbind run directory?)", manifest.display())
    })?;
    let v: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", manifest.display()))?;
    let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_string();
    let inputs = v
        .get("inputs")
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .map(|i| {
                    let f = |k: &str| {
                        i.get(k).and_then(serde_json::Value::as_str).unwrap_or_default().to_string()
                    };
                    (f("path"), f("sha256"))
                })
                .collect()
        })
        .unwrap_or_default();
    let fits_path = dir.join("fits.csv");
    let fits: BTreeMap<CurveKey, FitRow> = crate::report::tables::read_fits_ki(&fits_path, "")?
        .into_iter()
        .map(|e| {
            let ki = KiValue {
                ki_nm: e.ki_nm.is_finite().then_some(e.ki_nm),
                qualifier: e.ki_censor.mark().to_string(),
            };
            let key =
                CurveKey { target: e.target, compound: e.compound, experiment: e.experiment_id };
            (key, FitRow { ki, status: e.status, flags: e.flags })
        })
        .collect();
    let name = dir
        .file_name()
        .map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into_owned());
    Ok(Run {
        info: RunInfo {
            name,
            experiment: s("experiment"),
            version: s("radbind_version"),
            started: s("started"),
            curves: fits.len(),
        },
        config_text: s("config_text"),
        inputs,
        fits,
    })
}

/// A line diff (longest common subsequence) with `context` unchanged lines around each
/// change; longer unchanged runs become [`DiffLine::Skipped`]. Empty when equal.
#[must_use]
pub fn line_diff(a: &str, b: &str, context: usize) -> Vec<DiffLine> {
    if a == b {
        return Vec::new();
    }
    let la: Vec<&str> = a.lines().collect();
    let lb: Vec<&str> = b.lines().collect();
    let (n, m) = (la.len(), lb.len());
    let mut full = Vec::new();
    if n.saturating_mul(m) > 25_000_000 {
        full.extend(la.iter().map(|l| DiffLine::Removed((*l).to_string())));
        full.extend(lb.iter().map(|l| DiffLine::Added((*l).to_string())));
    } else {
        // lcs[i][j]: LCS length of la[i..] and lb[j..].
        let mut lcs = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                lcs[i][j] = if la[i] == lb[j] {
                    lcs[i + 1][j + 1] + 1
                } else {
                    lcs[i + 1][j].max(lcs[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && la[i] == lb[j] {
                full.push(DiffLine::Same(la[i].to_string()));
                i += 1;
                j += 1;
            } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
                full.push(DiffLine::Removed(la[i].to_string()));
                i += 1;
            } else {
                full.push(DiffLine::Added(lb[j].to_string()));
                j += 1;
            }
        }
    }
    // Keep context lines near changes.
    let changed: Vec<usize> = full
        .iter()
        .enumerate()
        .filter(|(_, d)| !matches!(d, DiffLine::Same(_)))
        .map(|(k, _)| k)
        .collect();
    let near = |k: usize| changed.iter().any(|&c| c.abs_diff(k) <= context);
    let mut out = Vec::new();
    let mut skipped = 0usize;
    for (k, d) in full.into_iter().enumerate() {
        if matches!(d, DiffLine::Same(_)) && !near(k) {
            skipped += 1;
            continue;
        }
        if skipped > 0 {
            out.push(DiffLine::Skipped(skipped));
            skipped = 0;
        }
        out.push(d);
    }
    if skipped > 0 {
        out.push(DiffLine::Skipped(skipped));
    }
    out
}

fn fold_text(c: &KiChange) -> String {
    match (c.fold, c.delta_log) {
        (Some(f), Some(d)) => {
            let mark = if f >= NOTABLE_FOLD || f <= 1.0 / NOTABLE_FOLD { " !" } else { "" };
            format!("{}x, \u{394}log {d:+.2}{mark}", crate::units::sig3(f))
        }
        _ => "n.d.".to_string(),
    }
}

/// A compound with its experiment, `mianserin (experiment 2)`, in a run of several.
fn with_experiment(compound: &str, experiment: &str) -> String {
    if experiment.is_empty() {
        compound.to_string()
    } else {
        format!("{compound} (experiment {experiment})")
    }
}

fn short_hash(h: Option<&String>) -> String {
    h.map_or_else(|| "-".to_string(), |h| h.chars().take(12).collect())
}

impl KiChange {
    /// The curve.
    #[must_use]
    pub fn key(&self) -> CurveKey {
        CurveKey {
            target: self.target.clone(),
            compound: self.compound.clone(),
            experiment: self.experiment.clone(),
        }
    }
}

impl StatusChange {
    /// The curve.
    #[must_use]
    pub fn key(&self) -> CurveKey {
        CurveKey {
            target: self.target.clone(),
            compound: self.compound.clone(),
            experiment: self.experiment.clone(),
        }
    }
}

impl Comparison {
    /// `true` when nothing differs (config, inputs, curves, Ki, status, flags).
    #[must_use]
    pub fn is_identical(&self) -> bool {
        self.config_diff.is_empty()
            && self.inputs.is_empty()
            && self.curves_added.is_empty()
            && self.curves_removed.is_empty()
            && self.ki_changes.is_empty()
            && self.status_changes.is_empty()
    }

    /// The comparison as plain text (for a terminal or a log). Deterministic.
    #[must_use]
    pub fn text(&self) -> String {
        let mut t = String::new();
        let run = |r: &RunInfo| {
            format!(
                "{} (experiment {}, radbind {}, started {}, {} curves)",
                r.name, r.experiment, r.version, r.started, r.curves
            )
        };
        let _ = writeln!(t, "A: {}", run(&self.a));
        let _ = writeln!(t, "B: {}", run(&self.b));
        if self.is_identical() {
            t.push_str(
                "\nNo differences: same config, inputs, curves, Ki values (within 1 %), status \
                 and flags.\n",
            );
            return t;
        }
        t.push_str("\nConfig:\n");
        if self.config_diff.is_empty() {
            t.push_str("  unchanged\n");
        }
        for d in &self.config_diff {
            let _ = match d {
                DiffLine::Same(l) => writeln!(t, "    {l}"),
                DiffLine::Removed(l) => writeln!(t, "  - {l}"),
                DiffLine::Added(l) => writeln!(t, "  + {l}"),
                DiffLine::Skipped(n) => writeln!(t, "  @@ {n} unchanged line(s) @@"),
            };
        }
        t.push_str("\nInputs:\n");
        if self.inputs.is_empty() {
            t.push_str("  unchanged\n");
        }
        for i in &self.inputs {
            let what = match (&i.sha256_a, &i.sha256_b) {
                (None, Some(_)) => "added  ",
                (Some(_), None) => "removed",
                _ => "changed",
            };
            let _ = writeln!(
                t,
                "  {what} {} ({} -> {})",
                i.path,
                short_hash(i.sha256_a.as_ref()),
                short_hash(i.sha256_b.as_ref())
            );
        }
        let _ = writeln!(
            t,
            "\nCurves: {} added, {} removed",
            self.curves_added.len(),
            self.curves_removed.len()
        );
        for k in &self.curves_added {
            let _ = writeln!(t, "  + {k}");
        }
        for k in &self.curves_removed {
            let _ = writeln!(t, "  - {k}");
        }
        let _ = writeln!(
            t,
            "\nKi changed ({} curves by more than {:.0} %; ! = at least {NOTABLE_FOLD}-fold):",
            self.ki_changes.len(),
            KI_TOLERANCE * 100.0
        );
        for c in &self.ki_changes {
            let _ =
                writeln!(t, "  {}: {} -> {} ({})", c.key(), c.a.text(), c.b.text(), fold_text(c));
        }
        let _ = writeln!(t, "\nStatus or flags changed ({} curves):", self.status_changes.len());
        for s in &self.status_changes {
            let mut parts = Vec::new();
            if s.status_a != s.status_b {
                parts.push(format!("status {} -> {}", s.status_a, s.status_b));
            }
            if !s.flags_added.is_empty() {
                parts.push(format!("+{}", s.flags_added.join(" +")));
            }
            if !s.flags_removed.is_empty() {
                parts.push(format!("-{}", s.flags_removed.join(" -")));
            }
            let _ = writeln!(t, "  {}: {}", s.key(), parts.join("; "));
        }
        t
    }

    /// The comparison as one self-contained HTML page (no URLs, inline CSS, every string
    /// escaped). Deterministic.
    #[must_use]
    pub fn html(&self) -> String {
        let mut h = String::new();
        let title = format!("radbind: {} vs {}", self.a.name, self.b.name);
        let _ = write!(
            h,
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
             <style>{CMP_CSS}</style>\n</head>\n<body>\n<main>\n<h1>{}</h1>\n",
            escape(&title),
            escape(&title)
        );
        h.push_str("<table><thead><tr><th></th><th>Run</th><th>Experiment</th><th>radbind</th><th>Started</th><th class=\"num\">Curves</th></tr></thead><tbody>\n");
        for (k, r) in [("A", &self.a), ("B", &self.b)] {
            let _ = writeln!(
                h,
                "<tr><th>{k}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td></tr>",
                escape(&r.name),
                escape(&r.experiment),
                escape(&r.version),
                escape(&r.started),
                r.curves
            );
        }
        h.push_str("</tbody></table>\n");
        if self.is_identical() {
            h.push_str("<p><strong>No differences</strong>: same config, inputs, curves, Ki values (within 1 %), status and flags.</p>\n");
        }
        h.push_str("<h2>Config</h2>\n");
        if self.config_diff.is_empty() {
            h.push_str("<p>Unchanged.</p>\n");
        } else {
            h.push_str("<pre class=\"diff\">");
            for d in &self.config_diff {
                let _ = match d {
                    DiffLine::Same(l) => writeln!(h, "<span>  {}</span>", escape(l)),
                    DiffLine::Removed(l) => writeln!(h, "<del>- {}</del>", escape(l)),
                    DiffLine::Added(l) => writeln!(h, "<ins>+ {}</ins>", escape(l)),
                    DiffLine::Skipped(n) => {
                        writeln!(h, "<span class=\"skip\">@@ {n} unchanged line(s) @@</span>")
                    }
                };
            }
            h.push_str("</pre>\n");
        }
        h.push_str("<h2>Inputs</h2>\n");
        if self.inputs.is_empty() {
            h.push_str("<p>Unchanged (same paths, same SHA-256).</p>\n");
        } else {
            h.push_str("<table><thead><tr><th>Change</th><th>File</th><th>SHA-256 A</th><th>SHA-256 B</th></tr></thead><tbody>\n");
            for i in &self.inputs {
                let what = match (&i.sha256_a, &i.sha256_b) {
                    (None, Some(_)) => "added",
                    (Some(_), None) => "removed",
                    _ => "changed",
                };
                let _ = writeln!(
                    h,
                    "<tr><td>{what}</td><td>{}</td><td><code>{}</code></td><td><code>{}</code></td></tr>",
                    escape(&i.path),
                    escape(&short_hash(i.sha256_a.as_ref())),
                    escape(&short_hash(i.sha256_b.as_ref()))
                );
            }
            h.push_str("</tbody></table>\n");
        }
        let _ = writeln!(
            h,
            "<h2>Curves</h2>\n<p>{} added, {} removed.</p>",
            self.curves_added.len(),
            self.curves_removed.len()
        );
        if !self.curves_added.is_empty() || !self.curves_removed.is_empty() {
            h.push_str("<ul>\n");
            for k in &self.curves_added {
                let _ = writeln!(h, "<li><ins>added</ins> {}</li>", escape(&k.to_string()));
            }
            for k in &self.curves_removed {
                let _ = writeln!(h, "<li><del>removed</del> {}</li>", escape(&k.to_string()));
            }
            h.push_str("</ul>\n");
        }
        let _ = writeln!(
            h,
            "<h2>Ki changed</h2>\n<p>{} curve(s) by more than {:.0} %; rows of at least {NOTABLE_FOLD}-fold are highlighted.</p>",
            self.ki_changes.len(),
            KI_TOLERANCE * 100.0
        );
        if !self.ki_changes.is_empty() {
            h.push_str("<table><thead><tr><th>Target</th><th>Compound</th><th class=\"num\">Ki A</th><th class=\"num\">Ki B</th><th class=\"num\">Fold (B/A)</th><th class=\"num\">\u{394}log10 Ki</th></tr></thead><tbody>\n");
            for c in &self.ki_changes {
                let notable = c.fold.is_some_and(|f| f >= NOTABLE_FOLD || f <= 1.0 / NOTABLE_FOLD);
                let _ = writeln!(
                    h,
                    "<tr{}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td></tr>",
                    if notable { " class=\"notable\"" } else { "" },
                    escape(&c.target),
                    escape(&with_experiment(&c.compound, &c.experiment)),
                    escape(&c.a.text()),
                    escape(&c.b.text()),
                    c.fold.map_or_else(|| "n.d.".to_string(), crate::units::sig3),
                    c.delta_log.map_or_else(
                        || "n.d.".to_string(),
                        |d| format!("{d:+.2}").replace('-', "\u{2212}")
                    ),
                );
            }
            h.push_str("</tbody></table>\n");
        }
        let _ = writeln!(
            h,
            "<h2>Status or flags changed</h2>\n<p>{} curve(s).</p>",
            self.status_changes.len()
        );
        if !self.status_changes.is_empty() {
            h.push_str("<table><thead><tr><th>Target</th><th>Compound</th><th>Status A</th><th>Status B</th><th>Flags added</th><th>Flags removed</th></tr></thead><tbody>\n");
            for s in &self.status_changes {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(&s.target),
                    escape(&with_experiment(&s.compound, &s.experiment)),
                    escape(&s.status_a),
                    escape(&s.status_b),
                    escape(&s.flags_added.join(", ")),
                    escape(&s.flags_removed.join(", ")),
                );
            }
            h.push_str("</tbody></table>\n");
        }
        h.push_str("</main>\n</body>\n</html>\n");
        h
    }
}

const CMP_CSS: &str = "body{margin:0;color:#1a1a1a;font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,Arial,sans-serif}\
main{max-width:1100px;margin:0 auto;padding:24px 32px 48px}h1{font-size:24px}\
h2{font-size:19px;border-bottom:2px solid #1a1a1a;padding-bottom:3px;margin-top:28px}\
table{border-collapse:collapse;width:100%;font-size:14px}th,td{padding:5px 9px;border-bottom:1px solid #ddd;text-align:left}\
th{background:#f6f7f9}.num{text-align:right;font-variant-numeric:tabular-nums}\
tr.notable td{background:#fff4e0;font-weight:600}pre.diff{background:#f6f7f9;border:1px solid #ddd;padding:10px;overflow-x:auto}\
ins{background:#e6f4ea;text-decoration:none;display:block}del{background:#fdecea;text-decoration:none;display:block}\
li ins,li del{display:inline;padding:0 4px}.skip{color:#777}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_with_context() {
        let a = "1\n2\n3\n4\n5\n6\n7\n8\n";
        let b = "1\n2\n3\n4\nfive\n6\n7\n8\n";
        let d = line_diff(a, b, 1);
        assert_eq!(
            d,
            vec![
                DiffLine::Skipped(3),
                DiffLine::Same("4".into()),
                DiffLine::Removed("5".into()),
                DiffLine::Added("five".into()),
                DiffLine::Same("6".into()),
                DiffLine::Skipped(2),
            ]
        );
        assert!(line_diff(a, a, 1).is_empty());
    }
}
