//! Statistical properties of the 4PL fit: exact recovery of noiseless curves, and coverage of
//! the asymptotic 95% confidence interval of LogIC50 and of the curve's confidence band (the
//! one figures shade) on simulated noisy curves.

use proptest::prelude::*;
use radbind::fit::engine::Model;
use radbind::fit::maths::four_pl::FourPl;
use radbind::fit::maths::four_pl::{FourPlOptions, fit_four_pl};
use radbind::fit::procedures::band::FittedCurve;
use radbind::fit::stats::t975;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// 10 half-log concentrations, 100 pM to 31.6 µM (log10 molar).
const XS: [f64; 10] = [-10.0, -9.5, -9.0, -8.5, -8.0, -7.5, -7.0, -6.5, -6.0, -5.5];

/// Duplicate x values of [`XS`].
fn design() -> Vec<f64> {
    XS.iter().flat_map(|&v| [v, v]).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    /// Noiseless data are fitted back to 1e-8 (relative, absolute near 0).
    #[test]
    fn noiseless_curves_are_recovered(
        top in 80.0f64..120.0,
        bottom in -10.0f64..10.0,
        hill in -2.0f64..-0.5,
        log_ic50 in -10.0f64..-5.5,
    ) {
        let p = [top, bottom, hill, log_ic50];
        let x = design();
        let y: Vec<f64> = x.iter().map(|&v| FourPl.value(v, &p)).collect();
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        prop_assert!(f.termination.converged(), "{:?} for {:?}", f, p);
        for k in 0..4 {
            let tol = 1e-8 * p[k].abs().max(1.0);
            prop_assert!((f.params[k] - p[k]).abs() <= tol,
                "k={} fitted {} true {} ({:?})", k, f.params[k], p[k], f);
        }
    }
}

/// Coverage of the asymptotic (Wald) 95% CI of LogIC50 over seeded simulations: true curves
/// with random realistic parameters (LogIC50 inside the central part of the range, so the
/// curves are complete), Gaussian noise with SD 5% of the span, 10 concentrations in duplicate
/// (df = 16). The fraction of intervals containing the truth must be within 93-97%.
#[test]
fn log_ic50_ci_coverage() {
    let mut rng = ChaCha8Rng::seed_from_u64(20_240_601);
    let x = design();
    let trials = 10_000;
    let mut covered = 0usize;
    let mut failed = 0usize;
    // Band coverage of the true curve at the true IC50 and at the lowest and highest
    // concentration.
    let mut band_covered = [0usize; 3];
    for _ in 0..trials {
        let top = rng.random_range(80.0..120.0);
        let bottom = rng.random_range(-10.0..10.0);
        let hill = rng.random_range(-2.0..-0.5);
        let log_ic50 = rng.random_range(-9.0..-6.5);
        let p = [top, bottom, hill, log_ic50];
        let noise = Normal::new(0.0, 0.05 * (top - bottom)).expect("sd > 0");
        let y: Vec<f64> = x.iter().map(|&v| FourPl.value(v, &p) + noise.sample(&mut rng)).collect();
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        if !f.termination.converged() {
            failed += 1;
        }
        let (lo, hi) = f.log_ic50_ci;
        if lo <= log_ic50 && log_ic50 <= hi {
            covered += 1;
        }
        let c = FittedCurve::FourPl { params: f.params, cov: f.cov };
        for (k, xv) in [log_ic50, XS[0], XS[9]].into_iter().enumerate() {
            let (y, se) = c.value_se(xv);
            let h = t975(f.df) * se;
            let truth = FourPl.value(xv, &p);
            if y - h <= truth && truth <= y + h {
                band_covered[k] += 1;
            }
        }
    }
    let band: Vec<f64> = band_covered.iter().map(|&c| c as f64 / trials as f64).collect();
    println!(
        "95% confidence band coverage of the true curve: at the IC50 {:.2}%, lowest \
         concentration {:.2}%, highest {:.2}%",
        100.0 * band[0],
        100.0 * band[1],
        100.0 * band[2]
    );
    for b in &band {
        assert!((0.93..=0.97).contains(b), "band coverage {band:?}");
    }
    let coverage = covered as f64 / trials as f64;
    let se = (0.95 * 0.05 / trials as f64).sqrt();
    println!(
        "LogIC50 95% CI coverage: {covered}/{trials} = {:.2}% (binomial SE at 95%: {:.2}%); \
         {failed} fits not converged",
        100.0 * coverage,
        100.0 * se
    );
    assert!((0.93..=0.97).contains(&coverage), "coverage {coverage}");
    assert!(failed * 100 <= trials, "{failed} fits did not converge");
}
