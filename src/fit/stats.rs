//! Distributions for confidence intervals and tests: `ln Gamma`, the regularized incomplete
//! beta function, the Student-t distribution and its quantile (cached 97.5% quantile
//! [`t975`]).
//!
//! The asymptotic covariance of a fit is [`crate::fit::engine::uncertainty`].

use std::sync::OnceLock;

/// `ln Gamma(x)` for `x > 0`: Lanczos approximation (g = 7, 9 coefficients), relative error
/// below 1e-14 (Press et al., *Numerical Recipes* 3rd ed. 2007, §6.1), with the reflection
/// formula below 0.5.
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let t = x + G + 0.5;
    let mut a = C[0];
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + a.ln()
}

/// Continued fraction for the incomplete beta function, evaluated by the modified Lentz method
/// (Numerical Recipes 3rd ed., §6.4 `betacf`, and §5.2 for Lentz's algorithm). Converges
/// quickly for `x < (a + 1) / (a + b + 2)`.
fn beta_cf(x: f64, a: f64, b: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let clamp = |v: f64| if v.abs() < TINY { TINY } else { v };
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 / clamp(1.0 - qab * x / qap);
    let mut h = d;
    for m in 1..=10_000 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 / clamp(1.0 + aa * d);
        c = clamp(1.0 + aa / c);
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Regularized incomplete beta `I_x(a, b) = B(x; a, b) / B(a, b)` for `a, b > 0`,
/// `0 <= x <= 1`:
/// `I_x(a, b) = x^a (1-x)^b / (a B(a, b)) * betacf(x, a, b)`, using the symmetry
/// `I_x(a, b) = 1 - I_{1-x}(b, a)` for `x > (a + 1)/(a + b + 2)`
/// (Numerical Recipes 3rd ed., §6.4, eq. 6.4.5-6.4.6). NaN for invalid arguments.
pub fn reg_inc_beta(x: f64, a: f64, b: f64) -> f64 {
    if x.is_nan() || !(a > 0.0) || !(b > 0.0) || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 0.0 || x == 1.0 {
        return x;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (-x).ln_1p();
    if x < (a + 1.0) / (a + b + 2.0) {
        ln_front.exp() * beta_cf(x, a, b) / a
    } else {
        1.0 - ln_front.exp() * beta_cf(1.0 - x, b, a) / b
    }
}

/// Student-t cumulative distribution function with `df` degrees of freedom:
/// `F(t) = 1 - I_{df/(df+t^2)}(df/2, 1/2) / 2` for `t >= 0` (Abramowitz & Stegun 26.7.1).
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    let tail = 0.5 * reg_inc_beta(df / (df + t * t), 0.5 * df, 0.5);
    if t >= 0.0 { 1.0 - tail } else { tail }
}

/// Student-t density.
fn t_pdf(t: f64, df: f64) -> f64 {
    let ln_c =
        ln_gamma(0.5 * (df + 1.0)) - ln_gamma(0.5 * df) - 0.5 * (df * std::f64::consts::PI).ln();
    (ln_c - 0.5 * (df + 1.0) * (1.0 + t * t / df).ln()).exp()
}

/// Standard normal quantile, Acklam's rational approximation (relative error < 1.2e-9),
/// used as the Newton start for [`t_quantile`].
fn normal_quantile(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let pl = 0.02425;
    if p < pl {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - pl {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -normal_quantile(1.0 - p)
    }
}

/// Student-t inverse CDF: the `t` with `P(T <= t) = p` for `df` degrees of freedom
/// (e.g. `t_quantile(0.975, 10.0) = 2.228139`). Closed forms for `df = 1, 2`; otherwise
/// safeguarded Newton iteration on [`t_cdf`] from the normal quantile, to ~1e-12 relative.
/// NaN for `p` outside `(0, 1)` or `df <= 0`; `+-inf` at `p = 1` / `p = 0`.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    if p == 0.5 {
        return 0.0;
    }
    if p < 0.5 {
        return -t_quantile(1.0 - p, df);
    }
    if df == 1.0 {
        return (std::f64::consts::PI * (p - 0.5)).tan();
    }
    if df == 2.0 {
        let a = 4.0 * p * (1.0 - p);
        return (2.0 * p - 1.0) * (2.0 / a).sqrt();
    }
    // Bracket [lo, hi] with cdf(lo) < p <= cdf(hi), Newton steps kept inside it.
    let mut lo = 0.0;
    let mut hi = normal_quantile(p).max(1e-3);
    while t_cdf(hi, df) < p {
        lo = hi;
        hi *= 2.0;
        if !hi.is_finite() {
            return f64::INFINITY;
        }
    }
    let mut t = 0.5 * (lo + hi);
    for _ in 0..200 {
        let f = t_cdf(t, df) - p;
        if f < 0.0 {
            lo = t;
        } else {
            hi = t;
        }
        let mut next = t - f / t_pdf(t, df);
        if !(next > lo && next < hi) {
            next = 0.5 * (lo + hi);
        }
        if (next - t).abs() <= 1e-13 * t.abs() {
            return next;
        }
        t = next;
    }
    t
}

/// Two-sided 97.5% quantile `t_quantile(0.975, df)`, cached for `df <= 512` (the CI of every
/// curve needs it; the general inversion costs microseconds).
pub fn t975(df: usize) -> f64 {
    static TABLE: OnceLock<Vec<f64>> = OnceLock::new();
    let table = TABLE.get_or_init(|| (0..=512).map(|d| t_quantile(0.975, d as f64)).collect());
    match table.get(df) {
        Some(v) => *v,
        None => t_quantile(0.975, df as f64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

    #[test]
    fn t_quantiles_match_tables() {
        // Values from standard t tables (R: qt(p, df)), rounded to 6 decimals.
        let cases = [
            (0.975, 1.0, 12.706_205),
            (0.975, 2.0, 4.302_653),
            (0.975, 10.0, 2.228_139),
            (0.975, 30.0, 2.042_272),
            (0.975, 1000.0, 1.962_339),
            (0.95, 1.0, 6.313_752),
            (0.95, 10.0, 1.812_461),
            (0.995, 30.0, 2.749_996),
            (0.9, 2.0, 1.885_618),
        ];
        for (p, df, want) in cases {
            assert_abs_diff_eq!(t_quantile(p, df), want, epsilon = 1e-6);
            assert_abs_diff_eq!(t_quantile(1.0 - p, df), -want, epsilon = 1e-6);
        }
        assert_abs_diff_eq!(t975(10), 2.228_139, epsilon = 1e-6);
        assert_abs_diff_eq!(t975(5000), 1.960_439, epsilon = 1e-5);
        assert!(t_quantile(1.5, 3.0).is_nan() && t_quantile(0.5, 0.0).is_nan());
    }

    #[test]
    fn t_cdf_round_trips() {
        for df in [3.0, 7.5, 16.0, 200.0] {
            for p in [0.6, 0.9, 0.99, 0.9999] {
                assert_abs_diff_eq!(t_cdf(t_quantile(p, df), df), p, epsilon = 1e-12);
            }
        }
    }
}
