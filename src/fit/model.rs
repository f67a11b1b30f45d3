//! Curve models for the least-squares engine: the [`Model`] trait (value and analytic gradient
//! with respect to the parameters) and the four-parameter logistic [`FourPl`].
//!
//! This module owns only the mathematics of the mean function. Fitting lives in
//! [`crate::fit::lm`], uncertainty in [`crate::fit::stats`], starting values and the high-level
//! 4PL result in [`crate::fit::four_pl`].

use std::f64::consts::LN_10;

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
    /// ([`crate::fit::lm::LmConfig::second_order`]).
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

/// Prism's "log(inhibitor) vs. response -- variable slope" four-parameter logistic:
///
/// `Y = Bottom + (Top - Bottom) / (1 + 10^((LogIC50 - X) * HillSlope))`
///
/// with `X = log10(molar concentration)` and `p = [top, bottom, hill_slope, log_ic50]`
/// (Motulsky & Christopoulos, *Fitting models to biological data using linear and nonlinear
/// regression*, 2004, ch. 41). A falling competition curve has `hill_slope < 0`.
///
/// In drc's `LL.4` notation (`c + (d - c) / (1 + exp(b (ln x - ln e)))`):
/// `b = -hill_slope`, `c = bottom`, `d = top`, `e = 10^log_ic50`.
///
/// `X = -inf` (zero concentration) is a valid data point: it gives exactly `Top` when
/// `hill_slope < 0` and `Bottom` when `hill_slope > 0`, with a finite gradient (the derivatives
/// with respect to the slope and LogIC50 are their limits, 0). With `hill_slope == 0` the curve is
/// flat at the mid-point `(Top + Bottom) / 2` for every `X`.
///
/// Internally `z = (LogIC50 - X) * HillSlope * ln 10`, `s = 1 / (1 + e^z)` and `1 - s` are
/// evaluated with `e^(-|z|)` only, so nothing overflows, and `Y = Top s + Bottom (1 - s)`
/// (exactly Top at `s = 1`):
/// `dY/dTop = s`, `dY/dBottom = 1 - s`,
/// `dY/dHill = -(Top - Bottom) s (1 - s) (LogIC50 - X) ln 10`,
/// `dY/dLogIC50 = -(Top - Bottom) s (1 - s) HillSlope ln 10`.
///
/// Second derivatives ([`Model::value_grad_hess`]), with `u = s (1 - s)`, `d = LogIC50 - X`,
/// `H = HillSlope` and `k = -(Top - Bottom) u ln 10` (so `dY/dHill = k d`, `dY/dLogIC50 = k H`),
/// using `ds/dz = -u` and `du/dz = u (2s - 1)` for `z = d H ln 10`:
/// `d2Y/dTop2 = d2Y/dBottom2 = d2Y/dTop dBottom = 0`,
/// `d2Y/dTop dHill = -u d ln 10 = -d2Y/dBottom dHill`,
/// `d2Y/dTop dLogIC50 = -u H ln 10 = -d2Y/dBottom dLogIC50`,
/// `d2Y/dHill2 = k (2s - 1) d^2 ln 10`, `d2Y/dLogIC50^2 = k (2s - 1) H^2 ln 10`,
/// `d2Y/dHill dLogIC50 = k (1 + (2s - 1) H d ln 10)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FourPl;

impl FourPl {
    /// Index of Top in the parameter array.
    pub const TOP: usize = 0;
    /// Index of Bottom in the parameter array.
    pub const BOTTOM: usize = 1;
    /// Index of the Hill slope in the parameter array.
    pub const HILL: usize = 2;
    /// Index of LogIC50 (log10 molar, same units as X) in the parameter array.
    pub const LOG_IC50: usize = 3;

    /// `(s, 1 - s, s (1 - s), LogIC50 - X)` with `s = 1 / (1 + 10^((LogIC50 - X) * HillSlope))`,
    /// each computed without cancellation; the last two are 0 at an infinite `LogIC50 - X`.
    #[inline]
    pub(crate) fn logistic(x: f64, hill: f64, log_ic50: f64) -> (f64, f64, f64, f64) {
        let d = log_ic50 - x;
        if !d.is_finite() {
            // X = -inf (zero dose) or +inf: the plateau the sign of d * hill points to.
            let s = if hill == 0.0 || d.is_nan() {
                0.5
            } else if (d > 0.0) == (hill > 0.0) {
                0.0
            } else {
                1.0
            };
            return (s, 1.0 - s, 0.0, 0.0);
        }
        let z = d * hill * LN_10;
        let e = (-z.abs()).exp();
        let inv = 1.0 / (1.0 + e);
        let (s, c) = if z > 0.0 { (e * inv, inv) } else { (inv, e * inv) };
        (s, c, e * inv * inv, d)
    }
}

impl Model<4> for FourPl {
    #[inline]
    fn value(&self, x: f64, p: &[f64; 4]) -> f64 {
        let (s, c, _, _) = Self::logistic(x, p[2], p[3]);
        p[0] * s + p[1] * c
    }

    #[inline]
    fn value_grad(&self, x: f64, p: &[f64; 4], grad: &mut [f64; 4]) -> f64 {
        let (s, c, s1s, d) = Self::logistic(x, p[2], p[3]);
        let k = -(p[0] - p[1]) * s1s * LN_10;
        grad[0] = s;
        grad[1] = c;
        grad[2] = k * d;
        grad[3] = k * p[2];
        p[0] * s + p[1] * c
    }

    const HAS_HESSIAN: bool = true;

    #[inline]
    fn value_grad_hess(
        &self,
        x: f64,
        p: &[f64; 4],
        grad: &mut [f64; 4],
        hess: &mut [[f64; 4]; 4],
    ) -> f64 {
        let (s, c, u, d) = Self::logistic(x, p[2], p[3]);
        let h = p[2];
        let k = -(p[0] - p[1]) * u * LN_10;
        grad[0] = s;
        grad[1] = c;
        grad[2] = k * d;
        grad[3] = k * h;
        // 2s - 1 = s - c, without cancellation in either tail.
        let sc = s - c;
        let ud = u * d * LN_10;
        let uh = u * h * LN_10;
        hess[0] = [0.0, 0.0, -ud, -uh];
        hess[1][1] = 0.0;
        hess[1][2] = ud;
        hess[1][3] = uh;
        hess[2][2] = k * sc * d * d * LN_10;
        hess[2][3] = k * (1.0 + sc * h * d * LN_10);
        hess[3][3] = k * sc * h * h * LN_10;
        p[0] * s + p[1] * c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    fn central_diff(x: f64, p: &[f64; 4]) -> [f64; 4] {
        let mut g = [0.0; 4];
        for k in 0..4 {
            let h = 1e-5 * p[k].abs().max(1.0);
            let mut pp = *p;
            let mut pm = *p;
            pp[k] += h;
            pm[k] -= h;
            g[k] = (FourPl.value(x, &pp) - FourPl.value(x, &pm)) / (2.0 * h);
        }
        g
    }

    #[test]
    fn zero_dose_is_top_for_falling_curve() {
        let p = [100.0, 5.0, -1.2, -7.0];
        let mut g = [f64::NAN; 4];
        let y = FourPl.value_grad(f64::NEG_INFINITY, &p, &mut g);
        assert_eq!(y, 100.0);
        assert_eq!(g, [1.0, 0.0, 0.0, 0.0]);
        let p = [100.0, 5.0, 1.2, -7.0];
        let y = FourPl.value_grad(f64::NEG_INFINITY, &p, &mut g);
        assert_eq!(y, 5.0);
        assert_eq!(g, [0.0, 1.0, 0.0, 0.0]);
        assert_eq!(FourPl.value(f64::INFINITY, &[100.0, 5.0, -1.0, -7.0]), 5.0);
    }

    #[test]
    fn half_response_at_ic50() {
        let p = [100.0, 0.0, -1.0, -7.0];
        assert_relative_eq!(FourPl.value(-7.0, &p), 50.0, max_relative = 1e-15);
        // One log unit above the IC50 with slope -1: 100 / (1 + 10) = 9.0909...
        assert_relative_eq!(FourPl.value(-6.0, &p), 100.0 / 11.0, max_relative = 1e-14);
    }

    #[test]
    fn extreme_arguments_do_not_overflow() {
        let p = [100.0, 0.0, -10.0, -3.0];
        let mut g = [0.0; 4];
        for x in [-1e6, -400.0, 400.0, 1e6] {
            let y = FourPl.value_grad(x, &p, &mut g);
            assert!(y.is_finite() && g.iter().all(|v| v.is_finite()), "x={x}");
        }
    }

    proptest! {
        #[test]
        fn gradient_matches_central_differences(
            top in 50.0f64..150.0,
            bottom in -10.0f64..30.0,
            hill in prop_oneof![-3.0f64..-0.3, 0.3f64..3.0],
            log_ic50 in -10.0f64..-4.0,
            dx in -3.0f64..3.0,
        ) {
            let p = [top, bottom, hill, log_ic50];
            let x = log_ic50 + dx;
            let mut g = [0.0; 4];
            let y = FourPl.value_grad(x, &p, &mut g);
            prop_assert!((y - FourPl.value(x, &p)).abs() <= 1e-12 * y.abs().max(1.0));
            let fd = central_diff(x, &p);
            for k in 0..4 {
                let scale = fd[k].abs().max(1e-3 * (top - bottom).abs());
                prop_assert!((g[k] - fd[k]).abs() <= 1e-6 * scale,
                    "k={} analytic={} fd={}", k, g[k], fd[k]);
            }
            // Second derivatives against central differences of the analytic gradient.
            let mut h = [[0.0; 4]; 4];
            let mut g2 = [0.0; 4];
            let y2 = FourPl.value_grad_hess(x, &p, &mut g2, &mut h);
            prop_assert_eq!(y2, y);
            prop_assert_eq!(g2, g);
            for j in 0..4 {
                let step = 1e-6 * p[j].abs().max(1.0);
                let (mut pp, mut pm) = (p, p);
                pp[j] += step;
                pm[j] -= step;
                let (mut gp, mut gm) = ([0.0; 4], [0.0; 4]);
                FourPl.value_grad(x, &pp, &mut gp);
                FourPl.value_grad(x, &pm, &mut gm);
                for k in j..4 {
                    let fd = (gp[k] - gm[k]) / (2.0 * step);
                    let scale = fd.abs().max(1e-3 * (top - bottom).abs().max(1.0));
                    prop_assert!((h[j][k] - fd).abs() <= 1e-5 * scale,
                        "d2/dp{}dp{} analytic {} fd {}", j, k, h[j][k], fd);
                }
            }
            // Zero dose: exact plateau, finite gradient.
            let y0 = FourPl.value_grad(f64::NEG_INFINITY, &p, &mut g);
            prop_assert_eq!(y0, if hill < 0.0 { top } else { bottom });
            prop_assert!(g.iter().all(|v| v.is_finite()));
        }
    }
}
