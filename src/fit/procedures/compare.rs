//! Comparison of nested least-squares models: the extra-sum-of-squares F test and AICc, as
//! Prism reports them, plus the two comparisons a binding analysis needs
//! ([`one_vs_two_sites`], [`slope_fixed_vs_free`]).
//!
//! Also runs the configured comparisons of a curve (`fit.compare`) and says which model to
//! report ([`choose_model`], [`ComparisonOutcome`]).
//!
//! Owns the F distribution (regularized incomplete beta, [`f_cdf`], [`f_sf`]) used here and by
//! [`crate::fit::procedures::replicates`]. Fitting itself is [`crate::fit::maths`].

use crate::config::{CompareKind, CompareMethod, CompareSettings, ModelKind};
use crate::fit::maths::four_pl::FourPl;
use crate::fit::maths::four_pl::{FourPlFit, FourPlOptions, fit_four_pl, fit_four_pl_with};
use crate::fit::maths::model_fit::{ModelFit, aicc, finite_range, fit_model};
use crate::fit::maths::two_site::fit_two_site;
use crate::fit::procedures::cascade::{Constraint, Fitter, fit_cascade};

pub use crate::fit::stats::{ln_gamma, reg_inc_beta};

/// CDF of the F distribution with `(d1, d2)` degrees of freedom:
/// `P(F <= f) = I_{d1 f / (d1 f + d2)}(d1/2, d2/2)` (Abramowitz & Stegun 26.6.2).
/// 0 for `f <= 0`; NaN for NaN input or non-positive degrees of freedom.
pub fn f_cdf(f: f64, d1: f64, d2: f64) -> f64 {
    if f.is_nan() || !(d1 > 0.0) || !(d2 > 0.0) {
        return f64::NAN;
    }
    if f <= 0.0 {
        return 0.0;
    }
    if f.is_infinite() {
        return 1.0;
    }
    reg_inc_beta(d1 * f / (d1 * f + d2), 0.5 * d1, 0.5 * d2)
}

/// Upper tail `P(F > f) = I_{d2 / (d2 + d1 f)}(d2/2, d1/2)`, computed directly (no `1 - cdf`
/// cancellation for small p-values). 1 for `f <= 0`.
pub fn f_sf(f: f64, d1: f64, d2: f64) -> f64 {
    if f.is_nan() || !(d1 > 0.0) || !(d2 > 0.0) {
        return f64::NAN;
    }
    if f <= 0.0 {
        return 1.0;
    }
    if f.is_infinite() {
        return 0.0;
    }
    reg_inc_beta(d2 / (d2 + d1 * f), 0.5 * d2, 0.5 * d1)
}

/// Outcome of comparing a simpler model with a more complex one that contains it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// `F = ((SS1 - SS2)/(df1 - df2)) / (SS2/df2)` (1 = simpler, 2 = complex); NaN when
    /// `df1 <= df2` or `df2 == 0`; `+inf` when `SS2 = 0 < SS1`.
    pub f: f64,
    /// `P(F(df1 - df2, df2) > f)`; 1 when the complex model fits no better (`F <= 0`).
    pub p_value: f64,
    /// AICc of the simpler model.
    pub aicc_simple: f64,
    /// AICc of the complex model.
    pub aicc_complex: f64,
    /// `AICc(complex) - AICc(simpler)`: negative favours the complex model.
    pub delta_aicc: f64,
    /// Akaike weight of the complex model, `e^{-Δ/2} / (1 + e^{-Δ/2})` with Δ = `delta_aicc`
    /// (Prism's "probability it is correct").
    pub prob_complex: f64,
    /// `p_value < alpha` (and the complex model has the smaller RSS).
    pub prefer_complex_f: bool,
    /// `delta_aicc < 0`.
    pub prefer_complex_aicc: bool,
}

/// Extra-sum-of-squares F test and AICc comparison of two nested least-squares fits
/// (Motulsky & Christopoulos 2004, chs. 21-22; GraphPad Prism "Comparing models").
///
/// `simpler = (rss, df)` and `complex = (rss, df)` with `df = n - fitted parameters`; `n`
/// data points; `k_simple`, `k_complex` the fitted parameter counts (AICc uses K = k + 1);
/// `alpha` the F-test significance level (Prism's default 0.05).
pub fn compare_nested(
    simpler: (f64, usize),
    complex: (f64, usize),
    n: usize,
    k_simple: usize,
    k_complex: usize,
    alpha: f64,
) -> Comparison {
    let (ss1, df1) = simpler;
    let (ss2, df2) = complex;
    let f = if df1 <= df2 || df2 == 0 || !(ss1 >= 0.0) || !(ss2 >= 0.0) {
        f64::NAN
    } else if ss2 == 0.0 {
        if ss1 > 0.0 { f64::INFINITY } else { 0.0 }
    } else {
        ((ss1 - ss2) / (df1 - df2) as f64) / (ss2 / df2 as f64)
    };
    let p_value = if f.is_nan() { f64::NAN } else { f_sf(f, (df1 - df2) as f64, df2 as f64) };
    let aicc_simple = aicc(ss1, n, k_simple);
    let aicc_complex = aicc(ss2, n, k_complex);
    let delta = aicc_complex - aicc_simple;
    // e^{-Δ/2} / (1 + e^{-Δ/2}) = 1 / (1 + e^{Δ/2}), overflow-free for either sign.
    let prob_complex = if delta.is_nan() { f64::NAN } else { 1.0 / (1.0 + (0.5 * delta).exp()) };
    Comparison {
        f,
        p_value,
        aicc_simple,
        aicc_complex,
        delta_aicc: delta,
        prob_complex,
        prefer_complex_f: p_value < alpha && ss2 < ss1,
        prefer_complex_aicc: delta < 0.0,
    }
}

/// Two fits of the same data and their [`Comparison`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NestedFits<S, C> {
    /// The simpler model's fit.
    pub simpler: S,
    /// The complex model's fit.
    pub complex: C,
    /// F test and AICc.
    pub comparison: Comparison,
}

/// One site ("One site -- Fit logIC50": 4PL with slope fixed to -1, `p = [top, bottom, -1,
/// log_ic50]`) versus two sites ([`crate::fit::maths::two_site::TwoSite`], relabelled so
/// LogIC50hi <= LogIC50lo), optionally with the plateaus fixed (`plateaus = [top, bottom]`,
/// e.g. `[Some(100.0), Some(0.0)]` for % specific binding). The two-site model is preferred
/// only when the comparison says so (F test at `alpha`, or AICc).
///
/// The one-site LogIC50 is bounded to the tested range +- 3 log units, like the 4PL.
pub fn one_vs_two_sites(
    x: &[f64],
    y: &[f64],
    plateaus: [Option<f64>; 2],
    weights: Option<&[f64]>,
    alpha: f64,
) -> NestedFits<ModelFit<4>, ModelFit<5>> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut start = crate::fit::maths::four_pl::initial_estimates(x, y);
    start[2] = -1.0;
    let mut fixed = [false, false, true, false];
    for k in 0..2 {
        if let Some(v) = plateaus[k] {
            start[k] = v;
            fixed[k] = true;
        }
    }
    let (lo, hi) = finite_range(x);
    let m = crate::fit::maths::four_pl::LOG_IC50_MARGIN;
    let inf = f64::INFINITY;
    let one = fit_model(
        &FourPl,
        x,
        y,
        weights,
        start,
        fixed,
        [-inf, -inf, -inf, lo - m],
        [inf, inf, inf, hi + m],
    );
    let two = fit_two_site(x, y, plateaus, weights);
    let comparison = compare_nested(
        (one.rss, one.df),
        (two.rss, two.df),
        n,
        one.free_params(),
        two.free_params(),
        alpha,
    );
    NestedFits { simpler: one, complex: two, comparison }
}

/// Hill slope fixed to -1 ("One site -- Fit logIC50") versus free ("variable slope"), both
/// through [`fit_four_pl`] with `opts` (its `fixed[2]` is overridden: -1 for the simpler
/// model, free for the complex one), or, with `weights`, both with those fixed weights
/// ([`fit_four_pl_with`]).
pub fn slope_fixed_vs_free(
    x: &[f64],
    y: &[f64],
    opts: &FourPlOptions,
    weights: Option<&[f64]>,
    alpha: f64,
) -> NestedFits<FourPlFit, FourPlFit> {
    let mut o1 = *opts;
    o1.fixed[FourPl::HILL] = Some(-1.0);
    let mut o2 = *opts;
    o2.fixed[FourPl::HILL] = None;
    let fit = |o: &FourPlOptions| match weights {
        Some(w) => fit_four_pl_with(x, y, Some(w), o, None),
        None => fit_four_pl(x, y, o),
    };
    let one = fit(&o1);
    let two = fit(&o2);
    let k = |f: &FourPlFit| f.n - f.df.min(f.n);
    let comparison =
        compare_nested((one.rss, one.df), (two.rss, two.df), one.n, k(&one), k(&two), alpha);
    NestedFits { simpler: one, complex: two, comparison }
}

/// The comparison reported for a curve.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ComparisonOutcome {
    /// Which comparison (`one_vs_two_sites` or `slope`).
    pub kind: CompareKind,
    /// F (F test) or AICc(complex) - AICc(simpler) (AICc).
    pub statistic: f64,
    /// F test p value, or (AICc) the probability that the complex model is correct.
    pub p: f64,
    /// The preferred model: one site, two sites or the variable slope (four parameters).
    pub preferred: ModelKind,
}

/// The fit a comparison chose to report ([`choose_model`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Chosen {
    /// Two sites: the two-site fit and the fixed weights both models of its comparison were
    /// fitted with.
    TwoSite {
        /// The two-site fit.
        fit: ModelFit<5>,
        /// Its weights (`None` = unweighted).
        weights: Option<Vec<f64>>,
    },
    /// One site or a variable slope, refitted with the incomplete-curve cascade.
    FourPl {
        /// [`ModelKind::OneSite`] or [`ModelKind::FourParameter`].
        model: ModelKind,
        /// The fit.
        fit: FourPlFit,
        /// Constraints the cascade added.
        constraints: Vec<Constraint>,
        /// Free parameters that ended on a bound the user set.
        user_bounds: Vec<&'static str>,
    },
}

/// Runs the configured comparisons (`fit.compare`) and chooses the reported fit, as Prism
/// reports the preferred model. Every comparison tests one site (slope -1) against a more
/// complex model; of the complex models that their comparison prefers, the one with the lowest
/// AICc is reported (two_site and a variable slope are not nested, so AICc decides between
/// them); when none is preferred, one site is reported with the first comparison's numbers.
pub fn choose_model(
    x: &[f64],
    y: &[f64],
    opts: &FourPlOptions,
    plateaus: [Option<f64>; 2],
    c: &CompareSettings,
    w: &Fitter<'_>,
) -> (Chosen, Option<ComparisonOutcome>) {
    let outcome = |kind, cmp: &Comparison, complex| {
        let (statistic, p, prefer) = match c.method {
            CompareMethod::FTest => (cmp.f, cmp.p_value, cmp.prefer_complex_f),
            CompareMethod::Aicc => (cmp.delta_aicc, cmp.prob_complex, cmp.prefer_complex_aicc),
        };
        let preferred = if prefer { complex } else { ModelKind::OneSite };
        (ComparisonOutcome { kind, statistic, p, preferred }, prefer)
    };
    // With a weighting, both models of a comparison are fitted with the same fixed weights,
    // those of the weighted one-site fit, so that their weighted RSS are comparable (nested F
    // test, AICc).
    let cmp_weights = w.rule.as_ref().and_then(|_| {
        let mut one = *opts;
        one.fixed[FourPl::HILL] = Some(-1.0);
        let f = w.fit(x, y, &one, false);
        w.weights_for(x, &f)
    });
    let mut first: Option<ComparisonOutcome> = None;
    // (AICc of the complex model, its outcome, the kind) of each preferred complex model.
    let mut best: Option<(f64, ComparisonOutcome, CompareKind)> = None;
    let mut two_site = None;
    for kind in &c.models {
        let (o, prefer, aicc) = match kind {
            CompareKind::OneVsTwoSites => {
                let nf = one_vs_two_sites(x, y, plateaus, cmp_weights.as_deref(), c.alpha);
                let (o, prefer) = outcome(*kind, &nf.comparison, ModelKind::TwoSite);
                // A two-site fit with F on 0 or 1 is a one-site curve, whatever the test says.
                let prefer = prefer && nf.complex.termination.converged();
                let o = if prefer {
                    o
                } else {
                    ComparisonOutcome { preferred: ModelKind::OneSite, ..o }
                };
                two_site = Some(nf.complex);
                (o, prefer, nf.comparison.aicc_complex)
            }
            CompareKind::Slope => {
                let nf = slope_fixed_vs_free(x, y, opts, cmp_weights.as_deref(), c.alpha);
                let (o, prefer) = outcome(*kind, &nf.comparison, ModelKind::FourParameter);
                (o, prefer, nf.comparison.aicc_complex)
            }
        };
        if prefer && best.as_ref().is_none_or(|b| !(b.0 <= aicc)) {
            best = Some((aicc, o, *kind));
        }
        first.get_or_insert(o);
    }
    match (best, two_site) {
        (Some((_, o, CompareKind::OneVsTwoSites)), Some(fit)) => {
            (Chosen::TwoSite { fit, weights: cmp_weights }, Some(o))
        }
        (Some((_, o, _)), _) => {
            let mut free = *opts;
            free.fixed[FourPl::HILL] = None;
            let (fit, constraints, user_bounds) = fit_cascade(x, y, &free, w, false);
            let model = ModelKind::FourParameter;
            (Chosen::FourPl { model, fit, constraints, user_bounds }, Some(o))
        }
        (None, _) => {
            let mut one = *opts;
            one.fixed[FourPl::HILL] = Some(-1.0);
            let (fit, constraints, user_bounds) = fit_cascade(x, y, &one, w, false);
            let model = ModelKind::OneSite;
            (Chosen::FourPl { model, fit, constraints, user_bounds }, first)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::engine::Model;
    use crate::fit::maths::two_site::TwoSite;
    use approx::assert_abs_diff_eq;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    #[test]
    fn incomplete_beta_known_values() {
        // Closed forms: I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1-x)^b;
        // I_x(1/2, 1/2) = (2/pi) asin(sqrt x).
        for x in [0.01, 0.2, 0.5, 0.77, 0.999] {
            assert_abs_diff_eq!(reg_inc_beta(x, 1.0, 1.0), x, epsilon = 1e-14);
            assert_abs_diff_eq!(reg_inc_beta(x, 3.5, 1.0), x.powf(3.5), epsilon = 1e-13);
            assert_abs_diff_eq!(
                reg_inc_beta(x, 1.0, 4.0),
                1.0 - (1.0 - x).powi(4),
                epsilon = 1e-13
            );
            let want = 2.0 / std::f64::consts::PI * x.sqrt().asin();
            assert_abs_diff_eq!(reg_inc_beta(x, 0.5, 0.5), want, epsilon = 1e-13);
        }
        assert!(reg_inc_beta(0.5, 0.0, 1.0).is_nan() && reg_inc_beta(1.5, 1.0, 1.0).is_nan());
    }

    #[test]
    fn f_distribution_matches_tables() {
        // Critical values from standard F tables (R: qf(p, d1, d2)), so the CDF there is p.
        let cases = [
            (4.964_603, 1.0, 10.0, 0.95),
            (10.044_289, 1.0, 10.0, 0.99),
            (3.325_835, 5.0, 10.0, 0.95),
            (4.102_821, 2.0, 10.0, 0.95),
            (3.885_294, 2.0, 12.0, 0.95),
            (2.710_890, 5.0, 20.0, 0.95),
            (161.447_6, 1.0, 1.0, 0.95),
        ];
        for (f, d1, d2, p) in cases {
            assert_abs_diff_eq!(f_cdf(f, d1, d2), p, epsilon = 1e-6);
            assert_abs_diff_eq!(f_sf(f, d1, d2), 1.0 - p, epsilon = 1e-6);
        }
        // F(2, d2) has the closed form P(F > f) = (1 + 2f/d2)^(-d2/2).
        for (f, d2) in [(0.3f64, 7.0f64), (2.0, 15.0), (9.0, 4.0), (40.0, 30.0)] {
            let want = (1.0 + 2.0 * f / d2).powf(-0.5 * d2);
            assert_abs_diff_eq!(f_sf(f, 2.0, d2), want, epsilon = 1e-13);
        }
        assert_eq!(f_sf(0.0, 1.0, 5.0), 1.0);
        assert_eq!(f_cdf(-1.0, 1.0, 5.0), 0.0);
    }

    #[test]
    fn hand_computed_comparison() {
        // SS1 = 150 on 12 df, SS2 = 100 on 10 df: F = (50/2)/(100/10) = 2.5.
        let c = compare_nested((150.0, 12), (100.0, 10), 15, 3, 5, 0.05);
        assert_abs_diff_eq!(c.f, 2.5, epsilon = 1e-12);
        assert_abs_diff_eq!(c.p_value, (1.0f64 + 0.5).powf(-5.0), epsilon = 1e-12);
        assert!(!c.prefer_complex_f);
        // F(1,10) = 4.96 is p ~ 0.05.
        let c = compare_nested((149.6, 11), (100.0, 10), 15, 4, 5, 0.05);
        assert_abs_diff_eq!(c.f, 4.96, epsilon = 1e-12);
        assert_abs_diff_eq!(c.p_value, 0.05, epsilon = 2e-4);
        // AICc by hand: n = 15, K = 5 and 6.
        let a1 = 15.0 * (149.6f64 / 15.0).ln() + 10.0 + 60.0 / 9.0;
        let a2 = 15.0 * (100.0f64 / 15.0).ln() + 12.0 + 84.0 / 8.0;
        assert_abs_diff_eq!(c.delta_aicc, a2 - a1, epsilon = 1e-12);
        let e = (-(a2 - a1) / 2.0).exp();
        assert_abs_diff_eq!(c.prob_complex, e / (1.0 + e), epsilon = 1e-12);
        assert_eq!(c.prefer_complex_aicc, a2 < a1);
    }

    const XS: [f64; 10] = [-11.0, -10.5, -10.0, -9.5, -9.0, -8.5, -8.0, -7.5, -7.0, -6.5];

    fn noisy(p: &[f64; 5], sd: f64, rng: &mut ChaCha8Rng) -> (Vec<f64>, Vec<f64>) {
        let noise = Normal::new(0.0, sd).expect("sd > 0");
        let x: Vec<f64> = XS.iter().flat_map(|&v| [v, v, v]).collect();
        let y = x.iter().map(|&v| TwoSite.value(v, p) + noise.sample(rng)).collect();
        (x, y)
    }

    #[test]
    fn two_site_data_prefers_two_sites() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let p = [100.0, 0.0, 0.5, -10.0, -8.0];
        let mut wins = 0;
        for _ in 0..20 {
            let (x, y) = noisy(&p, 3.0, &mut rng);
            let r = one_vs_two_sites(&x, &y, [None, None], None, 0.05);
            if r.comparison.prefer_complex_f && r.comparison.prefer_complex_aicc {
                wins += 1;
                assert!((r.complex.params[3] + 10.0).abs() < 0.5, "{:?}", r.complex);
                assert!((r.complex.params[4] + 8.0).abs() < 0.5, "{:?}", r.complex);
            }
        }
        assert!(wins >= 19, "two sites preferred in {wins}/20");
    }

    #[test]
    fn one_site_data_prefers_one_site() {
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let p = [100.0, 0.0, 1.0, -8.8, -7.0];
        let trials = 100;
        let mut one = 0;
        for _ in 0..trials {
            let (x, y) = noisy(&p, 5.0, &mut rng);
            let r = one_vs_two_sites(&x, &y, [None, None], None, 0.05);
            assert!(r.complex.params.iter().all(|v| v.is_finite()));
            if !r.comparison.prefer_complex_f {
                one += 1;
            }
        }
        assert!(one >= 90, "one site preferred in {one}/{trials}");
    }

    #[test]
    fn slope_comparison() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let noise = Normal::new(0.0, 2.0).expect("sd > 0");
        let x: Vec<f64> = XS.iter().flat_map(|&v| [v, v]).collect();
        let steep: Vec<f64> = x
            .iter()
            .map(|&v| FourPl.value(v, &[100.0, 0.0, -2.0, -8.7]) + noise.sample(&mut rng))
            .collect();
        let r = slope_fixed_vs_free(&x, &steep, &FourPlOptions::default(), None, 0.05);
        assert!(r.comparison.prefer_complex_f && r.comparison.p_value < 1e-4, "{r:?}");
        assert_eq!(r.simpler.df, 17);
        assert_eq!(r.complex.df, 16);
    }
}
