//! The generic one-curve fit of any [`Model`]: [`fit_model`] (bounded, weighted least squares
//! on the engine) and its result [`ModelFit`] with SEs, 95% CIs, R², Sy.x and AICc ([`aicc`]),
//! plus the small helpers the models share (tested range, fixed plateaus).

use crate::fit::engine::uncertainty;
use crate::fit::engine::{self, LmConfig, Model, Termination};
use crate::fit::stats;

/// Result of [`fit_model`]. Undefined statistics are NaN: `se`/`ci95` of fixed parameters, all
/// of them when the Jacobian is rank-deficient or `df == 0`; `sy_x` when `df == 0`; `aicc` when
/// `n <= K + 1` (K = free parameters + 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelFit<const P: usize> {
    /// Fitted parameters (fixed ones at their given value).
    pub params: [f64; P],
    /// Asymptotic standard errors `sqrt(diag(s^2 (J'WJ)^-1))` (Bates & Watts 1988, §2.3).
    pub se: [f64; P],
    /// Asymptotic covariance `s^2 (J'WJ)^-1` (rows and columns of fixed parameters 0; all NaN
    /// when the SEs are undefined).
    pub cov: [[f64; P]; P],
    /// 95% asymptotic (Wald) intervals `p -+ t(0.975, df) se`.
    pub ci95: [(f64, f64); P],
    /// (Weighted) residual sum of squares.
    pub rss: f64,
    /// Degrees of freedom, `n -` free parameters (0 if negative).
    pub df: usize,
    /// Number of data points.
    pub n: usize,
    /// `1 - rss / tss`, `tss` the (weighted) sum of squares about the (weighted) mean of y.
    pub r_squared: f64,
    /// `sqrt(rss / df)`, Prism's Sy.x.
    pub sy_x: f64,
    /// `n ln(rss/n) + 2K + 2K(K+1)/(n-K-1)`, `K` = free parameters + 1 (see [`aicc`]).
    pub aicc: f64,
    /// Levenberg-Marquardt iterations.
    pub iterations: u32,
    /// How the Levenberg-Marquardt iteration ended.
    pub termination: Termination,
}

impl<const P: usize> ModelFit<P> {
    /// The parameters when the fit converged or stopped on a bound and they are finite (a
    /// fit that may seed a reweighting round, [`crate::fit::procedures::weights::iterate`]).
    #[must_use]
    pub fn fitted_params(&self) -> Option<[f64; P]> {
        let fitted = self.termination.converged() || self.termination == Termination::AtBound;
        (fitted && self.params.iter().all(|v| v.is_finite())).then_some(self.params)
    }

    /// Number of fitted (free) parameters, `n - df` (exact whenever `n >=` free parameters;
    /// `n` otherwise, since `df` saturates at 0).
    pub fn free_params(&self) -> usize {
        self.n - self.df.min(self.n)
    }
}

/// Akaike's information criterion, small-sample corrected, as Prism computes it for least
/// squares: `AICc = n ln(SS/n) + 2K + 2K(K+1)/(n-K-1)` with `K` = fitted parameters + 1 (the
/// variance is the extra parameter) (Burnham & Anderson 2002, *Model selection and multimodel
/// inference*, §2.4; Motulsky & Christopoulos 2004, ch. 22). NaN when `n <= K + 1`; `-inf`
/// for `SS = 0`.
pub fn aicc(rss: f64, n: usize, fitted_params: usize) -> f64 {
    let k = (fitted_params + 1) as f64;
    let nf = n as f64;
    if n <= fitted_params + 2 || !(rss >= 0.0) {
        return f64::NAN;
    }
    nf * (rss / nf).ln() + 2.0 * k + 2.0 * k * (k + 1.0) / (nf - k - 1.0)
}

/// Fits `model` to `(x, y)` by (weighted) least squares with box bounds, starting at `start`,
/// holding `fixed[k]` parameters at their start value, and computes the asymptotic statistics.
///
/// Built on [`engine::fit_bounded`] (default [`LmConfig`]) and [`uncertainty::asymptotic`]. `x` and `y`
/// are truncated to the shorter length; `y` (and `weights`) must be finite (filter first).
/// Never panics on data: with no more points than free parameters the LM still runs (to an
/// exact or ambiguous fit) and the statistics are NaN.
#[allow(clippy::too_many_arguments)]
pub fn fit_model<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    start: [f64; P],
    fixed: [bool; P],
    lower: [f64; P],
    upper: [f64; P],
) -> ModelFit<P> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let weights = weights.map(|w| &w[..n.min(w.len())]).filter(|w| w.len() == n);
    let f =
        engine::fit_bounded(model, x, y, weights, start, fixed, lower, upper, &LmConfig::default());
    finish(model, x, y, weights, fixed, f)
}

/// Statistics of an LM result (shared by [`fit_model`] and the multi-start fits).
pub(crate) fn finish<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    fixed: [bool; P],
    f: engine::LmFit<P>,
) -> ModelFit<P> {
    let n = x.len();
    let free = fixed.iter().filter(|v| !**v).count();
    let df = n.saturating_sub(free);
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let sw: f64 = (0..n).map(w).sum();
    let mean = if sw > 0.0 { (0..n).map(|i| w(i) * y[i]).sum::<f64>() / sw } else { 0.0 };
    let tss: f64 = (0..n).map(|i| w(i) * (y[i] - mean).powi(2)).sum();
    let r_squared = if tss > 0.0 {
        1.0 - f.rss / tss
    } else if f.rss == 0.0 {
        1.0
    } else {
        0.0
    };
    let mut se = [f64::NAN; P];
    let mut cov = [[f64::NAN; P]; P];
    let mut ci95 = [(f64::NAN, f64::NAN); P];
    if let Some(u) = uncertainty::asymptotic(model, x, y, weights, &f.params, fixed, f.rss) {
        let t = stats::t975(u.df);
        se = u.se;
        cov = u.cov;
        for k in 0..P {
            if !fixed[k] {
                ci95[k] = (f.params[k] - t * se[k], f.params[k] + t * se[k]);
            }
        }
    }
    ModelFit {
        params: f.params,
        se,
        cov,
        ci95,
        rss: f.rss,
        df,
        n,
        r_squared,
        sy_x: if df > 0 { (f.rss / df as f64).sqrt() } else { f64::NAN },
        aicc: aicc(f.rss, n, free),
        iterations: f.iterations,
        termination: f.termination,
    }
}

/// Smallest and largest finite x (`(0, 0)` when there is none).
pub(crate) fn finite_range(x: &[f64]) -> (f64, f64) {
    let lo = x.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = x.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    if lo <= hi { (lo, hi) } else { (0.0, 0.0) }
}

/// Fixes Top and Bottom (`plateaus = [top, bottom]`, the first two parameters of the fit-Ki,
/// two-site and 4PL models) at their given values in `start`; returns the `fixed` mask.
pub(crate) fn fix_plateaus<const P: usize>(
    start: &mut [f64; P],
    plateaus: [Option<f64>; 2],
) -> [bool; P] {
    let mut fixed = [false; P];
    for k in 0..2 {
        if let Some(v) = plateaus[k] {
            start[k] = v;
            fixed[k] = true;
        }
    }
    fixed
}
