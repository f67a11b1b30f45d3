//! Model choice for data without an effect: a horizontal line against the fitted curve.
//!
//! A compound that does not bind gives a flat curve; a free 4PL threads through its noise and
//! reports a falling (or rising) curve with an IC50 that means nothing. The horizontal line
//! `Y = mean` (one parameter; the weighted mean `sum w y / sum w` with the fit's weights) is
//! nested in the 4PL (Top = Bottom), so the extra-sum-of-squares F test decides
//! (Motulsky & Christopoulos 2004, ch. 22; [`compare_nested`]): when the curve does not fit
//! significantly better (p >= [`INACTIVE_ALPHA`]), the curve is inactive (NCATS class 4), has
//! no IC50 and is drawn as the line ([`horizontal_line`]).

use crate::fit::engine::Model;
use crate::fit::maths::four_pl::{FourPl, FourPlFit};
use crate::fit::procedures::band::FittedCurve;
use crate::fit::procedures::compare::{Comparison, compare_nested};

/// Significance level of the F test: the curve must fit better than the line at this level.
pub const INACTIVE_ALPHA: f64 = 0.05;

/// The horizontal line fitted to `y` with weights `w` (all 1 when `None`): its level, the SE
/// of the level and its weighted residual sum of squares.
#[must_use]
pub fn line_fit(y: &[f64], w: Option<&[f64]>) -> (f64, f64, f64) {
    let wt = |i: usize| w.map_or(1.0, |w| w[i]);
    let sw: f64 = (0..y.len()).map(wt).sum();
    let mean = (0..y.len()).map(|i| wt(i) * y[i]).sum::<f64>() / sw;
    let rss: f64 = (0..y.len()).map(|i| wt(i) * (y[i] - mean).powi(2)).sum();
    let df = y.len().saturating_sub(1).max(1) as f64;
    // Var(mean) = s^2 / sum w with s^2 = wRSS / (n - 1).
    (mean, (rss / df / sw).sqrt(), rss)
}

/// F test of the line against the reported 4PL-form `fit` of the points `(x, y)` with the
/// fit's weights `w` (`None` = unweighted). `None` when it cannot be run (the curve has no
/// more fitted parameters than the line, or no residual degrees of freedom).
#[must_use]
pub fn line_vs_curve(
    x: &[f64],
    y: &[f64],
    w: Option<&[f64]>,
    fit: &FourPlFit,
) -> Option<Comparison> {
    let n = x.len().min(y.len());
    let k_curve = fit.n.saturating_sub(fit.df);
    if n < 3 || k_curve <= 1 || fit.df == 0 || !fit.params.iter().all(|p| p.is_finite()) {
        return None;
    }
    let (_, _, rss0) = line_fit(&y[..n], w);
    let wt = |i: usize| w.map_or(1.0, |w| w[i]);
    let rss1: f64 = (0..n).map(|i| wt(i) * (y[i] - FourPl.value(x[i], &fit.params)).powi(2)).sum();
    Some(compare_nested((rss0, n - 1), (rss1, fit.df), n, 1, k_curve, INACTIVE_ALPHA))
}

/// Whether the data fall through 50 %: the mean response at the lowest concentration is above
/// 50 and the mean at the highest below it (means over the replicates at one `x`). Such a
/// curve has an effect whatever the F test says (one noisy end can make a line fit about as
/// well), and every curve whose points cross 50 % is reported with a number.
#[must_use]
pub fn falls_through_half(x: &[f64], y: &[f64]) -> bool {
    let mean_at = |target: f64| {
        let (s, n) = x
            .iter()
            .zip(y)
            .filter(|(xi, yi)| **xi == target && yi.is_finite())
            .fold((0.0, 0.0), |(s, n), (_, yi)| (s + yi, n + 1.0));
        s / n
    };
    let finite = x.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max);
    lo < hi && mean_at(lo) > 50.0 && mean_at(hi) < 50.0
}

/// The line as a fitted curve for the figures: Top = Bottom = `level`, with the SE of the
/// level on both plateaus (perfectly correlated), so the band is `level +- t SE`. Its LogIC50
/// slot holds 0, a placeholder that does not change the line.
#[must_use]
pub fn horizontal_line(level: f64, se: f64) -> FittedCurve {
    let v = se * se;
    let mut cov = [[0.0; 4]; 4];
    cov[0][0] = v;
    cov[1][1] = v;
    cov[0][1] = v;
    cov[1][0] = v;
    FittedCurve::FourPl { params: [level, level, -1.0, 0.0], cov }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::maths::four_pl::{FourPlOptions, fit_four_pl};
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn data(rng: &mut ChaCha8Rng, span: f64) -> (Vec<f64>, Vec<f64>) {
        let z = Normal::new(0.0, 6.0).expect("sd");
        let p = [100.0, 100.0 - span, -1.0, -7.0];
        let x: Vec<f64> = (0..10).flat_map(|i| [-10.5 + 0.5 * i as f64; 2]).collect();
        let y = x.iter().map(|&v| FourPl.value(v, &p) + z.sample(rng)).collect();
        (x, y)
    }

    #[test]
    fn flat_data_are_inactive_and_curves_are_not() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        let (mut flat, mut active) = (0, 0);
        for _ in 0..100 {
            let (x, y) = data(&mut rng, 0.0);
            let f = fit_four_pl(&x, &y, &FourPlOptions::default());
            let c = line_vs_curve(&x, &y, None, &f).expect("testable");
            flat += usize::from(c.p_value >= INACTIVE_ALPHA);
            let (x, y) = data(&mut rng, 90.0);
            let f = fit_four_pl(&x, &y, &FourPlOptions::default());
            let c = line_vs_curve(&x, &y, None, &f).expect("testable");
            active += usize::from(c.p_value < INACTIVE_ALPHA);
        }
        // About 95% of flat curves pass as inactive; every real curve is active.
        assert!(flat >= 88, "{flat}/100 flat curves inactive");
        assert_eq!(active, 100);
    }

    #[test]
    fn the_line_is_flat_with_a_band() {
        let c = horizontal_line(98.0, 2.0);
        assert!((c.value(-9.0) - 98.0).abs() < 1e-12);
        assert!((c.value(f64::NEG_INFINITY) - 98.0).abs() < 1e-12);
        let (v, se) = c.value_se(-8.0);
        assert!((v - 98.0).abs() < 1e-12 && (se - 2.0).abs() < 1e-9, "{v} {se}");
        let (m, s, rss) = line_fit(&[1.0, 3.0], None);
        assert_eq!((m, rss), (2.0, 2.0));
        assert!((s - 1.0).abs() < 1e-12);
    }

    #[test]
    fn falling_through_half() {
        let x = [-9.0, -9.0, -7.0, -7.0, -5.0, -5.0];
        assert!(falls_through_half(&x, &[70.0, 66.0, 90.0, 95.0, 38.0, 42.0]));
        assert!(!falls_through_half(&x, &[70.0, 66.0, 90.0, 95.0, 58.0, 42.0]));
        assert!(!falls_through_half(&x[..2], &[70.0, 20.0]));
    }
}
