//! Global (shared-parameter) fitting of several 4PL curves at once.
//!
//! Owns the parameter layout of a global fit (which of `[top, bottom, hill_slope, log_ic50]` are
//! shared across curves, fixed, or per curve), its normal equations, starting values and
//! bounds, and the per-curve blocks of the asymptotic covariance. The iteration and the
//! covariance are the engine's ([`crate::fit::engine::dense`], for the dynamic parameter
//! count, `p <= ~60`). The model is [`FourPl`]; single-curve fitting is
//! [`crate::fit::maths::four_pl`].
//!
//! Typical uses (Motulsky & Christopoulos 2004, *Fitting models to biological data*, ch. 11-12,
//! "global fitting"): Top and Bottom shared by the curves of one plate, all parameters but
//! LogIC50 shared, or replicate plates of one compound fully shared.

use crate::fit::engine::Model;
use crate::fit::engine::dense::{DenseProblem, covariance, fit_dense};
use crate::fit::engine::linalg::{DenseMatrix, SquareMatrix};
use crate::fit::engine::{LmConfig, Termination};
use crate::fit::maths::four_pl::FourPl;
use crate::fit::maths::four_pl::{LOG_IC50_MARGIN, MAX_ABS_HILL, initial_estimates};

/// Which 4PL parameters (`[top, bottom, hill_slope, log_ic50]`) are shared or fixed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct GlobalSpec {
    /// `shared[k]`: one value of parameter `k` for all curves (ignored when `fixed[k]` is set).
    pub shared: [bool; 4],
    /// `fixed[k] = Some(v)`: parameter `k` is `v` in every curve (not fitted).
    pub fixed: [Option<f64>; 4],
}

/// Result of [`fit_global`]. Undefined statistics (fixed parameters, rank-deficient Jacobian,
/// `df == 0`) are NaN.
#[derive(Debug, Clone, PartialEq)]
pub struct GlobalFit {
    /// Parameters of each curve, `[top, bottom, hill_slope, log_ic50]` (shared ones repeated).
    pub per_curve: Vec<[f64; 4]>,
    /// Asymptotic standard errors per curve and parameter, `sqrt(diag(s^2 (J'J)^-1))`.
    pub se: Vec<[f64; 4]>,
    /// Per curve, the covariance of its parameter vector `[top, bottom, hill_slope, log_ic50]`:
    /// the block of `s^2 (J'J)^-1` for the fitted parameters the curve uses (shared ones
    /// included), 0 for fixed parameters, NaN when undefined.
    pub cov: Vec<[[f64; 4]; 4]>,
    /// Residual sum of squares over all curves.
    pub rss: f64,
    /// Degrees of freedom: number of points minus number of fitted parameters (0 if negative).
    pub df: usize,
    /// Number of fitted parameters.
    pub n_params: usize,
    /// Number of points over all curves.
    pub n: usize,
    /// Levenberg-Marquardt iterations.
    pub iterations: u32,
    /// How the fit ended (same meaning as for [`crate::fit::engine::fit`]).
    pub termination: Termination,
}

/// Index of the fitted parameter that curve `c`'s parameter `k` maps to (`None` = fixed).
fn layout(n_curves: usize, spec: &GlobalSpec) -> (Vec<[Option<usize>; 4]>, usize) {
    let mut idx = vec![[None; 4]; n_curves];
    let mut p = 0;
    for k in 0..4 {
        if spec.fixed[k].is_some() {
            continue;
        }
        if spec.shared[k] {
            for row in &mut idx {
                row[k] = Some(p);
            }
            p += 1;
        } else {
            for row in &mut idx {
                row[k] = Some(p);
                p += 1;
            }
        }
    }
    (idx, p)
}

/// The curve parameters from the fitted vector `theta`.
fn expand(idx: &[[Option<usize>; 4]], spec: &GlobalSpec, theta: &[f64], out: &mut [[f64; 4]]) {
    for (c, row) in idx.iter().enumerate() {
        for k in 0..4 {
            out[c][k] = match row[k] {
                Some(i) => theta[i],
                None => spec.fixed[k].unwrap_or(0.0),
            };
        }
    }
}

/// The global 4PL problem for the engine's dense iteration (allocated once per fit).
struct Dense<'a> {
    curves: &'a [(&'a [f64], &'a [f64])],
    idx: Vec<[Option<usize>; 4]>,
    spec: GlobalSpec,
    p: usize,
    pc: Vec<[f64; 4]>,
}

impl DenseProblem for Dense<'_> {
    fn n_params(&self) -> usize {
        self.p
    }

    fn rss(&mut self, theta: &[f64]) -> f64 {
        expand(&self.idx, &self.spec, theta, &mut self.pc);
        let mut s = 0.0;
        for (c, (x, y)) in self.curves.iter().enumerate() {
            for (xi, yi) in x.iter().zip(y.iter()) {
                let d = FourPl.value(*xi, &self.pc[c]) - yi;
                s += d * d;
            }
        }
        s
    }

    fn normal(&mut self, theta: &[f64], a: &mut DenseMatrix, g: &mut [f64]) -> f64 {
        expand(&self.idx, &self.spec, theta, &mut self.pc);
        a.clear();
        g.iter_mut().for_each(|v| *v = 0.0);
        let mut rss = 0.0;
        let mut grad = [0.0; 4];
        for (c, (x, y)) in self.curves.iter().enumerate() {
            let row = self.idx[c];
            for (xi, yi) in x.iter().zip(y.iter()) {
                let f = FourPl.value_grad(*xi, &self.pc[c], &mut grad);
                let r = f - yi;
                rss += r * r;
                for ka in 0..4 {
                    let Some(ia) = row[ka] else { continue };
                    g[ia] += grad[ka] * r;
                    for kb in 0..4 {
                        let Some(ib) = row[kb] else { continue };
                        a.add(ia, ib, grad[ka] * grad[kb]);
                    }
                }
            }
        }
        rss
    }
}

/// Fits the 4PL to all `curves` (each `(x, y)`, `x` log10 molar, `-inf` = zero dose) at once,
/// minimising the total RSS `sum_c sum_i (y_ci - f(x_ci; p_c))^2` where the curves' parameter
/// vectors `p_c` share the parameters `spec.shared` and use `spec.fixed` values.
///
/// Starting values: shared parameters from [`initial_estimates`] of the pooled data, the others
/// from each curve's own. Bounds as in [`crate::fit::maths::four_pl::fit_four_pl`]: `|hill| <= 10`,
/// LogIC50 within the curve's tested range (pooled range if shared) +- 3 log units. The
/// iteration is Levenberg-Marquardt on the normal equations `(J'J + mu D^2) delta = -J'r`
/// (Cholesky; a failed factorisation counts as a rejected step) with Moré's scaling, Nielsen's
/// damping update and MINPACK's `ftol`/`xtol`/`gtol` tests from `lm` ([`LmConfig`]), so with
/// nothing shared it reproduces the separate fits. SEs: `sqrt(diag(s^2 (J'J)^-1))`,
/// `s^2 = rss / df` (Bates & Watts 1988, §2.3).
///
/// Never panics on data: too few points gives [`Termination::InsufficientData`] with the
/// starting values. Allocates once per fit, not per iteration.
pub fn fit_global(curves: &[(&[f64], &[f64])], spec: &GlobalSpec, lm: &LmConfig) -> GlobalFit {
    let nc = curves.len();
    let curves: Vec<(&[f64], &[f64])> = curves
        .iter()
        .map(|(x, y)| {
            let n = x.len().min(y.len());
            (&x[..n], &y[..n])
        })
        .collect();
    let (idx, p) = layout(nc, spec);
    let n: usize = curves.iter().map(|(x, _)| x.len()).sum();
    // Starting values and bounds.
    let (px, py): (Vec<f64>, Vec<f64>) =
        curves.iter().flat_map(|(x, y)| x.iter().copied().zip(y.iter().copied())).unzip();
    let pooled = initial_estimates(&px, &py);
    let range = |xs: &[f64]| {
        let f = xs.iter().copied().filter(|v| v.is_finite());
        (f.clone().fold(f64::INFINITY, f64::min), f.fold(f64::NEG_INFINITY, f64::max))
    };
    let (pmin, pmax) = range(&px);
    let mut theta = vec![0.0; p];
    let mut lower = vec![f64::NEG_INFINITY; p];
    let mut upper = vec![f64::INFINITY; p];
    for (c, (x, y)) in curves.iter().enumerate() {
        let own = initial_estimates(x, y);
        let (xmin, xmax) = if spec.shared[3] { (pmin, pmax) } else { range(x) };
        for k in 0..4 {
            let Some(i) = idx[c][k] else { continue };
            theta[i] = if spec.shared[k] { pooled[k] } else { own[k] };
            if k == FourPl::HILL {
                lower[i] = -MAX_ABS_HILL;
                upper[i] = MAX_ABS_HILL;
            } else if k == FourPl::LOG_IC50 && xmin <= xmax {
                lower[i] = xmin - LOG_IC50_MARGIN;
                upper[i] = xmax + LOG_IC50_MARGIN;
            }
        }
    }
    for i in 0..p {
        theta[i] = theta[i].clamp(lower[i], upper[i]);
    }
    let df = n.saturating_sub(p);
    let mut ws = Dense { curves: &curves, idx, spec: *spec, p, pc: vec![[0.0; 4]; nc] };
    let out =
        |idx: &[[Option<usize>; 4]], theta: &[f64], rss: f64, iterations: u32, termination| {
            let mut per_curve = vec![[0.0; 4]; nc];
            expand(idx, spec, theta, &mut per_curve);
            GlobalFit {
                per_curve,
                se: vec![[f64::NAN; 4]; nc],
                cov: vec![[[f64::NAN; 4]; 4]; nc],
                rss,
                df,
                n_params: p,
                n,
                iterations,
                termination,
            }
        };
    if n <= p || p == 0 || pmin > pmax {
        let rss = ws.rss(&theta);
        return out(&ws.idx, &theta, rss, 0, Termination::InsufficientData);
    }
    let f = fit_dense(&mut ws, theta, &lower, &upper, lm);
    let mut fit = out(&ws.idx, &f.theta, f.rss, f.iterations, f.termination);
    // Standard errors from (J'J)^-1 at the optimum.
    if df > 0 && f.rss.is_finite() {
        if let Some(covm) = covariance(&mut ws, &f.theta, f.rss, df) {
            for (c, row) in ws.idx.iter().enumerate() {
                let mut block = [[0.0; 4]; 4];
                for k in 0..4 {
                    if let Some(i) = row[k] {
                        fit.se[c][k] = covm.at(i, i).sqrt();
                        for l in 0..4 {
                            if let Some(j) = row[l] {
                                block[k][l] = covm.at(i, j);
                            }
                        }
                    }
                }
                fit.cov[c] = block;
            }
        }
    }
    fit
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::maths::four_pl::{FourPlFit, FourPlOptions, fit_four_pl, fit_four_pl_with};

    /// The separate fit with the engine settings and start of [`fit_global`] (Gauss-Newton,
    /// [`LmConfig::default`], from [`initial_estimates`]): the comparisons below are at 1e-8,
    /// finer than the ~1e-7 standard errors to which the optimum itself is defined in double
    /// precision, so both sides must take the same path to it.
    fn separate_fit(x: &[f64], y: &[f64]) -> FourPlFit {
        let opts = FourPlOptions { lm: LmConfig::default(), ..FourPlOptions::default() };
        fit_four_pl_with(x, y, None, &opts, Some(initial_estimates(x, y)))
    }
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, Normal};

    fn sim(p: [f64; 4], sd: f64, seed: u64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let noise = Normal::new(0.0, sd).expect("valid sd");
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..10 {
            let xi = -10.5 + 0.5 * i as f64;
            for _ in 0..2 {
                x.push(xi);
                y.push(FourPl.value(xi, &p) + noise.sample(&mut rng));
            }
        }
        (x, y)
    }

    #[test]
    fn nothing_shared_equals_separate_fits() {
        let data = [
            sim([100.0, 2.0, -1.0, -8.0], 3.0, 1),
            sim([95.0, -1.0, -1.3, -7.2], 3.0, 2),
            sim([103.0, 5.0, -0.8, -8.6], 3.0, 3),
        ];
        let curves: Vec<(&[f64], &[f64])> =
            data.iter().map(|(x, y)| (x.as_slice(), y.as_slice())).collect();
        let g = fit_global(&curves, &GlobalSpec::default(), &LmConfig::default());
        assert!(g.termination.converged(), "{g:?}");
        assert_eq!(g.n_params, 12);
        let mut rss = 0.0;
        for (c, (x, y)) in data.iter().enumerate() {
            let f = separate_fit(x, y);
            rss += f.rss;
            for k in 0..4 {
                assert!(
                    (g.per_curve[c][k] - f.params[k]).abs() <= 1e-8 * f.params[k].abs().max(1.0),
                    "curve {c} k {k}: {} vs {}",
                    g.per_curve[c][k],
                    f.params[k]
                );
            }
        }
        assert!((g.rss - rss).abs() <= 1e-10 * rss);
    }

    #[test]
    fn all_shared_equals_pooled_fit() {
        let a = sim([100.0, 2.0, -1.0, -8.0], 3.0, 4);
        let b = sim([100.0, 2.0, -1.0, -8.0], 3.0, 5);
        let spec = GlobalSpec { shared: [true; 4], fixed: [None; 4] };
        let g = fit_global(&[(&a.0, &a.1), (&b.0, &b.1)], &spec, &LmConfig::default());
        let x: Vec<f64> = a.0.iter().chain(&b.0).copied().collect();
        let y: Vec<f64> = a.1.iter().chain(&b.1).copied().collect();
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        assert!(g.termination.converged(), "{g:?}");
        assert_eq!((g.n_params, g.df), (4, 36));
        for k in 0..4 {
            // 1e-7, not 1e-8 as for the separate fits: the two fits sum over the points in a
            // different order (fit_four_pl sorts them by x), and Gauss-Newton's stopping point
            // moves with such rounding by up to ~1e-7 standard errors (the precision to which
            // the sum of squares locates its minimum in double precision).
            assert!(
                (g.per_curve[0][k] - f.params[k]).abs() <= 1e-7 * f.params[k].abs().max(1.0),
                "k {k}: {} vs {}",
                g.per_curve[0][k],
                f.params[k]
            );
            assert_eq!(g.per_curve[0][k], g.per_curve[1][k]);
            assert!((g.se[0][k] - f.se[k]).abs() <= 1e-6 * f.se[k]);
            // The per-curve covariance block is the pooled fit's covariance.
            for l in 0..4 {
                let scale = (f.cov[k][k] * f.cov[l][l]).sqrt();
                assert!((g.cov[0][k][l] - f.cov[k][l]).abs() <= 1e-6 * scale, "{k} {l}");
                assert_eq!(g.cov[0][k][l], g.cov[1][k][l]);
            }
        }
    }

    #[test]
    fn shared_plateaus_recover_truth() {
        let truth = [[100.0, 0.0, -1.0, -8.5], [100.0, 0.0, -0.9, -7.5], [100.0, 0.0, -1.2, -9.0]];
        let data: Vec<_> =
            truth.iter().enumerate().map(|(i, p)| sim(*p, 2.0, 10 + i as u64)).collect();
        let curves: Vec<(&[f64], &[f64])> =
            data.iter().map(|(x, y)| (x.as_slice(), y.as_slice())).collect();
        let spec = GlobalSpec { shared: [true, true, false, false], fixed: [None; 4] };
        let g = fit_global(&curves, &spec, &LmConfig::default());
        assert!(g.termination.converged(), "{g:?}");
        assert_eq!(g.n_params, 8);
        for (c, t) in truth.iter().enumerate() {
            assert!((g.per_curve[c][0] - 100.0).abs() < 3.0);
            assert!(g.per_curve[c][1].abs() < 3.0);
            assert!((g.per_curve[c][3] - t[3]).abs() < 0.1, "{:?}", g.per_curve[c]);
            assert!((g.per_curve[c][3] - t[3]).abs() < 4.0 * g.se[c][3]);
            assert!((g.per_curve[c][2] - t[2]).abs() < 0.3);
        }
        assert_eq!(g.se[0][0], g.se[2][0]);
    }

    #[test]
    fn degenerate_input_does_not_panic() {
        let g = fit_global(&[], &GlobalSpec::default(), &LmConfig::default());
        assert_eq!(g.termination, Termination::InsufficientData);
        let x = [-8.0, -7.0];
        let g = fit_global(&[(&x, &[1.0, 2.0])], &GlobalSpec::default(), &LmConfig::default());
        assert_eq!(g.termination, Termination::InsufficientData);
        let spec = GlobalSpec { shared: [false; 4], fixed: [Some(100.0), Some(0.0), None, None] };
        let x = [-9.0, -8.0, -7.0, -6.0];
        let g = fit_global(&[(&x, &[95.0, 80.0, 20.0, 5.0])], &spec, &LmConfig::default());
        assert!(g.termination.converged(), "{g:?}");
        assert_eq!(g.per_curve[0][0], 100.0);
        assert!(g.se[0][0].is_nan() && g.se[0][3].is_finite());
    }
}
