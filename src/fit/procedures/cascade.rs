//! How the 4PL models (falling, and rising for agonists) are fitted in the pipeline: with the
//! user's bounds (`fit.bounds`), weights from the fitted curve iterated to convergence
//! (`fit.weighting`, [`Fitter`]), and the incomplete-curve cascade that fixes the plateaus at
//! the controls when a free fit runs away ([`fit_cascade`], [`Constraint`]).

use std::fmt;

use crate::fit::engine::Model;
use crate::fit::engine::Termination;
use crate::fit::maths::agonist::fit_agonist;
use crate::fit::maths::four_pl::{FourPl, FourPlFit, FourPlOptions, fit_four_pl, fit_four_pl_with};
use crate::fit::procedures::weights::{self, WeightRule};

/// A constraint radbind added to a fit (not one the user configured).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Constraint {
    /// Bottom fixed at the NSB level (0 %): the data do not define the lower plateau, or a
    /// free fit ran into a bound.
    BottomFixed0,
    /// Top fixed at total binding (100 %) as well.
    TopFixed100,
}

impl Constraint {
    /// The 4PL parameter index ([`FourPl::TOP`], [`FourPl::BOTTOM`]) and the value it is fixed at.
    #[must_use]
    pub fn fixes(self) -> (usize, f64) {
        match self {
            Self::BottomFixed0 => (FourPl::BOTTOM, 0.0),
            Self::TopFixed100 => (FourPl::TOP, 100.0),
        }
    }
}

impl fmt::Display for Constraint {
    /// The flag text: `bottom_fixed_0`, `top_fixed_100`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::BottomFixed0 => "bottom_fixed_0",
            Self::TopFixed100 => "top_fixed_100",
        })
    }
}

/// A plateau is defined by the data when the fitted curve comes within this fraction of the
/// span of it at the nearest tested concentration (the plateau points of the NCATS classes,
/// [`crate::fit::procedures::classify::PLATEAU_FRACTION`]).
pub const PLATEAU_DEFINED_FRACTION: f64 = 0.2;

/// A free plateau further than this (response units, % of the controls' window) beyond its
/// control level (Bottom below 0 %, Top above 100 %) is an extrapolation, not a measurement.
pub const PLATEAU_BEYOND_CONTROL: f64 = 20.0;

/// The control-level constraints a falling 4PL fit needs because its data do not define a
/// plateau (DOMAIN.md §10, Prism's advice for incomplete curves): Bottom when the fitted curve
/// at the highest tested concentration is still more than [`PLATEAU_DEFINED_FRACTION`] of the
/// span above Bottom, or Bottom lies more than [`PLATEAU_BEYOND_CONTROL`] below 0 %; Top the
/// same way at the lowest concentration (or above 100 %). Only plateaus that are free and
/// whose control level is allowed (`top_control`, `bottom_control`) are returned.
#[must_use]
pub fn undefined_plateaus(
    x: &[f64],
    fit: &FourPlFit,
    opts: &FourPlOptions,
    top_control: bool,
    bottom_control: bool,
) -> Vec<Constraint> {
    let [top, bottom, ..] = fit.params;
    let span = top - bottom;
    let finite = x.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    if !(span > 0.0) || !lo.is_finite() || !fit.params.iter().all(|p| p.is_finite()) {
        return Vec::new();
    }
    let frac = |xv: f64| (FourPl.value(xv, &fit.params) - bottom) / span;
    let mut out = Vec::new();
    if bottom_control
        && opts.fixed[FourPl::BOTTOM].is_none()
        && (frac(hi) > PLATEAU_DEFINED_FRACTION || bottom < -PLATEAU_BEYOND_CONTROL)
    {
        out.push(Constraint::BottomFixed0);
    }
    if top_control
        && opts.fixed[FourPl::TOP].is_none()
        && (frac(lo) < 1.0 - PLATEAU_DEFINED_FRACTION || top > 100.0 + PLATEAU_BEYOND_CONTROL)
    {
        out.push(Constraint::TopFixed100);
    }
    out
}

/// A 4PL fit (falling, or rising for `rising`) with the incomplete-curve rules: a falling
/// curve whose data do not define a plateau ([`undefined_plateaus`]) is refitted with that
/// plateau at its control level; a free fit that runs into a bound or does not settle goes
/// through the refit cascade (Bottom 0 %, then Top 100 % as well). Returns the fit, the
/// constraints added and the parameters that ended on a user bound.
pub fn fit_cascade(
    x: &[f64],
    y: &[f64],
    opts: &FourPlOptions,
    w: &Fitter<'_>,
    rising: bool,
) -> (FourPlFit, Vec<Constraint>, Vec<&'static str>) {
    let bounds = w.bounds;
    let fit = w.fit(x, y, opts, rising);
    let user = at_user_bounds(&fit, opts, bounds);
    if !rising && user.is_empty() && fit.termination.converged() {
        let added: Vec<Constraint> =
            undefined_plateaus(x, &fit, opts, w.top_control, w.bottom_control)
                .into_iter()
                .filter(|c| {
                    let (k, value) = c.fixes();
                    bounds[k].is_none_or(|(lo, hi)| (lo..=hi).contains(&value))
                })
                .collect();
        if !added.is_empty() {
            let mut constrained = *opts;
            for c in &added {
                let (k, value) = c.fixes();
                constrained.fixed[k] = Some(value);
            }
            let refit = w.fit(x, y, &constrained, rising);
            if refit.termination.converged() || refit.termination == Termination::AtBound {
                let user = at_user_bounds(&refit, &constrained, bounds);
                return (refit, added, user);
            }
        }
    }
    // An incomplete curve (a compound that barely inhibits at the top concentration) lets the
    // free plateaus run away: the fit hits a parameter bound or never settles. As screening
    // systems do, refit with the plateaus the controls define: Bottom at the NSB level (0 %),
    // then also Top at total binding (100 %). The first constrained fit that converges is kept.
    // Not for agonist curves (their plateaus are not the controls), nor when the bound hit is
    // one the user set (a constrained optimum the user asked for).
    if !rising
        && user.is_empty()
        && matches!(fit.termination, Termination::AtBound | Termination::MaxIterations)
    {
        let mut constrained = *opts;
        let mut added = Vec::new();
        for c in [Constraint::BottomFixed0, Constraint::TopFixed100] {
            let (k, value) = c.fixes();
            if constrained.fixed[k].is_some() {
                continue;
            }
            if bounds[k].is_some_and(|(lo, hi)| !(lo..=hi).contains(&value))
                || (k == FourPl::TOP && !w.top_control)
                || (k == FourPl::BOTTOM && !w.bottom_control)
            {
                continue;
            }
            constrained.fixed[k] = Some(value);
            added.push(c);
            let refit = w.fit(x, y, &constrained, rising);
            if refit.termination.converged() {
                let user = at_user_bounds(&refit, &constrained, bounds);
                return (refit, added, user);
            }
            // A constrained optimum on a bound (log IC50 far beyond the top concentration) is
            // the honest answer for an inactive compound; an unsettled free fit is not.
            if refit.termination == Termination::AtBound
                && fit.termination == Termination::MaxIterations
                && k == FourPl::TOP
            {
                let user = at_user_bounds(&refit, &constrained, bounds);
                return (refit, added, user);
            }
        }
    }
    (fit, Vec::new(), user)
}

/// How the 4PL models are fitted: user bounds and weights from the fitted curve.
pub struct Fitter<'a> {
    /// User box constraints per parameter (`fit.bounds`).
    pub bounds: &'a [Option<(f64, f64)>; 4],
    /// Weights from the fitted curve (`fit.weighting`), iterated; `None` = unweighted.
    pub rule: Option<WeightRule<'a>>,
    /// Top may be fixed at the total-binding control (100 %) by the incomplete-curve cascade.
    pub top_control: bool,
    /// Bottom may be fixed at the NSB level (0 %) when the data do not define it
    /// ([`undefined_plateaus`]); false for responses not relative to controls (raw signal).
    pub bottom_control: bool,
}

impl Fitter<'_> {
    /// The unweighted fit (falling, or rising for `rising`) with the user's bounds, then, with
    /// a weighting, weighted refits from the previous curve until the parameters settle
    /// ([`weights::iterate`]).
    #[must_use]
    pub fn fit(&self, x: &[f64], y: &[f64], opts: &FourPlOptions, rising: bool) -> FourPlFit {
        let first = fit_four_pl_bounded(x, y, opts, self.bounds, rising);
        let Some(rule) = &self.rule else { return first };
        let o = FourPlOptions { bounds: *self.bounds, ..*opts };
        weights::iterate(
            rule,
            x,
            |xi, p| FourPl.value(xi, p),
            first,
            FourPlFit::fitted_params,
            |w, start| fit_four_pl_with(x, y, Some(w), &o, Some(start)),
        )
        .0
    }

    /// The weights at the final fit (for the profile CI); `None` = unweighted.
    #[must_use]
    pub fn weights_for(&self, x: &[f64], fit: &FourPlFit) -> Option<Vec<f64>> {
        let rule = self.rule.as_ref()?;
        let mut out = Vec::new();
        rule.weights(x.iter().map(|xi| FourPl.value(*xi, &fit.params)), &mut out);
        Some(out)
    }
}

/// Names of the free parameters of `fit` sitting on a bound from `fit.bounds`.
fn at_user_bounds(
    fit: &FourPlFit,
    opts: &FourPlOptions,
    bounds: &[Option<(f64, f64)>; 4],
) -> Vec<&'static str> {
    (0..4)
        .filter(|&k| opts.fixed[k].is_none())
        .filter(|&k| {
            bounds[k].is_some_and(|(lo, hi)| {
                let v = fit.params[k];
                let tol = 1e-7 * (1.0 + v.abs());
                (v - lo).abs() <= tol || (v - hi).abs() <= tol
            })
        })
        .map(|k| FourPl::NAMES[k])
        .collect()
}

/// The 4PL (or, `rising`, the agonist curve) with box constraints from `fit.bounds` on top of
/// radbind's own; see [`crate::fit::maths::four_pl::apply_bounds`]. Without user bounds this
/// is exactly [`fit_four_pl`] (or [`fit_agonist`]).
#[must_use]
pub fn fit_four_pl_bounded(
    x: &[f64],
    y: &[f64],
    opts: &FourPlOptions,
    bounds: &[Option<(f64, f64)>; 4],
    rising: bool,
) -> FourPlFit {
    let opts = FourPlOptions { bounds: *bounds, ..*opts };
    if rising { fit_agonist(x, y, &opts) } else { fit_four_pl(x, y, &opts) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constraint_text() {
        assert_eq!(Constraint::BottomFixed0.to_string(), "bottom_fixed_0");
        assert_eq!(Constraint::TopFixed100.to_string(), "top_fixed_100");
        assert_eq!(Constraint::TopFixed100.fixes(), (FourPl::TOP, 100.0));
    }
}
