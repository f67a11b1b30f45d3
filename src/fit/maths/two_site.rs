//! Prism's "Two sites -- Fit logIC50": two slope -1 components with a high-affinity fraction.
//!
//! Owns the mean function [`TwoSite`], its bounds and the multi-start fit [`fit_two_site`];
//! what a two-site fit reports in the pipeline is [`crate::fit::models::two_site`].

use crate::fit::engine::{self, LmConfig, Model};
use crate::fit::maths::four_pl::{FourPl, LOG_IC50_MARGIN, initial_estimates};
use crate::fit::maths::model_fit::{ModelFit, finish, finite_range, fix_plateaus};
#[cfg(doc)]
use crate::fit::{engine::Termination, maths::model_fit::fit_model};

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
    let mut f = engine::fit_bounded(&TwoSite, x, y, weights, start, fixed, lower, upper, &cfg);
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
    let mut best: Option<engine::LmFit<5>> = None;
    for (f0, dh, dl) in [(0.5, -1.0, 1.0), (0.5, -0.5, 0.5), (0.3, -1.5, 0.5), (0.7, -0.5, 1.5)] {
        let start = [base[0], base[1], f0, m + dh, m + dl];
        let f = engine::fit_bounded(&TwoSite, x, y, weights, start, fixed, lower, upper, &cfg);
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
        let f = engine::fit_bounded(&TwoSite, x, y, weights, base, fixed, lower, upper, &cfg);
        return finish(&TwoSite, x, y, weights, fixed, f);
    };
    relabel_sites(&mut f.params);
    finish(&TwoSite, x, y, weights, fixed, f)
}
