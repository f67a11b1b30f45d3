//! Prism's "log(agonist) vs. response -- variable slope": the [`FourPl`] rising, EC50 in the
//! LogIC50 slot: its starting values and one-curve fit. The pipeline's `agonist` model is
//! [`crate::fit::models::agonist`].

use crate::fit::engine::{self, Termination};
use crate::fit::maths::four_pl::{
    FourPl, FourPlFit, FourPlOptions, LOG_IC50_MARGIN, MAX_ABS_HILL, apply_bounds, fit_four_pl,
};
use crate::fit::maths::model_fit::{finish, finite_range};

/// Starting values `[top, bottom, hill_slope, log_ec50]` for Prism's "log(agonist) vs.
/// response -- variable slope" (a rising 4PL, `hill_slope > 0`, so Bottom is the `X = -inf`
/// plateau and Top the high-concentration one).
///
/// Bottom = mean response at the lowest x level (zero dose at `-inf` counts), Top = mean at the
/// highest level, slope +1, LogEC50 = linear interpolation where the level means first cross
/// half-way (Motulsky & Christopoulos 2004, ch. 28); without a crossing, the middle of the
/// finite x range. Finite for finite input.
pub fn initial_estimates_rising(x: &[f64], y: &[f64]) -> [f64; 4] {
    let n = x.len().min(y.len());
    let mut pts: Vec<(f64, f64)> = x[..n].iter().copied().zip(y[..n].iter().copied()).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut levels: Vec<(f64, f64)> = Vec::new();
    let mut i = 0;
    while i < pts.len() {
        let mut j = i;
        let mut s = 0.0;
        while j < pts.len() && pts[j].0 == pts[i].0 {
            s += pts[j].1;
            j += 1;
        }
        levels.push((pts[i].0, s / (j - i) as f64));
        i = j;
    }
    let (xlo, xhi) = finite_range(x);
    let (Some(first), Some(last)) = (levels.first(), levels.last()) else {
        return [0.0, 0.0, 1.0, 0.0];
    };
    let (bottom, top) = (first.1, last.1);
    let half = 0.5 * (bottom + top);
    let mut log_ec50 = 0.5 * (xlo + xhi);
    for w in levels.windows(2) {
        let ((x0, y0), (x1, y1)) = (w[0], w[1]);
        if (y0 - half) * (y1 - half) <= 0.0 && y0 != y1 {
            let v = if x0.is_finite() { x0 + (half - y0) / (y1 - y0) * (x1 - x0) } else { x1 };
            if v.is_finite() {
                log_ec50 = v;
            }
            break;
        }
    }
    [top, bottom, 1.0, log_ec50]
}

/// Fits Prism's "log(agonist) vs. response -- variable slope" (EC50): the [`FourPl`] with a
/// positive Hill slope, `p = [top, bottom, hill_slope, log_ec50]` (`log_ic50` slot = LogEC50;
/// Bottom is the `X = -inf` plateau, e.g. basal \[35S\]GTPγS binding, Top is Emax).
///
/// Runs [`fit_four_pl`] first (its start is rising for rising data). If that ends with a
/// positive slope, it is returned unchanged. Otherwise (noisy or non-monotone data pulled the
/// fit to a falling curve) the curve is refitted from [`initial_estimates_rising`] with the
/// slope bounded to `[0, MAX_ABS_HILL]` and LogEC50 to the tested range +-
/// [`LOG_IC50_MARGIN`], and the parameters, SEs, CI and fit statistics of that fit
/// replace those of the first (the dependency stays NaN).
// `..base` keeps fields that `FourPlFit` may gain later (it has none beyond these today).
#[allow(clippy::needless_update)]
pub fn fit_agonist(x: &[f64], y: &[f64], opts: &FourPlOptions) -> FourPlFit {
    let base = fit_four_pl(x, y, opts);
    let not_fitted =
        matches!(base.termination, Termination::InsufficientData | Termination::FlatResponse);
    if base.params[FourPl::HILL] > 0.0 || not_fitted {
        return base;
    }
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut start = initial_estimates_rising(x, y);
    let mut fixed = [false; 4];
    for k in 0..4 {
        if let Some(v) = opts.fixed[k] {
            start[k] = v;
            fixed[k] = true;
        }
    }
    let (lo, hi) = finite_range(x);
    let mut lower = [f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0, lo - LOG_IC50_MARGIN];
    let mut upper = [f64::INFINITY, f64::INFINITY, MAX_ABS_HILL, hi + LOG_IC50_MARGIN];
    apply_bounds(&opts.bounds, &fixed, &mut start, &mut lower, &mut upper);
    let f = engine::fit_bounded(&FourPl, x, y, None, start, fixed, lower, upper, &opts.lm);
    let m = finish(&FourPl, x, y, None, fixed, f);
    FourPlFit {
        params: m.params,
        se: m.se,
        cov: m.cov,
        log_ic50_ci: m.ci95[FourPl::LOG_IC50],
        dependency: [f64::NAN; 4],
        rss: m.rss,
        r_squared: m.r_squared,
        sy_x: m.sy_x,
        n: m.n,
        df: m.df,
        iterations: m.iterations,
        termination: m.termination,
        ..base
    }
}
