//! The [`Model`] trait: a mean function with its analytic derivatives, the interface between the
//! least-squares engine and the curve models ([`crate::fit::maths`], [`crate::fit::models`]).
//! It lives in the engine, which consumes it; the models implement it. Imports nothing.

/// A mean function `f(x; p)` with `P` parameters and an analytic gradient.
///
/// Implementations must be pure (same input, same output) and thread-safe, because curves are
/// fitted in parallel. The gradient must be exact (analytic), not a finite difference: the
/// Levenberg-Marquardt engine and the asymptotic standard errors both rely on it.
pub trait Model<const P: usize>: Sync {
    /// `f(x; p)`.
    fn value(&self, x: f64, p: &[f64; P]) -> f64;
    /// `f(x; p)`, with the gradient `df/dp_k` written into `grad[k]`.
    fn value_grad(&self, x: f64, p: &[f64; P], grad: &mut [f64; P]) -> f64;

    /// True when [`Model::value_grad_hess`] gives the analytic second derivatives; the
    /// engine can then use the full Newton model of the sum of squares
    /// ([`crate::fit::engine::LmConfig::second_order`]).
    const HAS_HESSIAN: bool = false;

    /// `f(x; p)` with the gradient, and the second derivatives `d2f / dp_j dp_k` written into
    /// `hess[j][k]` for `j <= k` (the upper triangle; entries below the diagonal are not
    /// read). Only called when [`Model::HAS_HESSIAN`] is true; the default leaves `hess` alone.
    #[inline]
    fn value_grad_hess(
        &self,
        x: f64,
        p: &[f64; P],
        grad: &mut [f64; P],
        hess: &mut [[f64; P]; P],
    ) -> f64 {
        let _ = hess;
        self.value_grad(x, p, grad)
    }
}
