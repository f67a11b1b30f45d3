//! Uncertainty of a least-squares fit: asymptotic covariance and standard errors, Prism's
//! parameter dependency, and the Student-t quantile used for confidence intervals.
//!
//! Owns only the post-fit statistics; the optimum itself comes from [`crate::fit::lm`].

use std::sync::OnceLock;

use crate::fit::lm::{LmFit, LmProblem, NormalEq, RowQr};
use crate::fit::model::Model;

/// Asymptotic (Gauss-Newton) uncertainty of a weighted least-squares fit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Uncertainty<const P: usize> {
    /// Standard errors `sqrt(C_kk)`; NaN for fixed parameters.
    pub se: [f64; P],
    /// Covariance `C = s^2 (J'WJ)^-1` over the free parameters (rows/columns of fixed ones are 0).
    pub cov: [[f64; P]; P],
    /// Prism's dependency `1 - 1/(C_kk (C^-1)_kk)` over the free parameters (0 = independent,
    /// near 1 = the parameter is redundant); NaN for fixed parameters.
    pub dependency: [f64; P],
    /// Degrees of freedom `n - (number of free parameters)`.
    pub df: usize,
    /// Residual standard deviation `s = sqrt(rss / df)` (Prism's Sy.x for unit weights).
    pub sigma: f64,
}

/// Asymptotic covariance `C = s^2 (J'WJ)^-1`, `s^2 = rss / (n - p_free)`, with `J` the Jacobian
/// of the model at `params` over the free parameters (Bates & Watts 1988, *Nonlinear regression
/// analysis and its applications*, §2.3; these are the SDs NIST StRD certifies).
///
/// `(J'WJ)^-1 = R^-1 R^-T` with `R` the Cholesky factor of `J'WJ` when that is well-conditioned
/// (relative error of the covariance below ~1e-10, see [`crate::fit::lm::CHOLESKY_MIN_PIVOT`]),
/// else the Givens QR of `sqrt(W) J`, whose accuracy is that of `J`.
/// Returns `None` when there are no degrees of freedom, when the Jacobian is rank-deficient
/// (a diagonal of `R` below `1e-13` times its column norm) or when the model is not finite.
pub fn asymptotic<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    params: &[f64; P],
    fixed: [bool; P],
    rss: f64,
) -> Option<Uncertainty<P>> {
    let mut prob = LmProblem::new(model, x, y, weights);
    prob.fixed = fixed;
    from_normal(&prob, params, rss, None)
}

/// [`asymptotic`] at the end of a Levenberg-Marquardt fit of `prob` (its model, data, weights and
/// fixed parameters; bounds play no part), reusing the normal equations `fit` carries from its
/// last pass over the data ([`LmFit::normal`]) instead of making another. Bit for bit the same
/// result as `asymptotic(.., &fit.params, prob.fixed, fit.rss)`.
pub fn asymptotic_of<M: Model<P>, const P: usize>(
    prob: &LmProblem<'_, M, P>,
    fit: &LmFit<P>,
) -> Option<Uncertainty<P>> {
    from_normal(prob, &fit.params, fit.rss, fit.normal)
}

/// [`asymptotic`] from the normal equations `ne` at `params` (computed here when `None`).
fn from_normal<M: Model<P>, const P: usize>(
    prob: &LmProblem<'_, M, P>,
    params: &[f64; P],
    rss: f64,
    ne: Option<NormalEq<P>>,
) -> Option<Uncertainty<P>> {
    let (model, x, y, weights, fixed) = (prob.model, prob.x, prob.y, prob.weights, prob.fixed);
    let free = fixed.iter().filter(|f| !**f).count();
    if x.len() <= free || !rss.is_finite() {
        return None;
    }
    let df = x.len() - free;
    // One pass of normal equations; Givens QR only if J is ill-conditioned (see NormalEq).
    let ne = match ne {
        Some(ne) => ne,
        None => NormalEq::from_model(model, x, y, weights, params, &fixed)?,
    };
    let qr = match ne.cholesky() {
        Some(q) => q,
        None => RowQr::from_model(model, x, y, weights, params, &fixed)?,
    };
    let mut norms = [0.0; P];
    for k in 0..P {
        norms[k] = ne.a[k][k].sqrt();
    }
    // Compressed upper triangle over the free parameters (the masked rows/columns are zero).
    let mut idx = [0usize; P];
    let mut nf = 0;
    for k in 0..P {
        if !fixed[k] {
            idx[nf] = k;
            nf += 1;
        }
    }
    let mut r = [[0.0; P]; P];
    for a in 0..nf {
        for b in a..nf {
            r[a][b] = qr.r[idx[a]][idx[b]];
        }
        let n = norms[idx[a]];
        if n == 0.0 || !(r[a][a].abs() > 1e-13 * n) {
            return None;
        }
    }
    // Rinv, upper triangular: R Rinv = I by back-substitution, column by column.
    let mut rinv = [[0.0; P]; P];
    for c in 0..nf {
        for i in (0..=c).rev() {
            let mut v = if i == c { 1.0 } else { 0.0 };
            for j in i + 1..=c {
                v -= r[i][j] * rinv[j][c];
            }
            rinv[i][c] = v / r[i][i];
        }
    }
    let s2 = rss / df as f64;
    let mut cov = [[0.0; P]; P];
    let mut se = [f64::NAN; P];
    let mut dependency = [f64::NAN; P];
    for a in 0..nf {
        for b in a..nf {
            // (R^-1 R^-T)_ab = sum_k Rinv[a][k] Rinv[b][k], k >= max(a, b) = b.
            let v: f64 = (b..nf).map(|k| rinv[a][k] * rinv[b][k]).sum();
            cov[idx[a]][idx[b]] = s2 * v;
            cov[idx[b]][idx[a]] = s2 * v;
        }
        let inv_aa: f64 = (a..nf).map(|k| rinv[a][k] * rinv[a][k]).sum();
        se[idx[a]] = (s2 * inv_aa).sqrt();
        let n = norms[idx[a]];
        dependency[idx[a]] = (1.0 - 1.0 / (inv_aa * n * n)).max(0.0);
    }
    Some(Uncertainty { se, cov, dependency, df, sigma: s2.sqrt() })
}

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

    struct Line;
    impl Model<2> for Line {
        fn value(&self, x: f64, p: &[f64; 2]) -> f64 {
            p[0] + p[1] * x
        }
        fn value_grad(&self, x: f64, p: &[f64; 2], g: &mut [f64; 2]) -> f64 {
            g[0] = 1.0;
            g[1] = x;
            p[0] + p[1] * x
        }
    }

    #[test]
    fn straight_line_standard_errors() {
        // y = 1 + 2x + noise; OLS: se(slope) = s / sqrt(Sxx), se(icpt) = s sqrt(1/n + xbar^2/Sxx).
        let x = [0.0, 1.0, 2.0, 3.0, 4.0];
        let y = [1.1, 2.9, 5.2, 6.8, 9.1];
        let n = 5.0;
        let xbar = 2.0;
        let sxx = 10.0;
        let sxy: f64 = x.iter().zip(&y).map(|(a, b)| (a - xbar) * b).sum();
        let b = sxy / sxx;
        let ybar: f64 = y.iter().sum::<f64>() / n;
        let a = ybar - b * xbar;
        let rss: f64 = x.iter().zip(&y).map(|(xi, yi)| (yi - a - b * xi).powi(2)).sum();
        let s = (rss / 3.0).sqrt();
        let u = asymptotic(&Line, &x, &y, None, &[a, b], [false; 2], rss).expect("full rank");
        assert_abs_diff_eq!(u.se[1], s / sxx.sqrt(), epsilon = 1e-12);
        assert_abs_diff_eq!(u.se[0], s * (1.0 / n + xbar * xbar / sxx).sqrt(), epsilon = 1e-12);
        assert_eq!(u.df, 3);
        // Dependency of the intercept: 1 - 1/(C_00 (C^-1)_00) = xbar^2 n / (Sxx + n xbar^2).
        assert_abs_diff_eq!(
            u.dependency[0],
            n * xbar * xbar / (sxx + n * xbar * xbar),
            epsilon = 1e-12
        );
        let fixed = asymptotic(&Line, &x, &y, None, &[a, b], [true, false], rss).expect("ok");
        assert!(fixed.se[0].is_nan() && fixed.se[1].is_finite() && fixed.df == 4);
    }

    #[test]
    fn rank_deficient_gives_none() {
        let x = [2.0, 2.0, 2.0];
        let y = [1.0, 2.0, 3.0];
        assert!(asymptotic(&Line, &x, &y, None, &[2.0, 0.0], [false; 2], 2.0).is_none());
    }
}
