//! The argmin adapter of the engine: [`LmSolver`] (a `Solver` running the same iteration as
//! [`crate::fit::engine::run`]), its lean state [`LmState`], and [`solve`], which runs a fit
//! through argmin's `Executor`.

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use argmin::core::{
    Error as ArgminError, Executor, KV, Problem, Solver, State, TerminationReason,
    TerminationStatus,
};

use crate::fit::engine::lm::LmCore;
#[cfg(doc)]
use crate::fit::engine::lm::{MAX_RESTARTS, fit};
use crate::fit::engine::model::Model;
use crate::fit::engine::problem::{LmConfig, LmFit, LmProblem, Termination};

/// The same Levenberg-Marquardt iteration as [`fit`], as an argmin [`Solver`]:
///
/// ```
/// use argmin::core::{Executor, State};
/// use radbind::fit::{engine::{LmProblem, LmSolver}, maths::four_pl::FourPl};
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

/// Runs the Levenberg-Marquardt [`LmSolver`] through argmin's `Executor` (timer off).
///
/// The Executor adds about 5% over [`crate::fit::engine::run`] on a 20-point curve (BENCHMARKS.md: its own
/// loop, moves of the state and the solver, one allocation per run; [`LmSolver`] keeps out of
/// argmin's per-iteration function counting) and gives bit-identical results; it is used so the
/// fit runs in argmin's framework (termination handling, state, observers). Should argmin fail
/// (it only can on a solver bug), the direct path runs the same iteration instead.
pub fn solve<M: Model<P>, const P: usize>(
    prob: LmProblem<'_, M, P>,
    start: [f64; P],
    cfg: LmConfig,
) -> LmFit<P> {
    let max_iters = u64::from(cfg.max_iter) + 1;
    let direct = prob;
    Executor::new(prob, LmSolver::new(cfg))
        .configure(|s| s.param(start).max_iters(max_iters))
        .timer(false)
        .run()
        .ok()
        .and_then(|res| res.solver.result())
        .unwrap_or_else(|| crate::fit::engine::lm::run(&direct, start, &cfg))
}
