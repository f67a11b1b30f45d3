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
//! k^2 (2 - 2 Phi(k))` = 0.977560, in the upper and in the lower half of the wells by signal:
//! `cv` from the upper half with `a = 0`; then, only when the lower half scatters more than
//! that model allows (its mean capped `z^2` more than 3 standard errors above 0.977560; the
//! standard error `sqrt(1.68156 / m)` with `m` = half the deviations, as duplicates give equal
//! pairs), `a` from the lower half and `cv` from the upper half, alternated until both settle
//! (each solved by bisection; both >= 0). Without that test noise alone would trade part of
//! the proportional term for a background term, which inflates the variance of the low points. Capping `z^2` at `k^2` bounds the pull of a gross outlier well
//! (a few per plate) on the model, at about 90% of the efficiency of the plain variance
//! (a median would lose two thirds). Variance models of counts: Motulsky & Christopoulos 2004,
//! ch. 14; DOMAIN.md §10.
//!
//! With fewer than [`MIN_DEVIATIONS`] deviations (few replicates, or none), the plate falls
//! back to Poisson counting plus the configured CV (`fit.pipetting_cv_pct`), `a = 0`.

/// Fewest replicate deviations (wells in groups of two or more) for an estimate.
pub const MIN_DEVIATIONS: usize = 12;

/// The cap `k` of the squared standardised deviations.
const CAP: f64 = 2.5;

/// `E min(Z^2, k^2)` for a standard normal Z and `k` = [`CAP`]:
/// `2 Phi(k) - 1 - 2 k phi(k) + k^2 (2 - 2 Phi(k))`, with `Phi(2.5) = 0.993790334674`,
/// `phi(2.5) = 0.017528300494`.
const CAPPED_Z2: f64 = 0.977_559_983_452_807;

/// `Var min(Z^2, k^2) = E[Z^4; |Z| < k] + k^4 P(|Z| > k) - CAPPED_Z2^2` with
/// `E[Z^4; |Z| < k] = 3 (2 Phi(k) - 1) - 2 phi(k) (k^3 + 3 k)`, for `k` = [`CAP`].
const CAPPED_Z2_VAR: f64 = 1.681_56;

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
    let (low, high) = dev.split_at(dev.len() / 2);
    let scale = dev.iter().fold(0.0f64, |m, d| m.max(d.0.abs())).max(1.0);
    let mut m = VarianceModel { source: VarianceSource::Estimated(dev.len()), ..fallback };
    m.cv = solve(|cv| capped_z2(high, &VarianceModel { cv, ..m }), 0.0, MAX_CV);
    let se = (CAPPED_Z2_VAR / (0.5 * low.len() as f64).max(1.0)).sqrt();
    if capped_z2(low, &m) <= CAPPED_Z2 + 3.0 * se {
        return m;
    }
    for _ in 0..20 {
        let before = (m.cv, m.background_var);
        m.cv = solve(|cv| capped_z2(high, &VarianceModel { cv, ..m }), 0.0, MAX_CV);
        let top = scale * scale;
        m.background_var =
            solve(|a| capped_z2(low, &VarianceModel { background_var: a, ..m }), 0.0, top);
        if (m.cv - before.0).abs() <= 1e-6 && (m.background_var - before.1).abs() <= 1e-6 * top {
            break;
        }
    }
    m
}

/// Mean of `min(z^2, k^2)` of the deviations under model `m`.
fn capped_z2(dev: &[(f64, f64, f64)], m: &VarianceModel) -> f64 {
    if dev.is_empty() {
        return 0.0;
    }
    let s: f64 = dev.iter().map(|&(mean, d, _)| (d * d / m.var_cpm(mean)).min(CAP * CAP)).sum();
    s / dev.len() as f64
}

/// The value in `[lo, hi]` where the decreasing `f` crosses [`CAPPED_Z2`] (bisection, 60
/// halvings); `lo` when `f(lo)` is already below it, `hi` when `f(hi)` is still above.
fn solve(f: impl Fn(f64) -> f64, lo: f64, hi: f64) -> f64 {
    if f(lo) <= CAPPED_Z2 {
        return lo;
    }
    if f(hi) >= CAPPED_Z2 {
        return hi;
    }
    let (mut a, mut b) = (lo, hi);
    for _ in 0..60 {
        let mid = 0.5 * (a + b);
        if f(mid) > CAPPED_Z2 {
            a = mid;
        } else {
            b = mid;
        }
    }
    0.5 * (a + b)
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
