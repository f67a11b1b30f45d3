//! Fit: groups normalised wells into curves (one per target and compound, replicate wells and
//! replicate plates pooled as individual points) and fits them in parallel.
//!
//! The least-squares engine is in `lm` (Levenberg-Marquardt, also an argmin `Solver`), the
//! models in `model`, uncertainty in `stats`, the 4PL front end in `four_pl`.
//!
//! **Invariant:** parallelism lives only here; each curve is fitted by one thread with no shared
//! state, and results keep the input order (sorted by target, then compound), so outputs do not
//! depend on the thread count. A curve that cannot be fitted is a value with a status, never a
//! panic or an error.

pub mod classify;
pub mod compare;
pub mod four_pl;
pub mod global;
pub mod lm;
pub mod model;
pub mod models;
pub mod profile;
pub mod replicates;
pub mod rout;
pub mod stats;
pub mod weights;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::config::settings::FitSettings;
use crate::layout::Role;
use crate::normalise::NormalisedPlate;
use four_pl::{FourPlFit, FourPlOptions, fit_four_pl};
use lm::Termination;

/// One point offered to a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Plate id.
    pub plate: String,
    /// Well label.
    pub well: String,
    /// Concentration, nM.
    pub conc_nm: f64,
    /// Response, % specific binding (NaN when the plate could not be normalised).
    pub y: f64,
    /// Why left out of the fit.
    pub excluded: Option<String>,
}

/// A compound at a target, with all its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Target.
    pub target: String,
    /// Compound.
    pub compound: String,
    /// Plates the points come from, in plate order.
    pub plates: Vec<String>,
    /// Points in plate, then well order.
    pub points: Vec<Point>,
    /// QC flags of the plates the curve comes from (e.g. `plate_z_prime_below_0.5`).
    pub plate_flags: Vec<String>,
    /// Why the curve cannot be fitted at all (e.g. a plate without usable controls).
    pub unusable: Option<String>,
}

impl Curve {
    /// The points the fit uses: (log10 molar concentration, % specific binding).
    #[must_use]
    pub fn fit_data(&self) -> (Vec<f64>, Vec<f64>) {
        self.points
            .iter()
            .filter(|p| p.excluded.is_none() && p.y.is_finite())
            .map(|p| (log10_molar(p.conc_nm), p.y))
            .unzip()
    }

    /// Lowest and highest concentration offered (nM), excluded points included.
    #[must_use]
    pub fn tested_range_nm(&self) -> (f64, f64) {
        let c = self.points.iter().map(|p| p.conc_nm).filter(|c| *c > 0.0);
        let lo = c.clone().fold(f64::INFINITY, f64::min);
        let hi = c.fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }
}

/// log10 of a concentration given in nM, in molar: `log10(c) - 9`; `-inf` for 0.
#[must_use]
pub fn log10_molar(conc_nm: f64) -> f64 {
    if conc_nm > 0.0 { conc_nm.log10() - 9.0 } else { f64::NEG_INFINITY }
}

/// The outcome of fitting one curve.
#[derive(Debug, Clone)]
pub struct CurveFit {
    /// The curve.
    pub curve: Curve,
    /// The fit, when one was attempted.
    pub fit: Option<FourPlFit>,
    /// Why no fit was attempted.
    pub failure: Option<String>,
    /// Constraints radbind added (e.g. `bottom_fixed_0` after a free fit ran into a bound).
    pub constraints: Vec<&'static str>,
}

/// Groups sample wells of all plates into curves keyed by (target, compound), sorted.
#[must_use]
pub fn build_curves(plates: &[NormalisedPlate]) -> Vec<Curve> {
    let mut map: BTreeMap<(String, String), Curve> = BTreeMap::new();
    for np in plates {
        let p = &np.plate;
        let plate_flags: Vec<String> = np.qc.flags.iter().map(|f| format!("plate_{f}")).collect();
        for (i, w) in p.wells.iter().enumerate() {
            let (Role::Sample, Some(compound), Some(conc)) = (w.role, &w.compound, w.conc_nm)
            else {
                continue;
            };
            let curve = map.entry((p.target.clone(), compound.clone())).or_insert_with(|| Curve {
                target: p.target.clone(),
                compound: compound.clone(),
                plates: Vec::new(),
                points: Vec::new(),
                plate_flags: Vec::new(),
                unusable: None,
            });
            if curve.plates.last() != Some(&p.id) {
                curve.plates.push(p.id.clone());
                for f in &plate_flags {
                    if !curve.plate_flags.contains(f) {
                        curve.plate_flags.push(f.clone());
                    }
                }
                if !np.qc.normalisable() && curve.unusable.is_none() {
                    curve.unusable = Some(format!(
                        "plate {} has no usable total/NSB window ({})",
                        p.id,
                        np.qc.flags.join(", ")
                    ));
                }
            }
            curve.points.push(Point {
                plate: p.id.clone(),
                well: w.pos.to_string(),
                conc_nm: conc,
                y: np.pct_specific[i].unwrap_or(f64::NAN),
                excluded: w.excluded.clone(),
            });
        }
    }
    map.into_values().collect()
}

/// Fits every curve in parallel on the current rayon pool; output order = input order.
/// `done` is called once per finished curve (for a progress bar).
#[must_use]
pub fn fit_all(
    curves: Vec<Curve>,
    settings: &FitSettings,
    done: &(dyn Fn() + Sync),
) -> Vec<CurveFit> {
    let opts = FourPlOptions { fixed: settings.fixed, ..FourPlOptions::default() };
    curves
        .into_par_iter()
        .map(|c| {
            let f = fit_one(c, &opts);
            done();
            f
        })
        .collect()
}

/// Fewest points for a 4PL with `free` free parameters: one more than the parameters.
fn min_points(free: usize) -> usize {
    free + 1
}

fn fit_one(curve: Curve, opts: &FourPlOptions) -> CurveFit {
    if let Some(why) = &curve.unusable {
        return CurveFit { failure: Some(why.clone()), curve, fit: None, constraints: Vec::new() };
    }
    let (x, y) = curve.fit_data();
    let free = opts.fixed.iter().filter(|f| f.is_none()).count();
    let mut distinct: Vec<f64> = x.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if x.len() < min_points(free) || distinct.len() < 3 {
        let why = format!(
            "too few points to fit: {} points at {} concentrations ({} free parameters)",
            x.len(),
            distinct.len(),
            free
        );
        return CurveFit { failure: Some(why), curve, fit: None, constraints: Vec::new() };
    }
    let fit = fit_four_pl(&x, &y, opts);
    // An incomplete curve (a compound that barely inhibits at the top concentration) lets the
    // free plateaus run away: the fit hits a parameter bound or never settles. As screening
    // systems do, refit with the plateaus the controls define: Bottom at the NSB level (0 %),
    // then also Top at total binding (100 %). The first constrained fit that converges is kept.
    if matches!(fit.termination, Termination::AtBound | Termination::MaxIterations) {
        let mut constrained = *opts;
        let mut added = Vec::new();
        for (k, value, name) in [(1, 0.0, "bottom_fixed_0"), (0, 100.0, "top_fixed_100")] {
            if constrained.fixed[k].is_some() {
                continue;
            }
            constrained.fixed[k] = Some(value);
            added.push(name);
            let refit = fit_four_pl(&x, &y, &constrained);
            if refit.termination.converged() {
                return CurveFit { curve, fit: Some(refit), failure: None, constraints: added };
            }
            // A constrained optimum on a bound (log IC50 far beyond the top concentration) is
            // the honest answer for an inactive compound; an unsettled free fit is not.
            if refit.termination == Termination::AtBound
                && fit.termination == Termination::MaxIterations
                && k == 0
            {
                return CurveFit { curve, fit: Some(refit), failure: None, constraints: added };
            }
        }
    }
    CurveFit { curve, fit: Some(fit), failure: None, constraints: Vec::new() }
}
