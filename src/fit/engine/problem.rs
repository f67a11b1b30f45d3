//! One least-squares problem and its outcome: the data and constraints ([`LmProblem`], also the
//! argmin problem type), the settings ([`LmConfig`]) and the result ([`LmFit`],
//! [`Termination`]). Shared by the iteration (`lm`), the argmin solver and the uncertainty.

use argmin::core::{CostFunction, Error as ArgminError};

use crate::fit::engine::linalg::NormalEq;
use crate::fit::engine::model::Model;

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
    /// for the full Newton model of the sum of squares ([`NormalEq::newton_cholesky`](crate::fit::engine::NormalEq::newton_cholesky)) while
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
    /// A free parameter stopped on its bound (see [`fit_bounded`](crate::fit::engine::fit_bounded)); the values are the best
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

/// Result of [`fit`](crate::fit::engine::fit).
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
    /// Restarts after convergence to a degenerate stationary point ([`MAX_RESTARTS`](crate::fit::engine::MAX_RESTARTS)).
    pub restarts: u32,
    /// Why the iteration stopped.
    pub termination: Termination,
    /// The normal equations at `params` (columns of fixed parameters zero), as the iteration
    /// computed them; `None` when they are not finite. [`uncertainty::asymptotic_of`](crate::fit::engine::uncertainty::asymptotic_of)
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
/// ([`CostFunction`] = weighted RSS) for [`LmSolver`](crate::fit::engine::LmSolver).
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

    pub(crate) fn rss(&self, p: &[f64; P]) -> f64 {
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
