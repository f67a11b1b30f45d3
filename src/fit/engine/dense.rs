//! The engine's Levenberg-Marquardt for problems whose parameter count is known only at run
//! time (a global fit of several curves with shared parameters, `p <= ~60`): the same
//! [`LmConfig`], [`Termination`], damping (Moré's scaling, Nielsen's update), active set of
//! bounds and MINPACK tests as the fixed-size iteration, on the normal equations `J'J` in a
//! [`DenseMatrix`], with the engine's one Cholesky (`linalg::cholesky_upper`, through
//! `linalg::damped_cholesky` for the damped steps) also for the covariance ([`covariance`]).
//!
//! Owns only the iteration; the problem (which model, which parameters are shared) is the
//! caller's ([`DenseProblem`], e.g. [`crate::fit::procedures::global`]).

use crate::fit::engine::linalg::{
    DenseMatrix, SquareMatrix, cholesky_upper, damped_cholesky, damping_after_accept, scaled_norm,
    upper_inverse,
};
use crate::fit::engine::problem::{LmConfig, Termination};

/// An unweighted least-squares problem with a run-time number of parameters.
pub trait DenseProblem {
    /// Number of parameters.
    fn n_params(&self) -> usize;
    /// Residual sum of squares at `theta` (non-finite when the model is).
    fn rss(&mut self, theta: &[f64]) -> f64;
    /// The normal equations at `theta`: `J'J` into `a` (all entries), `J'r` into `g`, with
    /// `r = f - y`; returns the RSS.
    fn normal(&mut self, theta: &[f64], a: &mut DenseMatrix, g: &mut [f64]) -> f64;
}

/// Result of [`fit_dense`].
#[derive(Debug, Clone, PartialEq)]
pub struct DenseFit {
    /// Final parameters.
    pub theta: Vec<f64>,
    /// Residual sum of squares at `theta`.
    pub rss: f64,
    /// Iterations (Jacobian evaluations).
    pub iterations: u32,
    /// Why the iteration stopped.
    pub termination: Termination,
}

/// Levenberg-Marquardt on the normal equations `(J'J + mu D^2) delta = -J'r`, from `theta`
/// (within `lower..upper`), with box bounds by projection plus an active set (a parameter on a
/// bound with the gradient pushing outwards is held for that iteration); a refused Cholesky
/// pivot counts as a rejected step. The predicted reduction is that of the Gauss-Newton model
/// for the (clamped) step `s`, `-2 g's - s'J'Js`. The normal equations are allocated once per
/// fit; each damped step allocates its Cholesky factor (`p x p`).
pub fn fit_dense(
    prob: &mut impl DenseProblem,
    mut theta: Vec<f64>,
    lower: &[f64],
    upper: &[f64],
    cfg: &LmConfig,
) -> DenseFit {
    let p = prob.n_params();
    let mut a = DenseMatrix::new(p);
    let mut g = vec![0.0; p];
    let mut trial = vec![0.0; p];
    let mut step = vec![0.0; p];
    let mut diag = vec![0.0; p];
    let mut mask = vec![false; p];
    let mut rss = prob.rss(&theta);
    let done =
        |theta, rss, iterations, termination| DenseFit { theta, rss, iterations, termination };
    if !rss.is_finite() {
        return done(theta, rss, 0, Termination::NonFinite);
    }
    let mut mu = cfg.initial_damping;
    let mut nu = 2.0;
    let mut first = true;
    let mut iterations = 0u32;
    loop {
        if rss == 0.0 {
            return done(theta, rss, iterations, Termination::ExactFit);
        }
        if iterations >= cfg.max_iter {
            return done(theta, rss, iterations, Termination::MaxIterations);
        }
        iterations += 1;
        prob.normal(&theta, &mut a, &mut g);
        // Active set: free parameters on a bound with -g pointing outwards.
        let mut any_active = false;
        for k in 0..p {
            mask[k] = (theta[k] <= lower[k] && g[k] > 0.0) || (theta[k] >= upper[k] && g[k] < 0.0);
            any_active |= mask[k];
        }
        if any_active {
            for i in 0..p {
                for j in 0..p {
                    if mask[i] || mask[j] {
                        a.set(i, j, 0.0);
                    }
                }
                if mask[i] {
                    g[i] = 0.0;
                }
            }
        }
        let rnorm = rss.sqrt();
        let mut gnorm = 0.0f64;
        for k in 0..p {
            let nk = a.at(k, k).sqrt();
            if !mask[k] && nk > 0.0 {
                gnorm = gnorm.max(g[k].abs() / (nk * rnorm));
            }
        }
        let bound_or = |t: Termination| if any_active { Termination::AtBound } else { t };
        if gnorm <= cfg.gtol {
            return done(theta, rss, iterations, bound_or(Termination::ConvergedGtol));
        }
        for k in 0..p {
            let nk = a.at(k, k).sqrt();
            let d = if nk > 0.0 { nk } else { 1.0 };
            diag[k] = if first { d } else { diag[k].max(d) };
        }
        first = false;
        let pnorm = scaled_norm(&diag, &theta, &mask);
        loop {
            let solved = damped_cholesky(&a, &g, &diag, mu, |k| mask[k]);
            let mut clamped = false;
            let (mut ared, mut pred, mut snorm) = (f64::NEG_INFINITY, 0.0, 0.0);
            let mut trial_rss = f64::NAN;
            if let Some((delta, _)) = &solved {
                for k in 0..p {
                    trial[k] = theta[k];
                    if !mask[k] {
                        let t = (theta[k] + delta[k]).clamp(lower[k], upper[k]);
                        clamped |= t != theta[k] + delta[k];
                        trial[k] = t;
                    }
                }
                // Predicted reduction of the Gauss-Newton model for the actual step s:
                // -2 g's - s'J'Js (relative to rss).
                let mut q = 0.0;
                let mut gs = 0.0;
                for i in 0..p {
                    let si = trial[i] - theta[i];
                    gs += g[i] * si;
                    let mut v = 0.0;
                    for j in 0..p {
                        v += a.at(i, j) * (trial[j] - theta[j]);
                    }
                    q += si * v;
                }
                pred = (-2.0 * gs - q) / rss;
                for k in 0..p {
                    step[k] = trial[k] - theta[k];
                }
                snorm = scaled_norm(&diag, &step, &mask);
                trial_rss = prob.rss(&trial);
                if trial_rss.is_finite() {
                    ared = 1.0 - trial_rss / rss;
                }
            }
            let ok = solved.is_some();
            let rho = if pred > 0.0 { ared / pred } else { -1.0 };
            if ok && rho > 1e-4 {
                theta.copy_from_slice(&trial);
                rss = trial_rss;
                mu = damping_after_accept(mu, rho);
                nu = 2.0;
                let at_bound = (0..p).any(|k| theta[k] <= lower[k] || theta[k] >= upper[k]);
                let bound_or = |t| if at_bound { Termination::AtBound } else { t };
                if rss == 0.0 {
                    return done(theta, rss, iterations, Termination::ExactFit);
                }
                if ared.abs() <= cfg.ftol && pred <= cfg.ftol && rho <= 2.0 {
                    return done(theta, rss, iterations, bound_or(Termination::ConvergedFtol));
                }
                if snorm <= cfg.xtol * pnorm {
                    return done(theta, rss, iterations, bound_or(Termination::ConvergedXtol));
                }
                break;
            }
            if ok {
                if !clamped && ared.abs() <= cfg.ftol && pred <= cfg.ftol {
                    return done(theta, rss, iterations, bound_or(Termination::ConvergedFtol));
                }
                if snorm <= cfg.xtol * pnorm {
                    return done(theta, rss, iterations, bound_or(Termination::ConvergedXtol));
                }
                if snorm <= f64::EPSILON * pnorm
                    || (!clamped && pred <= f64::EPSILON && ared <= 0.0)
                    || snorm == 0.0
                {
                    let t = bound_or(Termination::NoFurtherReduction);
                    return done(theta, rss, iterations, t);
                }
            }
            mu *= nu;
            nu *= 2.0;
            if !mu.is_finite() {
                return done(theta, rss, iterations, bound_or(Termination::NoFurtherReduction));
            }
        }
    }
}

/// The asymptotic covariance `s^2 (J'J)^-1`, `s^2 = rss / df`, at `theta` (Bates & Watts 1988,
/// §2.3): `(J'J)^-1 = R^-1 R^-T` from the engine's Cholesky `R'R = J'J`. `None` when a
/// parameter has a zero Jacobian column or `J'J` is not positive definite.
pub fn covariance(
    prob: &mut impl DenseProblem,
    theta: &[f64],
    rss: f64,
    df: usize,
) -> Option<DenseMatrix> {
    let p = prob.n_params();
    let mut a = DenseMatrix::new(p);
    let mut g = vec![0.0; p];
    prob.normal(theta, &mut a, &mut g);
    if !(0..p).all(|i| a.at(i, i) > 0.0) {
        return None;
    }
    let mut r = DenseMatrix::new(p);
    let mut inv = vec![0.0; p];
    if !cholesky_upper(
        &a,
        |j, k| a.at(j, k),
        &mut r,
        &mut inv,
        |_| false,
        |_| false,
        |d, _| d > 0.0,
    ) {
        return None;
    }
    let mut rinv = DenseMatrix::new(p);
    upper_inverse(&r, p, &mut rinv);
    let s2 = rss / df as f64;
    let mut cov = DenseMatrix::new(p);
    for i in 0..p {
        for j in i..p {
            // (R^-1 R^-T)_ij = sum_k Rinv[i][k] Rinv[j][k], k >= max(i, j) = j.
            let v: f64 = (j..p).map(|k| rinv.at(i, k) * rinv.at(j, k)).sum();
            cov.set(i, j, s2 * v);
            cov.set(j, i, s2 * v);
        }
    }
    Some(cov)
}
