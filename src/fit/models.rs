//! Further curve models beside the 4PL, and a generic fitting front end.
//!
//! - [`FitKi`]: Prism's "One site -- Fit Ki" (LogKi fitted directly, Cheng-Prusoff built in).
//! - [`TwoSite`]: Prism's "Two sites -- Fit logIC50" (two slope -1 components).
//! - Agonist curves: the existing [`FourPl`] with a positive Hill slope
//!   ([`initial_estimates_rising`], [`fit_agonist`]).
//! - [`fit_model`]: any [`Model`] through [`lm::fit_bounded`] and [`stats::asymptotic`], giving a
//!   [`ModelFit`] with SEs, 95% CIs, R², Sy.x and AICc.
//!
//! Owns these models' mathematics and starting values only; the engine is [`crate::fit::lm`],
//! the uncertainty [`crate::fit::stats`], model comparison [`crate::fit::compare`].

use std::f64::consts::LN_10;

use crate::fit::four_pl::{
    FourPlFit, FourPlOptions, LOG_IC50_MARGIN, MAX_ABS_HILL, fit_four_pl, initial_estimates,
};
use crate::fit::lm::{self, LmConfig, Termination};
use crate::fit::model::{FourPl, Model};
use crate::fit::stats;

/// Prism's "One site -- Fit Ki" competition model, `p = [top, bottom, log_ki]`:
///
/// `Y = Bottom + (Top - Bottom) / (1 + 10^(X - LogIC50))`,
/// `LogIC50 = log10(10^LogKi (1 + [L]/Kd)) = LogKi + log10(1 + [L]/Kd)`
///
/// (Cheng & Prusoff 1973, Biochem Pharmacol 22:3099; GraphPad Prism curve-fitting guide,
/// "One site -- Fit Ki"). `X` and `LogKi` are log10 molar; `[L]` (radioligand concentration)
/// and `Kd` are constants in nM; only their ratio enters, so no unit conversion is needed.
/// The slope is fixed to -1 (a single site obeying the law of mass action). `X = -inf` gives
/// exactly Top.
///
/// Gradient: with `s = 1 / (1 + 10^(X - LogIC50))`, `dY/dTop = s`, `dY/dBottom = 1 - s`,
/// `dY/dLogKi = dY/dLogIC50 = (Top - Bottom) s (1 - s) ln 10`
/// (the 4PL gradient of [`FourPl`] at slope -1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitKi {
    /// Radioligand concentration `[L]`, nM.
    pub radioligand_nm: f64,
    /// Radioligand dissociation constant `Kd`, nM.
    pub kd_nm: f64,
}

impl FitKi {
    /// Index of Top.
    pub const TOP: usize = 0;
    /// Index of Bottom.
    pub const BOTTOM: usize = 1;
    /// Index of LogKi (log10 molar).
    pub const LOG_KI: usize = 2;

    /// `log10(1 + [L]/Kd)`: `LogIC50 - LogKi` (Cheng-Prusoff shift, log10 units).
    pub fn log_shift(&self) -> f64 {
        (self.radioligand_nm / self.kd_nm).ln_1p() / LN_10
    }

    /// The 4PL parameters `[top, bottom, -1, log_ic50]` equivalent to `p`.
    pub fn four_pl_params(&self, p: &[f64; 3]) -> [f64; 4] {
        [p[0], p[1], -1.0, p[2] + self.log_shift()]
    }

    /// Data-driven start `[top, bottom, log_ki]`: the 4PL [`initial_estimates`] with LogIC50
    /// converted to LogKi.
    pub fn initial_estimates(&self, x: &[f64], y: &[f64]) -> [f64; 3] {
        let p = initial_estimates(x, y);
        let shift = self.log_shift();
        let log_ki = p[3] - if shift.is_finite() { shift } else { 0.0 };
        [p[0], p[1], log_ki]
    }
}

impl Model<3> for FitKi {
    #[inline]
    fn value(&self, x: f64, p: &[f64; 3]) -> f64 {
        FourPl.value(x, &self.four_pl_params(p))
    }

    #[inline]
    fn value_grad(&self, x: f64, p: &[f64; 3], grad: &mut [f64; 3]) -> f64 {
        let mut g = [0.0; 4];
        let y = FourPl.value_grad(x, &self.four_pl_params(p), &mut g);
        *grad = [g[0], g[1], g[3]];
        y
    }
}

/// Prism's "Two sites -- Fit logIC50", `p = [top, bottom, fraction_hi, log_ic50_hi,
/// log_ic50_lo]`:
///
/// `Y = Bottom + (Top - Bottom) (F / (1 + 10^(X - LogIC50hi)) + (1 - F) / (1 + 10^(X - LogIC50lo)))`
///
/// (GraphPad Prism curve-fitting guide, "Two sites -- Fit logIC50"; Motulsky & Christopoulos
/// 2004, ch. 45). `F` is the fraction of sites with high affinity (the lower IC50). X and the
/// LogIC50s are log10 molar; `X = -inf` gives exactly Top.
///
/// With `s_h = 1 / (1 + 10^(X - LogIC50hi))`, `s_l` likewise and `S = F s_h + (1 - F) s_l`:
/// `dY/dTop = S`, `dY/dBottom = 1 - S`, `dY/dF = (Top - Bottom)(s_h - s_l)`,
/// `dY/dLogIC50hi = (Top - Bottom) F s_h (1 - s_h) ln 10`,
/// `dY/dLogIC50lo = (Top - Bottom)(1 - F) s_l (1 - s_l) ln 10`.
///
/// The model itself is symmetric under `(F, hi, lo) -> (1 - F, lo, hi)`; [`fit_two_site`]
/// bounds `F` to `[0, 1]` and enforces `LogIC50hi <= LogIC50lo` by relabelling after the fit
/// (which changes neither the curve nor the RSS).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TwoSite;

impl TwoSite {
    /// Index of Top.
    pub const TOP: usize = 0;
    /// Index of Bottom.
    pub const BOTTOM: usize = 1;
    /// Index of the high-affinity fraction F (0..1).
    pub const FRACTION_HI: usize = 2;
    /// Index of LogIC50 of the high-affinity site (log10 molar).
    pub const LOG_IC50_HI: usize = 3;
    /// Index of LogIC50 of the low-affinity site (log10 molar).
    pub const LOG_IC50_LO: usize = 4;
}

impl Model<5> for TwoSite {
    #[inline]
    fn value(&self, x: f64, p: &[f64; 5]) -> f64 {
        let a = FourPl.value(x, &[1.0, 0.0, -1.0, p[3]]);
        let b = FourPl.value(x, &[1.0, 0.0, -1.0, p[4]]);
        let s = p[2] * a + (1.0 - p[2]) * b;
        p[0] * s + p[1] * (1.0 - s)
    }

    #[inline]
    fn value_grad(&self, x: f64, p: &[f64; 5], grad: &mut [f64; 5]) -> f64 {
        // Unit-span logistic components: value s, gradient wrt their LogIC50 is
        // -(1 - 0) s (1 - s) (-1) ln 10 = s (1 - s) ln 10.
        let mut ga = [0.0; 4];
        let mut gb = [0.0; 4];
        let a = FourPl.value_grad(x, &[1.0, 0.0, -1.0, p[3]], &mut ga);
        let b = FourPl.value_grad(x, &[1.0, 0.0, -1.0, p[4]], &mut gb);
        let f = p[2];
        let span = p[0] - p[1];
        let s = f * a + (1.0 - f) * b;
        grad[0] = s;
        grad[1] = 1.0 - s;
        grad[2] = span * (a - b);
        grad[3] = span * f * ga[3];
        grad[4] = span * (1.0 - f) * gb[3];
        p[0] * s + p[1] * (1.0 - s)
    }
}

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
    /// fit that may seed a reweighting round, [`crate::fit::weights::iterate`]).
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
/// Built on [`lm::fit_bounded`] (default [`LmConfig`]) and [`stats::asymptotic`]. `x` and `y`
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
    let f = lm::fit_bounded(model, x, y, weights, start, fixed, lower, upper, &LmConfig::default());
    finish(model, x, y, weights, fixed, f)
}

/// Statistics of an LM result (shared by [`fit_model`] and the multi-start fits).
fn finish<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    fixed: [bool; P],
    f: lm::LmFit<P>,
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
    if let Some(u) = stats::asymptotic(model, x, y, weights, &f.params, fixed, f.rss) {
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

/// Fits [`FitKi`] with Top/Bottom optionally fixed (`plateaus = [top, bottom]`), LogKi bounded
/// to the tested range +- [`LOG_IC50_MARGIN`] (shifted by the Cheng-Prusoff term), with
/// optional `weights` (see [`fit_model`]) and `start` (`None`: [`FitKi::initial_estimates`]).
pub fn fit_ki(
    model: &FitKi,
    x: &[f64],
    y: &[f64],
    plateaus: [Option<f64>; 2],
    weights: Option<&[f64]>,
    start: Option<[f64; 3]>,
) -> ModelFit<3> {
    let mut start = start.unwrap_or_else(|| model.initial_estimates(x, y));
    let fixed = fix_plateaus(&mut start, plateaus);
    let (lo, hi) = finite_range(x);
    let shift = model.log_shift();
    let shift = if shift.is_finite() { shift } else { 0.0 };
    let lower = [f64::NEG_INFINITY, f64::NEG_INFINITY, lo - LOG_IC50_MARGIN - shift];
    let upper = [f64::INFINITY, f64::INFINITY, hi + LOG_IC50_MARGIN - shift];
    fit_model(model, x, y, weights, start, fixed, lower, upper)
}

/// Fixes Top and Bottom (`plateaus = [top, bottom]`, the first two parameters of the fit-Ki,
/// two-site and 4PL models) at their given values in `start`; returns the `fixed` mask.
fn fix_plateaus<const P: usize>(start: &mut [f64; P], plateaus: [Option<f64>; 2]) -> [bool; P] {
    let mut fixed = [false; P];
    for k in 0..2 {
        if let Some(v) = plateaus[k] {
            start[k] = v;
            fixed[k] = true;
        }
    }
    fixed
}

/// Relabels two-site parameters so that `LogIC50hi <= LogIC50lo` (`F -> 1 - F`), which leaves
/// the curve and the RSS unchanged.
fn relabel_sites(p: &mut [f64; 5]) {
    if p[3] > p[4] {
        p.swap(3, 4);
        p[2] = 1.0 - p[2];
    }
}

/// The bounds of a two-site fit: `F` in `[0, 1]`, both LogIC50s in the tested range +-
/// [`LOG_IC50_MARGIN`].
pub(crate) fn two_site_bounds(x: &[f64]) -> ([f64; 5], [f64; 5]) {
    let (lo, hi) = finite_range(x);
    let lower =
        [f64::NEG_INFINITY, f64::NEG_INFINITY, 0.0, lo - LOG_IC50_MARGIN, lo - LOG_IC50_MARGIN];
    let upper = [f64::INFINITY, f64::INFINITY, 1.0, hi + LOG_IC50_MARGIN, hi + LOG_IC50_MARGIN];
    (lower, upper)
}

/// A weighted two-site fit started at `start` (a previous fit's parameters, e.g. in a
/// reweighting round), with the bounds and relabelling of [`fit_two_site`].
pub fn refit_two_site(
    x: &[f64],
    y: &[f64],
    plateaus: [Option<f64>; 2],
    weights: Option<&[f64]>,
    start: [f64; 5],
) -> ModelFit<5> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let weights = weights.map(|w| &w[..n.min(w.len())]).filter(|w| w.len() == n);
    let mut start = start;
    let fixed = fix_plateaus(&mut start, plateaus);
    let (lower, upper) = two_site_bounds(x);
    let cfg = LmConfig::default();
    let mut f = lm::fit_bounded(&TwoSite, x, y, weights, start, fixed, lower, upper, &cfg);
    relabel_sites(&mut f.params);
    finish(&TwoSite, x, y, weights, fixed, f)
}

/// Fits [`TwoSite`] with Top/Bottom optionally fixed (`plateaus = [top, bottom]`) and optional
/// fixed `weights` (see [`fit_model`]).
///
/// Starting values: plateaus and LogIC50 `m` from [`initial_estimates`]; then a small
/// multi-start over `(F, LogIC50hi, LogIC50lo)` in
/// `{(0.5, m-1, m+1), (0.5, m-0.5, m+0.5), (0.3, m-1.5, m+0.5), (0.7, m-0.5, m+1.5)}`,
/// keeping the lowest RSS (two-site surfaces have several local minima). Bounds: `F` in
/// `[0, 1]`, both LogIC50s in the tested range +- [`LOG_IC50_MARGIN`]. After the fit the sites
/// are relabelled so that `LogIC50hi <= LogIC50lo` (`F -> 1 - F`), which leaves the curve and
/// RSS unchanged; the statistics are computed at the relabelled parameters. A fit ending with
/// `F` on 0 or 1 ([`Termination::AtBound`]) is really a one-site curve.
pub fn fit_two_site(
    x: &[f64],
    y: &[f64],
    plateaus: [Option<f64>; 2],
    weights: Option<&[f64]>,
) -> ModelFit<5> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let weights = weights.map(|w| &w[..n.min(w.len())]).filter(|w| w.len() == n);
    let p4 = initial_estimates(x, y);
    let m = p4[3];
    let mut base = [p4[0], p4[1], 0.5, m - 1.0, m + 1.0];
    let fixed = fix_plateaus(&mut base, plateaus);
    let (lower, upper) = two_site_bounds(x);
    let cfg = LmConfig::default();
    let mut best: Option<lm::LmFit<5>> = None;
    for (f0, dh, dl) in [(0.5, -1.0, 1.0), (0.5, -0.5, 0.5), (0.3, -1.5, 0.5), (0.7, -0.5, 1.5)] {
        let start = [base[0], base[1], f0, m + dh, m + dl];
        let f = lm::fit_bounded(&TwoSite, x, y, weights, start, fixed, lower, upper, &cfg);
        let better = match &best {
            None => true,
            Some(b) => f.rss.is_finite() && !(b.rss <= f.rss),
        };
        if better {
            best = Some(f);
        }
    }
    let Some(mut f) = best else {
        // Unreachable (the loop runs), but never panic on data.
        let f = lm::fit_bounded(&TwoSite, x, y, weights, base, fixed, lower, upper, &cfg);
        return finish(&TwoSite, x, y, weights, fixed, f);
    };
    relabel_sites(&mut f.params);
    finish(&TwoSite, x, y, weights, fixed, f)
}

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
    crate::fit::four_pl::apply_bounds(&opts.bounds, &fixed, &mut start, &mut lower, &mut upper);
    let f = lm::fit_bounded(&FourPl, x, y, None, start, fixed, lower, upper, &opts.lm);
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

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    fn central_diff<M: Model<P>, const P: usize>(m: &M, x: f64, p: &[f64; P]) -> [f64; P] {
        let mut g = [0.0; P];
        for k in 0..P {
            let h = 1e-6 * p[k].abs().max(1.0);
            let mut pp = *p;
            let mut pm = *p;
            pp[k] += h;
            pm[k] -= h;
            g[k] = (m.value(x, &pp) - m.value(x, &pm)) / (2.0 * h);
        }
        g
    }

    fn check_grad<M: Model<P>, const P: usize>(m: &M, x: f64, p: &[f64; P], span: f64) {
        let mut g = [0.0; P];
        let y = m.value_grad(x, p, &mut g);
        assert!((y - m.value(x, p)).abs() <= 1e-12 * y.abs().max(1.0));
        let fd = central_diff(m, x, p);
        for k in 0..P {
            let scale = fd[k].abs().max(1e-3 * span.abs().max(1.0));
            assert!((g[k] - fd[k]).abs() <= 1e-6 * scale, "k={k} analytic={} fd={}", g[k], fd[k]);
        }
    }

    const XS: [f64; 10] = [-11.0, -10.5, -10.0, -9.5, -9.0, -8.5, -8.0, -7.5, -7.0, -6.5];

    fn dup<M: Model<P>, const P: usize>(m: &M, p: &[f64; P], xs: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let x: Vec<f64> = xs.iter().flat_map(|&v| [v, v]).collect();
        let y = x.iter().map(|&v| m.value(v, p)).collect();
        (x, y)
    }

    proptest! {
        #[test]
        fn fit_ki_gradient(top in 50.0f64..150.0, bottom in -10.0f64..30.0,
                           log_ki in -10.0f64..-6.0, dx in -3.0f64..3.0,
                           l in 0.1f64..10.0, kd in 0.1f64..10.0) {
            let m = FitKi { radioligand_nm: l, kd_nm: kd };
            check_grad(&m, log_ki + dx, &[top, bottom, log_ki], top - bottom);
        }

        #[test]
        fn two_site_gradient(top in 50.0f64..150.0, bottom in -10.0f64..30.0, f in 0.0f64..1.0,
                             hi in -10.0f64..-7.0, d in 0.0f64..3.0, dx in -3.0f64..5.0) {
            check_grad(&TwoSite, hi + dx, &[top, bottom, f, hi, hi + d], top - bottom);
        }
    }

    #[test]
    fn zero_dose_is_top() {
        let m = FitKi { radioligand_nm: 1.0, kd_nm: 1.0 };
        let mut g = [f64::NAN; 3];
        assert_eq!(m.value_grad(f64::NEG_INFINITY, &[100.0, 3.0, -8.0], &mut g), 100.0);
        assert!(g.iter().all(|v| v.is_finite()));
        let mut g = [f64::NAN; 5];
        let y = TwoSite.value_grad(f64::NEG_INFINITY, &[100.0, 3.0, 0.4, -9.0, -7.0], &mut g);
        assert_eq!(y, 100.0);
        assert!(g.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn fit_ki_is_cheng_prusoff() {
        // [L] = Kd: IC50 = 2 Ki, LogIC50 = LogKi + log10 2.
        let m = FitKi { radioligand_nm: 2.0, kd_nm: 2.0 };
        assert_relative_eq!(m.log_shift(), 2f64.log10(), max_relative = 1e-15);
        let (x, y) = dup(&m, &[100.0, 0.0, -8.5], &XS);
        let f = fit_ki(&m, &x, &y, [None, None], None, None);
        assert!(f.termination.converged(), "{f:?}");
        assert_relative_eq!(f.params[2], -8.5, epsilon = 1e-8);
        assert_eq!(f.df, 17);
        // Same data through the 4PL with slope -1: LogIC50 = LogKi + log10 2.
        let p4 = fit_four_pl(
            &x,
            &y,
            &FourPlOptions { fixed: [None, None, Some(-1.0), None], ..Default::default() },
        );
        assert_relative_eq!(p4.params[3], -8.5 + 2f64.log10(), epsilon = 1e-8);
    }

    #[test]
    fn two_site_recovers_parameters_and_orders_sites() {
        let p = [100.0, 0.0, 0.4, -9.5, -7.5];
        let (x, y) = dup(&TwoSite, &p, &XS);
        let f = fit_two_site(&x, &y, [None, None], None);
        assert!(f.termination.converged(), "{f:?}");
        for k in 0..5 {
            assert!((f.params[k] - p[k]).abs() < 1e-6, "{f:?}");
        }
        // Relabelled input (F = 0.6 at the low-affinity IC50 first) gives the same ordering.
        let q = [100.0, 0.0, 0.6, -7.5, -9.5];
        let (x, y) = dup(&TwoSite, &q, &XS);
        let g = fit_two_site(&x, &y, [None, None], None);
        assert!(g.params[3] < g.params[4] && (g.params[2] - 0.4).abs() < 1e-6, "{g:?}");
    }

    #[test]
    fn agonist_curve_rises_and_zero_dose_is_bottom() {
        let p = [180.0, 5.0, 0.9, -7.2];
        let mut x = vec![f64::NEG_INFINITY];
        let mut y = vec![5.0];
        let (xc, yc) = dup(&FourPl, &p, &XS.map(|v| v + 2.0));
        x.extend(xc);
        y.extend(yc);
        let s = initial_estimates_rising(&x, &y);
        assert!(s[2] == 1.0 && s[0] > s[1] && (s[3] + 7.2).abs() < 0.5, "{s:?}");
        let f = fit_agonist(&x, &y, &FourPlOptions::default());
        assert!(f.termination.converged(), "{f:?}");
        for k in 0..4 {
            assert_relative_eq!(f.params[k], p[k], max_relative = 1e-7);
        }
        assert_eq!(FourPl.value(f64::NEG_INFINITY, &f.params), f.params[1]);
    }

    #[test]
    fn agonist_fit_never_falls() {
        // Slightly falling noise: the free 4PL falls, the agonist fit keeps slope >= 0.
        let x: Vec<f64> = XS.iter().flat_map(|&v| [v, v]).collect();
        let y: Vec<f64> = x.iter().enumerate().map(|(i, _)| 50.0 - i as f64 * 0.5).collect();
        let f = fit_agonist(&x, &y, &FourPlOptions::default());
        assert!(f.params[2] >= 0.0 && f.params.iter().all(|v| v.is_finite()), "{f:?}");
        assert!(f.rss.is_finite());
    }

    #[test]
    fn generic_fit_statistics() {
        let p = [100.0, 0.0, -1.0, -8.5];
        let (x, mut y) = dup(&FourPl, &p, &XS);
        for (i, v) in y.iter_mut().enumerate() {
            *v += [1.5, -2.0, 0.7, -0.4, 2.2][i % 5];
        }
        let start = initial_estimates(&x, &y);
        let inf = f64::INFINITY;
        let m = fit_model(&FourPl, &x, &y, None, start, [false; 4], [-inf; 4], [inf; 4]);
        // The same engine settings and start as fit_model: the comparison is at 1e-8, finer than
        // the precision (~1e-7 SE) to which the optimum is defined in double precision.
        let opts = FourPlOptions { lm: LmConfig::default(), ..FourPlOptions::default() };
        let r = crate::fit::four_pl::fit_four_pl_with(&x, &y, None, &opts, Some(start));
        assert!(m.termination.converged());
        for k in 0..4 {
            assert_relative_eq!(m.params[k], r.params[k], max_relative = 1e-8);
            assert_relative_eq!(m.se[k], r.se[k], max_relative = 1e-6);
        }
        assert_relative_eq!(m.ci95[3].0, r.log_ic50_ci.0, max_relative = 1e-8);
        assert_relative_eq!(m.r_squared, r.r_squared, max_relative = 1e-12);
        let k = 5.0;
        let n = 20.0;
        let want = n * (m.rss / n).ln() + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0);
        assert_relative_eq!(m.aicc, want, max_relative = 1e-12);
        assert_eq!(m.free_params(), 4);
        assert!(aicc(1.0, 5, 4).is_nan());
    }
}
