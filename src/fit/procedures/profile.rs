//! Profile-likelihood confidence intervals of model parameters (LogIC50 and LogKi above all).
//!
//! Owns the profile (RSS minimised over the other parameters with one held fixed), the
//! F-distribution threshold, the outward bracketing and the root finding with argmin's
//! [`BrentRoot`], for any model ([`profile_interval`]); [`profile_ci`] is the 4PL's. The fits
//! themselves are the models' (e.g. [`fit_four_pl_with`]).
//!
//! # Definition
//!
//! With `RSS(theta)` the (weighted) RSS of the best fit with parameter `k` fixed at `theta`, the
//! level-`L` profile interval is `{theta : RSS(theta) <= RSS_min (1 + F(L; 1, df) / df)}`
//! (Motulsky & Christopoulos 2004, *Fitting models to biological data*, ch. 17 "Generating
//! confidence intervals via model comparison"; Bates & Watts 1988, §6.1; Prism's "profile
//! likelihood" CI). `F(L; 1, df) = t((1 + L) / 2; df)^2`. Unlike the asymptotic (Wald) interval
//! it need not be symmetric, and it is unbounded on a side where the data cannot exclude any
//! value (an incomplete curve).

use std::cell::Cell;

use argmin::core::{CostFunction, Error as ArgminError, Executor, State};
use argmin::solver::brent::BrentRoot;

use crate::fit::maths::four_pl::FourPl;
use crate::fit::maths::four_pl::{
    FourPlFit, FourPlOptions, LOG_IC50_MARGIN, MAX_ABS_HILL, fit_four_pl_with,
};
use crate::fit::stats::t_quantile;

/// How far a Top or Bottom profile is followed, in multiples of the response range
/// `max y - min y` from the estimate.
pub const PLATEAU_PROFILE_SPANS: f64 = 10.0;

/// Absolute tolerance of the interval ends (units of the parameter, e.g. log10 M).
pub const PROFILE_TOL: f64 = 1e-7;

/// The profiled refit: the best fit with the profiled parameter held at `theta`, started at
/// `warm`; `Some((parameters, rss))` when finite.
pub type Refit<'a, const P: usize> = dyn Fn(f64, &[f64; P]) -> Option<([f64; P], f64)> + 'a;

/// `RSS(theta) - threshold` as an argmin cost function (warm-starting each refit at the
/// previous one's parameters).
struct ProfileCost<'a, const P: usize> {
    refit: &'a Refit<'a, P>,
    threshold: f64,
    warm: Cell<[f64; P]>,
}

impl<const P: usize> ProfileCost<'_, P> {
    /// Profile RSS minus threshold at `theta`; `+inf` if the refit is not finite (treated as
    /// "outside the interval").
    fn eval(&self, theta: f64) -> f64 {
        match (self.refit)(theta, &self.warm.get()) {
            Some((p, rss)) if p.iter().all(|v| v.is_finite()) && rss.is_finite() => {
                self.warm.set(p);
                rss - self.threshold
            }
            _ => f64::INFINITY,
        }
    }
}

/// The level-`level` (e.g. 0.95) profile-likelihood interval of parameter `param`
/// (`0..4` = `[top, bottom, hill_slope, log_ic50]`) of `fit`, the result of fitting `(x, y)`
/// with `weights` and `opts` (e.g. [`crate::fit::maths::four_pl::fit_four_pl`]; for a reweighted fit
/// pass its final weights).
///
/// Each end is the crossing of `RSS(theta) = RSS_min (1 + t((1+level)/2; df)^2 / df)`, found
/// by stepping outwards from the estimate (first step the asymptotic half-width, then doubling)
/// and then with argmin's Brent root finder to [`PROFILE_TOL`]. `None` on a side means no
/// crossing up to the search limit: LogIC50 within the tested range +- 3 log units, Hill slope
/// within +-10, Top/Bottom within [`PLATEAU_PROFILE_SPANS`] response ranges; the caller should
/// flag such an interval as unbounded/ambiguous. `(None, None)` when the parameter is fixed,
/// `param > 3`, `df == 0`, `level` is not in `(0, 1)` or the fit is not finite.
pub fn profile_ci(
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    opts: &FourPlOptions,
    fit: &FourPlFit,
    param: usize,
    level: f64,
) -> (Option<f64>, Option<f64>) {
    if param > 3 || opts.fixed[param].is_some() {
        return (None, None);
    }
    let refit = |theta: f64, warm: &[f64; 4]| {
        let mut o = *opts;
        o.fixed[param] = Some(theta);
        let f = fit_four_pl_with(x, y, weights, &o, Some(*warm));
        Some((f.params, f.rss))
    };
    let est = fit.params[param];
    let (lo, hi) = limits(x, y, param, est);
    let fitted = Fitted { params: fit.params, rss: fit.rss, df: fit.df, se: fit.se[param] };
    profile_interval(&refit, &fitted, param, level, (lo, hi))
}

/// A least-squares optimum, as the profile needs it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Fitted<const P: usize> {
    /// The estimates.
    pub params: [f64; P],
    /// (Weighted) residual sum of squares.
    pub rss: f64,
    /// Degrees of freedom.
    pub df: usize,
    /// Asymptotic SE of the profiled parameter (sets the first step; any positive value works).
    pub se: f64,
}

/// The level-`level` profile-likelihood interval of parameter `param` of any model: `refit`
/// holds the parameter at `theta` and refits the others (see [`Refit`]); `fit` is the
/// unconstrained optimum; the search stays within `limits`. Same definition and search as
/// [`profile_ci`]; `(None, None)` when `df == 0`, `level` is not in `(0, 1)` or the fit is not
/// finite.
pub fn profile_interval<const P: usize>(
    refit: &Refit<'_, P>,
    fit: &Fitted<P>,
    param: usize,
    level: f64,
    limits: (f64, f64),
) -> (Option<f64>, Option<f64>) {
    if param >= P
        || fit.df == 0
        || !(level > 0.0 && level < 1.0)
        || !fit.rss.is_finite()
        || !fit.params.iter().all(|v| v.is_finite())
    {
        return (None, None);
    }
    let est = fit.params[param];
    if fit.rss == 0.0 {
        return (Some(est), Some(est));
    }
    let df = fit.df as f64;
    let t = t_quantile(0.5 + 0.5 * level, df);
    let threshold = fit.rss * (1.0 + t * t / df);
    let (lo_lim, hi_lim) = (limits.0.min(est), limits.1.max(est));
    let first = if (t * fit.se).is_finite() && fit.se > 0.0 {
        t * fit.se
    } else {
        0.05 * (hi_lim - lo_lim)
    };
    let cost = ProfileCost { refit, threshold, warm: Cell::new(fit.params) };
    let lower = side(&cost, est, -1.0, first, lo_lim, fit.params);
    let upper = side(&cost, est, 1.0, first, hi_lim, fit.params);
    (lower, upper)
}

/// Search range of parameter `param` (see [`profile_ci`]).
fn limits(x: &[f64], y: &[f64], param: usize, est: f64) -> (f64, f64) {
    match param {
        FourPl::LOG_IC50 => {
            let f = x.iter().copied().filter(|v| v.is_finite());
            let lo = f.clone().fold(f64::INFINITY, f64::min);
            let hi = f.fold(f64::NEG_INFINITY, f64::max);
            if lo <= hi {
                ((lo - LOG_IC50_MARGIN).min(est), (hi + LOG_IC50_MARGIN).max(est))
            } else {
                (est, est)
            }
        }
        FourPl::HILL => ((-MAX_ABS_HILL).min(est), MAX_ABS_HILL.max(est)),
        _ => {
            let lo = y.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = y.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let span = (hi - lo).abs().max(est.abs() * 1e-3).max(f64::MIN_POSITIVE);
            (est - PLATEAU_PROFILE_SPANS * span, est + PLATEAU_PROFILE_SPANS * span)
        }
    }
}

/// One end of the interval in direction `dir` (+1 / -1), or `None` if no crossing before `lim`.
fn side<const P: usize>(
    cost: &ProfileCost<'_, P>,
    est: f64,
    dir: f64,
    first: f64,
    lim: f64,
    start: [f64; P],
) -> Option<f64> {
    cost.warm.set(start);
    let mut inside = est;
    let mut step = first;
    for _ in 0..60 {
        let theta = if dir > 0.0 { (est + step).min(lim) } else { (est - step).max(lim) };
        if theta == inside {
            return None;
        }
        let g = cost.eval(theta);
        if g >= 0.0 {
            return Some(root(cost, inside, theta));
        }
        if theta == lim {
            return None;
        }
        inside = theta;
        step *= 2.0;
    }
    None
}

/// The crossing between `inside` (below the threshold) and `outside` (at or above it), with
/// argmin's [`BrentRoot`]; bisection should argmin fail.
fn root<const P: usize>(cost: &ProfileCost<'_, P>, inside: f64, outside: f64) -> f64 {
    let (a, b) = if inside < outside { (inside, outside) } else { (outside, inside) };
    let warm = cost.warm.get();
    let run = Executor::new(cost, BrentRoot::new(a, b, PROFILE_TOL))
        .configure(|s| s.max_iters(200))
        .timer(false)
        .run();
    if let Ok(res) = run {
        if let Some(p) = res.state.get_best_param().copied().filter(|p| p.is_finite()) {
            return p;
        }
    }
    cost.warm.set(warm);
    let (mut i, mut o) = (inside, outside);
    while (o - i).abs() > PROFILE_TOL {
        let m = 0.5 * (i + o);
        if cost.eval(m) >= 0.0 {
            o = m;
        } else {
            i = m;
        }
    }
    0.5 * (i + o)
}

impl<const P: usize> CostFunction for &ProfileCost<'_, P> {
    type Param = f64;
    type Output = f64;

    fn cost(&self, theta: &f64) -> Result<f64, ArgminError> {
        Ok(self.eval(*theta))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::engine::Model;
    use crate::fit::engine::Termination;
    use crate::fit::maths::four_pl::fit_four_pl;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn sim(p: [f64; 4], sd: f64, seed: u64, top_x: f64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0, sd).expect("valid sd");
        let mut x = Vec::new();
        let mut y = Vec::new();
        let mut xi = -11.0;
        while xi <= top_x + 1e-9 {
            for _ in 0..3 {
                x.push(xi);
                y.push(FourPl.value(xi, &p) + noise.sample(&mut rng));
            }
            xi += 0.5;
        }
        (x, y)
    }

    #[test]
    fn well_determined_curve_matches_asymptotic_interval() {
        let (x, y) = sim([100.0, 0.0, -1.0, -8.0], 3.0, 11, -5.0);
        let opts = FourPlOptions::default();
        let f = fit_four_pl(&x, &y, &opts);
        assert!(f.termination.converged(), "{f:?}");
        let (lo, hi) = profile_ci(&x, &y, None, &opts, &f, FourPl::LOG_IC50, 0.95);
        let (lo, hi) = (lo.expect("bounded below"), hi.expect("bounded above"));
        let est = f.params[3];
        assert!(lo < est && est < hi);
        let (alo, ahi) = f.log_ic50_ci;
        let h = ahi - est;
        assert!(((est - lo) - h).abs() < 0.1 * h, "lower {lo} vs asymptotic {alo}");
        assert!(((hi - est) - h).abs() < 0.1 * h, "upper {hi} vs asymptotic {ahi}");
        // The profile RSS at the ends is the threshold.
        let df = f.df as f64;
        let t = t_quantile(0.975, df);
        let thr = f.rss * (1.0 + t * t / df);
        let mut o = opts;
        o.fixed[3] = Some(hi);
        let g = fit_four_pl_with(&x, &y, None, &o, Some(f.params));
        assert!((g.rss - thr).abs() < 1e-5 * thr, "{} vs {thr}", g.rss);
        // Other parameters work too and contain their estimates.
        for k in 0..3 {
            let (a, b) = profile_ci(&x, &y, None, &opts, &f, k, 0.95);
            let (a, b) = (a.expect("bounded"), b.expect("bounded"));
            assert!(a < f.params[k] && f.params[k] < b, "k {k}: {a} {b} {:?}", f.params);
        }
    }

    #[test]
    fn incomplete_curve_is_unbounded_above() {
        // IC50 (10^-5.5 M) beyond the top concentration (10^-6 M).
        let (x, y) = sim([100.0, 0.0, -1.0, -5.5], 3.0, 5, -6.0);
        let opts = FourPlOptions::default();
        let f = fit_four_pl(&x, &y, &opts);
        assert!(f.termination.converged() || f.termination == Termination::AtBound, "{f:?}");
        let (lo, hi) = profile_ci(&x, &y, None, &opts, &f, FourPl::LOG_IC50, 0.95);
        assert!(hi.is_none(), "upper end {hi:?} for {f:?}");
        if let Some(lo) = lo {
            assert!(lo <= f.params[3]);
        }
    }

    #[test]
    fn fixed_parameter_or_no_df_gives_none() {
        let (x, y) = sim([100.0, 0.0, -1.0, -8.0], 3.0, 1, -5.0);
        let opts = FourPlOptions { fixed: [None, Some(0.0), None, None], ..Default::default() };
        let f = fit_four_pl(&x, &y, &opts);
        assert_eq!(profile_ci(&x, &y, None, &opts, &f, 1, 0.95), (None, None));
        assert_eq!(profile_ci(&x, &y, None, &opts, &f, 7, 0.95), (None, None));
        let (a, b) = profile_ci(&x, &y, None, &opts, &f, 3, 0.95);
        assert!(a.is_some() && b.is_some());
    }
}
