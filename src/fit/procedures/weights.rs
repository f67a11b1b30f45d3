//! Relative weighting of fits, as GraphPad Prism does it: weights computed from the *fitted*
//! curve (not from the noisy data) and the fit repeated with the new weights until the
//! parameters stop changing.
//!
//! Owns the weight formulas of each [`WeightingKind`] (the config's `fit.weighting`, the one
//! vocabulary of weightings) with their guard against non-positive fitted values, the data
//! they need ([`WeightRule`]: the floor of the fitted values, the counts behind Poisson weights
//! of % specific binding), and the reweighting loop for any model ([`iterate`];
//! [`fit_reweighted`] for the 4PL). The weighted fits themselves are the models' (e.g.
//! [`crate::fit::maths::four_pl::fit_four_pl_with`]).
//!
//! # Formula
//!
//! Weighted least squares minimises `sum w_i (y_i - Yfit_i)^2` with `w_i = 1 / var(y_i)` up to a
//! common factor. Prism's relative weights (Prism curve-fitting guide, "Weighting"; Motulsky &
//! Christopoulos 2004, *Fitting models to biological data*, ch. 14):
//!
//! - `1/Y`: `w = 1 / Yfit` (variance proportional to the mean, e.g. Poisson counts in CPM);
//! - `1/Y^2`: `w = 1 / Yfit^2` (constant coefficient of variation);
//! - Poisson: the variance of a count equals the count, so a rate `CPM` counted for `t`
//!   minutes has `var(CPM) = CPM / t` and `w = t / Yfit`. This is `1/Y` times `t`; the
//!   parameters, SEs and CIs equal those of `1/Y` (a common factor cancels in
//!   `s^2 (J'WJ)^-1`), but the weighted RSS becomes a chi-square (about `df` for Poisson data).
//! - auto: the plate's variance model of counts,
//!   `var(CPM) = a + CPM / t + (cv CPM)^2` ([`crate::normalise::variance`], estimated from the
//!   plate's replicate wells), carried to the response scale like Poisson weights. Poisson is
//!   the same formula with `a = cv = 0`.
//!
//! The SEs and the CI come from the weighted fit, `C = s^2 (J'WJ)^-1`, `s^2 = wRSS / df`.
//!
//! Fitted values at or below zero (a Bottom fitted slightly negative on background-subtracted
//! data) have no meaningful relative weight; they are floored at
//! [`YFIT_FLOOR_FRACTION`]` * max |y_i|` (or the smallest positive normal number if all y are 0)
//! before the weight is computed, so every weight is finite and positive.

use crate::config::WeightingKind;
use crate::fit::engine::Model;
use crate::fit::maths::four_pl::{FourPl, FourPlFit, FourPlOptions, fit_four_pl_with};
use crate::normalise::variance::VarianceModel;

/// How a point's response maps back to counts, for weights from a variance model of counts:
/// `response = 100 (CPM - offset) / window`, and the plate's [`VarianceModel`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PointScale {
    /// Offset of the response scale, CPM (the plate's mean NSB; 0 for responses in CPM).
    pub offset: f64,
    /// Window of the response scale, CPM (total - NSB; 100 for responses in CPM).
    pub window: f64,
    /// The plate's variance model of counts.
    pub variance: VarianceModel,
}

impl PointScale {
    /// Variance of the response at fitted response `y_fit`:
    /// `(100 / W)^2 var(CPM)` at `CPM = offset + W y_fit / 100` (the control means taken as
    /// exact). NaN or infinite when the window is not positive.
    #[must_use]
    pub fn var_response(&self, y_fit: f64) -> f64 {
        let cpm = self.offset + self.window * y_fit / 100.0;
        (100.0 / self.window).powi(2) * self.variance.var_cpm(cpm)
    }
}

/// Fitted values are floored at this fraction of the largest |y| before weighting (guard for
/// `Yfit <= 0`); with it no point gets more than `1/YFIT_FLOOR_FRACTION` (1/Y) or its square
/// (1/Y^2) times the weight of the largest response.
pub const YFIT_FLOOR_FRACTION: f64 = 1e-3;

/// Largest number of refits with updated weights in [`iterate`].
pub const MAX_REWEIGHT_ROUNDS: u32 = 20;

/// The reweighting stops when no parameter changes by more than this times `max(|p_k|, 1)`.
pub const REWEIGHT_RTOL: f64 = 1e-9;

/// Prism's relative weight of a point whose fitted value is `y_fit`, with `y_fit` floored at
/// `floor` (see [`yfit_floor`]): `1 / Yfit` for [`WeightingKind::InverseY`], `1 / Yfit^2` for
/// [`WeightingKind::InverseY2`], 1 otherwise (unweighted; Poisson weights need the counts,
/// [`WeightRule`]).
#[inline]
#[must_use]
pub fn relative_weight(weighting: WeightingKind, y_fit: f64, floor: f64) -> f64 {
    let yf = if y_fit > floor { y_fit } else { floor };
    match weighting {
        WeightingKind::InverseY => 1.0 / yf,
        WeightingKind::InverseY2 => 1.0 / (yf * yf),
        WeightingKind::None | WeightingKind::Poisson | WeightingKind::Auto => 1.0,
    }
}

/// The floor for fitted values: [`YFIT_FLOOR_FRACTION`]` * max |y_i|`, at least
/// `f64::MIN_POSITIVE`.
#[must_use]
pub fn yfit_floor(y: &[f64]) -> f64 {
    let m = y.iter().filter(|v| v.is_finite()).fold(0.0f64, |a, v| a.max(v.abs()));
    (YFIT_FLOOR_FRACTION * m).max(f64::MIN_POSITIVE)
}

/// Point weights from fitted values: a weighting ([`WeightingKind`], never `None`) with the
/// data its formula needs.
///
/// - 1/Y and 1/Y^2: [`relative_weight`] with the fitted values floored at `floor`.
/// - Poisson and auto, per point a [`PointScale`] in `counts`: the plate's mean NSB `N` and
///   window `W = total - NSB` (CPM) and its variance model (Poisson: counting for `t` minutes
///   only). A point's expected count rate is `CPM_i = N + W Yfit_i / 100`;
///   `%SB = 100 (CPM - N) / W` gives `var(%SB_i) = (100 / W)^2 var(CPM_i)` and
///   `w_i = 1 / var(%SB_i)` ([`PointScale::var_response`]). For Poisson,
///   `var(CPM_i) = CPM_i / t`, `CPM_i` floored at one count per counting time. (Responses in
///   CPM themselves are `N = 0, W = 100`: Poisson gives `w_i = t / CPM_i`.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightRule<'a> {
    /// The weighting.
    pub weighting: WeightingKind,
    /// Floor of the fitted values for 1/Y and 1/Y^2 ([`yfit_floor`] of the responses).
    pub floor: f64,
    /// Poisson and auto: the response scale and variance model per point, in the order of the
    /// fitted points.
    pub counts: &'a [PointScale],
}

impl<'a> WeightRule<'a> {
    /// The rule of `weighting` for the responses `y` (`counts` per point for Poisson); `None`
    /// when the fit is unweighted.
    #[must_use]
    pub fn new(weighting: WeightingKind, y: &[f64], counts: &'a [PointScale]) -> Option<Self> {
        match weighting {
            WeightingKind::None => None,
            WeightingKind::Poisson | WeightingKind::Auto => {
                Some(Self { weighting, floor: 0.0, counts })
            }
            WeightingKind::InverseY | WeightingKind::InverseY2 => {
                Some(Self { weighting, floor: yfit_floor(y), counts: &[] })
            }
        }
    }

    /// The weights of points whose fitted values are `yfit`, written into `out` (cleared first).
    pub fn weights(&self, yfit: impl Iterator<Item = f64>, out: &mut Vec<f64>) {
        out.clear();
        match self.weighting {
            WeightingKind::Poisson | WeightingKind::Auto => {
                out.extend(yfit.zip(self.counts).map(|(v, s)| {
                    let var = s.var_response(v);
                    if var.is_finite() && var > 0.0 { 1.0 / var } else { 0.0 }
                }));
            }
            w => out.extend(yfit.map(|v| relative_weight(w, v, self.floor))),
        }
    }
}

/// Prism's iterated weighting for any model: starting from the unweighted fit `first`, weights
/// from the previous fitted curve (`value`, [`WeightRule::weights`]) and a weighted refit
/// (`refit(weights, previous parameters)`), until no parameter changes by more than
/// `REWEIGHT_RTOL * max(|p_k|, 1)` or [`MAX_REWEIGHT_ROUNDS`] refits were made. `params` gives a
/// fit's parameters, `None` when it did not fit (that ends the loop; it is returned as is).
/// Returns the last fit, the weights it used, the number of refits and whether the parameters
/// settled.
pub fn iterate<F, const P: usize>(
    rule: &WeightRule<'_>,
    x: &[f64],
    value: impl Fn(f64, &[f64; P]) -> f64,
    first: F,
    params: impl Fn(&F) -> Option<[f64; P]>,
    mut refit: impl FnMut(&[f64], [f64; P]) -> F,
) -> (F, Vec<f64>, u32, bool) {
    let mut fit = first;
    let mut weights = vec![1.0; x.len()];
    let mut rounds = 0;
    while rounds < MAX_REWEIGHT_ROUNDS {
        let Some(p) = params(&fit) else { break };
        rule.weights(x.iter().map(|xi| value(*xi, &p)), &mut weights);
        let next = refit(&weights, p);
        rounds += 1;
        let settled = params(&next).is_some_and(|q| {
            (0..P).all(|k| (q[k] - p[k]).abs() <= REWEIGHT_RTOL * q[k].abs().max(1.0))
        });
        fit = next;
        if settled {
            return (fit, weights, rounds, true);
        }
    }
    (fit, weights, rounds, false)
}

/// A reweighted fit: the final fit, the weights it used and how the iteration went.
#[derive(Debug, Clone, PartialEq)]
pub struct ReweightedFit {
    /// The last weighted fit (weighted `rss`, `sy_x`, `r_squared`, SEs and CI).
    pub fit: FourPlFit,
    /// The weights of the last fit (from the previous round's curve), one per point.
    pub weights: Vec<f64>,
    /// Number of weighted fits done.
    pub rounds: u32,
    /// True when the parameters changed by less than [`REWEIGHT_RTOL`] in the last
    /// round.
    pub converged: bool,
}

/// Fits the 4PL weighted by `rule` as Prism does ([`iterate`]): an unweighted fit
/// first, then weights from the previous fitted curve and a weighted refit started at the
/// previous parameters, until the parameters settle.
pub fn fit_reweighted(
    x: &[f64],
    y: &[f64],
    opts: &FourPlOptions,
    rule: &WeightRule<'_>,
) -> ReweightedFit {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let fit = fit_four_pl_with(x, y, None, opts, None);
    let (fit, weights, rounds, converged) = iterate(
        rule,
        x,
        |xi, p| FourPl.value(xi, p),
        fit,
        FourPlFit::fitted_params,
        |w, start| fit_four_pl_with(x, y, Some(w), opts, Some(start)),
    );
    ReweightedFit { fit, weights, rounds, converged }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::maths::four_pl::fit_four_pl;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    /// Responses in CPM (N = 0, W = 100) counted `t` minutes, Poisson only.
    fn cpm_scale(t: f64) -> PointScale {
        PointScale { offset: 0.0, window: 100.0, variance: VarianceModel::poisson_cv(t, 0.0) }
    }

    fn sim_cv(p: [f64; 4], cv: f64, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let z = Normal::new(0.0, 1.0).expect("valid sd");
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..12 {
            let xi = -11.0 + 0.5 * i as f64;
            for _ in 0..3 {
                let m = FourPl.value(xi, &p);
                x.push(xi);
                y.push(m * (1.0 + cv * z.sample(rng)));
            }
        }
        (x, y)
    }

    #[test]
    fn equal_weights_equal_unweighted_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let (x, y) = sim_cv([100.0, 5.0, -1.0, -8.0], 0.05, &mut rng);
        let opts = FourPlOptions::default();
        let a = fit_four_pl(&x, &y, &opts);
        let b = fit_four_pl_with(&x, &y, Some(&vec![1.0; x.len()]), &opts, None);
        assert_eq!(a, b);
        assert!(a.termination.converged());
    }

    #[test]
    fn inverse_y2_beats_unweighted_when_sd_is_proportional_to_y() {
        // SD = 10% of Y: 1/Y^2 weighting is the right model; over 40 seeded curves its
        // LogIC50 and Bottom errors are smaller than those of the unweighted fit.
        let truth = [100.0, 2.0, -1.0, -8.0];
        let mut rng = ChaCha8Rng::seed_from_u64(2024);
        let (mut e_w, mut e_u, mut b_w, mut b_u) = (0.0, 0.0, 0.0, 0.0);
        for _ in 0..40 {
            let (x, y) = sim_cv(truth, 0.10, &mut rng);
            let u = fit_four_pl(&x, &y, &FourPlOptions::default());
            let rule = WeightRule::new(WeightingKind::InverseY2, &y, &[]).expect("weighted");
            let w = fit_reweighted(&x, &y, &FourPlOptions::default(), &rule);
            assert!(w.converged && w.rounds >= 1, "{w:?}");
            assert!(w.fit.termination.converged(), "{w:?}");
            e_u += (u.params[3] - truth[3]).powi(2);
            e_w += (w.fit.params[3] - truth[3]).powi(2);
            b_u += (u.params[1] - truth[1]).powi(2);
            b_w += (w.fit.params[1] - truth[1]).powi(2);
        }
        assert!(e_w < e_u, "LogIC50 MSE weighted {e_w} vs unweighted {e_u}");
        assert!(b_w < 0.5 * b_u, "Bottom MSE weighted {b_w} vs unweighted {b_u}");
    }

    #[test]
    fn weights_follow_the_fitted_curve_and_are_guarded() {
        let f = 0.1;
        assert_eq!(relative_weight(WeightingKind::InverseY, 50.0, f), 1.0 / 50.0);
        assert_eq!(relative_weight(WeightingKind::InverseY2, 50.0, f), 1.0 / 2500.0);
        assert_eq!(relative_weight(WeightingKind::InverseY, -3.0, f), 10.0);
        assert_eq!(relative_weight(WeightingKind::None, -3.0, f), 1.0);
        assert_eq!(yfit_floor(&[0.0, -200.0, 50.0]), 0.2);
        assert!(yfit_floor(&[0.0; 3]) > 0.0);
        assert!(WeightRule::new(WeightingKind::None, &[1.0], &[]).is_none());
        // Poisson on responses in CPM (N = 0, W = 100), counted 2 minutes: w = t / CPM, and
        // CPM floored at one count per counting time.
        let counts = [cpm_scale(2.0); 2];
        let rule = WeightRule::new(WeightingKind::Poisson, &[1.0, 1.0], &counts).expect("rule");
        let mut w = Vec::new();
        rule.weights([50.0, -3.0].into_iter(), &mut w);
        assert_eq!(w, [2.0 / 50.0, 4.0]);
    }

    #[test]
    fn poisson_matches_inverse_y_parameters() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let (x, y) = sim_cv([5000.0, 300.0, -1.0, -8.0], 0.03, &mut rng);
        // Poisson weights of responses in CPM counted 1 minute: N = 0, W = 100, t = 1.
        let counts = vec![cpm_scale(1.0); x.len()];
        let opts = FourPlOptions::default();
        let fit = |kind| {
            let rule = WeightRule::new(kind, &y, &counts).expect("weighted");
            fit_reweighted(&x, &y, &opts, &rule).fit
        };
        let (a, b) = (fit(WeightingKind::InverseY), fit(WeightingKind::Poisson));
        assert_eq!(a.params, b.params);
        for k in 0..4 {
            assert!((a.se[k] - b.se[k]).abs() <= 1e-12 * a.se[k]);
        }
    }
}
