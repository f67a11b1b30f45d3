//! The variance model of one plate's counts: how the scatter of a well's CPM grows with its
//! signal, estimated from the plate's own replicate wells.
//!
//! # Model
//!
//! `var(CPM) = a + CPM / t + (cv CPM)^2` (DOMAIN.md §10): a constant background term `a`
//! (CPM²), Poisson counting of `CPM t` counts in `t` minutes (the plate's counting time,
//! `var = CPM / t`), and proportional pipetting/filtration error with coefficient of
//! variation `cv`. The counting term is known from `t`; `a` and `cv` are estimated.
//!
//! # Estimation ([`estimate`])
//!
//! Replicate groups are wells that should read the same: the total wells, the NSB wells, the
//! basal wells and each compound's wells at one concentration. A well of a group of `n >= 2`
//! has the standardised deviation `z_i = (CPM_i - mean_j) sqrt(n / (n - 1)) / sqrt(var(mean_j))`,
//! standard normal when the model is right. `cv` and `a` are M-estimates of scale (Huber 1981,
//! *Robust statistics*, ch. 5): chosen so that the mean of `min(z^2, k^2)` with `k = 2.5`
//! equals its value for a standard normal, `E min(Z^2, k^2) = 2 Phi(k) - 1 - 2 k phi(k) +
//! k^2 (2 - 2 Phi(k))` = 0.977560; then the deviations more than `c = 3` model SDs off are set
//! aside (trimmed: an outlier well and, in a duplicate, its partner, whose deviation equals
//! it) and the scale re-solved from the rest against `E[min(Z^2, k^2) | |Z| < c]` = 0.963287,
//! until the set aside settles. Each scale is solved with Brent's root finder (to 1e-12 of the
//! bracket).
//!
//! 1. The background test: `cv` from the upper half of the deviations by signal (`a = 0`);
//!    a background term is needed only when the lower half scatters more than that model
//!    allows: its mean `min(z^2, 2^2)` more than 3 standard errors above its normal value
//!    0.920537 (standard error `sqrt(1.23237 / m)`, `m` = half the deviations, as duplicates
//!    give equal pairs; the lower cap keeps one or two outlier wells from passing for a
//!    background term, which moves most of the lower half).
//! 2. No background term (the usual case): `cv` from every deviation, `a = 0`.
//! 3. Otherwise `a` from the lower half and `cv` from the upper half, alternated until both
//!    settle, first capped (trimming under a model without background would set aside the
//!    very wells that need it), then trimmed (both >= 0).
//!
//! Without the test, noise alone would trade part of the proportional term for a background
//! term, which inflates the variance of the low points. Capping bounds the pull of a moderate
//! outlier and trimming removes a gross one (one or two per plate inflated the CV by about a
//! tenth with capping alone, and could fake a background term), at about 90% of the
//! efficiency of the plain variance (a median would lose two thirds). Using every deviation
//! for `cv`, rather than the upper half, cuts the plate-to-plate scatter of the estimate by
//! about a quarter (simulated 96-well plates of the noise campaign at 8% CV: SD of
//! `cv / 0.08` 0.16 -> 0.13; with 1-2 outlier wells per plate the median estimate 1.09 ->
//! 1.03 times the truth). Variance models of counts: Motulsky & Christopoulos 2004, ch. 14;
//! DOMAIN.md §10.
//!
//! With fewer than [`MIN_DEVIATIONS`] deviations (few replicates, or none), the plate falls
//! back to Poisson counting plus the configured CV (`fit.pipetting_cv_pct`), `a = 0`.

/// Fewest replicate deviations (wells in groups of two or more) for an estimate.
pub const MIN_DEVIATIONS: usize = 12;

use argmin::core::{CostFunction, Executor, State};
use argmin::solver::brent::BrentRoot;

/// The cap `k` of the squared standardised deviations.
const CAP: f64 = 2.5;

/// `E min(Z^2, k^2)` for a standard normal Z and `k` = [`CAP`]:
/// `2 Phi(k) - 1 - 2 k phi(k) + k^2 (2 - 2 Phi(k))`, with `Phi(2.5) = 0.993790334674`,
/// `phi(2.5) = 0.017528300494`.
const CAPPED_Z2: f64 = 0.977_559_983_452_807;

/// `Var min(Z^2, k^2) = E[Z^4; |Z| < k] + k^4 P(|Z| > k) - CAPPED_Z2^2` with
/// `E[Z^4; |Z| < k] = 3 (2 Phi(k) - 1) - 2 phi(k) (k^3 + 3 k)`, for `k` = [`CAP`].
#[cfg(test)]
const CAPPED_Z2_VAR: f64 = 1.681_56;

/// Deviations more than this many model SDs off are left out of the estimate (trimmed): an
/// outlier well and, in a duplicate, its partner (whose deviation equals it).
const TRIM: f64 = 3.0;

/// Most re-estimates after trimming (each with the wells the previous model rejects).
const TRIM_ROUNDS: usize = 10;

/// `E[min(Z^2, k^2) | |Z| < c]` for a standard normal Z, `k` = [`CAP`], `c` = [`TRIM`]:
/// `(2 Phi(k) - 1 - 2 k phi(k) + 2 k^2 (Phi(c) - Phi(k))) / (2 Phi(c) - 1)`, with
/// `Phi(3) = 0.998650101968`.
const TRIMMED_Z2: f64 = 0.963_286_936_336;

/// The cap `k` of the background test's squared deviations: lower than [`CAP`], so that one
/// or two outlier wells in the lower half do not pass for a background term (a background
/// term moves most of the lower half's deviations, not one or two).
const TEST_CAP: f64 = 2.0;

/// `E min(Z^2, k^2)` for `k` = [`TEST_CAP`] (the formula of [`CAPPED_Z2`]), with
/// `Phi(2) = 0.977249868052`, `phi(2) = 0.053990966513`.
const TEST_Z2: f64 = 0.920_536_925_636;

/// `Var min(Z^2, k^2) = E[Z^4; |Z| < k] + k^4 P(|Z| > k) - E min(Z^2, k^2)^2`, with
/// `E[Z^4; |Z| < k] = 3 (2 Phi(k) - 1) - 2 phi(k) (k^3 + 3 k)`, for `k` = [`TEST_CAP`].
const TEST_Z2_VAR: f64 = 1.232_368;

/// Largest CV the estimate may return (100%): beyond it the plate is not count data.
const MAX_CV: f64 = 1.0;

/// How a plate's variance model was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VarianceSource {
    /// Estimated from this many replicate deviations.
    Estimated(usize),
    /// Too few replicates: Poisson counting plus the configured CV.
    Fallback,
}

/// `var(CPM) = a + CPM / t + (cv CPM)^2` of one plate (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VarianceModel {
    /// Background variance `a`, CPM².
    pub background_var: f64,
    /// Counting time `t`, minutes (the Poisson term is `CPM / t`).
    pub counting_minutes: f64,
    /// Proportional (pipetting) coefficient of variation, a fraction (0.04 = 4%).
    pub cv: f64,
    /// Estimated or the fallback.
    pub source: VarianceSource,
}

impl VarianceModel {
    /// Poisson counting for `t` minutes plus a proportional CV `cv` (no background term).
    #[must_use]
    pub fn poisson_cv(counting_minutes: f64, cv: f64) -> Self {
        Self { background_var: 0.0, counting_minutes, cv, source: VarianceSource::Fallback }
    }

    /// `var(CPM)` at expected signal `cpm` (CPM²); the signal is floored at one count per
    /// counting time, so the variance is always positive.
    #[must_use]
    pub fn var_cpm(&self, cpm: f64) -> f64 {
        let c = cpm.max(1.0 / self.counting_minutes);
        self.background_var + c / self.counting_minutes + (self.cv * c).powi(2)
    }

    /// Pipetting CV, % (for tables).
    #[must_use]
    pub fn cv_pct(&self) -> f64 {
        100.0 * self.cv
    }

    /// Background SD `sqrt(a)`, CPM (for tables).
    #[must_use]
    pub fn background_sd(&self) -> f64 {
        self.background_var.sqrt()
    }
}

/// The variance model of a plate from its replicate groups (CPM of the wells that should read
/// the same; groups of fewer than two are ignored), counted `counting_minutes` per well, with
/// `fallback_cv` when there are too few replicates (see the module documentation).
#[must_use]
pub fn estimate(groups: &[Vec<f64>], counting_minutes: f64, fallback_cv: f64) -> VarianceModel {
    // (group mean, deviation scaled to the single-well SD, group size).
    let mut dev: Vec<(f64, f64, f64)> = Vec::new();
    for g in groups {
        let v: Vec<f64> = g.iter().copied().filter(|c| c.is_finite()).collect();
        let n = v.len();
        if n < 2 {
            continue;
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        let k = (n as f64 / (n as f64 - 1.0)).sqrt();
        dev.extend(v.iter().map(|c| (mean, (c - mean).abs() * k, n as f64)));
    }
    let fallback = VarianceModel::poisson_cv(counting_minutes, fallback_cv);
    if dev.len() < MIN_DEVIATIONS || !(counting_minutes > 0.0) {
        return fallback;
    }
    dev.sort_by(|a, b| a.0.total_cmp(&b.0));
    let half = dev.len() / 2;
    let scale = dev.iter().fold(0.0f64, |m, d| m.max(d.0.abs())).max(1.0);
    let top = scale * scale;
    let mut m = VarianceModel { source: VarianceSource::Estimated(dev.len()), ..fallback };
    // The background test: `cv` from the upper half (a = 0), then the lower half's scatter
    // under that model.
    m.cv = trimmed_cv(&dev[half..], m);
    let low = &dev[..half];
    let se = (TEST_Z2_VAR / (0.5 * low.len() as f64).max(1.0)).sqrt();
    if capped_z2_at(low, &m, TEST_CAP) <= TEST_Z2 + 3.0 * se {
        // No background term: `cv` from every deviation.
        m.cv = trimmed_cv(&dev, m);
        return m;
    }
    // `a` from the lower half and `cv` from the upper half, alternated: capped first (the
    // trimming of a model without background would set aside the very wells that need it),
    // then trimmed under the model found.
    for trim in [false, true] {
        let keep = |d: &[(f64, f64, f64)], m: &VarianceModel| {
            if trim { trimmed(d, m) } else { d.to_vec() }
        };
        let target = if trim { TRIMMED_Z2 } else { CAPPED_Z2 };
        for _ in 0..20 {
            let before = (m.cv, m.background_var);
            let high = keep(&dev[half..], &m);
            m.cv = solve(|cv| capped_z2(&high, &VarianceModel { cv, ..m }), 0.0, MAX_CV, target);
            let low = keep(&dev[..half], &m);
            m.background_var = solve(
                |a| capped_z2(&low, &VarianceModel { background_var: a, ..m }),
                0.0,
                top,
                target,
            );
            if (m.cv - before.0).abs() <= 1e-6 && (m.background_var - before.1).abs() <= 1e-6 * top
            {
                break;
            }
        }
    }
    m
}

/// `cv` of the deviations `dev` with the other terms of `m`: the capped estimate, then
/// re-solved from the deviations it does not trim (against [`TRIMMED_Z2`]) until the trimmed
/// set settles.
fn trimmed_cv(dev: &[(f64, f64, f64)], m: VarianceModel) -> f64 {
    let mut m = m;
    m.cv = solve(|cv| capped_z2(dev, &VarianceModel { cv, ..m }), 0.0, MAX_CV, CAPPED_Z2);
    let mut last: Option<Vec<(f64, f64, f64)>> = None;
    for _ in 0..TRIM_ROUNDS {
        let kept = trimmed(dev, &m);
        if last.as_ref() == Some(&kept) {
            // The same wells as the last round: the same solve, the same `cv`.
            break;
        }
        let before = m.cv;
        m.cv = solve(|cv| capped_z2(&kept, &VarianceModel { cv, ..m }), 0.0, MAX_CV, TRIMMED_Z2);
        last = Some(kept);
        if (m.cv - before).abs() <= 1e-9 {
            break;
        }
    }
    m.cv
}

/// The deviations whose standardised size under `m` is below [`TRIM`] (the others are
/// outlier wells, or their replicates).
fn trimmed(dev: &[(f64, f64, f64)], m: &VarianceModel) -> Vec<(f64, f64, f64)> {
    dev.iter().copied().filter(|&(mean, d, _)| d * d < TRIM * TRIM * m.var_cpm(mean)).collect()
}

/// Mean of `min(z^2, k^2)` of the deviations under model `m`, `k` = [`CAP`].
fn capped_z2(dev: &[(f64, f64, f64)], m: &VarianceModel) -> f64 {
    capped_z2_at(dev, m, CAP)
}

/// Mean of `min(z^2, cap^2)` of the deviations under model `m`.
fn capped_z2_at(dev: &[(f64, f64, f64)], m: &VarianceModel, cap: f64) -> f64 {
    if dev.is_empty() {
        return 0.0;
    }
    let s: f64 = dev.iter().map(|&(mean, d, _)| (d * d / m.var_cpm(mean)).min(cap * cap)).sum();
    s / dev.len() as f64
}

/// Root tolerance of the scale solves, relative to the upper end of the bracket (`cv` in
/// `[0, 1]`: to 1e-12; the estimate's own scatter is some 10% of `cv`).
const SOLVE_TOL: f64 = 1e-12;

/// The value in `[lo, hi]` where the decreasing, continuous `f` crosses `target`; `lo` when
/// `f(lo)` is already at or below it, `hi` when `f(hi)` is still at or above it. argmin's
/// Brent root finder ([`BrentRoot`]: Brent 1973, *Algorithms for minimization without
/// derivatives*, ch. 4) to [`SOLVE_TOL`] `hi`, some ten evaluations of `f` where bisection
/// takes sixty; bisection should it fail.
fn solve(f: impl Fn(f64) -> f64, lo: f64, hi: f64, target: f64) -> f64 {
    if f(lo) <= target {
        return lo;
    }
    if f(hi) >= target {
        return hi;
    }
    let tol = SOLVE_TOL * hi.abs();
    let crossing = Crossing { f: &f, target };
    let run = Executor::new(crossing, BrentRoot::new(lo, hi, tol))
        .configure(|s| s.max_iters(200))
        .timer(false)
        .run();
    if let Ok(res) = run
        && let Some(x) = res.state.get_best_param().copied().filter(|x| (lo..=hi).contains(x))
    {
        return x;
    }
    let (mut a, mut b) = (lo, hi);
    while b - a > tol {
        let mid = 0.5 * (a + b);
        if f(mid) > target {
            a = mid;
        } else {
            b = mid;
        }
    }
    0.5 * (a + b)
}

/// `f(x) - target`, whose root [`solve`] finds.
struct Crossing<'a, F> {
    f: &'a F,
    target: f64,
}

impl<F: Fn(f64) -> f64> CostFunction for Crossing<'_, F> {
    type Param = f64;
    type Output = f64;

    fn cost(&self, x: &f64) -> Result<f64, argmin::core::Error> {
        Ok((self.f)(*x) - self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal, Poisson};

    /// Duplicate groups at signals from 300 to 6000 CPM with pipetting CV `cv`, Poisson counts
    /// over `t` minutes.
    fn plate(rng: &mut ChaCha8Rng, cv: f64, t: f64, n: usize) -> Vec<Vec<f64>> {
        let z = Normal::new(0.0, 1.0).expect("sd");
        (0..n)
            .map(|i| {
                let mu = 300.0 + 5700.0 * (i as f64 / n as f64);
                (0..2)
                    .map(|_| {
                        let m = (mu * (1.0 + cv * z.sample(rng))).max(1.0);
                        Poisson::new(m * t).expect("mean").sample(rng) / t
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn capped_constant_is_the_normal_expectation() {
        // E min(Z^2, k^2) by the trapezoid rule on the standard normal density.
        let (n, lim) = (200_000, 12.0);
        let h = 2.0 * lim / n as f64;
        let e: f64 = (0..=n)
            .map(|i| {
                let z = -lim + h * i as f64;
                let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                w * (z * z).min(CAP * CAP) * (-0.5 * z * z).exp()
            })
            .sum::<f64>()
            * h
            / (2.0 * std::f64::consts::PI).sqrt();
        assert!((e - CAPPED_Z2).abs() < 1e-6, "{e}");
        let e2: f64 = (0..=n)
            .map(|i| {
                let z = -lim + h * i as f64;
                let w = if i == 0 || i == n { 0.5 } else { 1.0 };
                w * (z * z).min(CAP * CAP).powi(2) * (-0.5 * z * z).exp()
            })
            .sum::<f64>()
            * h
            / (2.0 * std::f64::consts::PI).sqrt();
        assert!((e2 - CAPPED_Z2 * CAPPED_Z2 - CAPPED_Z2_VAR).abs() < 1e-4, "{e2}");
        // The same moments given |Z| < TRIM.
        let (mut p, mut m1, mut m2) = (0.0, 0.0, 0.0);
        for i in 0..=n {
            let z = -TRIM + 2.0 * TRIM * i as f64 / n as f64;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 } * (-0.5 * z * z).exp();
            let c = (z * z).min(CAP * CAP);
            (p, m1, m2) = (p + w, m1 + w * c, m2 + w * c * c);
        }
        let (m1, m2) = (m1 / p, m2 / p);
        assert!((m1 - TRIMMED_Z2).abs() < 1e-6, "{m1}");
        // Var[min(Z^2, k^2) | |Z| < c] = 1.61066 (as a check of the integration).
        assert!((m2 - m1 * m1 - 1.610_66).abs() < 1e-4, "{m2}");
        // The background test's cap.
        let (mut t1, mut t2) = (0.0, 0.0);
        for i in 0..=n {
            let z = -lim + h * i as f64;
            let w = if i == 0 || i == n { 0.5 } else { 1.0 } * (-0.5 * z * z).exp();
            let c = (z * z).min(TEST_CAP * TEST_CAP);
            (t1, t2) = (t1 + w * c, t2 + w * c * c);
        }
        let norm = h / (2.0 * std::f64::consts::PI).sqrt();
        let (t1, t2) = (t1 * norm, t2 * norm);
        assert!((t1 - TEST_Z2).abs() < 1e-6, "{t1}");
        assert!((t2 - t1 * t1 - TEST_Z2_VAR).abs() < 1e-4, "{t2}");
    }

    #[test]
    fn recovers_the_pipetting_cv() {
        // 200 plates of 48 duplicate groups at 4% and 8%: the median estimate within 10% of
        // the truth, and most plates within 30%.
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        for cv in [0.04, 0.08] {
            let mut est: Vec<f64> =
                (0..200).map(|_| estimate(&plate(&mut rng, cv, 1.0, 48), 1.0, 0.05).cv).collect();
            est.sort_by(f64::total_cmp);
            let med = est[100];
            assert!((med - cv).abs() < 0.1 * cv, "cv {cv}: median estimate {med}");
            let near = est.iter().filter(|e| (**e - cv).abs() < 0.3 * cv).count();
            assert!(near >= 170, "cv {cv}: {near}/200 within 30%");
        }
    }

    #[test]
    fn an_outlier_well_does_not_inflate_it() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let mut g = plate(&mut rng, 0.04, 1.0, 48);
        let clean = estimate(&g, 1.0, 0.05).cv;
        g[40][0] *= 1.5;
        g[10][1] *= 0.6;
        let dirty = estimate(&g, 1.0, 0.05).cv;
        assert!((dirty - clean).abs() < 0.15 * clean, "{clean} -> {dirty}");
    }

    #[test]
    fn outlier_wells_on_many_plates_do_not_bias_it() {
        // 200 plates at 8% CV, each with two wells read 30-60% off: the median estimate
        // within 5% of the truth (capping alone gave about +10%).
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let cv = 0.08;
        let mut est: Vec<f64> = (0..200)
            .map(|i| {
                let mut g = plate(&mut rng, cv, 1.0, 48);
                for (k, off) in [(7 * i % 48, 1.3 + 0.003 * i as f64), ((5 * i + 11) % 48, 0.5)] {
                    g[k][i % 2] *= off;
                }
                estimate(&g, 1.0, 0.05).cv
            })
            .collect();
        est.sort_by(f64::total_cmp);
        let med = est[100];
        assert!((med / cv - 1.0).abs() < 0.05, "median estimate {med}");
    }

    #[test]
    fn a_background_term_is_found_when_the_low_wells_need_it() {
        // Background SD 80 CPM on top of Poisson and 4%: it dominates the scatter below
        // about 1,500 CPM. (A background much smaller than the counting noise of the lowest
        // wells is not detectable from 48 duplicate pairs, nor does it matter.)
        let mut rng = ChaCha8Rng::seed_from_u64(21);
        let z = Normal::new(0.0, 80.0).expect("sd");
        let mut found = 0;
        for _ in 0..50 {
            let mut g = plate(&mut rng, 0.04, 1.0, 48);
            g.iter_mut().flatten().for_each(|v| *v += z.sample(&mut rng));
            found += usize::from(estimate(&g, 1.0, 0.05).background_sd() > 40.0);
        }
        assert!(found >= 25, "{found}/50");
        let clean: usize = (0..50)
            .map(|_| {
                usize::from(
                    estimate(&plate(&mut rng, 0.04, 1.0, 48), 1.0, 0.05).background_var > 0.0,
                )
            })
            .sum();
        assert!(clean <= 5, "{clean}/50 clean plates got a background term");
    }

    #[test]
    fn poisson_only_data_give_a_small_cv() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let m = estimate(&plate(&mut rng, 0.0, 0.5, 48), 0.5, 0.05);
        assert!(m.cv < 0.015, "{m:?}");
        assert!(matches!(m.source, VarianceSource::Estimated(96)));
    }

    #[test]
    fn too_few_replicates_fall_back() {
        let m = estimate(&[vec![100.0, 110.0], vec![5.0], vec![]], 2.0, 0.05);
        assert_eq!(m, VarianceModel::poisson_cv(2.0, 0.05));
        // var = CPM / t + (cv CPM)^2 = 1000/2 + 50^2.
        assert!((m.var_cpm(1000.0) - 3000.0).abs() < 1e-9);
        // Floored at one count per counting time.
        assert!(m.var_cpm(-5.0) > 0.0);
    }
}
