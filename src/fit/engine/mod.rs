//! The Levenberg-Marquardt weighted least-squares engine.
//!
//! The one least-squares engine of the fit stage, for every model (single curves with a
//! fixed parameter count `P`, and the dense global fit of [`dense`]). Owns the problem
//! ([`LmProblem`]), settings ([`LmConfig`]) and outcome ([`Termination`], [`LmFit`]); the
//! iteration in `lm` (damping, step acceptance, termination, restarts); the linear algebra in
//! [`linalg`] (normal equations, Cholesky, the row-wise Givens QR [`RowQr`], damped steps); the
//! argmin `Solver` adapter in [`solver`] ([`LmSolver`]); and the asymptotic standard errors in
//! [`uncertainty`]. It does not own models ([`crate::fit::models`]) or 4PL starting values
//! ([`crate::fit::maths::four_pl`]).
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
pub mod solver;
pub mod uncertainty;

use argmin::core::{CostFunction, Error as ArgminError};

pub use linalg::{CHOLESKY_MIN_PIVOT, DAMPED_CHOLESKY_MIN_PIVOT, NormalEq, RowQr};
use lm::LmCore;
pub use lm::{MAX_RESTARTS, RESTART_DAMPING_FACTOR, RESTART_MIN_GAIN, VANISHED_COLUMN};
pub use model::Model;
pub use solver::{LmSolver, LmState, solve};

/// Settings of the Levenberg-Marquardt iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmConfig {
    /// Maximum number of iterations (Jacobian evaluations), restarts included.
    pub max_iter: u32,
    /// Converged when both the actual and the predicted relative reduction of the weighted RSS
    /// in one step are at most `ftol` (MINPACK `ftol`).
    pub ftol: f64,
    /// Converged when the scaled step is at most `xtol` times the scaled parameter norm,
    /// `||D delta|| <= xtol ||D p||` (MINPACK `xtol`).
    pub xtol: f64,
    /// Converged when the largest cosine between the residual vector and a Jacobian column is at
    /// most `gtol` (MINPACK `gtol`).
    pub gtol: f64,
    /// Initial damping `mu_0` relative to the scaled `J'J` (whose diagonal is 1 with Moré's
    /// scaling): `1e-3` trusts the start, `1` is cautious.
    pub initial_damping: f64,
    /// Converged when Bates and Watts' relative offset is at most `offset_tol` (0 = test off):
    /// `sqrt((||Q1'r||^2 / p) / (||Q2'r||^2 / (n - p)))`, the part of the residual vector in the
    /// tangent plane of the model relative to the part orthogonal to it, with `p` the free
    /// parameters (Bates & Watts 1981, *A relative offset orthogonality convergence criterion
    /// for nonlinear least squares*, Technometrics 23:179). It bounds the remaining Gauss-Newton
    /// step in units of the parameters' standard errors, `|delta_k| / se_k <= sqrt(p)` times
    /// the offset, so it states the statistical accuracy of the fit directly; needs `n > p`.
    pub offset_tol: f64,
    /// Use the model's analytic second derivatives, when it has them ([`Model::HAS_HESSIAN`]),
    /// for the full Newton model of the sum of squares ([`NormalEq::newton_cholesky`]) while
    /// its Hessian is positive definite. Gauss-Newton converges only linearly when the
    /// residuals are not small (on noisy 4PL data about one digit per iteration); Newton
    /// converges quadratically near the optimum. The standard errors still use `J'WJ`.
    pub second_order: bool,
}

impl Default for LmConfig {
    /// `max_iter = 10_000`, `ftol = xtol = 1e-15`, `gtol = 1e-15`, `initial_damping = 1e-3`,
    /// no relative-offset test, Gauss-Newton: iterate until nothing changes at machine
    /// precision. The iteration limit only matters for problems that creep along a curved
    /// valley: NIST's MGH10 from its first start needs 7,649 iterations.
    fn default() -> Self {
        Self {
            max_iter: 10_000,
            ftol: 1e-15,
            xtol: 1e-15,
            gtol: 1e-15,
            initial_damping: 1e-3,
            offset_tol: 0.0,
            second_order: false,
        }
    }
}

/// Why an iteration stopped. [`Termination::converged`] says whether the parameters are a
/// (local) least-squares optimum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// Relative RSS reduction (actual and predicted) below `ftol`.
    ConvergedFtol,
    /// Relative scaled step below `xtol`.
    ConvergedXtol,
    /// Residuals orthogonal to the Jacobian columns within `gtol`.
    ConvergedGtol,
    /// Relative offset (residuals against the model's tangent plane) below `offset_tol`.
    ConvergedOffset,
    /// The residuals are exactly zero.
    ExactFit,
    /// No step along the damped path reduces the RSS at working precision: optimum reached to
    /// machine precision (MINPACK `info` 6/7 with tolerances at `eps`).
    NoFurtherReduction,
    /// A free parameter stopped on its bound (see [`fit_bounded`]); the values are the best
    /// constrained fit, but not an unconstrained optimum (e.g. an incomplete 4PL curve).
    AtBound,
    /// `max_iter` iterations without meeting a convergence test.
    MaxIterations,
    /// The model gave a non-finite value or gradient at the starting point.
    NonFinite,
    /// Fewer usable data points than free parameters, or no distinct x values
    /// (set by [`crate::fit::maths::four_pl`]; the fit was not attempted).
    InsufficientData,
    /// All responses are equal: the curve parameters are not identifiable
    /// (set by [`crate::fit::maths::four_pl`]; the fit was not attempted).
    FlatResponse,
}

impl Termination {
    /// True for the variants meaning "least-squares optimum found".
    pub fn converged(self) -> bool {
        matches!(
            self,
            Self::ConvergedFtol
                | Self::ConvergedXtol
                | Self::ConvergedGtol
                | Self::ConvergedOffset
                | Self::ExactFit
                | Self::NoFurtherReduction
        )
    }

    /// A short human-readable explanation.
    pub fn reason(self) -> &'static str {
        match self {
            Self::ConvergedFtol => "converged: relative reduction of the sum of squares below ftol",
            Self::ConvergedXtol => "converged: relative step size below xtol",
            Self::ConvergedGtol => "converged: gradient orthogonal to residuals within gtol",
            Self::ConvergedOffset => {
                "converged: residuals orthogonal to the tangent plane within the relative offset"
            }
            Self::ExactFit => "converged: residuals are exactly zero",
            Self::NoFurtherReduction => {
                "converged: no further reduction of the sum of squares possible at machine precision"
            }
            Self::AtBound => {
                "a parameter stopped at its bound (incomplete or ill-determined curve)"
            }
            Self::MaxIterations => "maximum number of iterations reached",
            Self::NonFinite => "the model is not finite at the starting parameters",
            Self::InsufficientData => "too few data points or distinct concentrations to fit",
            Self::FlatResponse => "all responses are equal; curve parameters are not identifiable",
        }
    }
}

/// Result of [`fit`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmFit<const P: usize> {
    /// Final parameters (fixed ones unchanged).
    pub params: [f64; P],
    /// Weighted residual sum of squares `sum w_i (y_i - f(x_i; p))^2` at `params`.
    pub rss: f64,
    /// Iterations (Jacobian evaluations).
    pub iterations: u32,
    /// Passes over the data (residual-only plus Jacobian evaluations).
    pub evaluations: u32,
    /// Restarts after convergence to a degenerate stationary point ([`MAX_RESTARTS`]).
    pub restarts: u32,
    /// Why the iteration stopped.
    pub termination: Termination,
    /// The normal equations at `params` (columns of fixed parameters zero), as the iteration
    /// computed them; `None` when they are not finite. [`uncertainty::asymptotic_of`]
    /// reuses them for the standard errors instead of another pass over the data.
    pub normal: Option<NormalEq<P>>,
}

/// Weighted RSS of `model` at `p`; non-finite when the model is.
#[inline]
fn weighted_rss<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    p: &[f64; P],
) -> f64 {
    let mut s = 0.0;
    match weights {
        None => {
            for (xi, yi) in x.iter().zip(y) {
                let d = model.value(*xi, p) - yi;
                s += d * d;
            }
        }
        Some(w) => {
            for ((xi, yi), wi) in x.iter().zip(y).zip(w) {
                let d = model.value(*xi, p) - yi;
                s += wi * d * d;
            }
        }
    }
    s
}

/// The data and constraints of one least-squares problem; also the argmin problem type
/// ([`CostFunction`] = weighted RSS) for [`LmSolver`].
#[derive(Debug)]
pub struct LmProblem<'a, M, const P: usize> {
    /// The mean function.
    pub model: &'a M,
    /// Inputs (for the 4PL: log10 molar concentration, `-inf` allowed).
    pub x: &'a [f64],
    /// Observed responses.
    pub y: &'a [f64],
    /// Optional non-negative weights `w_i` (`None` = all 1).
    pub weights: Option<&'a [f64]>,
    /// `fixed[k]` keeps parameter `k` at its start value.
    pub fixed: [bool; P],
    /// Lower bounds (`-inf` = none).
    pub lower: [f64; P],
    /// Upper bounds (`+inf` = none).
    pub upper: [f64; P],
}

// By hand: the derives would require `M: Clone`, though only a reference to the model is held.
impl<M, const P: usize> Clone for LmProblem<'_, M, P> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<M, const P: usize> Copy for LmProblem<'_, M, P> {}

impl<'a, M: Model<P>, const P: usize> LmProblem<'a, M, P> {
    /// An unbounded problem with all parameters free.
    pub fn new(model: &'a M, x: &'a [f64], y: &'a [f64], weights: Option<&'a [f64]>) -> Self {
        Self {
            model,
            x,
            y,
            weights,
            fixed: [false; P],
            lower: [f64::NEG_INFINITY; P],
            upper: [f64::INFINITY; P],
        }
    }

    fn rss(&self, p: &[f64; P]) -> f64 {
        weighted_rss(self.model, self.x, self.y, self.weights, p)
    }
}

impl<M: Model<P>, const P: usize> CostFunction for LmProblem<'_, M, P> {
    type Param = [f64; P];
    type Output = f64;

    /// Weighted residual sum of squares.
    fn cost(&self, param: &Self::Param) -> Result<f64, ArgminError> {
        Ok(self.rss(param))
    }
}

/// Weighted least squares: minimise `sum w_i (y_i - f(x_i; p))^2` over the free parameters,
/// starting at `start`; `fixed[k] == true` keeps `params[k]` at its start value.
///
/// `weights`, if given, must have the length of `x` and be non-negative. `x` and `y` must have
/// the same length; `y` must be finite (filter missing values before calling). Never panics on
/// data: non-finite model values stop the fit with [`Termination::NonFinite`] (at the start) or
/// are treated as rejected steps (during the iteration).
pub fn fit<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    start: [f64; P],
    fixed: [bool; P],
    cfg: &LmConfig,
) -> LmFit<P> {
    let mut prob = LmProblem::new(model, x, y, weights);
    prob.fixed = fixed;
    run(&prob, start, cfg)
}

/// [`fit`] with box bounds `lower[k] <= p[k] <= upper[k]` on the free parameters (the start is
/// projected into the box). Ends with [`Termination::AtBound`] when the solution lies on a
/// bound it pushes against.
#[allow(clippy::too_many_arguments)]
pub fn fit_bounded<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    start: [f64; P],
    fixed: [bool; P],
    lower: [f64; P],
    upper: [f64; P],
    cfg: &LmConfig,
) -> LmFit<P> {
    let prob = LmProblem { model, x, y, weights, fixed, lower, upper };
    run(&prob, start, cfg)
}

/// Runs [`LmCore`] to termination on `prob` (the direct, Executor-free path).
pub fn run<M: Model<P>, const P: usize>(
    prob: &LmProblem<'_, M, P>,
    start: [f64; P],
    cfg: &LmConfig,
) -> LmFit<P> {
    assert_eq!(prob.x.len(), prob.y.len(), "x and y must have the same length");
    if let Some(w) = prob.weights {
        assert_eq!(w.len(), prob.x.len(), "weights must have the length of x");
    }
    let mut core = LmCore::new(prob, start, *cfg);
    loop {
        if let Some(t) = core.iterate(prob) {
            return core.result(t);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
