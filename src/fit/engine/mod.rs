//! The Levenberg-Marquardt weighted least-squares engine.
//!
//! The one least-squares engine of the fit stage, for every model (single curves with a
//! fixed parameter count `P`, and the dense global fit of [`dense`]). Owns the interface to the
//! models ([`Model`], in `model`); the problem ([`LmProblem`]), settings ([`LmConfig`]) and
//! outcome ([`Termination`], [`LmFit`]) in `problem`; the iteration and the direct drivers
//! ([`fit`], [`fit_bounded`], [`run`]) in `lm` (damping, step acceptance, termination,
//! restarts); the linear algebra in
//! [`linalg`] (normal equations, Cholesky, the row-wise Givens QR [`RowQr`], damped steps); the
//! argmin `Solver` adapter in [`solver`] ([`LmSolver`]); and the asymptotic standard errors in
//! [`uncertainty`]. This file only re-exports them: the submodules import each other, never
//! it. It does not own models ([`crate::fit::maths`], [`crate::fit::models`]) or 4PL starting
//! values ([`crate::fit::maths::four_pl`]).
//!
//! # Algorithm
//!
//! Minimise `S(p) = sum_i w_i (y_i - f(x_i; p))^2` over the free parameters. Each iteration
//! evaluates the weighted residuals `r_i = sqrt(w_i) (f(x_i; p) - y_i)` and the analytic
//! Jacobian `J = dr/dp` in one pass, accumulating the normal equations `J'J`, `J'r` ([`NormalEq`]),
//! and obtains the triangle `R` (`R'R = J'J`) and `Q'r` by Cholesky when the pivots show a
//! well-conditioned `J` (dependencies below `1 - 1e-6`, [`CHOLESKY_MIN_PIVOT`]). Otherwise it
//! makes a second pass and factorises `J = Q R` one row at a time with Givens rotations
//! (MINPACK `lmstr`/`rwupdt` style, [`RowQr`]), whose accuracy is that of `J`, not its square.
//! Either way only `P x P` quantities are stored. The damped step solves
//!
//! `min || [R; sqrt(mu) D] delta + [Q'r; 0] ||`
//!
//! by eliminating the diagonal rows into a copy of `R` (MINPACK `qrsolv`), with Moré's scaling
//! `D_j = max over iterations of ||J_j||`. The damping `mu` follows Nielsen's update
//! (Madsen, Nielsen & Tingleff 2004, *Methods for non-linear least squares problems*, §3.2):
//! on acceptance `mu *= max(1/3, 1 - (2 rho - 1)^3)`, on rejection `mu *= nu; nu *= 2`, with the
//! gain ratio `rho` = actual / predicted reduction and the predicted reduction
//! `||R delta||^2 + 2 mu ||D delta||^2` (Moré 1978, *The Levenberg-Marquardt algorithm:
//! implementation and theory*, eq. 4.5). Termination tests are MINPACK's `ftol`, `xtol`, `gtol`,
//! and optionally Bates and Watts' relative offset ([`LmConfig::offset_tol`]).
//!
//! Options and safeguards:
//! - Consecutive observations with the same `x` share one model evaluation per pass
//!   ([`NormalEq::from_model`]): sorted replicates halve the work of a duplicate curve.
//! - With [`LmConfig::second_order`] and a model with analytic second derivatives
//!   ([`Model::HAS_HESSIAN`]), `R` factorises the full Newton Hessian `J'J + sum r_i H_i`
//!   while it is positive definite ([`NormalEq::newton_cholesky`]): quadratic instead of
//!   linear convergence on data with noise.
//! - A run that converges where a Jacobian column has vanished (a degenerate stationary
//!   point) restarts from the start with more damping ([`MAX_RESTARTS`]).
//!
//! Optional box bounds ([`fit_bounded`]) are handled by projection plus an active set: a
//! parameter sitting on a bound with the gradient pushing outwards is held for that iteration.
//!
//! No heap allocation happens inside the iteration: all state is `[f64; P]` / `[[f64; P]; P]`
//! ([`LmSolver`] boxes its state once per run).

pub mod dense;
pub mod linalg;
mod lm;
pub mod model;
mod problem;
pub mod solver;
pub mod uncertainty;

pub use linalg::{CHOLESKY_MIN_PIVOT, DAMPED_CHOLESKY_MIN_PIVOT, NormalEq, RowQr};
pub use lm::{
    MAX_RESTARTS, RESTART_DAMPING_FACTOR, RESTART_MIN_GAIN, VANISHED_COLUMN, fit, fit_bounded, run,
};
pub use model::Model;
pub use problem::{LmConfig, LmFit, LmProblem, Termination};
pub use solver::{LmSolver, LmState, solve};

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::engine::lm::LmCore;
    use crate::fit::maths::four_pl::FourPl;
    use approx::assert_relative_eq;
    use argmin::core::State;

    /// y = a exp(b x), for a generic-model check.
    struct Exp;
    impl Model<2> for Exp {
        fn value(&self, x: f64, p: &[f64; 2]) -> f64 {
            p[0] * (p[1] * x).exp()
        }
        fn value_grad(&self, x: f64, p: &[f64; 2], g: &mut [f64; 2]) -> f64 {
            let e = (p[1] * x).exp();
            g[0] = e;
            g[1] = p[0] * x * e;
            p[0] * e
        }
    }

    #[test]
    fn row_qr_reproduces_normal_matrix() {
        let rows = [[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [3.0, 0.1, -0.2], [1.0, 1.0, 1.0]];
        let mut qr = RowQr::<3>::new();
        for (i, r) in rows.iter().enumerate() {
            qr.add_row(*r, i as f64);
        }
        for a in 0..3 {
            for b in 0..3 {
                let jtj: f64 = rows.iter().map(|r| r[a] * r[b]).sum();
                let rtr: f64 = (0..3).map(|k| qr.r[k][a] * qr.r[k][b]).sum();
                assert_relative_eq!(jtj, rtr, max_relative = 1e-13);
            }
        }
        let jtr: f64 = rows.iter().enumerate().map(|(i, r)| r[1] * i as f64).sum();
        assert_relative_eq!(qr.gradient()[1], jtr, max_relative = 1e-13);
    }

    #[test]
    fn cholesky_of_normal_equations_matches_givens_and_refuses_dependent_columns() {
        let x: Vec<f64> = (0..12).map(|i| -10.0 + 0.5 * i as f64).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, &v)| FourPl.value(v, &[100.0, 2.0, -1.0, -7.5]) + (i % 3) as f64)
            .collect();
        let p = [98.0, 1.0, -0.9, -7.4];
        let mask = [false, true, false, false];
        let ne = NormalEq::from_model(&FourPl, &x, &y, None, &p, &mask).expect("finite");
        let chol = ne.cholesky().expect("well-conditioned");
        let qr = RowQr::from_model(&FourPl, &x, &y, None, &p, &mask).expect("finite");
        for i in 0..4 {
            // Rows of R agree up to sign; Q'r with the same sign.
            let sign = if qr.r[i][i] < 0.0 { -1.0 } else { 1.0 };
            for j in 0..4 {
                assert!(
                    (chol.r[i][j] - sign * qr.r[i][j]).abs() <= 1e-10 * qr.r[i][i].abs().max(1.0)
                );
            }
            assert!((chol.qtr[i] - sign * qr.qtr[i]).abs() <= 1e-9 * qr.qtr[i].abs().max(1e-6));
        }
        assert_eq!(chol.r[1], [0.0; 4]);
        assert_relative_eq!(ne.rss, qr.rss, max_relative = 1e-14);
        // Two nearly identical columns: the Cholesky path declines (Givens is used instead).
        let mut ne2 = NormalEq::<2> {
            a: [[1.0, 1.0 - 1e-9], [0.0, 1.0]],
            b: [0.0; 2],
            rss: 1.0,
            s: [[0.0; 2]; 2],
        };
        assert!(ne2.cholesky().is_none());
        ne2.a[0][1] = 0.5;
        assert!(ne2.cholesky().is_some());
    }

    #[test]
    fn exact_exponential_data_is_recovered() {
        let x: Vec<f64> = (0..10).map(|i| i as f64 * 0.3).collect();
        let y: Vec<f64> = x.iter().map(|&x| 2.5 * (-0.7 * x).exp()).collect();
        let f = fit(&Exp, &x, &y, None, [1.0, 0.1], [false; 2], &LmConfig::default());
        assert!(f.termination.converged(), "{:?}", f.termination);
        assert_relative_eq!(f.params[0], 2.5, max_relative = 1e-10);
        assert_relative_eq!(f.params[1], -0.7, max_relative = 1e-10);
    }

    #[test]
    fn fixed_parameter_is_kept() {
        let x = [-9.0, -8.0, -7.5, -7.0, -6.5, -6.0, -5.0];
        let y: Vec<f64> =
            x.iter().map(|&x| FourPl.value(x, &[100.0, 0.0, -1.0, -7.0]) + 0.5).collect();
        let f = fit(
            &FourPl,
            &x,
            &y,
            None,
            [90.0, 0.0, -1.0, -6.5],
            [false, true, false, false],
            &LmConfig::default(),
        );
        assert!(f.termination.converged());
        assert_eq!(f.params[1], 0.0);
    }

    #[test]
    fn bounds_are_respected_and_reported() {
        // Curve that never reaches half-way within the data: IC50 far to the right.
        let x = [-9.0, -8.0, -7.0, -6.0, -5.0];
        let y: Vec<f64> = x.iter().map(|&x| FourPl.value(x, &[100.0, 0.0, -1.0, 0.0])).collect();
        let f = fit_bounded(
            &FourPl,
            &x,
            &y,
            None,
            [100.0, 0.0, -1.0, -7.0],
            [true, true, false, false],
            [f64::NEG_INFINITY, f64::NEG_INFINITY, -10.0, -12.0],
            [f64::INFINITY, f64::INFINITY, 10.0, -2.0],
            &LmConfig::default(),
        );
        assert_eq!(f.termination, Termination::AtBound, "{f:?}");
        assert!(f.params[3] <= -2.0 && f.params.iter().all(|v| v.is_finite()));
    }

    /// NIST StRD BoxBOD (public domain): `y = b1 (1 - exp(-b2 x))`, certified
    /// `b1 = 213.80940889`, `b2 = 0.54723748542`.
    const BOXBOD_X: [f64; 6] = [1.0, 2.0, 3.0, 5.0, 7.0, 10.0];
    const BOXBOD_Y: [f64; 6] = [109.0, 149.0, 149.0, 191.0, 213.0, 224.0];

    /// `b1 (1 - exp(-b2 x))`.
    struct Rise;
    impl Model<2> for Rise {
        fn value(&self, x: f64, p: &[f64; 2]) -> f64 {
            p[0] * (1.0 - (-p[1] * x).exp())
        }
        fn value_grad(&self, x: f64, p: &[f64; 2], g: &mut [f64; 2]) -> f64 {
            let e = (-p[1] * x).exp();
            g[0] = 1.0 - e;
            g[1] = p[0] * x * e;
            p[0] * (1.0 - e)
        }
    }

    #[test]
    fn degenerate_stationary_point_restarts_with_more_damping() {
        // From (1, 1) the first step sends b2 to ~100, where exp(-b2 x) underflows and the
        // b2 column of J vanishes; the flat line at mean(y) is stationary there.
        let cfg = LmConfig::default();
        let f = fit(&Rise, &BOXBOD_X, &BOXBOD_Y, None, [1.0, 1.0], [false; 2], &cfg);
        assert!(f.termination.converged(), "{f:?}");
        assert!(f.restarts >= 1, "{f:?}");
        assert_relative_eq!(f.params[0], 213.809_408_89, max_relative = 1e-7);
        assert_relative_eq!(f.params[1], 0.547_237_485_42, max_relative = 1e-7);
        // Without restarts the iteration stops on the plateau.
        let mut once =
            LmCore::new(&LmProblem::new(&Rise, &BOXBOD_X, &BOXBOD_Y, None), [1.0, 1.0], cfg);
        once.restarts = MAX_RESTARTS;
        let prob = LmProblem::new(&Rise, &BOXBOD_X, &BOXBOD_Y, None);
        let t = loop {
            if let Some(t) = once.iterate(&prob) {
                break t;
            }
        };
        assert!(t.converged() && once.p[1] > 10.0, "{t:?} {:?}", once.p);
        // A good start never restarts.
        let f = fit(&Rise, &BOXBOD_X, &BOXBOD_Y, None, [100.0, 0.75], [false; 2], &cfg);
        assert_eq!(f.restarts, 0);
    }

    #[test]
    fn argmin_executor_matches_direct_path_through_a_restart() {
        use argmin::core::Executor;
        let cfg = LmConfig::default();
        let direct = fit(&Rise, &BOXBOD_X, &BOXBOD_Y, None, [1.0, 1.0], [false; 2], &cfg);
        let res =
            Executor::new(LmProblem::new(&Rise, &BOXBOD_X, &BOXBOD_Y, None), LmSolver::new(cfg))
                .configure(|s| s.param([1.0, 1.0]).max_iters(20_000))
                .run()
                .expect("executor runs");
        let via = res.solver.result().expect("solver ran");
        assert_eq!(via, direct);
        assert_eq!(res.state.get_best_param(), Some(&direct.params));
        assert_eq!(res.state.get_cost(), direct.rss);
    }

    #[test]
    fn argmin_executor_matches_direct_path() {
        use argmin::core::Executor;
        let x = [-9.0, -9.0, -8.0, -8.0, -7.0, -7.0, -6.0, -6.0, -5.0, -5.0];
        let y = [101.0, 98.0, 93.0, 89.0, 52.0, 47.0, 10.0, 8.0, 2.0, -1.0];
        let start = [100.0, 0.0, -1.0, -7.0];
        let direct = fit(&FourPl, &x, &y, None, start, [false; 4], &LmConfig::default());
        let res = Executor::new(LmProblem::new(&FourPl, &x, &y, None), LmSolver::default())
            .configure(|s| s.param(start).max_iters(1000))
            .run()
            .expect("executor runs");
        let via = res.solver.result().expect("solver ran");
        assert_eq!(via.params, direct.params);
        assert_eq!(via.termination, direct.termination);
        assert!(direct.termination.converged());
        // The 4PL settings (Newton model, relative offset test): the whole result, bit for bit.
        let cfg = crate::fit::maths::four_pl::FOUR_PL_LM;
        let direct = fit(&FourPl, &x, &y, None, start, [false; 4], &cfg);
        let res = Executor::new(LmProblem::new(&FourPl, &x, &y, None), LmSolver::new(cfg))
            .configure(|s| s.param(start).max_iters(1000))
            .run()
            .expect("executor runs");
        assert_eq!(res.solver.result().expect("solver ran"), direct);
        assert_eq!(res.state.get_best_param(), Some(&direct.params));
        assert!(direct.termination.converged());
    }
}
