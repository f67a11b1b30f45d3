//! Runs of many plates in batches: normalise → fit → derive one batch of plates at a time, the
//! well table appended as each batch is done, so a run never holds every well (about 150 KB a
//! plate) but only the per-curve and per-plate rows.
//!
//! A batch is a run of consecutive plates (input order) cut where no curve (target ×
//! compound × experiment) has plates on both sides, so replicate plates of one curve stay
//! together and every curve is fitted exactly as in one pass. Curve rows are sorted by target,
//! compound and experiment at the end, as `fit::build_curves` orders them, so the tables are
//! byte-identical to a run in one pass whatever the batch size or thread count.
//!
//! Only runs whose plates do not depend on each other are cut (no `controls_from`,
//! `top_from`/`bottom_from`, saturation targets or shared global fits); the others, and runs of
//! at most [`BATCH_PLATES`] plates, run in one pass.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::{Instant, SystemTime};

use anyhow::Result;

use crate::config::{Assay, CurveFigures, Settings};
use crate::derive::rows::{CurveRow, LargeRun, RunResults, WellRow};
use crate::ingest::inputs::InputFile;
use crate::layout::{Plate, Role};
use crate::report::selectivity::KiEntry;
use crate::report::spill::{Key, Spill};
use crate::report::tables::{TableSink, fit_columns, plate_columns, well_columns};
use crate::{derive, fit, normalise, saturation};
use writer::Writer;

pub mod files;
mod panel;
mod writer;

/// Wall time per stage, seconds, in stage order (recorded in run.json as `timings_s`).
#[derive(Debug, Default, Clone)]
pub struct Timings(pub Vec<(&'static str, f64)>);

impl Timings {
    pub(crate) fn lap(&mut self, stage: &'static str, since: Instant) {
        self.0.push((stage, since.elapsed().as_secs_f64()));
    }

    /// Runs `stage` and records its wall time.
    pub(crate) fn time<T>(&mut self, stage: &'static str, f: impl FnOnce() -> T) -> T {
        let clock = Instant::now();
        let out = f();
        self.lap(stage, clock);
        out
    }
}

/// Plates per batch (about 4 MB of well rows, some 75 MB of working data each). Runs of at most this many plates run in
/// one pass.
pub const BATCH_PLATES: usize = 500;

/// Plates per batch: [`BATCH_PLATES`], or the environment variable `RADBIND_BATCH_PLATES`
/// (tests and benchmarks cut small runs with it, to compare against one pass).
#[must_use]
pub fn batch_size() -> usize {
    std::env::var("RADBIND_BATCH_PLATES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(BATCH_PLATES)
}

/// Whether the plates can be analysed in batches: more than `batch` plates and none depending
/// on another ([`dependency`]).
#[must_use]
pub fn batchable(settings: &Settings, plates: &[Plate], batch: usize) -> bool {
    plates.len() > batch && dependency(settings, plates).is_none()
}

/// The config key that makes plates of different curves depend on each other, if any: a
/// plate taking its controls from another plate (`plates[].controls_from`) or its series'
/// ends (`plates[].top_from`/`bottom_from`), a saturation target (its Kd feeds other targets:
/// `targets.<t>.assay: saturation`, `kd_from`), parameters shared across curves
/// (`fit.share`).
#[must_use]
pub fn dependency(settings: &Settings, plates: &[Plate]) -> Option<&'static str> {
    if settings.fit.share.iter().any(|s| *s) {
        return Some("fit.share");
    }
    for t in settings.targets.values() {
        if t.kd_from.is_some() {
            return Some("targets.<target>.kd_from");
        }
        if matches!(t.assay, Assay::Saturation(_)) {
            return Some("targets.<target>.assay: saturation");
        }
    }
    if plates.iter().any(|p| p.controls_from.is_some()) {
        return Some("plates[].controls_from");
    }
    if plates.iter().any(|p| p.controls_in_series.iter().any(Option::is_some)) {
        return Some("plates[].top_from/bottom_from");
    }
    None
}

/// [`dependency`] from the config alone, before any plate is read: the plates' entries
/// (`controls_from`) and their layouts (`top_from`/`bottom_from`).
#[must_use]
pub fn config_dependency(settings: &Settings) -> Option<&'static str> {
    if let Some(key) = dependency(settings, &[]) {
        return Some(key);
    }
    if settings.plates.iter().any(|p| p.controls_from.is_some()) {
        return Some("plates[].controls_from");
    }
    let in_series = |p: &crate::config::PlateSpec| {
        settings
            .layouts
            .get(&p.layout)
            .is_some_and(|l| l.top_from.is_some() || l.bottom_from.is_some())
    };
    if settings.plates.iter().any(in_series) {
        return Some("plates[].top_from/bottom_from");
    }
    None
}

/// Whether the inputs are read and laid out as they are analysed ([`files`]): more than
/// `batch` plates named by number, none depending on another.
#[must_use]
pub fn streams_files(settings: &Settings, batch: usize) -> bool {
    files::streamable(settings)
        && files::configured_plates(settings) > batch
        && config_dependency(settings).is_none()
}

/// What a run read and laid out as it went, besides its results.
pub struct StreamedRun {
    /// The results.
    pub results: RunResults,
    /// How every config entry was resolved (`run.json`).
    pub assignments: Vec<crate::layout::Assignment>,
    /// Input plates no entry uses.
    pub unassigned: Vec<String>,
}

/// Reads, lays out and analyses the inputs in batches ([`files::lay_out_streamed`] feeding a
/// [`Batcher`]).
///
/// # Errors
/// No plate could be laid out, or a table cannot be written.
pub fn run_files(
    ctx: &Batched<'_>,
    started: SystemTime,
    timings: &mut Timings,
) -> Result<StreamedRun> {
    let mut b = Batcher::new(ctx, Vec::new())?;
    let mut stage = [0.0f64; 2];
    let laid = files::lay_out_streamed(
        ctx.settings,
        ctx.pool,
        ctx.batch,
        &mut |plates| b.batch(plates),
        &mut |what, s| stage[usize::from(what == "layout")] += s,
    )?;
    if laid.plates == 0 {
        anyhow::bail!(
            "no plate could be laid out, nothing to analyse:\n  {}",
            if laid.problems.is_empty() { "no plates".into() } else { laid.problems.join("\n  ") }
        );
    }
    timings.0.extend([("read", stage[0]), ("layout", stage[1])]);
    // Problems in the order of one pass: files and layout first, then the batches'.
    let later = std::mem::replace(&mut b.problems, laid.problems);
    b.problems.extend(later);
    let results = b.finish(laid.files, started, timings)?;
    Ok(StreamedRun { results, assignments: laid.assignments, unassigned: laid.unassigned })
}

/// The curve keys (target, compound, experiment) of a plate's sample wells.
pub fn curve_keys(p: &Plate) -> impl Iterator<Item = (&str, &str, Option<&str>)> {
    p.wells
        .iter()
        .filter(|w| w.role == Role::Sample && w.conc_nm.is_some())
        .filter_map(|w| Some((p.target.as_str(), w.compound.as_deref()?, p.experiment.as_deref())))
}

/// Where to cut `plates` into batches of about `size` plates: the end index of each batch.
/// A cut after plate `i` is made only when no curve of plates `..=i` has a plate after `i`.
#[must_use]
pub fn cuts(plates: &[Plate], size: usize) -> Vec<usize> {
    let keys: Vec<Vec<_>> = plates.iter().map(|p| curve_keys(p).collect()).collect();
    cuts_by(&keys, size)
}

/// Where to cut a sequence of items, item `i` carrying the keys `keys[i]`, into runs of at
/// least `size` items (the last may be shorter): the end index of each run. A cut after item
/// `i` is made only when no key of items `..=i` appears after `i`.
#[must_use]
pub fn cuts_by<K: std::hash::Hash + Eq>(keys: &[Vec<K>], size: usize) -> Vec<usize> {
    let mut last: HashMap<&K, usize> = HashMap::new();
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            last.insert(k, i);
        }
    }
    let mut ends = Vec::new();
    let (mut start, mut reach) = (0, 0);
    for (i, ks) in keys.iter().enumerate() {
        for k in ks {
            reach = reach.max(last[k]);
        }
        if reach <= i && i + 1 - start >= size {
            ends.push(i + 1);
            start = i + 1;
        }
    }
    if start < keys.len() {
        ends.push(keys.len());
    }
    ends
}

/// What a run in batches needs besides its plates.
pub struct Batched<'a> {
    /// The resolved configuration.
    pub settings: &'a Settings,
    /// The worker threads (fits).
    pub pool: &'a rayon::ThreadPool,
    /// The staging directory (`wells.csv|parquet` are written there).
    pub dir: &'a Path,
    /// Which curves and plates get figures (`report.curve_figures`; `None` when figures are
    /// off): their points and wells are kept, the others' dropped.
    pub figures: CurveFigures,
    /// Plates per batch.
    pub batch: usize,
    /// Called with the number of plates of each finished batch (progress).
    pub done: &'a (dyn Fn(usize) + Sync),
}

/// Whether the points of a curve, or the wells of a plate, flagged or not, are kept for its
/// figures: always under `all`, flagged ones under `flagged`, under `auto` all until the run
/// has more than [`CurveFigures::AUTO_ALL_LIMIT`] curves (`thin`), then flagged ones.
pub(crate) fn kept(which: CurveFigures, thin: bool, flagged: bool) -> bool {
    match which {
        CurveFigures::All => true,
        CurveFigures::Flagged => flagged,
        CurveFigures::Auto => !thin || flagged,
        CurveFigures::None => false,
    }
}

/// Analyses `plates` in batches ([`cuts`]) and returns the run's results ([`Batcher`]).
///
/// # Errors
/// When a table cannot be written.
pub fn analyse(
    ctx: &Batched<'_>,
    plates: Vec<Plate>,
    problems: Vec<String>,
    inputs: Vec<InputFile>,
    started: SystemTime,
    timings: &mut Timings,
) -> Result<RunResults> {
    let ends = cuts(&plates, ctx.batch);
    let mut b = Batcher::new(ctx, problems)?;
    let mut rest = plates.into_iter();
    let mut start = 0;
    for end in ends {
        b.batch(rest.by_ref().take(end - start).collect())?;
        start = end;
    }
    b.finish(inputs, started, timings)
}

/// A run in batches as it goes: each batch of plates ([`Batcher::batch`]) is normalised,
/// fitted and derived, its wells and plates appended to `wells.csv|parquet` and
/// `plates.csv|parquet` in `ctx.dir`; the curve rows are kept until [`Batcher::finish`]. The
/// results keep the wells the reports list or draw (excluded wells, primary-screen plates,
/// plates that get heat maps) and the points of the curves that get figures ([`kept`]); the
/// other curve rows keep no points.
pub struct Batcher<'a> {
    ctx: &'a Batched<'a>,
    rules: normalise::QcRules,
    kd: saturation::ResolvedKd,
    /// The `wells` and `plates` tables, appended batch by batch on their own thread.
    tables: Writer,
    problems: Vec<String>,
    keyed: Vec<(Option<String>, CurveRow)>,
    flagged_plates: HashSet<String>,
    thin: bool,
    all: derive::Part,
    seconds: [f64; 3],
    /// Curve rows held before they are spilled (`None`: never spilled, see [`spill_limit`]).
    spill_at: Option<usize>,
    /// The spilled runs of curve rows, once the run has more than `spill_at` curves.
    spill: Option<Spill>,
    /// A spilled run's selectivity entries (spilled too, [`panel`]), its counts and the
    /// flagged and failed rows it shows.
    ki: Option<Spill>,
    large: LargeRun,
    shown: Vec<(Option<String>, CurveRow)>,
    plates_seen: usize,
}

/// Curve rows a run holds before it writes them to spill files in its staging directory and
/// becomes a large run ([`crate::derive::rows::LargeRun`]: the report keeps the counts and
/// the flagged and failed curves; the tables every row).
pub const SPILL_CURVES: usize = 50_000;

/// When a run in batches spills its curve rows: after [`SPILL_CURVES`] curves (or the
/// environment variable `RADBIND_SPILL_CURVES`, for tests), unless curves depend on other
/// curves of their target once all are fitted (a reference compound's verdict marks every
/// curve of its target; [35S]GTPγS efficacy is relative to the reference agonist).
fn spill_limit(settings: &Settings) -> Option<usize> {
    let functional = settings.targets.values().any(|t| matches!(t.assay, Assay::Gtpgs(_)));
    if functional || !settings.references.is_empty() {
        return None;
    }
    let n = std::env::var("RADBIND_SPILL_CURVES")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|n| *n > 0)
        .unwrap_or(SPILL_CURVES);
    Some(n)
}

impl<'a> Batcher<'a> {
    /// Starts a run in batches (creates the well and plate tables).
    ///
    /// # Errors
    /// When a table cannot be created.
    pub fn new(ctx: &'a Batched<'a>, problems: Vec<String>) -> Result<Batcher<'a>> {
        Ok(Batcher {
            ctx,
            rules: normalise::QcRules::of(ctx.settings),
            kd: saturation::resolve_kd(ctx.settings, &[]),
            tables: Writer::start(
                TableSink::create(ctx.dir, "wells")?,
                TableSink::create(ctx.dir, "plates")?,
            )?,
            problems,
            keyed: Vec::new(),
            flagged_plates: HashSet::new(),
            thin: false,
            all: derive::Part::default(),
            seconds: [0.0; 3],
            spill_at: spill_limit(ctx.settings),
            spill: None,
            ki: None,
            large: LargeRun::default(),
            shown: Vec::new(),
            plates_seen: 0,
        })
    }

    /// Writes the curve rows held to a spill file (the first time: the run becomes a large
    /// run, and keeps only the plates with flags and the wells of primary-screen plates).
    fn spill_rows(&mut self) -> Result<()> {
        if self.spill.is_none() {
            self.spill = Some(Spill::create(&self.ctx.dir.join(".spill-fits"))?);
            self.ki = Some(Spill::create(&self.ctx.dir.join(".spill-selectivity"))?);
            self.all.plates.retain(|p| !p.flags.is_empty());
            let primary: HashSet<&str> =
                self.all.primary.iter().map(|r| r.plate.as_str()).collect();
            self.all.wells.retain(|w| primary.contains(w.plate.as_str()));
        }
        let (exps, curves): (Vec<Option<String>>, Vec<CurveRow>) =
            std::mem::take(&mut self.keyed).into_iter().unzip();
        let keys: Vec<Key> = curves
            .iter()
            .zip(&exps)
            .map(|(c, e)| (c.target.clone(), c.compound.clone(), e.clone()))
            .collect();
        if let Some(spill) = self.spill.as_mut() {
            spill.spill(&keys, &fit_columns(&curves))?;
        }
        let entries: Vec<KiEntry> =
            curves.iter().filter_map(crate::report::selectivity::panel_entry).collect();
        if let Some(ki) = self.ki.as_mut() {
            let keys: Vec<Key> = entries.iter().map(panel::key).collect();
            ki.spill(&keys, &panel::columns(&entries))?;
        }
        for (c, e) in curves.into_iter().zip(exps) {
            self.large.count(&c);
            if c.is_flagged() || c.is_failed() {
                if self.shown.len() < LargeRun::SHOWN_LIMIT {
                    self.shown.push((e, c));
                } else {
                    self.large.not_shown += 1;
                }
            }
        }
        Ok(())
    }

    /// Adds problems met outside the batches (reading and laying out the inputs).
    pub fn problems(&mut self, more: impl IntoIterator<Item = String>) {
        self.problems.extend(more);
    }

    /// Analyses one batch of whole curves.
    ///
    /// # Errors
    /// When a table cannot be written.
    pub fn batch(&mut self, batch: Vec<Plate>) -> Result<()> {
        let (ctx, settings) = (self.ctx, self.ctx.settings);
        let clock = Instant::now();
        let (plates, norm_problems) =
            ctx.pool.install(|| normalise::normalise_all(batch, &self.rules, &settings.targets));
        self.problems.extend(norm_problems);
        let curves =
            ctx.pool.install(|| fit::build_curves(&plates, &settings.targets, &self.kd.fit));
        self.seconds[0] += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let fits = ctx.pool.install(|| fit::fit_all(curves, &self.kd.fit, &|| {}));
        self.seconds[1] += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let mut part =
            ctx.pool.install(|| derive::derive_part(settings, &self.kd.targets, &plates, &fits));
        let (figures, thin) = (ctx.figures, self.thin);
        self.flagged_plates
            .extend(part.plates.iter().filter(|p| !p.flags.is_empty()).map(|p| p.plate.clone()));
        let primary: HashSet<&str> = part.primary.iter().map(|r| r.plate.as_str()).collect();
        let flagged_plates = &self.flagged_plates;
        let large = self.spill.is_some();
        let keep = |w: &WellRow| {
            if large {
                return primary.contains(w.plate.as_str());
            }
            w.excluded.is_some()
                || primary.contains(w.plate.as_str())
                || kept(figures, thin, flagged_plates.contains(&w.plate))
        };
        self.all.wells.extend(part.wells.iter().filter(|w| keep(w)).cloned());
        drop(primary);
        // The rows go to the table writer (their text moved, not copied).
        let wells = std::mem::take(&mut part.wells);
        self.tables.append(
            (wells.len(), well_columns(wells)),
            (part.plates.len(), plate_columns(&part.plates)),
        )?;
        for (f, mut c) in fits.iter().zip(part.curves) {
            if !kept(figures, thin, c.is_flagged() || c.is_failed()) {
                c.points = Vec::new();
            }
            self.keyed.push((f.curve.experiment.clone(), c));
        }
        self.plates_seen += part.plates.len();
        if self.spill.is_some() {
            self.all.plates.extend(part.plates.into_iter().filter(|p| !p.flags.is_empty()));
        } else {
            self.all.plates.extend(part.plates);
        }
        self.all.primary.extend(part.primary);
        if figures == CurveFigures::Auto && !thin && self.keyed.len() > CurveFigures::AUTO_ALL_LIMIT
        {
            // `auto` draws only the flagged curves from here: drop what was kept for the rest.
            self.thin = true;
            for (_, c) in &mut self.keyed {
                if !(c.is_flagged() || c.is_failed()) {
                    c.points = Vec::new();
                }
            }
            let primary: HashSet<&str> =
                self.all.primary.iter().map(|r| r.plate.as_str()).collect();
            let flagged_plates = &self.flagged_plates;
            self.all.wells.retain(|w| {
                w.excluded.is_some()
                    || primary.contains(w.plate.as_str())
                    || flagged_plates.contains(&w.plate)
            });
        }
        if self.spill_at.is_some_and(|n| self.keyed.len() >= n) {
            self.spill_rows()?;
        }
        self.seconds[2] += clock.elapsed().as_secs_f64();
        (ctx.done)(plates.len());
        Ok(())
    }

    /// The run's results: the curve rows sorted by target, compound and experiment, as one
    /// pass orders them, and the rows that need several curves.
    ///
    /// # Errors
    /// When a table cannot be finished.
    pub fn finish(
        mut self,
        inputs: Vec<InputFile>,
        started: SystemTime,
        timings: &mut Timings,
    ) -> Result<RunResults> {
        let clock = Instant::now();
        if self.spill.is_some() {
            self.spill_rows()?;
            self.keyed = std::mem::take(&mut self.shown);
        }
        let Batcher {
            ctx,
            kd,
            mut tables,
            mut problems,
            mut keyed,
            mut all,
            seconds,
            spill,
            ki,
            ..
        } = self;
        let mut large = self.large;
        tables.finish()?;
        let large = match spill {
            Some(spill) => {
                // Every curve row is in the spill files: merge them into the sorted tables.
                spill.merge(ctx.dir, "fits", &fit_columns(&[]))?;
                if let Some(ki) = ki {
                    panel::write(ki, ctx.dir, ctx.settings.primary_target.as_deref())?;
                }
                large.plates = self.plates_seen;
                Some(large)
            }
            None => None,
        };
        problems.extend(kd.problems);
        keyed.sort_by(|a, b| {
            (&a.1.target, &a.1.compound, &a.0).cmp(&(&b.1.target, &b.1.compound, &b.0))
        });
        all.curves = keyed.into_iter().map(|(_, c)| c).collect();
        let up = derive::Upstream {
            settings: ctx.settings,
            targets: &kd.targets,
            plates: &[],
            saturation: Vec::new(),
            inputs,
            problems,
            started,
        };
        let mut results = derive::assemble(up, all);
        results.large = large;
        let derive_s = seconds[2] + clock.elapsed().as_secs_f64();
        timings.0.extend([("normalise", seconds[0]), ("fit", seconds[1]), ("derive", derive_s)]);
        Ok(results)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plate(target: &str, compounds: &[&str]) -> Plate {
        let wells = compounds
            .iter()
            .enumerate()
            .map(|(col, c)| crate::layout::Well {
                pos: crate::types::WellPos { row: 0, col: u16::try_from(col).unwrap() },
                role: Role::Sample,
                compound: Some((*c).to_string()),
                conc_nm: Some(1.0),
                cpm: Some(100.0),
                excluded: None,
                source: None,
            })
            .collect();
        crate::test_support::plate(target, wells)
    }

    #[test]
    fn cuts_keep_the_plates_of_a_curve_together() {
        // a on plates 0 and 2: no cut after 0 or 1; b, c alone.
        let plates = vec![
            plate("T", &["a"]),
            plate("T", &["b"]),
            plate("T", &["a"]),
            plate("T", &["c"]),
            plate("U", &["c"]),
        ];
        assert_eq!(cuts(&plates, 1), vec![3, 4, 5]);
        assert_eq!(cuts(&plates, 2), vec![3, 5]);
        assert_eq!(cuts(&plates, 10), vec![5]);
        assert_eq!(cuts(&[], 2), Vec::<usize>::new());
    }

    #[test]
    fn auto_keeps_every_curve_until_the_run_is_thinned() {
        use CurveFigures::{All, Auto, Flagged, None};
        assert!(kept(Auto, false, false) && kept(Auto, true, true) && !kept(Auto, true, false));
        assert!(kept(All, true, false) && kept(Flagged, false, true));
        assert!(!kept(Flagged, false, false) && !kept(None, false, true));
    }
}
