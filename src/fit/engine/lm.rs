//! The Levenberg-Marquardt iteration itself ([`LmCore`]): damping, step acceptance, the
//! active set of bounds, termination tests and restarts from degenerate stationary points.
//! Shared by the direct path ([`run`], [`fit`], [`fit_bounded`]) and the argmin
//! [`crate::fit::engine::LmSolver`].

use crate::fit::engine::linalg::{
    DAMPED_CHOLESKY_MIN_PIVOT, NormalEq, RowQr, damped_cholesky, damped_step, damping_after_accept,
    scaled_norm,
};
use crate::fit::engine::model::Model;
use crate::fit::engine::problem::{LmConfig, LmFit, LmProblem, Termination};

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
    pub(crate) p: [f64; P],
    pub(crate) rss: f64,
    ne: Option<NormalEq<P>>,
    termination: Termination,
}

/// The iteration state shared by [`fit`] and [`LmSolver`]: one call to [`LmCore::iterate`] is
/// one Levenberg-Marquardt iteration (one Jacobian, as many trial steps as needed).
#[derive(Debug, Clone, Copy)]
pub(crate) struct LmCore<const P: usize> {
    cfg: LmConfig,
    pub(crate) p: [f64; P],
    pub(crate) rss: f64,
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
    pub(crate) restarts: u32,
    mu0: f64,
    /// The best finished run so far, while a restart runs.
    kept: Option<Kept<P>>,
}

impl<const P: usize> LmCore<P> {
    pub(crate) fn new<M: Model<P>>(
        prob: &LmProblem<'_, M, P>,
        start: [f64; P],
        cfg: LmConfig,
    ) -> Self {
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
    pub(crate) fn iterate<M: Model<P>>(
        &mut self,
        prob: &LmProblem<'_, M, P>,
    ) -> Option<Termination> {
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
    pub(crate) fn best(&self) -> ([f64; P], f64) {
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
                .and_then(|m| damped_cholesky(m, &g, &self.diag, self.mu, |k| mask[k]))
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
                self.mu = damping_after_accept(self.mu, rho);
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

    pub(crate) fn result(&self, termination: Termination) -> LmFit<P> {
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
