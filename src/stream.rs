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

use std::collections::HashMap;
use std::path::Path;
use std::time::{Instant, SystemTime};

use anyhow::Result;

use crate::config::{Assay, CurveFigures, Settings};
use crate::derive::rows::{CurveRow, RunResults, WellRow};
use crate::ingest::inputs::InputFile;
use crate::layout::{Plate, Role};
use crate::report::tables::{TableSink, well_columns};
use crate::{derive, fit, normalise, saturation};

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
fn kept(which: CurveFigures, thin: bool, flagged: bool) -> bool {
    match which {
        CurveFigures::All => true,
        CurveFigures::Flagged => flagged,
        CurveFigures::Auto => !thin || flagged,
        CurveFigures::None => false,
    }
}

/// Analyses `plates` in batches ([`cuts`]) and returns the run's results; `wells.csv` and
/// `wells.parquet` are written into `ctx.dir`. The results keep the wells the reports list or
/// draw (excluded wells, primary-screen plates, plates that get heat maps) and the points of
/// the curves that get figures ([`kept`]); the other curve rows keep no points.
///
/// # Errors
/// When the well table cannot be written.
pub fn analyse(
    ctx: &Batched<'_>,
    plates: Vec<Plate>,
    mut problems: Vec<String>,
    inputs: Vec<InputFile>,
    started: SystemTime,
    timings: &mut Timings,
) -> Result<RunResults> {
    let settings = ctx.settings;
    let rules = normalise::QcRules::of(settings);
    let kd = saturation::resolve_kd(settings, &[]);
    let ends = cuts(&plates, ctx.batch);
    let mut sink = TableSink::create(ctx.dir, "wells")?;
    let mut keyed: Vec<(Option<String>, CurveRow)> = Vec::new();
    let mut flagged_plates: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut thin = false;
    let mut all = derive::Part::default();
    let (mut t_norm, mut t_fit, mut t_derive) = (0.0, 0.0, 0.0);
    let mut rest = plates.into_iter();
    let mut start = 0;
    for end in ends {
        let batch: Vec<Plate> = rest.by_ref().take(end - start).collect();
        start = end;
        let clock = Instant::now();
        let (plates, norm_problems) = normalise::normalise_all(batch, &rules, &settings.targets);
        problems.extend(norm_problems);
        let curves = fit::build_curves(&plates, &settings.targets, &kd.fit);
        t_norm += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let fits = ctx.pool.install(|| fit::fit_all(curves, &kd.fit, &|| {}));
        t_fit += clock.elapsed().as_secs_f64();
        let clock = Instant::now();
        let part = derive::derive_part(settings, &kd.targets, &plates, &fits);
        sink.append(part.wells.len(), &well_columns(&part.wells))?;
        flagged_plates
            .extend(part.plates.iter().filter(|p| !p.flags.is_empty()).map(|p| p.plate.clone()));
        let primary: std::collections::HashSet<&str> =
            part.primary.iter().map(|r| r.plate.as_str()).collect();
        let keep = |w: &WellRow| {
            w.excluded.is_some()
                || primary.contains(w.plate.as_str())
                || kept(ctx.figures, thin, flagged_plates.contains(&w.plate))
        };
        all.wells.extend(part.wells.iter().filter(|w| keep(w)).cloned());
        for (f, mut c) in fits.iter().zip(part.curves) {
            if !kept(ctx.figures, thin, c.is_flagged() || c.is_failed()) {
                c.points = Vec::new();
            }
            keyed.push((f.curve.experiment.clone(), c));
        }
        all.plates.extend(part.plates);
        all.primary.extend(part.primary);
        if ctx.figures == CurveFigures::Auto && !thin && keyed.len() > CurveFigures::AUTO_ALL_LIMIT
        {
            // `auto` draws only the flagged curves from here: drop what was kept for the rest.
            thin = true;
            for (_, c) in &mut keyed {
                if !(c.is_flagged() || c.is_failed()) {
                    c.points = Vec::new();
                }
            }
            let primary: std::collections::HashSet<&str> =
                all.primary.iter().map(|r| r.plate.as_str()).collect();
            all.wells.retain(|w| {
                w.excluded.is_some()
                    || primary.contains(w.plate.as_str())
                    || flagged_plates.contains(&w.plate)
            });
        }
        t_derive += clock.elapsed().as_secs_f64();
        (ctx.done)(plates.len());
    }
    sink.finish()?;
    problems.extend(kd.problems);
    let clock = Instant::now();
    keyed.sort_by(|a, b| {
        (&a.1.target, &a.1.compound, &a.0).cmp(&(&b.1.target, &b.1.compound, &b.0))
    });
    all.curves = keyed.into_iter().map(|(_, c)| c).collect();
    let up = derive::Upstream {
        settings,
        targets: &kd.targets,
        plates: &[],
        saturation: Vec::new(),
        inputs,
        problems,
        started,
    };
    let results = derive::assemble(up, all);
    t_derive += clock.elapsed().as_secs_f64();
    timings.0.extend([("normalise", t_norm), ("fit", t_fit), ("derive", t_derive)]);
    Ok(results)
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
        Plate {
            id: "P1".into(),
            number: Some(1),
            source: "x".into(),
            index_in_file: 1,
            geometry: crate::types::Geometry::W96,
            target: target.into(),
            layout: "L".into(),
            rotated: false,
            label: String::new(),
            controls_from: None,
            controls_in_series: [None; 2],
            bottom_compound: None,
            wells,
            meta: crate::ingest::PlateMeta::default(),
            experiment: None,
        }
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
