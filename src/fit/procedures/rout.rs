//! ROUT outlier detection (Motulsky & Brown 2006, *Detecting outliers when fitting data with
//! nonlinear regression -- a new method based on robust nonlinear regression and the false
//! discovery rate*, BMC Bioinformatics 7:123), as in GraphPad Prism.
//!
//! 1. **Robust fit** ([`robust_fit`]): minimise the Lorentzian (Cauchy) merit function
//!    `sum ln(1 + (r_i / RSDR)^2)` by iteratively reweighted least squares on top of the
//!    Levenberg-Marquardt engine: start from the ordinary least-squares fit, then repeatedly
//!    set `w_i = 1 / (1 + (r_i / RSDR)^2)` (the Lorentzian's `psi(r)/r`) with RSDR recomputed
//!    from the current residuals, and refit with those weights, until the parameters change by
//!    less than 1e-9 (relative) or 50 rounds. Recomputing the scale each round makes the fit
//!    gradually more robust, in the spirit of the paper's adaptive method (which instead
//!    modifies the LM step itself).
//! 2. **RSDR** ([`rsdr`]): the 68.27th percentile of `|r_i|` (Hyndman & Fan type 7, as the
//!    authors specify in their 2006 erratum comment) times `N / (N - K)`.
//! 3. **FDR test** ([`fdr_outliers`]): `t_i = |r_i| / RSDR`, two-tailed p-value from Student's t
//!    with `N - K` df; ranking residuals from smallest (`i = 1`) to largest (`i = N`), only the
//!    largest 30% are tested (`i > floor(0.7 N)`), each against `alpha_i = Q (N - (i - 1)) / N`
//!    (Benjamini-Hochberg: the largest residual gets `Q / N`); the first (smallest) tested rank
//!    with `p_i < alpha_i` and every larger residual are outliers (the BH step-up rule).
//!
//! The caller then refits without the outliers by ordinary least squares. At most 30% of the
//! points can be flagged.
//!
//! **Studentised residuals on count data.** ROUT assumes one residual scale for all points;
//! counts do not have one (pipetting error grows with the signal, counting error with its
//! square root), so on raw residuals Q is not a false-discovery rate: the points of the top
//! plateau are called outliers far more often than Q says. With a variance model
//! (`scale`, a [`WeightRule`] such as the plate's model of counts, DOMAIN.md §10) every
//! residual is divided by its model SD at the current fitted curve, `u_i = r_i sqrt(v_i)` with
//! `v_i = 1 / var(y_i)` up to a common factor: the robust fit minimises `sum ln(1 + (u_i /
//! RSDR)^2)` (IRLS weights `v_i / (1 + (u_i / RSDR)^2)`), RSDR and the FDR test use the `u_i`.
//! Without `scale` this is Prism's ROUT unchanged.

use crate::config::WeightingKind;
use crate::fit::engine::Model;
use crate::fit::engine::{self, LmConfig, Termination};
use crate::fit::maths::four_pl::FourPl;
use crate::fit::maths::four_pl::{LOG_IC50_MARGIN, MAX_ABS_HILL, initial_estimates};
use crate::fit::maths::model_fit::finite_range;
use crate::fit::procedures::weights::WeightRule;
use crate::fit::stats;
use crate::normalise::variance::VarianceSource;

/// Prism's default ROUT coefficient Q (maximum false discovery rate), 1%.
pub const DEFAULT_Q: f64 = 0.01;

/// Fraction of the ranked residuals never tested (only the largest 30% can be outliers).
const UNTESTED_FRACTION: f64 = 0.7;

/// Percentile of |residuals| defining RSDR (the fraction of a Gaussian within 1 SD).
const P68: f64 = 0.6827;

/// Robust standard deviation of the residuals:
/// `RSDR = P68(|r|) * N / (N - K)`, P68 the 68.27th percentile of the absolute residuals by
/// Hyndman & Fan's type 7 (linear interpolation at `h = (N - 1) p`; Excel's PERCENTILE), `K`
/// the number of fitted parameters (Motulsky & Brown 2006, "Robust standard deviation of the
/// residuals"). Same units as the residuals. NaN when `N <= K` or a residual is not finite.
pub fn rsdr(residuals: &[f64], k: usize) -> f64 {
    let n = residuals.len();
    if n <= k || n == 0 || residuals.iter().any(|r| !r.is_finite()) {
        return f64::NAN;
    }
    let mut a: Vec<f64> = residuals.iter().map(|r| r.abs()).collect();
    a.sort_by(f64::total_cmp);
    let h = (n - 1) as f64 * P68;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(n - 1);
    let p68 = a[lo] + (h - lo as f64) * (a[hi] - a[lo]);
    p68 * n as f64 / (n - k) as f64
}

/// Indices (into `residuals`, ascending) of the points the ROUT false-discovery-rate rule calls
/// outliers at level `q` (e.g. 0.01), given the robust fit's residuals, its [`rsdr`] and the
/// number of fitted parameters `k` (df = `N - K`). See the module documentation for the rule.
/// Empty when `rsdr` is not positive and finite or `N <= K`.
pub fn fdr_outliers(residuals: &[f64], rsdr: f64, k: usize, q: f64) -> Vec<usize> {
    let n = residuals.len();
    if n <= k {
        return Vec::new();
    }
    fdr_outliers_df(residuals, rsdr, (n - k) as f64, q)
}

/// [`fdr_outliers`] with the scale `scale` known to `df` degrees of freedom (Student's t with
/// `df`; [`fdr_outliers`] is `df = N - K`). Empty when `scale` is not positive and finite or
/// `df` is not positive.
pub fn fdr_outliers_df(residuals: &[f64], scale: f64, df: f64, q: f64) -> Vec<usize> {
    let n = residuals.len();
    let rsdr = scale;
    if n == 0 || !(df > 0.0) || !(rsdr > 0.0) || !rsdr.is_finite() || !(q > 0.0) {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| residuals[a].abs().total_cmp(&residuals[b].abs()));
    let first = (UNTESTED_FRACTION * n as f64).floor() as usize + 1; // 1-based rank
    for i in first..=n {
        let t = residuals[order[i - 1]].abs() / rsdr;
        let p = 2.0 * (1.0 - stats::t_cdf(t, df));
        let alpha = q * (n - (i - 1)) as f64 / n as f64;
        if p < alpha {
            let mut out: Vec<usize> = order[i - 1..].to_vec();
            out.sort_unstable();
            return out;
        }
    }
    Vec::new()
}

/// A robust (Lorentzian) fit.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustFit<const P: usize> {
    /// Parameters minimising the Lorentzian merit function.
    pub params: [f64; P],
    /// `y_i - f(x_i; params)`.
    pub residuals: Vec<f64>,
    /// The residuals studentised by the variance model, `r_i sqrt(v_i)` (the residuals
    /// themselves without one).
    pub studentised: Vec<f64>,
    /// [`rsdr`] of `studentised` with `K` = free parameters.
    pub rsdr: f64,
    /// The variance weights `v_i` at the robust fit (all 1 without a variance model).
    pub variance_weights: Vec<f64>,
    /// Reweighting rounds done.
    pub rounds: u32,
    /// Termination of the last weighted least-squares fit.
    pub termination: Termination,
}

/// Robust fit of `model` minimising `sum ln(1 + (u_i / RSDR)^2)` by IRLS, `u_i` the residuals
/// studentised by `scale` (the residuals themselves without it; see the module documentation),
/// with fixed parameters and box bounds as in [`engine::fit_bounded`]. `y` must be finite.
/// Never panics on data.
#[allow(clippy::too_many_arguments)]
pub fn robust_fit<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    start: [f64; P],
    fixed: [bool; P],
    lower: [f64; P],
    upper: [f64; P],
    scale: Option<&WeightRule<'_>>,
) -> RobustFit<P> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let k = fixed.iter().filter(|f| !**f).count();
    let cfg = LmConfig::default();
    let mut f = engine::fit_bounded(model, x, y, None, start, fixed, lower, upper, &cfg);
    let mut v = vec![1.0; n];
    // Residuals, and studentised residuals with the variance weights `v` at parameters `p`.
    let resid = |p: &[f64; P], v: &mut Vec<f64>| -> (Vec<f64>, Vec<f64>) {
        if let Some(rule) = scale {
            rule.weights(x.iter().map(|&xi| model.value(xi, p)), v);
            if v.len() != n || v.iter().any(|w| !(w.is_finite() && *w > 0.0)) {
                v.clear();
                v.resize(n, 1.0);
            }
        }
        let r: Vec<f64> = x.iter().zip(y).map(|(&xi, &yi)| yi - model.value(xi, p)).collect();
        let u = r.iter().zip(v.iter()).map(|(ri, vi)| ri * vi.sqrt()).collect();
        (r, u)
    };
    let (mut r, mut u) = resid(&f.params, &mut v);
    let mut s = rsdr(&u, k);
    let mut rounds = 0;
    let mut w = vec![1.0; n];
    while rounds < 50 && s > 0.0 && s.is_finite() {
        rounds += 1;
        for ((wi, ui), vi) in w.iter_mut().zip(&u).zip(&v) {
            let t = ui / s;
            *wi = vi / (1.0 + t * t);
        }
        let g = engine::fit_bounded(model, x, y, Some(&w), f.params, fixed, lower, upper, &cfg);
        if !g.params.iter().all(|v| v.is_finite()) {
            break;
        }
        let change = (0..P)
            .map(|j| (g.params[j] - f.params[j]).abs() / (f.params[j].abs() + 1e-9))
            .fold(0.0, f64::max);
        f = g;
        (r, u) = resid(&f.params, &mut v);
        s = rsdr(&u, k);
        if change <= 1e-9 {
            break;
        }
    }
    RobustFit {
        params: f.params,
        residuals: r,
        studentised: u,
        rsdr: s,
        variance_weights: v,
        rounds,
        termination: f.termination,
    }
}

/// Result of [`rout`]: the robust fit and the outliers it implies.
#[derive(Debug, Clone, PartialEq)]
pub struct Rout<const P: usize> {
    /// The robust fit.
    pub robust: RobustFit<P>,
    /// Indices of the outliers, ascending.
    pub outliers: Vec<usize>,
}

/// ROUT for any model: [`robust_fit`] (residuals studentised by `scale` when given), then
/// [`fdr_outliers`] at level `q` with `K` = free parameters.
#[allow(clippy::too_many_arguments)]
pub fn rout<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    start: [f64; P],
    fixed: [bool; P],
    lower: [f64; P],
    upper: [f64; P],
    q: f64,
    scale: Option<&WeightRule<'_>>,
) -> Rout<P> {
    let robust = robust_fit(model, x, y, start, fixed, lower, upper, scale);
    let k = fixed.iter().filter(|f| !**f).count();
    let outliers = fdr_outliers(&robust.studentised, robust.rsdr, k, q);
    Rout { robust, outliers }
}

/// ROUT on a variable-slope 4PL ([`FourPl`], all four parameters free, starting at
/// [`initial_estimates`], LogIC50 within the tested range +- [`LOG_IC50_MARGIN`], |slope| <=
/// [`MAX_ABS_HILL`], as [`crate::fit::maths::four_pl::fit_four_pl`]) at false discovery rate `q`:
/// the robust fit (with its residuals and RSDR, for reports) and the outliers. `None` with
/// fewer than 6 points (`N <= K + 1`) or non-finite / NaN data.
pub fn rout_four_pl(x: &[f64], y: &[f64], q: f64) -> Option<Rout<4>> {
    rout_four_pl_scaled(x, y, q, None, [None; 4])
}

/// [`rout_four_pl`] with residuals studentised by the variance model `scale` (see the module
/// documentation) and the 4PL parameters `fixed` holds a value for fixed at it (the model the
/// curve is fitted with: the user's `fit.fix`, the control-level plateaus of an incomplete
/// curve); `None` and no fixed parameter is [`rout_four_pl`]. `None` also when fewer than two
/// points remain per free parameter beyond one (`N <= K + 1`, K free parameters).
pub fn rout_four_pl_scaled(
    x: &[f64],
    y: &[f64],
    q: f64,
    scale: Option<&WeightRule<'_>>,
    fixed: [Option<f64>; 4],
) -> Option<Rout<4>> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let k = fixed.iter().filter(|f| f.is_none()).count();
    if n <= (k + 1).max(3)
        || y.iter().any(|v| !v.is_finite())
        || x.iter().any(|v| v.is_nan())
        || fixed.iter().flatten().any(|v| !v.is_finite())
    {
        return None;
    }
    let (lo, hi) = finite_range(x);
    let lower = [f64::NEG_INFINITY, f64::NEG_INFINITY, -MAX_ABS_HILL, lo - LOG_IC50_MARGIN];
    let upper = [f64::INFINITY, f64::INFINITY, MAX_ABS_HILL, hi + LOG_IC50_MARGIN];
    let mut start = initial_estimates(x, y);
    start[3] = start[3].clamp(lower[3], upper[3]);
    let mut is_fixed = [false; 4];
    for (j, f) in fixed.iter().enumerate() {
        if let Some(v) = f {
            start[j] = *v;
            is_fixed[j] = true;
        }
    }
    Some(rout(&FourPl, x, y, start, is_fixed, lower, upper, q, scale))
}

/// ROUT outliers of a variable-slope 4PL fit ([`rout_four_pl`]) at false discovery rate `q`
/// (Prism's default [`DEFAULT_Q`] = 0.01). Returns the indices of the outliers, ascending;
/// empty with fewer than 6 points or non-finite data. The caller refits without them.
pub fn rout_outliers(x: &[f64], y: &[f64], q: f64) -> Vec<usize> {
    rout_four_pl(x, y, q).map(|r| r.outliers).unwrap_or_default()
}

/// Largest fraction of a curve's points ROUT may exclude. The FDR rule tests only the largest
/// 30% of residuals, so it can flag up to about 30%; that many "outliers" means the model
/// misses the data (ROUT over-flags on model misfit, see `rout`), not that the data are bad.
/// Above this fraction nothing is excluded and the curve is flagged `rout_skipped`.
pub const MAX_OUTLIER_FRACTION: f64 = 0.2;

/// The reason written for a ROUT outlier, e.g. `ROUT outlier (Q = 1%)`.
#[must_use]
pub fn rout_reason(q: f64) -> String {
    format!("ROUT outlier (Q = {}%)", (q * 100.0 * 1e6).round() / 1e6)
}

/// ROUT outliers of a variable-slope 4PL ([`rout_four_pl`]) with one guard against
/// over-flagging: the scale of the FDR test ([`fdr_outliers`]) is RSDR, but never less
/// than the replicate noise [`replicate_sd`]. A robust fit that threads through one replicate
/// of each pair has an RSDR far below the real scatter, and ROUT would then call ordinary
/// replicate scatter outliers; replicates say how large that scatter is, independent of the
/// model. Without replicates this is Prism's ROUT unchanged. With a variance model (`scale`)
/// residuals and replicate deviations are both studentised by it
/// ([`rout_four_pl_scaled`], [`replicate_sd_weighted`]).
///
/// **A variance model estimated from the plate** (`scale` whose every point's model is
/// [`VarianceSource::Estimated`]) already says how large the studentised residuals are: 1 when
/// the model holds, known to `d0` degrees of freedom, `d0` = an eighth of the fewest replicate
/// deviations `m` behind the points' models: the CV comes from the upper half of them by
/// signal, duplicates give pairs of equal deviations, and the capped estimator and the control
/// means taken as exact cost about half again (on the simulated campaigns of
/// `tests/noise_campaign.rs`, `m / 4` called good points outliers on 2.5% of the curves at 8%
/// pipetting CV, `m / 8` on 1.2%, as Q = 1% should). The test
/// then uses the curve's RSDR moderated by that prior (Smyth 2004, *Linear models and
/// empirical Bayes methods for assessing differential expression in microarray experiments*,
/// Stat Appl Genet Mol Biol 3:3): `s^2 = (d0 + d1 RSDR^2) / (d0 + d1)`, with Student's t on
/// `d0 + d1` degrees of freedom; `d1 = 0.54 (N - K)`, the degrees of freedom RSDR is worth
/// ([`RSDR_EFFICIENCY`]). A curve scattering more than its plates'
/// model (model misfit) still raises its scale through RSDR; a curve's 20 points alone no
/// longer set it, so a 5-10 SD outlier is not hidden behind a noisy scale (the larger of
/// RSDR and the replicate SD of 10 duplicate pairs is often 1.5-2 times the real noise).
///
/// `fixed`: 4PL parameters fixed at a value in the robust fit ([`rout_four_pl_scaled`]).
pub fn rout_guarded(
    x: &[f64],
    y: &[f64],
    q: f64,
    scale: Option<&WeightRule<'_>>,
    fixed: [Option<f64>; 4],
) -> Vec<usize> {
    let Some(r) = rout_four_pl_scaled(x, y, q, scale, fixed) else { return Vec::new() };
    let k = fixed.iter().filter(|f| f.is_none()).count();
    let n = r.robust.studentised.len();
    let d0 = scale.map_or(0.0, model_df);
    let outliers = if d0 > 0.0 && r.robust.rsdr.is_finite() && n > k {
        let d1 = RSDR_EFFICIENCY * (n - k) as f64;
        let s2 = (d0 + d1 * r.robust.rsdr.powi(2)) / (d0 + d1);
        fdr_outliers_df(&r.robust.studentised, s2.sqrt(), d0 + d1, q)
    } else {
        let floor = replicate_sd_weighted(x, y, &r.robust.variance_weights);
        let s = if floor.is_finite() { r.robust.rsdr.max(floor) } else { r.robust.rsdr };
        fdr_outliers(&r.robust.studentised, s, k, q)
    };
    agreeing_replicates_kept(x, &r.robust.residuals, outliers)
}

/// The outliers without those whose replicates agree with them: when every replicate at a
/// concentration (two or more points at one `x`) was called an outlier on the same side of
/// the robust curve, the wells agree with each other and it is the curve that misses them (a
/// robust fit that went past the end of the data, or a flat fit through a real fall at the
/// top concentration), so none of them is excluded. An outlier is one well departing from
/// its replicates. `outliers` are indices into `x` and `residuals`, ascending.
fn agreeing_replicates_kept(x: &[f64], residuals: &[f64], outliers: Vec<usize>) -> Vec<usize> {
    let agree = |i: usize| {
        let same: Vec<usize> = (0..x.len()).filter(|&j| x[j] == x[i]).collect();
        same.len() >= 2
            && same.iter().all(|j| outliers.binary_search(j).is_ok())
            && same.iter().all(|&j| residuals[j].signum() == residuals[i].signum())
    };
    outliers.iter().copied().filter(|&i| !agree(i)).collect()
}

/// Gaussian efficiency of [`rsdr`] against the residual SD: the 68.27th percentile `q` of
/// `|r|` has asymptotic variance `p (1 - p) / (n f(q)^2)` with `p = 0.6827` and `f(q) =
/// 2 phi(1) = 0.4839` the density of `|Z|` at 1, i.e. `var(q) / sigma^2 = 0.925 / n`, against
/// `1 / (2 n)` for the SD: `0.5 / 0.925 = 0.54`.
pub const RSDR_EFFICIENCY: f64 = 0.54;

/// Degrees of freedom of the variance models behind a weight rule's points: an eighth of the
/// fewest replicate deviations of an estimated model (see [`rout_guarded`]); 0 when a point's model
/// is the fallback, or the rule has no variance models (1/Y, 1/Y²) or no points.
#[must_use]
pub fn model_df(rule: &WeightRule<'_>) -> f64 {
    if rule.weighting != WeightingKind::Auto || rule.counts.is_empty() {
        return 0.0;
    }
    rule.counts
        .iter()
        .map(|p| match p.variance.source {
            VarianceSource::Estimated(m) => 0.125 * m as f64,
            VarianceSource::Fallback => 0.0,
        })
        .fold(f64::INFINITY, f64::min)
}

/// Robust estimate of the replicate noise SD: `1.4826 median_i |e_i| sqrt(n_j / (n_j - 1))`
/// with `e_i = y_i - mean_j` the deviation from its concentration's mean over the `n_j >= 2`
/// replicates (`var(e_i) = sigma^2 (n_j - 1) / n_j`, and 1.4826 makes the median absolute value
/// consistent for a Gaussian; Rousseeuw & Croux 1993). The median keeps one outlier from
/// inflating it. NaN without replicates.
#[must_use]
pub fn replicate_sd(x: &[f64], y: &[f64]) -> f64 {
    replicate_sd_weighted(x, y, &vec![1.0; x.len().min(y.len())])
}

/// [`replicate_sd`] of deviations studentised by variance weights: `e_i sqrt(v_i)` (`v_i =
/// 1 / var(y_i)` up to a common factor; all 1 gives [`replicate_sd`]).
#[must_use]
pub fn replicate_sd_weighted(x: &[f64], y: &[f64], v: &[f64]) -> f64 {
    let mut pts: Vec<(f64, f64, f64)> =
        x.iter().zip(y).zip(v).map(|((&xi, &yi), &vi)| (xi, yi, vi.sqrt())).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut dev: Vec<f64> = Vec::new();
    for level in pts.chunk_by(|a, b| a.0 == b.0) {
        let n = level.len();
        if n < 2 {
            continue;
        }
        let mean = level.iter().map(|p| p.1).sum::<f64>() / n as f64;
        let c = (n as f64 / (n as f64 - 1.0)).sqrt();
        dev.extend(level.iter().map(|p| (p.1 - mean).abs() * c * p.2));
    }
    if dev.is_empty() {
        return f64::NAN;
    }
    dev.sort_by(f64::total_cmp);
    let m = dev.len();
    let median = if m % 2 == 1 { dev[m / 2] } else { 0.5 * (dev[m / 2 - 1] + dev[m / 2]) };
    1.4826 * median
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    const XS: [f64; 10] = [-11.0, -10.5, -10.0, -9.5, -9.0, -8.5, -8.0, -7.5, -7.0, -6.5];

    fn curve(rng: &mut ChaCha8Rng, sd: f64) -> (Vec<f64>, Vec<f64>) {
        let noise = Normal::new(0.0, sd).expect("sd > 0");
        let x: Vec<f64> = XS.iter().flat_map(|&v| [v, v]).collect();
        let p = [100.0, 0.0, -1.0, -8.8];
        let y = x.iter().map(|&v| FourPl.value(v, &p) + noise.sample(rng)).collect();
        (x, y)
    }

    #[test]
    fn rsdr_by_hand() {
        // |r| sorted = 1..=10; h = 9 * 0.6827 = 6.1443 -> 7 + 0.1443 = 7.1443; * 10/(10-2).
        let r: Vec<f64> =
            (1..=10).map(|v| if v % 2 == 0 { v as f64 } else { -(v as f64) }).collect();
        assert_abs_diff_eq!(rsdr(&r, 2), 7.1443 * 10.0 / 8.0, epsilon = 1e-12);
        assert!(rsdr(&r[..2], 2).is_nan());
    }

    #[test]
    fn fdr_rule_by_hand() {
        // 20 residuals of size ~1 and one of 10 SD: p ~ 1e-8 < Q/N.
        let mut r: Vec<f64> = (0..20).map(|i| ((i * 37 % 11) as f64 - 5.0) / 5.0).collect();
        r[13] = 10.0;
        assert_eq!(fdr_outliers(&r, 1.0, 4, 0.01), vec![13]);
        // Threshold: with N = 20, K = 4, the largest residual needs p < 0.01/20 = 5e-4,
        // i.e. t > qt(1 - 2.5e-4, 16) ~ 4.3.
        r[13] = 4.0;
        assert!(fdr_outliers(&r, 1.0, 4, 0.01).is_empty());
        r[13] = 5.0;
        assert_eq!(fdr_outliers(&r, 1.0, 4, 0.01), vec![13]);
    }

    #[test]
    fn clean_curves_rarely_flag() {
        let mut rng = ChaCha8Rng::seed_from_u64(2006);
        let mut flagged = 0;
        for _ in 0..100 {
            let (x, y) = curve(&mut rng, 5.0);
            let o = rout_outliers(&x, &y, DEFAULT_Q);
            assert!(o.len() <= 6);
            if !o.is_empty() {
                flagged += 1;
            }
        }
        eprintln!("ROUT Q=1%: {flagged}/100 clean curves had a (false) outlier");
        assert!(flagged <= 5, "{flagged}/100 clean curves had outliers");
    }

    #[test]
    fn gross_outlier_is_found() {
        let mut rng = ChaCha8Rng::seed_from_u64(123);
        let mut found = 0;
        for trial in 0..20 {
            let (x, mut y) = curve(&mut rng, 3.0);
            let i = (trial * 7) % 20;
            y[i] += 60.0;
            let o = rout_outliers(&x, &y, DEFAULT_Q);
            assert!(o.len() <= 6, "{o:?}");
            if o.contains(&i) {
                found += 1;
            }
        }
        eprintln!("ROUT Q=1%: +60 outlier found in {found}/20 curves");
        assert!(found >= 19, "found {found}/20");
    }

    #[test]
    fn degenerate_input() {
        assert!(rout_outliers(&[], &[], 0.01).is_empty());
        assert!(rout_outliers(&[-9.0, -8.0, -7.0], &[1.0, 2.0, 3.0], 0.01).is_empty());
        let x: Vec<f64> = XS.to_vec();
        assert!(rout_outliers(&x, &[50.0; 10], 0.01).is_empty());
    }

    #[test]
    fn replicate_sd_is_robust_to_one_outlier() {
        // Duplicates differing by 2 (deviations +-1, times sqrt(2)), one pair far apart.
        let x = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0];
        let y = [10.0, 12.0, 20.0, 22.0, 30.0, 32.0, 40.0, 42.0, 50.0, 90.0];
        let sd = replicate_sd(&x, &y);
        assert!((sd - 1.4826 * 2f64.sqrt()).abs() < 1e-9, "{sd}");
        assert!(replicate_sd(&[1.0, 2.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn replicates_that_agree_are_not_outliers() {
        let x = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0];
        let r = [0.1, -0.2, 5.0, 4.0, -6.0, 0.3];
        // Both wells at x = 2 above the curve: kept; the lone well at x = 3 stays an outlier.
        assert_eq!(agreeing_replicates_kept(&x, &r, vec![2, 3, 4]), vec![4]);
        // Both at x = 2 flagged but on opposite sides: still outliers.
        let r2 = [0.1, -0.2, 5.0, -4.0, 0.3, 0.2];
        assert_eq!(agreeing_replicates_kept(&x, &r2, vec![2, 3]), vec![2, 3]);
    }

    #[test]
    fn rout_reason_text() {
        assert_eq!(rout_reason(0.01), "ROUT outlier (Q = 1%)");
        assert_eq!(rout_reason(0.005), "ROUT outlier (Q = 0.5%)");
    }
}
