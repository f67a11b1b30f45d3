//! Uncertainty of a least-squares fit: the asymptotic covariance `s^2 (J'WJ)^-1`, standard
//! errors and Prism's parameter dependency, from the engine's normal equations.
//!
//! Owns only the post-fit statistics; the optimum comes from [`crate::fit::engine`], the
//! t quantiles for intervals from [`crate::fit::stats`].

use crate::fit::engine::linalg::upper_inverse;
use crate::fit::engine::linalg::{NormalEq, RowQr};
use crate::fit::engine::model::Model;
use crate::fit::engine::problem::{LmFit, LmProblem};

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
/// (relative error of the covariance below ~1e-10, see [`crate::fit::engine::CHOLESKY_MIN_PIVOT`]),
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
    upper_inverse(&r, nf, &mut rinv);
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

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_abs_diff_eq;

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
