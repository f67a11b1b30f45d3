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
//! implementation and theory*, eq. 4.5). Termination tests are MINPACK's `ftol`, `xtol`, `gtol`.
//!
//! Optional box bounds ([`fit_bounded`]) are handled by projection plus an active set: a
//! parameter sitting on a bound with the gradient pushing outwards is held for that iteration.
//!
//! No heap allocation happens inside the iteration: all state is `[f64; P]` / `[[f64; P]; P]`.

use argmin::core::{
    CostFunction, Error as ArgminError, IterState, KV, Problem, Solver, State, TerminationReason,
};

use crate::fit::model::Model;

/// Settings of the Levenberg-Marquardt iteration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LmConfig {
    /// Maximum number of iterations (Jacobian evaluations).
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
}

impl Default for LmConfig {
    /// `max_iter = 1000`, `ftol = xtol = 1e-15`, `gtol = 1e-15`, `initial_damping = 1e-3`.
    fn default() -> Self {
        Self { max_iter: 1000, ftol: 1e-15, xtol: 1e-15, gtol: 1e-15, initial_damping: 1e-3 }
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
    /// Why the iteration stopped.
    pub termination: Termination,
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
}

impl<const P: usize> NormalEq<P> {
    /// Accumulates the normal equations of `model` at `p` (columns with `mask[k]` set are zero).
    /// Returns `None` when a value, gradient or the sums are not finite.
    #[inline]
    pub fn from_model<M: Model<P>>(
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
        let mut g = [0.0; P];
        let mut keep = [1.0; P];
        for k in 0..P {
            if mask[k] {
                keep[k] = 0.0;
            }
        }
        match weights {
            None => {
                for (xi, yi) in x.iter().zip(y) {
                    let r = model.value_grad(*xi, p, &mut g) - yi;
                    rss += r * r;
                    for j in 0..P {
                        let gj = keep[j] * g[j];
                        b[j] += gj * r;
                        for k in j..P {
                            a[j][k] += gj * g[k];
                        }
                    }
                }
            }
            Some(w) => {
                for ((xi, yi), wi) in x.iter().zip(y).zip(w) {
                    let r = model.value_grad(*xi, p, &mut g) - yi;
                    rss += (wi * r) * r;
                    for j in 0..P {
                        let gj = keep[j] * (wi * g[j]);
                        b[j] += gj * r;
                        for k in j..P {
                            a[j][k] += gj * g[k];
                        }
                    }
                }
            }
        }
        // Masked columns: zero whatever 0 * g (with g non-finite) left behind.
        for j in 0..P {
            for k in j..P {
                if mask[j] || mask[k] {
                    a[j][k] = 0.0;
                }
            }
            if mask[j] {
                b[j] = 0.0;
            }
        }
        let finite = rss.is_finite()
            && b.iter().all(|v| v.is_finite())
            && a.iter().all(|row| row.iter().all(|v| v.is_finite()));
        finite.then_some(Self { a, b, rss })
    }

    /// The normal equations with the columns of `mask` removed (zeroed).
    pub fn masked(&self, mask: &[bool; P]) -> Self {
        let mut out = *self;
        for j in 0..P {
            for k in j..P {
                if mask[j] || mask[k] {
                    out.a[j][k] = 0.0;
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
        let mut r = [[0.0; P]; P];
        for j in 0..P {
            let ajj = self.a[j][j];
            if ajj == 0.0 {
                continue;
            }
            let mut d = ajj;
            for i in 0..j {
                d -= r[i][j] * r[i][j];
            }
            if !(d >= CHOLESKY_MIN_PIVOT * ajj) {
                return None;
            }
            let rjj = d.sqrt();
            r[j][j] = rjj;
            let inv = 1.0 / rjj;
            for k in j + 1..P {
                let mut v = self.a[j][k];
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
    /// Normal equations at `p` from the accepted trial (each trial evaluates the Jacobian along
    /// with the residuals, so an accepted step needs no second pass over the data).
    pending: Option<NormalEq<P>>,
}

impl<const P: usize> LmCore<P> {
    fn new<M: Model<P>>(prob: &LmProblem<'_, M, P>, start: [f64; P], cfg: LmConfig) -> Self {
        let mut p = start;
        for k in 0..P {
            if !prob.fixed[k] {
                p[k] = p[k].clamp(prob.lower[k], prob.upper[k]);
            }
        }
        let rss = prob.rss(&p);
        Self {
            cfg,
            p,
            rss,
            mu: cfg.initial_damping,
            nu: 2.0,
            diag: [0.0; P],
            iterations: 0,
            evaluations: 1,
            first: true,
            pending: None,
        }
    }

    /// One iteration; `Some(reason)` when the iteration must stop.
    fn iterate<M: Model<P>>(&mut self, prob: &LmProblem<'_, M, P>) -> Option<Termination> {
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
        let ne = match self.pending.take() {
            Some(q) => q,
            None => {
                self.evaluations += 1;
                match NormalEq::from_model(
                    prob.model,
                    prob.x,
                    prob.y,
                    prob.weights,
                    &self.p,
                    &prob.fixed,
                ) {
                    Some(q) => q,
                    None => return Some(Termination::NonFinite),
                }
            }
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
        let ne = if any_active { ne.masked(&mask) } else { ne };
        // R from the Cholesky factor of J'J when well-conditioned, else from a Givens QR pass.
        let qr = match ne.cholesky() {
            Some(q) => q,
            None => {
                self.evaluations += 1;
                match RowQr::from_model(prob.model, prob.x, prob.y, prob.weights, &self.p, &mask) {
                    Some(q) => q,
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
        // Moré's scaling: D_j = max over iterations of ||J_j|| (1 for a zero column).
        for k in 0..P {
            let d = if norms[k] > 0.0 { norms[k] } else { 1.0 };
            self.diag[k] = if self.first { d } else { self.diag[k].max(d) };
        }
        self.first = false;
        let pnorm = scaled_norm(&self.diag, &self.p, &mask);
        loop {
            let (delta, dnorm2) = damped_step(&qr, &self.diag, self.mu, &mask);
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
            let trial_ne =
                NormalEq::from_model(prob.model, prob.x, prob.y, prob.weights, &trial, &prob.fixed);
            let trial_rss = trial_ne.as_ref().map_or(f64::NAN, |q| q.rss);
            self.evaluations += 1;
            let ared =
                if trial_rss.is_finite() { 1.0 - trial_rss / self.rss } else { f64::NEG_INFINITY };
            let rho = if pred > 0.0 { ared / pred } else { -1.0 };
            if rho > 1e-4 {
                self.p = trial;
                self.rss = trial_rss;
                self.pending = trial_ne;
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

    fn result(&self, termination: Termination) -> LmFit<P> {
        LmFit {
            params: self.p,
            rss: self.rss,
            iterations: self.iterations,
            evaluations: self.evaluations,
            termination,
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
#[derive(Debug, Clone, Copy, Default)]
pub struct LmSolver<const P: usize> {
    /// Settings of the iteration.
    pub cfg: LmConfig,
    core: Option<LmCore<P>>,
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
        self.core.map(|c| c.result(t))
    }
}

/// argmin state used by [`LmSolver`]: parameter `[f64; P]`, cost `f64`.
pub type LmState<const P: usize> = IterState<[f64; P], (), (), (), (), f64>;

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
        let cfg = self.cfg;
        let core = problem.problem("cost_count", |prob| Ok(LmCore::new(prob, start, cfg)))?;
        self.core = Some(core);
        self.termination = None;
        Ok((state.param(core.p).cost(core.rss), None))
    }

    fn next_iter(
        &mut self,
        problem: &mut Problem<LmProblem<'a, M, P>>,
        state: LmState<P>,
    ) -> Result<(LmState<P>, Option<KV>), ArgminError> {
        let mut core = self.core.expect("init() runs before next_iter() in argmin's Executor");
        let outcome = problem.problem("lm_iteration_count", |prob| Ok(core.iterate(prob)))?;
        self.core = Some(core);
        let mut state = state.param(core.p).cost(core.rss);
        if let Some(t) = outcome {
            self.termination = Some(t);
            state = state.terminate_with(if t.converged() {
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
        let mut ne2 = NormalEq::<2> { a: [[1.0, 1.0 - 1e-9], [0.0, 1.0]], b: [0.0; 2], rss: 1.0 };
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
    }
}
