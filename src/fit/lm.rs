//! The Levenberg-Marquardt weighted least-squares engine.
//!
//! Owns the iteration (damping, step acceptance, termination), the row-wise QR factorisation of
//! the Jacobian it is built on ([`RowQr`]), and the argmin [`Solver`] wrapper ([`LmSolver`]).
//! It does not own models ([`crate::fit::model`]), standard errors ([`crate::fit::stats`]) or
//! 4PL starting values ([`crate::fit::four_pl`]).
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

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use argmin::core::{
    CostFunction, Error as ArgminError, KV, Problem, Solver, State, TerminationReason,
    TerminationStatus,
};

use crate::fit::model::Model;

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
    /// (set by [`crate::fit::four_pl`]; the fit was not attempted).
    InsufficientData,
    /// All responses are equal: the curve parameters are not identifiable
    /// (set by [`crate::fit::four_pl`]; the fit was not attempted).
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
    /// computed them; `None` when they are not finite. [`crate::fit::stats::asymptotic_of`]
    /// reuses them for the standard errors instead of another pass over the data.
    pub normal: Option<NormalEq<P>>,
}

/// Upper-triangular factor `R` of `J = Q R` and `Q'r`, accumulated one observation at a time
/// with Givens rotations (Golub & Van Loan, *Matrix Computations*, §5.1.8; MINPACK `rwupdt`).
/// `R'R = J'J` exactly up to rounding, without squaring the condition number.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowQr<const P: usize> {
    /// Upper triangle (entries below the diagonal are zero).
    pub r: [[f64; P]; P],
    /// `Q'r`, the rotated right-hand side.
    pub qtr: [f64; P],
    /// `sum r_i^2` of the added rows' right-hand sides.
    pub rss: f64,
}

impl<const P: usize> Default for RowQr<P> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const P: usize> RowQr<P> {
    /// An empty factorisation.
    pub fn new() -> Self {
        Self { r: [[0.0; P]; P], qtr: [0.0; P], rss: 0.0 }
    }

    /// Adds the row `a` (a Jacobian row) with right-hand side `b` (its residual).
    #[inline]
    pub fn add_row(&mut self, mut a: [f64; P], mut b: f64) {
        self.rss += b * b;
        rotate_in(&mut self.r, &mut self.qtr, &mut a, &mut b, 0);
    }

    /// Factorises the weighted Jacobian of `model` at `p` (columns with `mask[k]` set are zero).
    /// Returns `None` when a value or gradient is not finite.
    pub fn from_model<M: Model<P>>(
        model: &M,
        x: &[f64],
        y: &[f64],
        weights: Option<&[f64]>,
        p: &[f64; P],
        mask: &[bool; P],
    ) -> Option<Self> {
        let mut qr = Self::new();
        let mut g = [0.0; P];
        for i in 0..x.len() {
            let f = model.value_grad(x[i], p, &mut g);
            let sw = weights.map_or(1.0, |w| w[i].sqrt());
            let res = sw * (f - y[i]);
            if !res.is_finite() {
                return None;
            }
            for k in 0..P {
                g[k] = if mask[k] { 0.0 } else { sw * g[k] };
                if !g[k].is_finite() {
                    return None;
                }
            }
            qr.add_row(g, res);
        }
        Some(qr)
    }

    /// Euclidean norms of the Jacobian columns, `||J_j|| = ||R_j||`.
    pub fn column_norms(&self) -> [f64; P] {
        let mut n = [0.0; P];
        for (j, nj) in n.iter_mut().enumerate() {
            *nj = (0..=j).map(|i| self.r[i][j] * self.r[i][j]).sum::<f64>().sqrt();
        }
        n
    }

    /// Gradient of `S/2`: `J'r = R' Q'r`.
    pub fn gradient(&self) -> [f64; P] {
        let mut g = [0.0; P];
        for (j, gj) in g.iter_mut().enumerate() {
            *gj = (0..=j).map(|i| self.r[i][j] * self.qtr[i]).sum();
        }
        g
    }
}

/// Rotates row `a` (rhs `b`), whose entries before `start` are zero, into the triangle `r`.
#[inline]
fn rotate_in<const P: usize>(
    r: &mut [[f64; P]; P],
    qtr: &mut [f64; P],
    a: &mut [f64; P],
    b: &mut f64,
    start: usize,
) {
    for j in start..P {
        let aj = a[j];
        if aj == 0.0 {
            continue;
        }
        let rjj = r[j][j];
        // MINPACK-style Givens coefficients, overflow-safe without hypot.
        let (c, s) = if rjj.abs() < aj.abs() {
            let cot = rjj / aj;
            let s = 0.5 / (0.25 + 0.25 * cot * cot).sqrt();
            (s * cot, s)
        } else {
            let tan = aj / rjj;
            let c = 0.5 / (0.25 + 0.25 * tan * tan).sqrt();
            (c, c * tan)
        };
        r[j][j] = c * rjj + s * aj;
        for k in j + 1..P {
            let t = r[j][k];
            r[j][k] = c * t + s * a[k];
            a[k] = c * a[k] - s * t;
        }
        let t = qtr[j];
        qtr[j] = c * t + s * *b;
        *b = c * *b - s * t;
    }
}

/// Smallest pivot ratio `d_j / (J'J)_jj` accepted by [`NormalEq::cholesky`]: `d_j` is the
/// Cholesky pivot, i.e. `(J'J)_jj (1 - R_j^2)` with `R_j^2` the squared multiple correlation of
/// column `j` with the previous ones. Below it (columns dependent beyond 1 - 1e-6, i.e. a
/// column-wise condition number above ~1e3) the normal equations would lose more than ~6 of the
/// 16 digits and the Givens QR ([`RowQr::from_model`]) is used instead.
pub const CHOLESKY_MIN_PIVOT: f64 = 1e-6;

/// Smallest pivot ratio (as [`CHOLESKY_MIN_PIVOT`]) at which the damped steps are solved by a
/// Cholesky factorisation of `J'J + mu D^2` ([`damped_cholesky`]: 4 square roots) instead of
/// MINPACK's Givens rotations of `[R; sqrt(mu) D]` ([`damped_step`]: 10 for P = 4). Both are
/// accurate there (column dependencies below 0.9995, under ~3 digits lost); near-dependent
/// columns keep the rotations, whose rounding the NIST results were established with.
pub const DAMPED_CHOLESKY_MIN_PIVOT: f64 = 1e-3;

/// Normal equations of a weighted least-squares problem at one parameter vector, accumulated in
/// a single pass over the data: `A = J'WJ` (upper triangle), `b = J'W r` and the weighted RSS
/// `sum w_i r_i^2`, with `r_i = f(x_i; p) - y_i` and `J_ik = df/dp_k` (columns of masked
/// parameters are zero).
///
/// Cheaper than the row-wise Givens QR ([`RowQr`]: four rotations with a square root and
/// divisions per observation) by a multiply-add per entry of the triangle; the price is the
/// squared condition number, which [`NormalEq::cholesky`] checks (Golub & Van Loan, *Matrix
/// Computations*, §5.3.7, normal equations vs QR).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NormalEq<const P: usize> {
    /// Upper triangle of `J'WJ` (entries below the diagonal are not used).
    pub a: [[f64; P]; P],
    /// `J'W r`, the gradient of `S/2`.
    pub b: [f64; P],
    /// Weighted residual sum of squares.
    pub rss: f64,
    /// Upper triangle of `sum w_i r_i d2f/dp dp'` (the second-order part of the Hessian of
    /// `S/2`, which is `J'WJ` plus this), when accumulated with the model's second derivatives
    /// ([`NormalEq::from_model_second_order`]); zero otherwise.
    pub s: [[f64; P]; P],
}

impl<const P: usize> NormalEq<P> {
    /// Accumulates the normal equations of `model` at `p` (columns with `mask[k]` set are zero).
    /// Returns `None` when a value, gradient or the sums are not finite.
    ///
    /// A run of consecutive observations with the same `x` (bit for bit) shares one model
    /// evaluation: with `f`, `g` the value and gradient at that `x`, the run adds
    /// `(sum w_i) g g'` to `A`, `g sum w_i r_i` to `b` and `sum w_i r_i^2` to the RSS
    /// (replicates sorted by concentration halve the work of duplicate curves).
    #[inline]
    pub fn from_model<M: Model<P>>(
        model: &M,
        x: &[f64],
        y: &[f64],
        weights: Option<&[f64]>,
        p: &[f64; P],
        mask: &[bool; P],
    ) -> Option<Self> {
        Self::accumulate::<M, false>(model, x, y, weights, p, mask)
    }

    /// [`NormalEq::from_model`], also accumulating the second-order term [`NormalEq::s`] from
    /// the model's analytic second derivatives ([`Model::value_grad_hess`]; zero for a model
    /// without them).
    #[inline]
    pub fn from_model_second_order<M: Model<P>>(
        model: &M,
        x: &[f64],
        y: &[f64],
        weights: Option<&[f64]>,
        p: &[f64; P],
        mask: &[bool; P],
    ) -> Option<Self> {
        if M::HAS_HESSIAN {
            Self::accumulate::<M, true>(model, x, y, weights, p, mask)
        } else {
            Self::accumulate::<M, false>(model, x, y, weights, p, mask)
        }
    }

    #[inline]
    fn accumulate<M: Model<P>, const SECOND: bool>(
        model: &M,
        x: &[f64],
        y: &[f64],
        weights: Option<&[f64]>,
        p: &[f64; P],
        mask: &[bool; P],
    ) -> Option<Self> {
        let mut a = [[0.0; P]; P];
        let mut b = [0.0; P];
        let mut rss = 0.0;
        let mut s = [[0.0; P]; P];
        let mut g = [0.0; P];
        let mut h = [[0.0; P]; P];
        let n = x.len().min(y.len());
        let mut i = 0;
        while i < n {
            let xi = x[i];
            let f = if SECOND {
                model.value_grad_hess(xi, p, &mut g, &mut h)
            } else {
                model.value_grad(xi, p, &mut g)
            };
            // The run of observations at this x: sum of weights, of w r and of w r^2.
            let (mut sw, mut swr) = (0.0, 0.0);
            match weights {
                None => {
                    while i < n && x[i].to_bits() == xi.to_bits() {
                        let r = f - y[i];
                        sw += 1.0;
                        swr += r;
                        rss += r * r;
                        i += 1;
                    }
                }
                Some(w) => {
                    while i < n && x[i].to_bits() == xi.to_bits() {
                        let r = f - y[i];
                        let wr = w[i] * r;
                        sw += w[i];
                        swr += wr;
                        rss += wr * r;
                        i += 1;
                    }
                }
            }
            // Masked columns are accumulated too (their g may be anything) and zeroed below;
            // they do not touch the unmasked entries.
            for j in 0..P {
                b[j] += g[j] * swr;
                let gj = sw * g[j];
                for k in j..P {
                    a[j][k] += gj * g[k];
                }
            }
            if SECOND {
                for j in 0..P {
                    for k in j..P {
                        s[j][k] += swr * h[j][k];
                    }
                }
            }
        }
        // Masked columns: zero what was accumulated for them (their g may be anything).
        let ne = Self { a, b, rss, s }.masked(mask);
        ne.finite(SECOND).then_some(ne)
    }

    /// True when every entry is finite (`s` only when `second`). The off-diagonal entries of
    /// `J'WJ` need no check: `|g_j g_k| <= max(g_j^2, g_k^2)` term by term, so they are finite
    /// when the diagonal is.
    #[inline]
    fn finite(&self, second: bool) -> bool {
        let mut ok = self.rss.is_finite();
        for j in 0..P {
            ok &= self.b[j].is_finite() && self.a[j][j].is_finite();
            if second {
                for k in j..P {
                    ok &= self.s[j][k].is_finite();
                }
            }
        }
        ok
    }

    /// The normal equations with the columns of `mask` removed (zeroed).
    #[inline]
    pub fn masked(&self, mask: &[bool; P]) -> Self {
        let mut out = *self;
        for j in 0..P {
            for k in j..P {
                if mask[j] || mask[k] {
                    out.a[j][k] = 0.0;
                    out.s[j][k] = 0.0;
                }
            }
            if mask[j] {
                out.b[j] = 0.0;
            }
        }
        out
    }

    /// `R` and `Q'r` of the QR factorisation of `sqrt(W) J`, from the Cholesky factorisation
    /// `J'WJ = R'R` and `R' (Q'r) = J'W r` (Golub & Van Loan §4.2): the triangle [`RowQr`]
    /// would give up to row signs. Zero columns give zero rows. `None` when a pivot is below
    /// [`CHOLESKY_MIN_PIVOT`] times its diagonal entry (ill-conditioned: use the Givens QR).
    pub fn cholesky(&self) -> Option<RowQr<P>> {
        self.factor(&self.a)
    }

    /// The Newton analogue of [`NormalEq::cholesky`]: `R'R = J'WJ + S` ([`NormalEq::s`], the
    /// Hessian of `S/2`) and `R' z = J'W r`, so the damped step and the predicted reduction
    /// computed from `(R, z)` are those of the full quadratic model of the sum of squares
    /// (Dennis & Schnabel 1983, *Numerical methods for unconstrained optimization and
    /// nonlinear equations*, §10.3). `None` when that Hessian is not safely positive definite
    /// (same pivot test), e.g. far from the optimum with large residuals: use the
    /// Gauss-Newton `J'WJ` then.
    pub fn newton_cholesky(&self) -> Option<RowQr<P>> {
        self.factor(&self.newton_matrix())
    }

    /// Upper triangle of the Newton Hessian of `S/2`, `J'WJ + S`.
    fn newton_matrix(&self) -> [[f64; P]; P] {
        let mut m = self.a;
        for j in 0..P {
            for k in j..P {
                m[j][k] += self.s[j][k];
            }
        }
        m
    }

    /// Cholesky factor of the symmetric `m` (upper triangle) and `R^-T b`.
    #[inline]
    fn factor(&self, m: &[[f64; P]; P]) -> Option<RowQr<P>> {
        let mut r = [[0.0; P]; P];
        for j in 0..P {
            // A zero column of J (masked) gives a zero row.
            if self.a[j][j] == 0.0 {
                continue;
            }
            let ajj = m[j][j];
            let mut d = ajj;
            for i in 0..j {
                d -= r[i][j] * r[i][j];
            }
            if !(d >= CHOLESKY_MIN_PIVOT * ajj && d > 0.0) {
                return None;
            }
            let rjj = d.sqrt();
            r[j][j] = rjj;
            let inv = 1.0 / rjj;
            for k in j + 1..P {
                let mut v = m[j][k];
                for i in 0..j {
                    v -= r[i][j] * r[i][k];
                }
                r[j][k] = v * inv;
            }
        }
        let mut qtr = [0.0; P];
        for j in 0..P {
            if r[j][j] == 0.0 {
                continue;
            }
            let mut v = self.b[j];
            for i in 0..j {
                v -= r[i][j] * qtr[i];
            }
            qtr[j] = v / r[j][j];
        }
        Some(RowQr { r, qtr, rss: self.rss })
    }
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
#[derive(Debug, Clone, Copy)]
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

/// Restarts after convergence to a degenerate stationary point ([`LmCore::degenerate`]), each
/// from the start with [`RESTART_DAMPING_FACTOR`] times the previous initial damping.
pub const MAX_RESTARTS: u32 = 2;

/// Factor on the initial damping `mu_0` at each restart (a trust region ~30 times smaller).
pub const RESTART_DAMPING_FACTOR: f64 = 1e3;

/// A restart replaces the run it restarted from only when it lowers the RSS by more than this
/// fraction: on a plateau, rounding-level differences must not pick a different point.
pub const RESTART_MIN_GAIN: f64 = 1e-8;

/// A free parameter's Jacobian column counts as vanished when its norm is below this fraction
/// of its norm at the start.
pub const VANISHED_COLUMN: f64 = 1e-12;

/// A finished run kept while a restart tries to improve on it.
#[derive(Debug, Clone, Copy)]
struct Kept<const P: usize> {
    p: [f64; P],
    rss: f64,
    ne: Option<NormalEq<P>>,
    termination: Termination,
}

/// The iteration state shared by [`fit`] and [`LmSolver`]: one call to [`LmCore::iterate`] is
/// one Levenberg-Marquardt iteration (one Jacobian, as many trial steps as needed).
#[derive(Debug, Clone, Copy)]
struct LmCore<const P: usize> {
    cfg: LmConfig,
    p: [f64; P],
    rss: f64,
    mu: f64,
    nu: f64,
    diag: [f64; P],
    iterations: u32,
    evaluations: u32,
    first: bool,
    /// Normal equations at `p` (fixed columns zero; `None` when not finite). Each trial
    /// evaluates the Jacobian along with the residuals, so an accepted step needs no second
    /// pass over the data, and the final ones serve the standard errors.
    ne: Option<NormalEq<P>>,
    /// The (clamped) start, for restarts, and the Jacobian's column norms there.
    start: [f64; P],
    start_norms: [f64; P],
    /// Restarts so far and the initial damping of the current run.
    restarts: u32,
    mu0: f64,
    /// The best finished run so far, while a restart runs.
    kept: Option<Kept<P>>,
}

impl<const P: usize> LmCore<P> {
    fn new<M: Model<P>>(prob: &LmProblem<'_, M, P>, start: [f64; P], cfg: LmConfig) -> Self {
        let mut p = start;
        for k in 0..P {
            if !prob.fixed[k] {
                p[k] = p[k].clamp(prob.lower[k], prob.upper[k]);
            }
        }
        // The normal equations at the start (their RSS is the start's cost); the RSS alone when
        // the gradient is not finite (the first iteration then stops with `NonFinite`).
        let ne = Self::normal_eq(&cfg, prob, &p);
        let rss = ne.as_ref().map_or_else(|| prob.rss(&p), |q| q.rss);
        let evaluations = if ne.is_some() { 1 } else { 2 };
        let mut start_norms = [0.0; P];
        if let Some(q) = &ne {
            for k in 0..P {
                start_norms[k] = q.a[k][k].sqrt();
            }
        }
        Self {
            cfg,
            p,
            rss,
            mu: cfg.initial_damping,
            nu: 2.0,
            diag: [0.0; P],
            iterations: 0,
            evaluations,
            first: true,
            ne,
            start: p,
            start_norms,
            restarts: 0,
            mu0: cfg.initial_damping,
            kept: None,
        }
    }

    /// One iteration; `Some(reason)` when the iteration must stop.
    ///
    /// A run that converges to a degenerate stationary point ([`LmCore::degenerate`]) is kept
    /// and the iteration restarts from the start with [`RESTART_DAMPING_FACTOR`] times the
    /// initial damping, up to [`MAX_RESTARTS`] times; a restarted run is the result only when
    /// its cost is lower by more than [`RESTART_MIN_GAIN`]. The classic case is NIST's BoxBOD from its first start: the first, nearly
    /// Gauss-Newton, step sends the rate constant so far that `exp(-b2 x)` underflows; its
    /// column of `J` vanishes, and the RSS is stationary on the plateau that leaves (the mean
    /// of y), far from the optimum. A more damped first step stays in the valley.
    fn iterate<M: Model<P>>(&mut self, prob: &LmProblem<'_, M, P>) -> Option<Termination> {
        let t = self.step(prob)?;
        if t.converged()
            && t != Termination::ExactFit
            && self.restarts < MAX_RESTARTS
            && self.degenerate(&prob.fixed)
        {
            self.keep_best(t);
            self.restart(prob);
            return None;
        }
        if let Some(kept) = self.kept.take() {
            if !(self.rss < kept.rss * (1.0 - RESTART_MIN_GAIN)) {
                self.p = kept.p;
                self.rss = kept.rss;
                self.ne = kept.ne;
                return Some(kept.termination);
            }
        }
        Some(t)
    }

    /// The parameters and cost of the best point so far (the current one, unless a restart
    /// has not yet improved on a kept run): Levenberg-Marquardt only accepts steps that lower
    /// the cost, so this never increases.
    fn best(&self) -> ([f64; P], f64) {
        match &self.kept {
            Some(k) if !(self.rss < k.rss * (1.0 - RESTART_MIN_GAIN)) => (k.p, k.rss),
            _ => (self.p, self.rss),
        }
    }

    /// True when a free parameter's Jacobian column has vanished at `p`: its norm is below
    /// [`VANISHED_COLUMN`] times its norm at the start (e.g. an exponential rate sent to where
    /// the exponential underflows). The cost hardly depends on that parameter there, so a
    /// stationary point is no evidence of an optimum. (Relative to the start, not to the
    /// largest norm on the way: a path through extreme values, like MGH10's, can leave the
    /// columns at the optimum far below their peak.)
    fn degenerate(&self, fixed: &[bool; P]) -> bool {
        let Some(ne) = &self.ne else { return false };
        (0..P).any(|k| {
            !fixed[k]
                && self.start_norms[k] > 0.0
                && ne.a[k][k].sqrt() <= VANISHED_COLUMN * self.start_norms[k]
        })
    }

    /// Keeps the current run (termination `t`) if it is the best finished one so far.
    fn keep_best(&mut self, t: Termination) {
        let better = self.kept.as_ref().is_none_or(|k| self.rss < k.rss * (1.0 - RESTART_MIN_GAIN));
        if better {
            self.kept = Some(Kept { p: self.p, rss: self.rss, ne: self.ne, termination: t });
        }
    }

    /// Starts over from the start with more initial damping (the counters keep running).
    fn restart<M: Model<P>>(&mut self, prob: &LmProblem<'_, M, P>) {
        self.restarts += 1;
        self.mu0 *= RESTART_DAMPING_FACTOR;
        self.p = self.start;
        self.ne = Self::normal_eq(&self.cfg, prob, &self.p);
        self.rss = self.ne.as_ref().map_or_else(|| prob.rss(&self.p), |q| q.rss);
        self.evaluations += 1;
        self.mu = self.mu0;
        self.nu = 2.0;
        self.diag = [0.0; P];
        self.first = true;
    }

    /// One Levenberg-Marquardt iteration (see [`LmCore::iterate`]).
    fn step<M: Model<P>>(&mut self, prob: &LmProblem<'_, M, P>) -> Option<Termination> {
        if !self.rss.is_finite() {
            return Some(Termination::NonFinite);
        }
        if self.rss == 0.0 {
            return Some(Termination::ExactFit);
        }
        if self.iterations >= self.cfg.max_iter {
            return Some(Termination::MaxIterations);
        }
        self.iterations += 1;
        if self.ne.is_none() {
            self.evaluations += 1;
            self.ne = Self::normal_eq(&self.cfg, prob, &self.p);
        }
        // By reference: the normal equations are ~40 words, copies show in the profile.
        let Some(ne) = self.ne.as_ref() else {
            return Some(Termination::NonFinite);
        };
        // Active set: free parameters on a bound with the descent direction (-g) pointing out.
        let g = ne.b;
        let mut mask = prob.fixed;
        let mut any_active = false;
        for k in 0..P {
            if !mask[k]
                && ((self.p[k] <= prob.lower[k] && g[k] > 0.0)
                    || (self.p[k] >= prob.upper[k] && g[k] < 0.0))
            {
                mask[k] = true;
                any_active = true;
            }
        }
        let masked;
        let ne = if any_active {
            masked = ne.masked(&mask);
            &masked
        } else {
            ne
        };
        // R from the Cholesky factor of the Newton Hessian when configured and positive
        // definite, else of J'J when well-conditioned (keeping the matrix for the damped
        // steps), else from a Givens QR pass.
        let newton = (self.cfg.second_order && M::HAS_HESSIAN).then(|| ne.newton_matrix());
        let chol = newton
            .and_then(|m| ne.factor(&m).map(|q| (q, m)))
            .or_else(|| ne.cholesky().map(|q| (q, ne.a)));
        let (qr, matrix) = match chol {
            Some((q, m)) => {
                // Damped steps by Cholesky only where the matrix is well-conditioned
                // ([`DAMPED_CHOLESKY_MIN_PIVOT`]); otherwise MINPACK's rotations on R.
                let well = (0..P).all(|j| {
                    m[j][j] == 0.0 || q.r[j][j] * q.r[j][j] >= DAMPED_CHOLESKY_MIN_PIVOT * m[j][j]
                });
                (q, well.then_some(m))
            }
            None => {
                self.evaluations += 1;
                match RowQr::from_model(prob.model, prob.x, prob.y, prob.weights, &self.p, &mask) {
                    Some(q) => (q, None),
                    None => return Some(Termination::NonFinite),
                }
            }
        };
        let mut norms = [0.0; P];
        for k in 0..P {
            norms[k] = ne.a[k][k].sqrt();
        }
        let g = ne.b;
        // gtol: max_j |J_j' r| / (||J_j|| ||r||).
        let rnorm = self.rss.sqrt();
        let mut gnorm = 0.0f64;
        for k in 0..P {
            if !mask[k] && norms[k] > 0.0 {
                gnorm = gnorm.max(g[k].abs() / (norms[k] * rnorm));
            }
        }
        if gnorm <= self.cfg.gtol {
            return Some(if any_active {
                Termination::AtBound
            } else {
                Termination::ConvergedGtol
            });
        }
        if self.cfg.offset_tol > 0.0 && self.offset_converged(&qr, &mask, prob.x.len()) {
            return Some(if any_active {
                Termination::AtBound
            } else {
                Termination::ConvergedOffset
            });
        }
        // Moré's scaling: D_j = max over iterations of ||J_j|| (1 for a zero column).
        for k in 0..P {
            let d = if norms[k] > 0.0 { norms[k] } else { 1.0 };
            self.diag[k] = if self.first { d } else { self.diag[k].max(d) };
        }
        self.first = false;
        let pnorm = scaled_norm(&self.diag, &self.p, &mask);
        loop {
            // The damped system by Cholesky when the (well-conditioned) matrix is at hand:
            // 4 square roots instead of the 10 Givens rotations of `damped_step`.
            let (delta, dnorm2) = matrix
                .as_ref()
                .and_then(|m| damped_cholesky(m, &g, &self.diag, self.mu, &mask))
                .unwrap_or_else(|| damped_step(&qr, &self.diag, self.mu, &mask));
            let mut trial = self.p;
            let mut clamped = false;
            for k in 0..P {
                if !mask[k] {
                    let t = (self.p[k] + delta[k]).clamp(prob.lower[k], prob.upper[k]);
                    clamped |= t != self.p[k] + delta[k];
                    trial[k] = t;
                }
            }
            let mut step = [0.0; P];
            for k in 0..P {
                step[k] = trial[k] - self.p[k];
            }
            let snorm = scaled_norm(&self.diag, &step, &mask);
            // Predicted reduction of S, relative to S.
            let pred = if clamped {
                let mut a = 0.0;
                let mut b = 0.0;
                for i in 0..P {
                    let mut v = qr.qtr[i];
                    for j in i..P {
                        v += qr.r[i][j] * step[j];
                    }
                    a += qr.qtr[i] * qr.qtr[i];
                    b += v * v;
                }
                (a - b) / self.rss
            } else {
                let mut rd2 = 0.0;
                for i in 0..P {
                    let v: f64 = (i..P).map(|j| qr.r[i][j] * delta[j]).sum();
                    rd2 += v * v;
                }
                (rd2 + 2.0 * self.mu * dnorm2) / self.rss
            };
            let trial_ne = Self::normal_eq(&self.cfg, prob, &trial);
            let trial_rss = trial_ne.as_ref().map_or(f64::NAN, |q| q.rss);
            self.evaluations += 1;
            let ared =
                if trial_rss.is_finite() { 1.0 - trial_rss / self.rss } else { f64::NEG_INFINITY };
            let rho = if pred > 0.0 { ared / pred } else { -1.0 };
            if rho > 1e-4 {
                self.p = trial;
                self.rss = trial_rss;
                self.ne = trial_ne;
                self.mu *= (1.0 - (2.0 * rho - 1.0).powi(3)).max(1.0 / 3.0);
                self.mu = self.mu.max(1e-300);
                self.nu = 2.0;
                let at_bound = (0..P).any(|k| {
                    !prob.fixed[k] && (trial[k] <= prob.lower[k] || trial[k] >= prob.upper[k])
                });
                if trial_rss == 0.0 {
                    return Some(Termination::ExactFit);
                }
                if ared.abs() <= self.cfg.ftol && pred <= self.cfg.ftol && rho <= 2.0 {
                    return Some(if at_bound {
                        Termination::AtBound
                    } else {
                        Termination::ConvergedFtol
                    });
                }
                if snorm <= self.cfg.xtol * pnorm {
                    return Some(if at_bound {
                        Termination::AtBound
                    } else {
                        Termination::ConvergedXtol
                    });
                }
                return None;
            }
            // Rejected. MINPACK applies its ftol/xtol tests after every trial, accepted or not:
            // a rejected step that is already below the tolerances means we are at the optimum.
            if !clamped && ared.abs() <= self.cfg.ftol && pred <= self.cfg.ftol {
                return Some(if any_active {
                    Termination::AtBound
                } else {
                    Termination::ConvergedFtol
                });
            }
            if snorm <= self.cfg.xtol * pnorm {
                return Some(if any_active {
                    Termination::AtBound
                } else {
                    Termination::ConvergedXtol
                });
            }
            // Increase damping; stop when no representable step can help.
            // (A clamped step's predicted reduction says nothing about the unconstrained path.)
            if snorm <= f64::EPSILON * pnorm
                || (!clamped && pred <= f64::EPSILON && ared <= 0.0)
                || snorm == 0.0
            {
                return Some(if any_active {
                    Termination::AtBound
                } else {
                    Termination::NoFurtherReduction
                });
            }
            self.mu *= self.nu;
            self.nu *= 2.0;
            if !self.mu.is_finite() {
                return Some(Termination::NoFurtherReduction);
            }
        }
    }

    /// The normal equations of `prob` at `p` (with the second-order term when configured).
    #[inline]
    fn normal_eq<M: Model<P>>(
        cfg: &LmConfig,
        prob: &LmProblem<'_, M, P>,
        p: &[f64; P],
    ) -> Option<NormalEq<P>> {
        let LmProblem { model, x, y, weights, fixed, .. } = prob;
        if cfg.second_order {
            NormalEq::from_model_second_order(*model, x, y, *weights, p, fixed)
        } else {
            NormalEq::from_model(*model, x, y, *weights, p, fixed)
        }
    }

    /// Bates and Watts' relative offset test ([`LmConfig::offset_tol`]) on the factorisation
    /// `qr` of the current Jacobian (masked columns excluded) for `n` observations.
    fn offset_converged(&self, qr: &RowQr<P>, mask: &[bool; P], n: usize) -> bool {
        let free = mask.iter().filter(|m| !**m).count();
        if free == 0 || n <= free {
            return false;
        }
        // ||Q1'r||^2 (tangent plane) and ||Q2'r||^2 = RSS - ||Q1'r||^2 (its complement).
        let tangent: f64 = qr.qtr.iter().map(|v| v * v).sum();
        let normal = self.rss - tangent;
        let tol = self.cfg.offset_tol;
        tangent * (n - free) as f64 <= tol * tol * free as f64 * normal
    }

    fn result(&self, termination: Termination) -> LmFit<P> {
        LmFit {
            params: self.p,
            rss: self.rss,
            iterations: self.iterations,
            evaluations: self.evaluations,
            restarts: self.restarts,
            termination,
            normal: self.ne,
        }
    }
}

/// `||D v||` over the unmasked components.
#[inline]
fn scaled_norm<const P: usize>(d: &[f64; P], v: &[f64; P], mask: &[bool; P]) -> f64 {
    let mut s = 0.0;
    for k in 0..P {
        if !mask[k] {
            s += (d[k] * v[k]) * (d[k] * v[k]);
        }
    }
    s.sqrt()
}

/// Solves `min ||[R; sqrt(mu) D] delta + [Q'r; 0]||` (MINPACK `qrsolv`): the diagonal rows are
/// rotated into a copy of `R`, then back-substitution. Masked components get `delta = 0`.
/// Returns `(delta, ||D delta||^2)`.
#[inline]
fn damped_step<const P: usize>(
    qr: &RowQr<P>,
    diag: &[f64; P],
    mu: f64,
    mask: &[bool; P],
) -> ([f64; P], f64) {
    let mut s = qr.r;
    let mut z = qr.qtr;
    let sm = mu.sqrt();
    for j in 0..P {
        if mask[j] {
            continue;
        }
        let mut a = [0.0; P];
        a[j] = sm * diag[j];
        let mut b = 0.0;
        rotate_in(&mut s, &mut z, &mut a, &mut b, j);
    }
    let mut delta = [0.0; P];
    for i in (0..P).rev() {
        if mask[i] || s[i][i] == 0.0 {
            continue;
        }
        let mut v = -z[i];
        for j in i + 1..P {
            v -= s[i][j] * delta[j];
        }
        delta[i] = v / s[i][i];
    }
    let mut dn = 0.0;
    for k in 0..P {
        dn += (diag[k] * delta[k]) * (diag[k] * delta[k]);
    }
    (delta, dn)
}

/// Solves `(M + mu D^2) delta = -g` by Cholesky, for `M` (upper triangle) positive definite over
/// the unmasked components (a matrix [`NormalEq::cholesky`] accepted): the step of
/// [`damped_step`] without its Givens rotations. Masked components get `delta = 0`. `None` if a
/// pivot is not positive (then use [`damped_step`]). Returns `(delta, ||D delta||^2)`.
#[inline]
fn damped_cholesky<const P: usize>(
    m: &[[f64; P]; P],
    g: &[f64; P],
    diag: &[f64; P],
    mu: f64,
    mask: &[bool; P],
) -> Option<([f64; P], f64)> {
    let mut r = [[0.0; P]; P];
    let mut inv = [0.0; P];
    for j in 0..P {
        if mask[j] {
            continue;
        }
        let mut d = m[j][j] + mu * diag[j] * diag[j];
        for i in 0..j {
            d -= r[i][j] * r[i][j];
        }
        if !(d > 0.0) {
            return None;
        }
        let rjj = d.sqrt();
        r[j][j] = rjj;
        inv[j] = 1.0 / rjj;
        for k in j + 1..P {
            if mask[k] {
                continue;
            }
            let mut v = m[j][k];
            for i in 0..j {
                v -= r[i][j] * r[i][k];
            }
            r[j][k] = v * inv[j];
        }
    }
    // R'u = -g, then R delta = u.
    let mut u = [0.0; P];
    for j in 0..P {
        if mask[j] {
            continue;
        }
        let mut v = -g[j];
        for i in 0..j {
            v -= r[i][j] * u[i];
        }
        u[j] = v * inv[j];
    }
    let mut delta = [0.0; P];
    for j in (0..P).rev() {
        if mask[j] {
            continue;
        }
        let mut v = u[j];
        for k in j + 1..P {
            v -= r[j][k] * delta[k];
        }
        delta[j] = v * inv[j];
    }
    let mut dn = 0.0;
    for k in 0..P {
        dn += (diag[k] * delta[k]) * (diag[k] * delta[k]);
    }
    delta.iter().all(|v| v.is_finite()).then_some((delta, dn))
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

/// The same Levenberg-Marquardt iteration as [`fit`], as an argmin [`Solver`]:
///
/// ```
/// use argmin::core::{Executor, State};
/// use radbind::fit::{lm::{LmProblem, LmSolver}, model::FourPl};
/// let x = [-9.0, -8.0, -7.0, -6.0, -5.0];
/// let y = [99.0, 91.0, 50.0, 9.0, 1.0];
/// let res = Executor::new(LmProblem::new(&FourPl, &x, &y, None), LmSolver::default())
///     .configure(|s| s.param([100.0, 0.0, -1.0, -7.0]).max_iters(100))
///     .run()
///     .expect("fit runs");
/// assert!(res.solver.termination().expect("terminated").converged());
/// let p = res.state.get_best_param().expect("has a parameter");
/// assert!((p[3] + 7.0).abs() < 0.05);
/// ```
///
/// argmin's own `max_iters` applies in addition to [`LmConfig::max_iter`]. On convergence the
/// state terminates with `SolverConverged`; other endings use `SolverExit(reason)`.
#[derive(Debug, Clone, Default)]
pub struct LmSolver<const P: usize> {
    /// Settings of the iteration.
    pub cfg: LmConfig,
    /// Boxed: argmin's Executor moves the solver by value several times per run (builder
    /// calls, `run(self)`, the result), and the iteration state is ~60 words for P = 4.
    core: Option<Box<LmCore<P>>>,
    termination: Option<Termination>,
}

impl<const P: usize> LmSolver<P> {
    /// A solver with the given settings.
    pub fn new(cfg: LmConfig) -> Self {
        Self { cfg, core: None, termination: None }
    }

    /// How the last run ended (`None` before it ended, or if argmin stopped it first).
    pub fn termination(&self) -> Option<Termination> {
        self.termination
    }

    /// The last run as an [`LmFit`] (`None` before `init`).
    pub fn result(&self) -> Option<LmFit<P>> {
        let t = self.termination.unwrap_or(Termination::MaxIterations);
        self.core.as_ref().map(|c| c.result(t))
    }
}

/// argmin state of [`LmSolver`]: the parameters `[f64; P]`, the cost (weighted RSS), the
/// iteration counters and the termination status; configured like argmin's `IterState`
/// (`configure(|s| s.param(p0).max_iters(n))`).
///
/// Why not `IterState`: argmin's Executor moves the state by value several times per iteration
/// (into `next_iter`, out of it, through the termination checks). `IterState<[f64; 4], ...>`
/// is ~400 bytes (current, previous, best and previous best parameters, a `HashMap` of
/// function counts, ...), and those moves cost about 12% of a 20-point 4PL fit; this state is
/// about a quarter of that size.
///
/// The parameters reported are the best so far: Levenberg-Marquardt accepts a step only when it
/// lowers the cost, and while a restart ([`MAX_RESTARTS`]) has not yet improved on the run it
/// restarted from, that run's parameters are reported. So the cost never increases,
/// [`State::get_best_param`] returns the current parameters, and there is no previous
/// parameter vector. Function counts are not kept ([`State::get_func_counts`] is empty; see
/// [`LmFit::evaluations`]). Elapsed time is kept when the Executor's timer is on.
#[derive(Debug, Clone, PartialEq)]
pub struct LmState<const P: usize> {
    param: Option<[f64; P]>,
    cost: f64,
    best_cost: f64,
    iter: u64,
    last_best_iter: u64,
    max_iters: u64,
    time: Option<Duration>,
    termination_status: TerminationStatus,
}

impl<const P: usize> LmState<P> {
    /// Sets the (starting) parameters.
    #[must_use]
    pub fn param(mut self, param: [f64; P]) -> Self {
        self.param = Some(param);
        self
    }

    /// Sets the cost at the current parameters.
    #[must_use]
    pub fn cost(mut self, cost: f64) -> Self {
        self.cost = cost;
        self
    }

    /// Sets argmin's iteration limit (in addition to [`LmConfig::max_iter`]).
    #[must_use]
    pub fn max_iters(mut self, iters: u64) -> Self {
        self.max_iters = iters;
        self
    }
}

/// The (empty) function counts every [`LmState`] reports.
static NO_COUNTS: LazyLock<HashMap<String, u64>> = LazyLock::new(HashMap::new);

impl<const P: usize> State for LmState<P> {
    type Param = [f64; P];
    type Float = f64;

    fn new() -> Self {
        Self {
            param: None,
            cost: f64::INFINITY,
            best_cost: f64::INFINITY,
            iter: 0,
            last_best_iter: 0,
            max_iters: u64::MAX,
            time: Some(Duration::ZERO),
            termination_status: TerminationStatus::NotTerminated,
        }
    }

    fn update(&mut self) {
        if self.cost < self.best_cost {
            self.best_cost = self.cost;
            self.last_best_iter = self.iter;
        }
    }

    fn get_param(&self) -> Option<&[f64; P]> {
        self.param.as_ref()
    }

    fn get_best_param(&self) -> Option<&[f64; P]> {
        self.param.as_ref()
    }

    fn get_max_iters(&self) -> u64 {
        self.max_iters
    }

    fn increment_iter(&mut self) {
        self.iter += 1;
    }

    fn get_iter(&self) -> u64 {
        self.iter
    }

    fn get_cost(&self) -> f64 {
        self.cost
    }

    fn get_best_cost(&self) -> f64 {
        self.best_cost
    }

    fn get_target_cost(&self) -> f64 {
        f64::NEG_INFINITY
    }

    fn func_counts<O>(&mut self, _problem: &Problem<O>) {}

    fn get_func_counts(&self) -> &HashMap<String, u64> {
        &NO_COUNTS
    }

    fn time(&mut self, time: Option<Duration>) -> &mut Self {
        self.time = time;
        self
    }

    fn get_time(&self) -> Option<Duration> {
        self.time
    }

    fn get_last_best_iter(&self) -> u64 {
        self.last_best_iter
    }

    fn is_best(&self) -> bool {
        self.last_best_iter == self.iter
    }

    fn terminate_with(mut self, reason: TerminationReason) -> Self {
        self.termination_status = TerminationStatus::Terminated(reason);
        self
    }

    fn get_termination_status(&self) -> &TerminationStatus {
        &self.termination_status
    }

    fn get_termination_reason(&self) -> Option<&TerminationReason> {
        match &self.termination_status {
            TerminationStatus::Terminated(reason) => Some(reason),
            TerminationStatus::NotTerminated => None,
        }
    }
}

/// The problem inside argmin's [`Problem`] wrapper, read directly.
///
/// `Problem::problem(name, f)` would also count the call under `name` in a `HashMap`: a SipHash
/// of the name on every iteration and an allocation on the first, which on a 20-point 4PL curve
/// cost more than the model evaluations they count. [`LmFit::evaluations`] has the counts.
fn operator<O>(problem: &Problem<O>) -> Result<&O, ArgminError> {
    problem.problem.as_ref().ok_or_else(argmin::argmin_error_closure!(
        NotInitialized,
        "argmin's Problem holds no problem (it was taken)"
    ))
}

impl<'a, M: Model<P>, const P: usize> Solver<LmProblem<'a, M, P>, LmState<P>> for LmSolver<P> {
    fn name(&self) -> &str {
        "Levenberg-Marquardt"
    }

    fn init(
        &mut self,
        problem: &mut Problem<LmProblem<'a, M, P>>,
        state: LmState<P>,
    ) -> Result<(LmState<P>, Option<KV>), ArgminError> {
        let start = *state.get_param().ok_or_else(argmin::argmin_error_closure!(
            NotInitialized,
            "LmSolver needs a start: configure(|s| s.param(p0))"
        ))?;
        let core = LmCore::new(operator(problem)?, start, self.cfg);
        let state = state.param(core.p).cost(core.rss);
        self.core = Some(Box::new(core));
        self.termination = None;
        Ok((state, None))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<LmProblem<'a, M, P>>,
        mut state: LmState<P>,
    ) -> Result<(LmState<P>, Option<KV>), ArgminError> {
        let core = self.core.as_mut().ok_or_else(argmin::argmin_error_closure!(
            NotInitialized,
            "LmSolver::next_iter called before init"
        ))?;
        let outcome = core.iterate(operator(problem)?);
        // In place rather than through the by-value builders (each would move the state).
        let (p, cost) = core.best();
        state.param = Some(p);
        state.cost = cost;
        if let Some(t) = outcome {
            self.termination = Some(t);
            state.termination_status = TerminationStatus::Terminated(if t.converged() {
                TerminationReason::SolverConverged
            } else {
                TerminationReason::SolverExit(t.reason().to_string())
            });
        }
        Ok((state, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::model::FourPl;
    use approx::assert_relative_eq;

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
        let cfg = crate::fit::four_pl::FOUR_PL_LM;
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
