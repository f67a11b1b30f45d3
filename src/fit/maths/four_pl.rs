//! The four-parameter logistic: the mean function [`FourPl`] with its analytic derivatives, and
//! high-level fitting: data-driven starting values, fixed parameters,
//! internal bounds against run-away incomplete curves, and the result with standard errors and
//! the 95% confidence interval of LogIC50.
//!
//! Owns the 4PL mean function [`FourPl`], its starting values and its one-curve fit
//! ([`fit_four_pl`], [`FourPlFit`]); the engine is [`crate::fit::engine`], the statistics
//! [`uncertainty`]. Weighted refits from the fitted curve are
//! [`crate::fit::procedures::weights::fit_reweighted`]; how the pipeline fits a 4PL curve
//! (cascade, comparisons, profile interval) is [`crate::fit::models::four_pl`]. Grouping wells
//! into curves and flagging fits belong to the caller.

use std::f64::consts::LN_10;

use crate::fit::engine::{LmConfig, LmProblem, Model, Termination, solve, uncertainty};
use crate::fit::stats;

/// Prism's "log(inhibitor) vs. response -- variable slope" four-parameter logistic:
///
/// `Y = Bottom + (Top - Bottom) / (1 + 10^((LogIC50 - X) * HillSlope))`
///
/// with `X = log10(molar concentration)` and `p = [top, bottom, hill_slope, log_ic50]`
/// (Motulsky & Christopoulos, *Fitting models to biological data using linear and nonlinear
/// regression*, 2004, ch. 41). A falling competition curve has `hill_slope < 0`.
///
/// In drc's `LL.4` notation (`c + (d - c) / (1 + exp(b (ln x - ln e)))`):
/// `b = -hill_slope`, `c = bottom`, `d = top`, `e = 10^log_ic50`.
///
/// `X = -inf` (zero concentration) is a valid data point: it gives exactly `Top` when
/// `hill_slope < 0` and `Bottom` when `hill_slope > 0`, with a finite gradient (the derivatives
/// with respect to the slope and LogIC50 are their limits, 0). With `hill_slope == 0` the curve is
/// flat at the mid-point `(Top + Bottom) / 2` for every `X`.
///
/// Internally `z = (LogIC50 - X) * HillSlope * ln 10`, `s = 1 / (1 + e^z)` and `1 - s` are
/// evaluated with `e^(-|z|)` only, so nothing overflows, and `Y = Top s + Bottom (1 - s)`
/// (exactly Top at `s = 1`):
/// `dY/dTop = s`, `dY/dBottom = 1 - s`,
/// `dY/dHill = -(Top - Bottom) s (1 - s) (LogIC50 - X) ln 10`,
/// `dY/dLogIC50 = -(Top - Bottom) s (1 - s) HillSlope ln 10`.
///
/// Second derivatives ([`Model::value_grad_hess`]), with `u = s (1 - s)`, `d = LogIC50 - X`,
/// `H = HillSlope` and `k = -(Top - Bottom) u ln 10` (so `dY/dHill = k d`, `dY/dLogIC50 = k H`),
/// using `ds/dz = -u` and `du/dz = u (2s - 1)` for `z = d H ln 10`:
/// `d2Y/dTop2 = d2Y/dBottom2 = d2Y/dTop dBottom = 0`,
/// `d2Y/dTop dHill = -u d ln 10 = -d2Y/dBottom dHill`,
/// `d2Y/dTop dLogIC50 = -u H ln 10 = -d2Y/dBottom dLogIC50`,
/// `d2Y/dHill2 = k (2s - 1) d^2 ln 10`, `d2Y/dLogIC50^2 = k (2s - 1) H^2 ln 10`,
/// `d2Y/dHill dLogIC50 = k (1 + (2s - 1) H d ln 10)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FourPl;

impl FourPl {
    /// Index of Top in the parameter array.
    pub const TOP: usize = 0;
    /// Index of Bottom in the parameter array.
    pub const BOTTOM: usize = 1;
    /// Index of the Hill slope in the parameter array.
    pub const HILL: usize = 2;
    /// Index of LogIC50 (log10 molar, same units as X) in the parameter array.
    pub const LOG_IC50: usize = 3;
    /// The parameter names, in the order of the parameter array.
    pub const NAMES: [&'static str; 4] = ["top", "bottom", "hill_slope", "log_ic50"];

    /// `(s, 1 - s, s (1 - s), LogIC50 - X)` with `s = 1 / (1 + 10^((LogIC50 - X) * HillSlope))`,
    /// each computed without cancellation; the last two are 0 at an infinite `LogIC50 - X`.
    #[inline]
    pub(crate) fn logistic(x: f64, hill: f64, log_ic50: f64) -> (f64, f64, f64, f64) {
        let d = log_ic50 - x;
        if !d.is_finite() {
            // X = -inf (zero dose) or +inf: the plateau the sign of d * hill points to.
            let s = if hill == 0.0 || d.is_nan() {
                0.5
            } else if (d > 0.0) == (hill > 0.0) {
                0.0
            } else {
                1.0
            };
            return (s, 1.0 - s, 0.0, 0.0);
        }
        let z = d * hill * LN_10;
        let e = (-z.abs()).exp();
        let inv = 1.0 / (1.0 + e);
        let (s, c) = if z > 0.0 { (e * inv, inv) } else { (inv, e * inv) };
        (s, c, e * inv * inv, d)
    }
}

impl Model<4> for FourPl {
    #[inline]
    fn value(&self, x: f64, p: &[f64; 4]) -> f64 {
        let (s, c, _, _) = Self::logistic(x, p[2], p[3]);
        p[0] * s + p[1] * c
    }

    #[inline]
    fn value_grad(&self, x: f64, p: &[f64; 4], grad: &mut [f64; 4]) -> f64 {
        let (s, c, s1s, d) = Self::logistic(x, p[2], p[3]);
        let k = -(p[0] - p[1]) * s1s * LN_10;
        grad[0] = s;
        grad[1] = c;
        grad[2] = k * d;
        grad[3] = k * p[2];
        p[0] * s + p[1] * c
    }

    const HAS_HESSIAN: bool = true;

    #[inline]
    fn value_grad_hess(
        &self,
        x: f64,
        p: &[f64; 4],
        grad: &mut [f64; 4],
        hess: &mut [[f64; 4]; 4],
    ) -> f64 {
        let (s, c, u, d) = Self::logistic(x, p[2], p[3]);
        let h = p[2];
        let k = -(p[0] - p[1]) * u * LN_10;
        grad[0] = s;
        grad[1] = c;
        grad[2] = k * d;
        grad[3] = k * h;
        // 2s - 1 = s - c, without cancellation in either tail.
        let sc = s - c;
        let ud = u * d * LN_10;
        let uh = u * h * LN_10;
        hess[0] = [0.0, 0.0, -ud, -uh];
        hess[1][1] = 0.0;
        hess[1][2] = ud;
        hess[1][3] = uh;
        hess[2][2] = k * sc * d * d * LN_10;
        hess[2][3] = k * (1.0 + sc * h * d * LN_10);
        hess[3][3] = k * sc * h * h * LN_10;
        p[0] * s + p[1] * c
    }
}

/// Options of [`fit_four_pl`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FourPlOptions {
    /// Fixed value per parameter `[top, bottom, hill_slope, log_ic50]`; `None` = fitted.
    /// E.g. `[Some(100.0), Some(0.0), None, None]` for % specific binding, or
    /// `[None, None, Some(-1.0), None]` for Prism's "one site -- fit logIC50".
    pub fixed: [Option<f64>; 4],
    /// Settings of the Levenberg-Marquardt iteration; default [`FOUR_PL_LM`].
    pub lm: LmConfig,
    /// User box constraints `(low, high)` per parameter, on top of radbind's own (LogIC50
    /// within the tested range +- [`LOG_IC50_MARGIN`], |Hill slope| <= [`MAX_ABS_HILL`]); where
    /// a user range does not overlap radbind's, the user range is used. `None` = no constraint.
    pub bounds: [Option<(f64, f64)>; 4],
}

impl Default for FourPlOptions {
    /// All parameters free, [`FOUR_PL_LM`], no user bounds.
    fn default() -> Self {
        Self { fixed: [None; 4], lm: FOUR_PL_LM, bounds: [None; 4] }
    }
}

/// Levenberg-Marquardt settings for the 4PL: the engine's MINPACK tests at 1e-15
/// ([`LmConfig::default`]), at most 1000 iterations (a 4PL fit takes about 5), plus
/// - the Newton model from the 4PL's analytic second derivatives
///   ([`LmConfig::second_order`]): on noisy data Gauss-Newton gains about one digit per
///   iteration (the residuals are not small against the curvature), Newton converges
///   quadratically near the optimum;
/// - Bates and Watts' relative offset test at 1e-8 ([`LmConfig::offset_tol`]): the remaining
///   step is below ~2e-8 standard errors in every parameter, the precision at which the sum of
///   squares stops changing in double precision, without the final iterations of the MINPACK
///   tests, which only confirm that nothing changes any more.
///
/// On the benchmark curves (BENCHMARKS.md) this takes 5.0 passes over the data per fit instead
/// of 9.9, and the parameters agree with the strict Gauss-Newton fit to ~1e-7 standard errors
/// (the level at which the optimum is defined in double precision).
pub const FOUR_PL_LM: LmConfig = LmConfig {
    max_iter: 1000,
    ftol: 1e-15,
    xtol: 1e-15,
    gtol: 1e-15,
    initial_damping: 1e-3,
    offset_tol: 1e-8,
    second_order: true,
};

/// Intersects radbind's own box `lower..upper` with the user `bounds` (the user range wins where
/// they do not overlap) and moves the start of each free parameter into the box.
pub fn apply_bounds(
    bounds: &[Option<(f64, f64)>; 4],
    fixed: &[bool; 4],
    start: &mut [f64; 4],
    lower: &mut [f64; 4],
    upper: &mut [f64; 4],
) {
    for k in 0..4 {
        if let Some((bl, bh)) = bounds[k] {
            let (l, u) = (lower[k].max(bl), upper[k].min(bh));
            (lower[k], upper[k]) = if l <= u { (l, u) } else { (bl, bh) };
        }
        if !fixed[k] {
            start[k] = start[k].clamp(lower[k], upper[k]);
        }
    }
}

/// A fitted 4PL curve (Prism convention, see [`FourPl`]). Undefined statistics are NaN:
/// `se`/`dependency` of fixed parameters, all of `se`, `dependency`, `log_ic50_ci` when the
/// Jacobian is rank-deficient or `df == 0`, and `sy_x` when `df == 0`. `params`, `rss` and
/// `r_squared` are always finite for finite input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FourPlFit {
    /// `[top, bottom, hill_slope, log_ic50]`; LogIC50 in the units of x (log10 molar).
    pub params: [f64; 4],
    /// Asymptotic standard errors `sqrt(diag(s^2 (J'J)^-1))`.
    pub se: [f64; 4],
    /// Asymptotic covariance `s^2 (J'WJ)^-1` of `params` (rows and columns of fixed parameters
    /// 0; all NaN when the SEs are undefined).
    pub cov: [[f64; 4]; 4],
    /// 95% asymptotic (Wald) interval `log_ic50 -+ t(0.975, df) se(log_ic50)`.
    pub log_ic50_ci: (f64, f64),
    /// Prism's parameter dependency (0..1; > 0.9999 means the fit is ambiguous).
    pub dependency: [f64; 4],
    /// Residual sum of squares.
    pub rss: f64,
    /// `1 - rss / sum (y - mean y)^2` (1 if both are 0, 0 if only the total is 0).
    pub r_squared: f64,
    /// `sqrt(rss / df)`, Prism's Sy.x.
    pub sy_x: f64,
    /// Number of data points (including zero-dose points at `x = -inf`).
    pub n: usize,
    /// Degrees of freedom, `n -` number of free parameters (0 if negative).
    pub df: usize,
    /// Levenberg-Marquardt iterations.
    pub iterations: u32,
    /// How the fit ended. [`Termination::AtBound`]: LogIC50 hit the tested range +- 3 log units
    /// or |hill_slope| hit 10 (an incomplete curve): values are the constrained best fit and must
    /// be flagged. [`Termination::InsufficientData`] / [`Termination::FlatResponse`]: no fit was
    /// attempted; `params` are the starting estimates.
    pub termination: Termination,
}

impl FourPlFit {
    /// The parameters when the fit converged or stopped on a bound and they are finite (a fit
    /// that may seed a reweighting round, [`crate::fit::procedures::weights::iterate`]).
    #[must_use]
    pub fn fitted_params(&self) -> Option<[f64; 4]> {
        let fitted = self.termination.converged() || self.termination == Termination::AtBound;
        (fitted && self.params.iter().all(|v| v.is_finite())).then_some(self.params)
    }

    /// `10^log_ic50`, in the concentration units of `10^x` (molar for log10 molar x).
    pub fn ic50(&self) -> f64 {
        10f64.powf(self.params[FourPl::LOG_IC50])
    }
}

/// Distance (log10 units) beyond the tested concentration range that LogIC50 may move.
pub const LOG_IC50_MARGIN: f64 = 3.0;
/// Bound on |hill_slope| during the fit.
pub const MAX_ABS_HILL: f64 = 10.0;

/// True when `x` is in ascending [`f64::total_cmp`] order (`-inf` first).
fn is_sorted(x: &[f64]) -> bool {
    x.is_sorted_by(|a, b| a.total_cmp(b).is_le())
}

/// Copies of `x`, `y` (and `weights`, when there is one per point) in ascending order of x
/// (stable); `None` when `x` is sorted already or the weights are too few to reorder.
#[allow(clippy::type_complexity)]
fn sorted_by_x(
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
) -> Option<(Vec<f64>, Vec<f64>, Option<Vec<f64>>)> {
    if is_sorted(x) || weights.is_some_and(|w| w.len() < x.len()) {
        return None;
    }
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
    let gather = |v: &[f64]| order.iter().map(|&i| v[i]).collect::<Vec<f64>>();
    Some((gather(x), gather(y), weights.map(gather)))
}

/// Mean responses per distinct x level, sorted by x (`-inf` first): `(x, mean y, count)`.
/// Writes into `out`.
fn level_means(x: &[f64], y: &[f64], out: &mut Vec<(f64, f64, f64)>) {
    out.clear();
    let n = x.len().min(y.len());
    if is_sorted(&x[..n]) {
        push_levels(&x[..n], &y[..n], out);
    } else {
        let mut pts: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let (xs, ys): (Vec<f64>, Vec<f64>) = pts.into_iter().unzip();
        push_levels(&xs, &ys, out);
    }
}

/// Appends the level means of `x` sorted, `y` to `out`.
fn push_levels(x: &[f64], y: &[f64], out: &mut Vec<(f64, f64, f64)>) {
    let mut i = 0;
    while i < x.len() {
        let mut j = i;
        let mut s = 0.0;
        while j < x.len() && x[j] == x[i] {
            s += y[j];
            j += 1;
        }
        out.push((x[i], s / (j - i) as f64, (j - i) as f64));
        i = j;
    }
}

/// Data-driven starting values `[top, bottom, hill_slope, log_ic50]`.
///
/// The plateaus are the mean responses at the lowest x level (zero dose at `-inf` counts) and at
/// the highest (for non-monotone data whose level means span more than twice that difference:
/// the largest and smallest level means); the slope is -1 when the response falls with x and +1 when it rises; LogIC50 is
/// the linear interpolation in x where the level means cross half-way between the plateaus
/// (Motulsky & Christopoulos 2004, ch. 28 on initial values). Without a crossing it is placed
/// half a log unit beyond the side the curve is heading to. Finite for any finite input with at
/// least one finite x (otherwise LogIC50 is 0).
pub fn initial_estimates(x: &[f64], y: &[f64]) -> [f64; 4] {
    let mut levels = Vec::with_capacity(x.len());
    estimates_from_levels(x, y, &mut levels)
}

/// [`initial_estimates`], leaving the level means in `levels` for the caller.
fn estimates_from_levels(x: &[f64], y: &[f64], levels: &mut Vec<(f64, f64, f64)>) -> [f64; 4] {
    level_means(x, y, levels);
    let levels: &[(f64, f64, f64)] = levels;
    let Some(&(_, y_lo, _)) = levels.first() else {
        return [0.0, 0.0, -1.0, 0.0];
    };
    let y_hi = levels.last().map_or(y_lo, |l| l.1);
    // The levels at finite x (sorted, so the first and last are the range).
    let mut finite = levels.iter().filter(|l| l.0.is_finite());
    let (xmin, xmax) = match (finite.next(), finite.next_back()) {
        (Some(a), Some(b)) => (a.0, b.0),
        (Some(a), None) => (a.0, a.0),
        _ => (0.0, 0.0),
    };
    // Non-monotone (e.g. bell-shaped) data: when the level means span more than twice the
    // difference of the extreme levels, take the plateaus from the largest and smallest level
    // means and the direction from their order instead.
    let (mut imin, mut imax) = (0, 0);
    for (i, l) in levels.iter().enumerate() {
        if l.1 < levels[imin].1 {
            imin = i;
        }
        if l.1 > levels[imax].1 {
            imax = i;
        }
    }
    let (y_lo, y_hi) = if levels[imax].1 - levels[imin].1 > 2.0 * (y_hi - y_lo).abs() {
        if imax < imin {
            (levels[imax].1, levels[imin].1)
        } else {
            (levels[imin].1, levels[imax].1)
        }
    } else {
        (y_lo, y_hi)
    };
    let falling = y_lo >= y_hi;
    let hill = if falling { -1.0 } else { 1.0 };
    // Prism's Top is the X -> -inf plateau when hill < 0, the X -> +inf one when hill > 0.
    let (top, bottom) = if falling { (y_lo, y_hi) } else { (y_hi, y_lo) };
    let half = 0.5 * (y_lo + y_hi);
    let mut log_ic50 = None;
    for w in levels.windows(2) {
        let ((x0, y0, _), (x1, y1, _)) = (w[0], w[1]);
        if (y0 - half) * (y1 - half) <= 0.0 && y0 != y1 {
            log_ic50 =
                Some(if x0.is_finite() { x0 + (half - y0) / (y1 - y0) * (x1 - x0) } else { x1 });
            break;
        }
    }
    let log_ic50 = log_ic50.unwrap_or_else(|| {
        // No crossing: head toward the side whose level means are nearer the end plateau.
        let (sum, count) = levels
            .iter()
            .filter(|l| l.0.is_finite())
            .fold((0.0, 0usize), |(s, c), l| (s + l.1, c + 1));
        let mean = sum / count.max(1) as f64;
        if (mean - half) * (y_lo - half) > 0.0 { xmax + 0.5 } else { xmin - 0.5 }
    });
    let log_ic50 = if log_ic50.is_finite() { log_ic50 } else { 0.5 * (xmin + xmax) };
    [top, bottom, hill, log_ic50]
}

/// Starting values for [`fit_four_pl`]: [`initial_estimates`], refined where the data allow.
///
/// 1. Hill slope and LogIC50 from a weighted least-squares line through the logits of the
///    level means between 10% and 90% of the way from Bottom to Top: the 4PL is
///    `log10((Top - Y) / (Y - Bottom)) = HillSlope (LogIC50 - X)` (the linearisation of
///    Motulsky & Christopoulos 2004, ch. 28 / the Hill plot), with weights
///    `n q^2 (1 - q)^2` for a level of `n` points at fraction `q`, the inverse variance of the
///    logit to first order. Needs two such levels and a slope with the curve's direction,
///    `|slope| <= 10`, and LogIC50 within a log unit of the tested range.
/// 2. Top and Bottom by linear least squares given that slope and LogIC50 (the 4PL is linear
///    in them), when both plateaus are determined (their columns' squared correlation is at
///    most 0.95) and the fitted span has the direction and at most twice the size of the
///    level means'.
///
/// Each refinement falls back to the coarse estimate when its conditions fail. On complete
/// curves the start is then within about one standard error of the fit, where the Newton
/// iteration ([`LmConfig::second_order`]) converges in a few steps.
pub fn refined_estimates(x: &[f64], y: &[f64]) -> [f64; 4] {
    let mut levels = Vec::with_capacity(x.len());
    let coarse = estimates_from_levels(x, y, &mut levels);
    refine(&levels, coarse)
}

/// The refinement of [`refined_estimates`] from the level means `(x, mean, count)`.
fn refine(levels: &[(f64, f64, f64)], coarse: [f64; 4]) -> [f64; 4] {
    let [top, bottom, hill0, _] = coarse;
    let span = top - bottom;
    if !(span != 0.0 && span.is_finite()) {
        return coarse;
    }
    let (mut xmin, mut xmax) = (f64::INFINITY, f64::NEG_INFINITY);
    // Weighted sums of the logit line u = a + b x.
    let (mut sw, mut swx, mut swu, mut swxx, mut swxu, mut used) = (0.0, 0.0, 0.0, 0.0, 0.0, 0);
    for &(x, y, n) in levels {
        if !x.is_finite() {
            continue;
        }
        xmin = xmin.min(x);
        xmax = xmax.max(x);
        let q = (y - bottom) / span;
        if !(q > 0.1 && q < 0.9) {
            continue;
        }
        let u = ((1.0 - q) / q).log10();
        let w = n * (q * (1.0 - q)) * (q * (1.0 - q));
        sw += w;
        swx += w * x;
        swu += w * u;
        swxx += w * x * x;
        swxu += w * x * u;
        used += 1;
    }
    let mut out = coarse;
    let den = sw * swxx - swx * swx;
    if used >= 2 && den > 0.0 {
        let slope = (sw * swxu - swx * swu) / den;
        let icpt = (swu - slope * swx) / sw;
        // u = HillSlope LogIC50 - HillSlope X.
        let hill = -slope;
        let log_ic50 = icpt / hill;
        if hill * hill0 > 0.0
            && hill.abs() <= MAX_ABS_HILL
            && log_ic50 >= xmin - 1.0
            && log_ic50 <= xmax + 1.0
        {
            out[FourPl::HILL] = hill;
            out[FourPl::LOG_IC50] = log_ic50;
        }
    }
    // Top and Bottom given the slope and LogIC50: Y = Top s + Bottom (1 - s).
    let (mut sss, mut ssc, mut scc, mut ssy, mut scy) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for &(x, y, n) in levels {
        let (s, c, _, _) = FourPl::logistic(x, out[FourPl::HILL], out[FourPl::LOG_IC50]);
        sss += n * s * s;
        ssc += n * s * c;
        scc += n * c * c;
        ssy += n * s * y;
        scy += n * c * y;
    }
    let det = sss * scc - ssc * ssc;
    if det > 0.05 * sss * scc {
        let t = (ssy * scc - scy * ssc) / det;
        let b = (scy * sss - ssy * ssc) / det;
        let fitted = t - b;
        if t.is_finite() && b.is_finite() && fitted * span > 0.0 && fitted.abs() <= 2.0 * span.abs()
        {
            out[FourPl::TOP] = t;
            out[FourPl::BOTTOM] = b;
        }
    }
    out
}

/// Fits Prism's "log(inhibitor) vs. response -- variable slope" to `(x, y)`, `x` = log10 molar
/// (`-inf` for zero-dose points, which count as data at the Top plateau), by unweighted least
/// squares, and computes asymptotic SEs, dependencies and the 95% CI of LogIC50.
///
/// Never panics on data and never returns non-finite parameters for finite `y` (NaN/inf `y`
/// are a caller error: filter them). Degenerate data are reported through `termination`:
/// fewer points than free parameters or fewer than 2 distinct x levels (or no finite x) give
/// [`Termination::InsufficientData`]; equal responses give [`Termination::FlatResponse`];
/// in both cases `params` are the starting values ([`refined_estimates`], with the fixed values
/// applied). The fit itself runs [`FOUR_PL_LM`] unless `opts.lm` says otherwise.
/// LogIC50 is bounded to `[min x - 3, max x + 3]` (finite x) and the Hill slope to `[-10, 10]`;
/// a fit stopping there ends with [`Termination::AtBound`].
///
/// Weighted fits (Prism's 1/Y, 1/Y^2, Poisson, iterated from the fitted curve) are
/// [`crate::fit::procedures::weights::fit_reweighted`].
pub fn fit_four_pl(x: &[f64], y: &[f64], opts: &FourPlOptions) -> FourPlFit {
    fit_four_pl_with(x, y, None, opts, None)
}

/// [`fit_four_pl`] with fixed, caller-supplied weights and an optional start (e.g. a previous
/// fit's parameters; `None` = [`refined_estimates`]).
///
/// Minimises `sum w_i (y_i - f(x_i))^2`. `rss` is that weighted sum, `sy_x = sqrt(rss / df)`,
/// the SEs are `sqrt(diag(s^2 (J'WJ)^-1))` with `s^2 = rss / df`, and
/// `r_squared = 1 - rss / sum w_i (y_i - ybar_w)^2` with the weighted mean `ybar_w`
/// (Motulsky & Christopoulos 2004, ch. 14). Weights must be finite and non-negative, one per
/// point (otherwise: [`Termination::InsufficientData`]). With all weights 1 the result is bit
/// for bit that of `weights = None`.
pub fn fit_four_pl_with(
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    opts: &FourPlOptions,
    start: Option<[f64; 4]>,
) -> FourPlFit {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    // Sorted by x, replicates are adjacent and share one model evaluation per pass over the data
    // (`engine::NormalEq::from_model`); the least-squares problem does not depend on the order.
    let sorted = sorted_by_x(x, y, weights);
    let (x, y, weights) = match &sorted {
        Some((sx, sy, sw)) => (&sx[..], &sy[..], sw.as_deref()),
        None => (x, y, weights),
    };
    let mut levels = Vec::with_capacity(n);
    let coarse = estimates_from_levels(x, y, &mut levels);
    let mut start = match start.filter(|s| s.iter().all(|v| v.is_finite())) {
        Some(s) => s,
        None => refine(&levels, coarse),
    };
    let mut fixed = [false; 4];
    for k in 0..4 {
        if let Some(v) = opts.fixed[k] {
            start[k] = v;
            fixed[k] = true;
        }
    }
    let free = fixed.iter().filter(|f| !**f).count();
    let distinct = levels.len();
    let mut xmin = f64::INFINITY;
    let mut xmax = f64::NEG_INFINITY;
    for &(v, _, _) in &levels {
        if v.is_finite() {
            xmin = xmin.min(v);
            xmax = xmax.max(v);
        }
    }
    let bad_weights = weights
        .is_some_and(|w| w.len() < n || w[..n].iter().any(|v| !(v.is_finite() && *v >= 0.0)));
    let weights = weights.map(|w| &w[..n.min(w.len())]);
    let tss = match weights {
        None => {
            let ymean = y.iter().sum::<f64>() / n.max(1) as f64;
            y.iter().map(|v| (v - ymean) * (v - ymean)).sum::<f64>()
        }
        Some(w) => {
            let sw: f64 = w.iter().sum();
            let ymean = y.iter().zip(w).map(|(v, wi)| wi * v).sum::<f64>() / sw;
            let tss: f64 = y.iter().zip(w).map(|(v, wi)| wi * ((v - ymean) * (v - ymean))).sum();
            if tss.is_finite() { tss } else { 0.0 }
        }
    };
    let not_fitted = |termination: Termination| {
        let rss = y.iter().zip(x).enumerate().map(|(i, (yi, xi))| {
            let d = yi - lm_value(*xi, &start);
            let w = weights.and_then(|w| w.get(i)).copied().unwrap_or(1.0);
            w * (d * d)
        });
        let rss = rss.sum::<f64>();
        let rss = if rss.is_finite() { rss } else { tss };
        FourPlFit {
            params: start,
            se: [f64::NAN; 4],
            cov: [[f64::NAN; 4]; 4],
            log_ic50_ci: (f64::NAN, f64::NAN),
            dependency: [f64::NAN; 4],
            rss,
            r_squared: r_squared(rss, tss),
            sy_x: f64::NAN,
            n,
            df: n.saturating_sub(free),
            iterations: 0,
            termination,
        }
    };
    if n < free || distinct < 2 || xmin > xmax || bad_weights {
        return not_fitted(Termination::InsufficientData);
    }
    if tss == 0.0 {
        return not_fitted(Termination::FlatResponse);
    }
    let lo_ic = xmin - LOG_IC50_MARGIN;
    let hi_ic = xmax + LOG_IC50_MARGIN;
    let mut lower = [f64::NEG_INFINITY, f64::NEG_INFINITY, -MAX_ABS_HILL, lo_ic];
    let mut upper = [f64::INFINITY, f64::INFINITY, MAX_ABS_HILL, hi_ic];
    apply_bounds(&opts.bounds, &fixed, &mut start, &mut lower, &mut upper);
    let prob = LmProblem { model: &FourPl, x, y, weights, fixed, lower, upper };
    let f = solve(prob, start, opts.lm);
    let unc = uncertainty::asymptotic_of(&prob, &f);
    let df = n.saturating_sub(free);
    let (se, cov, dependency, ci) = match unc {
        Some(u) => {
            let li = FourPl::LOG_IC50;
            let h = stats::t975(u.df) * u.se[li];
            (u.se, u.cov, u.dependency, (f.params[li] - h, f.params[li] + h))
        }
        None => ([f64::NAN; 4], [[f64::NAN; 4]; 4], [f64::NAN; 4], (f64::NAN, f64::NAN)),
    };
    FourPlFit {
        params: f.params,
        se,
        cov,
        log_ic50_ci: ci,
        dependency,
        rss: f.rss,
        r_squared: r_squared(f.rss, tss),
        sy_x: if df > 0 { (f.rss / df as f64).sqrt() } else { f64::NAN },
        n,
        df,
        iterations: f.iterations,
        termination: f.termination,
    }
}

fn lm_value(x: f64, p: &[f64; 4]) -> f64 {
    FourPl.value(x, p)
}

fn r_squared(rss: f64, tss: f64) -> f64 {
    if tss > 0.0 {
        1.0 - rss / tss
    } else if rss == 0.0 {
        1.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests;
