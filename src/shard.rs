//! Shards: `radbind run CONFIG --shard i/n` analyses a deterministic part of the plates, so a
//! campaign can be spread over the nodes of a cluster (a Slurm job array) and joined again by
//! `radbind merge` (`commands::merge`).
//!
//! The plates (in input order, as the layout stage gives them) are cut into the smallest runs
//! of consecutive plates that keep together what one curve row needs: the plates of a curve
//! (target × compound × experiment, [`crate::stream::curve_keys`]), all plates of one
//! experiment of a target with a reference compound (`references.<target>`: its verdict flags
//! every curve of the target and experiment), and all plates of a `[35S]GTPγS` target (its
//! relative efficacies need the reference agonist's curve). Shard `i` of `n` takes the groups
//! `⌊(i-1)·G/n⌋ .. ⌊i·G/n⌋` of the `G` groups: contiguous, in input order, independent of the
//! thread count. A shard can be empty (more shards than groups).
//!
//! Runs whose plates depend on each other across curves (`stream::dependency`: controls from
//! another plate, series ends, saturation, `kd_from`, shared parameters) are not sharded: the
//! run stops with an error naming the config key.

use std::fmt;
use std::str::FromStr;

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::config::{Assay, CurveFigures, Settings};
use crate::derive::rows::{CurveRow, RunResults};
use crate::layout::Plate;
use crate::report::FigureOptions;

/// Which part of a run: shard `index` (1-based) of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 1-based shard number.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl FromStr for Shard {
    type Err = String;

    /// `i/n` with `1 <= i <= n`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: give i/n with 1 <= i <= n (e.g. 2/8)");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What keeps plates in one group: a curve, a reference target's experiment, a functional
/// target.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum GroupKey<'a> {
    Curve(&'a str, &'a str, Option<&'a str>),
    Reference(&'a str, Option<&'a str>),
    Functional(&'a str),
}

/// The end index (exclusive) of each group of consecutive plates (see the module docs).
#[must_use]
pub fn group_ends(settings: &Settings, plates: &[Plate]) -> Vec<usize> {
    let keys: Vec<Vec<GroupKey<'_>>> = plates
        .iter()
        .map(|p| {
            let mut ks: Vec<GroupKey<'_>> =
                crate::stream::curve_keys(p).map(|(t, c, e)| GroupKey::Curve(t, c, e)).collect();
            if settings.references.contains_key(&p.target) {
                ks.push(GroupKey::Reference(&p.target, p.experiment.as_deref()));
            }
            if settings.targets.get(&p.target).is_some_and(|t| matches!(t.assay, Assay::Gtpgs(_))) {
                ks.push(GroupKey::Functional(&p.target));
            }
            ks
        })
        .collect();
    crate::stream::cuts_by(&keys, 1)
}

/// The plates of `shard`: its contiguous range of groups ([`group_ends`]).
///
/// # Errors
/// When the plates depend on each other across curves (the message names the config key).
pub fn select(settings: &Settings, plates: Vec<Plate>, shard: Shard) -> Result<Vec<Plate>> {
    if let Some(key) = crate::stream::dependency(settings, &plates) {
        bail!(
            "--shard {shard}: this run cannot be sharded: its plates depend on each other \
             across curves ({key}); run it without --shard"
        );
    }
    let ends = group_ends(settings, &plates);
    let (from, to) = group_range(ends.len(), shard);
    let start = if from == 0 { 0 } else { ends[from - 1] };
    let end = if to == 0 { 0 } else { ends[to - 1] };
    Ok(plates.into_iter().skip(start).take(end.saturating_sub(start)).collect())
}

/// The groups `from..to` of `groups` that `shard` takes: `⌊(i-1)·G/n⌋ .. ⌊i·G/n⌋`.
#[must_use]
pub fn group_range(groups: usize, shard: Shard) -> (usize, usize) {
    ((shard.index - 1) * groups / shard.count, shard.index * groups / shard.count)
}

/// The SHA-256 of the config text (hex): shards of one run carry the same.
#[must_use]
pub fn config_sha256(settings: &Settings) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(settings.config_text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What run.json records of a shard: `{"index", "count", "config_sha256",
/// "primary_target"}` (the selectivity panel's, for `radbind merge`).
#[must_use]
pub fn manifest(shard: Shard, settings: &Settings) -> serde_json::Value {
    serde_json::json!({
        "index": shard.index,
        "count": shard.count,
        "config_sha256": config_sha256(settings),
        "primary_target": settings.primary_target,
    })
}

/// The file of a shard's run directory holding what the report stage needs of its results
/// ([`ShardResults`], MessagePack): `radbind merge` joins those of all shards and writes the
/// tables, figures, reports and run.json of the whole run from them.
pub const RESULTS_FILE: &str = "shard-results.msgpack";

/// The layout version of [`RESULTS_FILE`]; `radbind merge` refuses another.
pub const RESULTS_FORMAT: u32 = 1;

/// What a shard keeps of its run for `radbind merge` ([`RESULTS_FILE`]).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct ShardResults {
    /// [`RESULTS_FORMAT`].
    pub format: u32,
    /// The shard's results as its report stage saw them: every curve row (the points only of
    /// the curves a run in batches keeps for its figures, `crate::stream`), the plate,
    /// primary-screen and reference rows, and the wells the report lists or draws (all of
    /// them in a run in one pass); its problems end with those of `functional` and then the
    /// primary-screen ones (`derive::assemble`).
    pub results: RunResults,
    /// Each curve row's own experiment (`plates[].experiment`; `None`: the run's): with its
    /// target and compound, the key a single run orders its curves by (`fit::build_curves`).
    pub curve_experiments: Vec<Option<String>>,
    /// The problems of the [35S]GTPγS numbers (`derive::functional`), with their target: a
    /// single run lists them after every plate's problems, in target order.
    pub functional_problems: Vec<(String, String)>,
    /// The figures the config asks for (`report.figures`, `report.curve_figures` before
    /// `auto` is resolved, `report.error_bars`, `report.png_scale`).
    pub figures: FigurePolicy,
}

/// [`ShardResults`] as written: the results borrowed, not copied (the same fields in the same
/// order, so the one reads what the other writes).
#[derive(serde::Serialize)]
struct ShardResultsRef<'a> {
    format: u32,
    results: &'a RunResults,
    curve_experiments: Vec<Option<String>>,
    functional_problems: Vec<(String, String)>,
    figures: FigurePolicy,
}

/// The figure options of a run as its config gives them ([`crate::report::FigureOptions`]
/// with `curves` not yet resolved for the number of curves).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FigurePolicy {
    /// Figures drawn at all.
    pub draw: bool,
    /// PNG besides SVG.
    pub png: bool,
    /// PNG size factor.
    pub png_scale: f64,
    /// Error bars of the curve figures.
    pub error_bars: crate::config::ErrorBars,
    /// The confidence band shaded.
    pub confidence_band: bool,
    /// Ki marked on the axis.
    pub mark_ki: bool,
    /// `report.curve_figures`.
    pub curves: CurveFigures,
}

impl From<FigureOptions> for FigurePolicy {
    fn from(f: FigureOptions) -> Self {
        FigurePolicy {
            draw: f.draw,
            png: f.png,
            png_scale: f.png_scale,
            error_bars: f.style.error_bars,
            confidence_band: f.style.confidence_band,
            mark_ki: f.style.mark_ki,
            curves: f.curves,
        }
    }
}

impl From<FigurePolicy> for FigureOptions {
    fn from(f: FigurePolicy) -> Self {
        FigureOptions {
            draw: f.draw,
            png: f.png,
            png_scale: f.png_scale,
            style: crate::report::plots::CurveStyle {
                error_bars: f.error_bars,
                confidence_band: f.confidence_band,
                mark_ki: f.mark_ki,
            },
            curves: f.curves,
        }
    }
}

/// A shard's own outputs besides a run's: the hive-partitioned fits
/// ([`crate::report::tables::write_fits_partitioned`]) and [`RESULTS_FILE`].
///
/// # Errors
/// When a file cannot be written.
pub fn write_outputs(
    settings: &Settings,
    results: &RunResults,
    shard: Shard,
    dir: &Path,
) -> Result<()> {
    crate::report::tables::write_fits_partitioned(&results.curves, dir, shard.index)?;
    // A curve's experiment is its plates' `plates[].experiment`, else the run's (no key of
    // its own: first, as `fit::build_curves` orders `None`).
    let run_experiment = settings.experiment_id.as_deref().unwrap_or("");
    let curve_experiments = results
        .curves
        .iter()
        .map(|c| (c.experiment_id != run_experiment).then(|| c.experiment_id.clone()))
        .collect();
    let kept = ShardResultsRef {
        format: RESULTS_FORMAT,
        results,
        curve_experiments,
        functional_problems: functional_problems(settings, &results.curves),
        figures: crate::report::FigureOptions::from_settings(settings).into(),
    };
    let path = dir.join(RESULTS_FILE);
    let bytes = rmp_serde::to_vec(&kept).context("serialising the shard's results")?;
    std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))
}

/// The problems `derive::functional::functional_results` gave for `curves`, per [35S]GTPγS
/// target (computed again, one target at a time, on copies of its rows).
fn functional_problems(settings: &Settings, curves: &[CurveRow]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, t) in &settings.targets {
        if !matches!(t.assay, Assay::Gtpgs(_)) {
            continue;
        }
        let mut rows: Vec<CurveRow> =
            curves.iter().filter(|c| c.target == *name).cloned().collect();
        let one = std::collections::BTreeMap::from([(name.clone(), t.clone())]);
        for p in crate::derive::functional::functional_results(&mut rows, &one) {
            out.push((name.clone(), p));
        }
    }
    out
}

/// Reads a shard's [`RESULTS_FILE`].
///
/// # Errors
/// A missing or unreadable file, or one of another layout version.
pub fn read_results(dir: &Path) -> Result<ShardResults> {
    let path = dir.join(RESULTS_FILE);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let kept: ShardResults = rmp_serde::from_slice(&bytes).with_context(|| {
        format!("reading {}: not the results of a shard of this radbind version", path.display())
    })?;
    if kept.format != RESULTS_FORMAT {
        bail!(
            "{}: results of layout {}, this radbind reads {RESULTS_FORMAT}: merge with the radbind \
             that ran the shards",
            path.display(),
            kept.format
        );
    }
    if kept.curve_experiments.len() != kept.results.curves.len() {
        bail!(
            "{}: {} curve keys for {} curves",
            path.display(),
            kept.curve_experiments.len(),
            kept.results.curves.len()
        );
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a shard writes reads back as the same results, every number to the bit (NaN
    /// included: the fixture's plates have NaN basal means).
    #[test]
    fn shard_results_read_back_as_written() {
        let mut results = crate::test_support::sample_results();
        results.curves[0].fit.as_mut().expect("a fit").curve =
            Some(crate::fit::procedures::band::FittedCurve::FourPl {
                params: [100.0, 0.0, -1.0, -8.0],
                cov: [[f64::NAN; 4]; 4],
            });
        let written = ShardResultsRef {
            format: RESULTS_FORMAT,
            results: &results,
            curve_experiments: vec![None, Some("e2".into()), None],
            functional_problems: vec![("G".into(), "target G: no reference".into())],
            figures: FigureOptions::default().into(),
        };
        let bytes = rmp_serde::to_vec(&written).unwrap();
        let read: ShardResults = rmp_serde::from_slice(&bytes).unwrap();
        assert_eq!(format!("{:?}", read.results), format!("{results:?}"));
        assert_eq!(read.curve_experiments, written.curve_experiments);
        assert_eq!(read.functional_problems, written.functional_problems);
        assert_eq!(FigureOptions::from(read.figures), FigureOptions::default());
        assert!(read.results.plates[0].basal_mean.is_nan());
        assert_eq!(read.results.wells[0].role, "sample");
    }

    #[test]
    fn shards_parse_and_cover_every_group_once() {
        assert_eq!("2/8".parse::<Shard>(), Ok(Shard { index: 2, count: 8 }));
        for bad in ["0/2", "3/2", "1/0", "x", "1/", "1-2"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
        for groups in [0, 1, 5, 17] {
            for count in 1..7 {
                let mut next = 0;
                for index in 1..=count {
                    let (from, to) = group_range(groups, Shard { index, count });
                    assert_eq!(from, next);
                    next = to;
                }
                assert_eq!(next, groups);
            }
        }
    }
}
