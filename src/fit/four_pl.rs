//! High-level four-parameter logistic fitting: data-driven starting values, fixed parameters,
//! internal bounds against run-away incomplete curves, and the result with standard errors and
//! the 95% confidence interval of LogIC50.
//!
//! Owns the 4PL recipe only; the model is [`FourPl`], the engine [`lm`], the statistics
//! [`stats`]. Grouping wells into curves and flagging fits belong to the caller.

use argmin::core::Executor;

use crate::fit::lm::{self, LmConfig, LmProblem, LmSolver, Termination};
use crate::fit::model::FourPl;
use crate::fit::stats;
use crate::fit::weights::{self, Weighting};

/// Options of [`fit_four_pl`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FourPlOptions {
    /// Fixed value per parameter `[top, bottom, hill_slope, log_ic50]`; `None` = fitted.
    /// E.g. `[Some(100.0), Some(0.0), None, None]` for % specific binding, or
    /// `[None, None, Some(-1.0), None]` for Prism's "one site -- fit logIC50".
    pub fixed: [Option<f64>; 4],
    /// Settings of the Levenberg-Marquardt iteration; default [`FOUR_PL_LM`].
    pub lm: LmConfig,
    /// Relative weighting from the fitted curve (Prism's 1/Y, 1/Y^2, Poisson), iterated to
    /// convergence by [`crate::fit::weights::fit_reweighted`]; default [`Weighting::None`].
    pub weighting: Weighting,
    /// User box constraints `(low, high)` per parameter, on top of radbind's own (LogIC50
    /// within the tested range +- [`LOG_IC50_MARGIN`], |Hill slope| <= [`MAX_ABS_HILL`]); where
    /// a user range does not overlap radbind's, the user range is used. `None` = no constraint.
    pub bounds: [Option<(f64, f64)>; 4],
}

impl Default for FourPlOptions {
    /// All parameters free, [`FOUR_PL_LM`], no weighting, no user bounds.
    fn default() -> Self {
        Self { fixed: [None; 4], lm: FOUR_PL_LM, weighting: Weighting::None, bounds: [None; 4] }
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
/// With `opts.weighting` other than [`Weighting::None`] the fit is weighted from the fitted
/// curve and iterated to convergence ([`weights::fit_reweighted`]); `rss`, `sy_x`, `r_squared`
/// and the SEs are then the weighted ones.
pub fn fit_four_pl(x: &[f64], y: &[f64], opts: &FourPlOptions) -> FourPlFit {
    if opts.weighting == Weighting::None {
        fit_four_pl_with(x, y, None, opts, None)
    } else {
        weights::fit_reweighted(x, y, opts).fit
    }
}

/// [`fit_four_pl`] with fixed, caller-supplied weights and an optional start (e.g. a previous
/// fit's parameters; `None` = [`refined_estimates`]); `opts.weighting` is ignored.
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
    // (`lm::NormalEq::from_model`); the least-squares problem does not depend on the order.
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
    let unc = stats::asymptotic_of(&prob, &f);
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
    use crate::fit::model::Model;
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

/// Runs the Levenberg-Marquardt [`LmSolver`] through argmin's `Executor` (timer off).
///
/// The Executor adds about 5% over [`lm::run`] on a 20-point curve (BENCHMARKS.md: its own
/// loop, moves of the state and the solver, one allocation per run; [`LmSolver`] keeps out of
/// argmin's per-iteration function counting) and gives bit-identical results; it is used so the
/// fit runs in argmin's framework (termination handling, state, observers). Should argmin fail
/// (it only can on a solver bug), the direct path runs the same iteration instead.
fn solve(prob: LmProblem<'_, FourPl, 4>, start: [f64; 4], cfg: LmConfig) -> lm::LmFit<4> {
    let max_iters = u64::from(cfg.max_iter) + 1;
    let direct = prob;
    Executor::new(prob, LmSolver::new(cfg))
        .configure(|s| s.param(start).max_iters(max_iters))
        .timer(false)
        .run()
        .ok()
        .and_then(|res| res.solver.result())
        .unwrap_or_else(|| lm::run(&direct, start, &cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::model::Model;
    use approx::assert_relative_eq;

    fn curve(p: [f64; 4], xs: &[f64], noise: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for (i, &xi) in xs.iter().enumerate() {
            for r in 0..2 {
                x.push(xi);
                y.push(FourPl.value(xi, &p) + noise[(2 * i + r) % noise.len()]);
            }
        }
        (x, y)
    }

    const XS: [f64; 10] = [-11.0, -10.0, -9.5, -9.0, -8.5, -8.0, -7.5, -7.0, -6.0, -5.0];
    const NOISE: [f64; 7] = [1.3, -2.1, 0.4, 2.9, -0.8, -1.7, 0.6];

    fn assert_finite(f: &FourPlFit) {
        assert!(f.params.iter().all(|v| v.is_finite()), "{f:?}");
        assert!(f.rss.is_finite() && f.r_squared.is_finite(), "{f:?}");
    }

    #[test]
    fn typical_curve_converges_quickly() {
        let (x, y) = curve([100.0, 2.0, -1.1, -8.3], &XS, &NOISE);
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        assert!(f.termination.converged(), "{f:?}");
        assert!(f.iterations <= 30, "{} iterations", f.iterations);
        assert!((f.params[3] + 8.3).abs() < 0.05);
        assert!(f.log_ic50_ci.0 < f.params[3] && f.params[3] < f.log_ic50_ci.1);
        assert_eq!(f.df, 16);
        assert!(f.se.iter().all(|s| s.is_finite() && *s > 0.0));
    }

    #[test]
    fn initial_estimates_are_data_driven() {
        let (x, y) = curve([100.0, 0.0, -1.0, -8.0], &XS, &[0.0]);
        let p = initial_estimates(&x, &y);
        assert!(p[0] > 95.0 && p[1] < 5.0 && p[2] == -1.0 && (p[3] + 8.0).abs() < 0.3, "{p:?}");
        let (x, y) = curve([100.0, 0.0, 1.0, -8.0], &XS, &[0.0]);
        let p = initial_estimates(&x, &y);
        assert!(p[0] > 95.0 && p[1] < 5.0 && p[2] == 1.0 && (p[3] + 8.0).abs() < 0.3, "{p:?}");
    }

    #[test]
    fn refined_estimates_find_slope_and_plateaus() {
        // Noiseless and steep: the coarse start has slope -1 and plateaus from the end levels;
        // the refined one is close (the logits use those plateaus, so not exact).
        let truth = [98.0, 4.0, -1.6, -8.2];
        let (x, y) = curve(truth, &XS, &[0.0]);
        assert_eq!(initial_estimates(&x, &y)[2], -1.0);
        let p = refined_estimates(&x, &y);
        for k in 0..4 {
            assert!((p[k] - truth[k]).abs() < 1e-3 * truth[k].abs().max(1.0), "{p:?}");
        }
        // Rising curves, and data the refinement cannot use, keep a sensible start.
        let (x, y) = curve([100.0, 0.0, 1.2, -8.0], &XS, &NOISE);
        let p = refined_estimates(&x, &y);
        assert!(p[2] > 0.5 && p[2] < 2.0 && (p[3] + 8.0).abs() < 0.2, "{p:?}");
        let x = [-9.0, -8.0, -7.0];
        assert_eq!(refined_estimates(&x, &[50.0; 3]), initial_estimates(&x, &[50.0; 3]));
        let (x, y) = curve([100.0, 0.0, -1.0, -2.0], &XS, &NOISE);
        assert!(refined_estimates(&x, &y).iter().all(|v| v.is_finite()));
    }

    #[test]
    fn four_pl_settings_agree_with_strict_gauss_newton() {
        let (x, y) = curve([101.0, 3.0, -0.9, -7.7], &XS, &NOISE);
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        let gn = FourPlOptions { lm: LmConfig::default(), ..FourPlOptions::default() };
        let g = fit_four_pl_with(&x, &y, None, &gn, Some(initial_estimates(&x, &y)));
        assert_eq!(f.termination, Termination::ConvergedOffset, "{f:?}");
        assert!(f.iterations < g.iterations, "{} vs {}", f.iterations, g.iterations);
        for k in 0..4 {
            assert!((f.params[k] - g.params[k]).abs() <= 1e-6 * g.se[k], "{f:?}\n{g:?}");
            assert_relative_eq!(f.se[k], g.se[k], max_relative = 1e-6);
        }
    }

    #[test]
    fn unsorted_points_fit_like_sorted() {
        let (x, y) = curve([100.0, 2.0, -1.1, -8.3], &XS, &NOISE);
        let w: Vec<f64> = (0..x.len()).map(|i| 1.0 + (i % 3) as f64).collect();
        let order: Vec<usize> = (0..x.len()).rev().collect();
        let xr: Vec<f64> = order.iter().map(|&i| x[i]).collect();
        let yr: Vec<f64> = order.iter().map(|&i| y[i]).collect();
        let wr: Vec<f64> = order.iter().map(|&i| w[i]).collect();
        let opts = FourPlOptions::default();
        let a = fit_four_pl_with(&x, &y, Some(&w), &opts, None);
        let b = fit_four_pl_with(&xr, &yr, Some(&wr), &opts, None);
        // The reversed data are sorted stably: replicates swap places, so the sums may round
        // differently, nothing more.
        for k in 0..4 {
            assert_relative_eq!(a.params[k], b.params[k], max_relative = 1e-9);
        }
        assert_relative_eq!(a.rss, b.rss, max_relative = 1e-12);
    }

    #[test]
    fn zero_dose_points_count_at_top() {
        let mut x = vec![f64::NEG_INFINITY, f64::NEG_INFINITY];
        let mut y = vec![100.5, 99.0];
        let (xc, yc) = curve([100.0, 0.0, -1.0, -8.0], &XS, &NOISE);
        x.extend(xc);
        y.extend(yc);
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        assert!(f.termination.converged(), "{f:?}");
        assert_eq!(f.n, 22);
        assert_finite(&f);
    }

    #[test]
    fn fixed_plateaus() {
        let (x, y) = curve([100.0, 0.0, -1.0, -8.0], &XS, &NOISE);
        let opts =
            FourPlOptions { fixed: [Some(100.0), Some(0.0), None, None], ..Default::default() };
        let f = fit_four_pl(&x, &y, &opts);
        assert!(f.termination.converged());
        assert_eq!(&f.params[..2], &[100.0, 0.0]);
        assert!(f.se[0].is_nan() && f.se[1].is_nan() && f.se[3].is_finite());
        assert_eq!(f.df, 18);
    }

    #[test]
    fn flat_data() {
        let x = [-9.0, -8.0, -7.0, -6.0, -5.0];
        let f = fit_four_pl(&x, &[50.0; 5], &FourPlOptions::default());
        assert_eq!(f.termination, Termination::FlatResponse);
        assert_finite(&f);
        assert_relative_eq!(f.params[0], 50.0);
    }

    #[test]
    fn three_points() {
        let f = fit_four_pl(&[-9.0, -8.0, -7.0], &[100.0, 50.0, 0.0], &FourPlOptions::default());
        assert_eq!(f.termination, Termination::InsufficientData);
        assert_finite(&f);
        // With two parameters fixed, three points are enough.
        let opts =
            FourPlOptions { fixed: [Some(100.0), Some(0.0), None, None], ..Default::default() };
        let f = fit_four_pl(&[-9.0, -8.0, -7.0], &[90.0, 50.0, 10.0], &opts);
        assert!(f.termination.converged(), "{f:?}");
        assert_relative_eq!(f.params[3], -8.0, epsilon = 1e-9);
    }

    #[test]
    fn duplicate_x_only() {
        let f = fit_four_pl(&[-8.0; 6], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &FourPlOptions::default());
        assert_eq!(f.termination, Termination::InsufficientData);
        assert_finite(&f);
        let f = fit_four_pl(&[], &[], &FourPlOptions::default());
        assert_eq!(f.termination, Termination::InsufficientData);
        assert_finite(&f);
        let f = fit_four_pl(
            &[f64::NEG_INFINITY; 5],
            &[1.0, 2.0, 3.0, 4.0, 5.0],
            &FourPlOptions::default(),
        );
        assert_eq!(f.termination, Termination::InsufficientData);
        assert_finite(&f);
    }

    #[test]
    fn incomplete_curve_stays_finite_and_is_detectable() {
        // True IC50 at -2 with data up to -5: only the top of the curve is sampled.
        let (x, y) = curve([100.0, 0.0, -1.0, -2.0], &XS, &NOISE);
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        assert_finite(&f);
        assert!(f.params[3] <= -5.0 + LOG_IC50_MARGIN + 1e-12);
        assert!(
            f.termination == Termination::AtBound || f.params[3] > -5.0 || !(f.se[3] < 0.5),
            "an incomplete curve must be detectable: {f:?}"
        );
    }

    #[test]
    fn two_levels_and_noise_only_stay_finite() {
        let x = [-9.0, -9.0, -5.0, -5.0];
        let f = fit_four_pl(&x, &[100.0, 98.0, 2.0, 1.0], &FourPlOptions::default());
        assert_finite(&f);
        let x = [-9.0, -8.0, -7.0, -6.0, -5.0, -4.0];
        let f = fit_four_pl(&x, &[50.0, 51.0, 49.0, 50.5, 49.5, 50.0], &FourPlOptions::default());
        assert_finite(&f);
        let f = fit_four_pl(&x, &[1e5, 9.9e4, 5e4, 1e3, 20.0, 0.0], &FourPlOptions::default());
        assert_finite(&f);
        assert!(f.termination.converged() || f.termination == Termination::AtBound, "{f:?}");
    }
}
