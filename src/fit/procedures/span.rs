//! A curve fitted on the raw signal (a plate without controls) expressed in % of its fitted
//! span, the scale of its figures and `%` columns (Prism's "normalize to the fitted plateaus";
//! Motulsky & Christopoulos 2004, ch. 32).
//!
//! `y' = 100 (y - Bottom) / (Top - Bottom)`: an affine map of the response, so the fitted
//! LogIC50 and Hill slope do not change; the plateaus become 100 and 0, their SEs and
//! covariance scale by `s = 100 / (Top - Bottom)` (Bottom and `s` taken as constants), the
//! residual sum of squares by `s^2`. Where the fit gives no usable span (a flat curve, no
//! fit), the points are expressed in % of their mean signal, `y' = 100 y / mean(y)`.

use crate::fit::maths::four_pl::{FourPl, FourPlFit};
use crate::fit::procedures::band::FittedCurve;

/// The affine map `y' = scale (y - offset)` from the raw signal to % of the span.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Span {
    /// Signal at 0 %: the fitted Bottom (or 0 for % of the mean).
    pub offset: f64,
    /// % per signal unit: `100 / (Top - Bottom)` (or `100 / mean`).
    pub scale: f64,
    /// True when the fitted plateaus define it; false for % of the mean signal.
    pub fitted: bool,
}

impl Span {
    /// The span of fitted 4PL parameters `[top, bottom, ..]` in signal units, or, when the
    /// plateaus are not finite or less than 0.1 % apart relative to the signal, the mean of
    /// `y`. `None` when neither gives a finite, non-zero scale.
    #[must_use]
    pub fn of(params: Option<&[f64; 4]>, y: &[f64]) -> Option<Span> {
        if let Some(p) = params {
            let (top, bottom) = (p[FourPl::TOP], p[FourPl::BOTTOM]);
            let size = top.abs().max(bottom.abs());
            let width = top - bottom;
            if width.is_finite() && width.abs() > 1e-3 * size {
                return Some(Span { offset: bottom, scale: 100.0 / width, fitted: true });
            }
        }
        let mean = y.iter().sum::<f64>() / y.len() as f64;
        (mean.is_finite() && mean != 0.0).then_some(Span {
            offset: 0.0,
            scale: 100.0 / mean,
            fitted: false,
        })
    }

    /// `y' = scale (y - offset)`.
    #[must_use]
    pub fn apply(&self, y: f64) -> f64 {
        self.scale * (y - self.offset)
    }

    /// The per-parameter factor of the map on `[top, bottom, ...]`: `scale` for the two
    /// plateaus (the first two parameters of every model), 1 for the others.
    fn factor(&self, k: usize) -> f64 {
        if k < 2 { self.scale } else { 1.0 }
    }

    /// The fit in % of the span: plateaus mapped, their SEs and covariance scaled, RSS by
    /// `scale^2`, Sy.x by `|scale|`.
    pub fn rescale_fit(&self, fit: &mut FourPlFit) {
        for k in 0..2 {
            fit.params[k] = self.apply(fit.params[k]);
            fit.se[k] *= self.scale.abs();
        }
        for i in 0..4 {
            for j in 0..4 {
                fit.cov[i][j] *= self.factor(i) * self.factor(j);
            }
        }
        fit.rss *= self.scale * self.scale;
        fit.sy_x *= self.scale.abs();
    }

    /// The fitted curve in % of the span (its band scales with it).
    pub fn rescale_curve(&self, curve: &mut FittedCurve) {
        match curve {
            FittedCurve::FourPl { params, cov } => {
                for k in 0..2 {
                    params[k] = self.apply(params[k]);
                }
                for (i, row) in cov.iter_mut().enumerate() {
                    for (j, c) in row.iter_mut().enumerate() {
                        *c *= self.factor(i) * self.factor(j);
                    }
                }
            }
            FittedCurve::TwoSite { params, cov } => {
                for k in 0..2 {
                    params[k] = self.apply(params[k]);
                }
                for (i, row) in cov.iter_mut().enumerate() {
                    for (j, c) in row.iter_mut().enumerate() {
                        *c *= self.factor(i) * self.factor(j);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::engine::Model;
    use crate::fit::maths::four_pl::{FourPlOptions, fit_four_pl};

    #[test]
    fn the_span_map_leaves_potency_and_scales_the_plateaus() {
        // A curve from 5000 to 400 CPM; in % of the span it runs from 100 to 0.
        let p = [5000.0, 400.0, -1.0, -7.0];
        let x: Vec<f64> = (0..12).map(|k| -10.0 + 0.5 * f64::from(k)).collect();
        let y: Vec<f64> = x
            .iter()
            .enumerate()
            .map(|(i, xi)| FourPl.value(*xi, &p) * (1.0 + 0.02 * ((i % 3) as f64 - 1.0)))
            .collect();
        let raw = fit_four_pl(&x, &y, &FourPlOptions::default());
        let span = Span::of(Some(&raw.params), &y).expect("span");
        assert!(span.fitted);
        let yp: Vec<f64> = y.iter().map(|v| span.apply(*v)).collect();
        let pct = fit_four_pl(&x, &yp, &FourPlOptions::default());
        let mut mapped = raw;
        span.rescale_fit(&mut mapped);
        // Fitting the mapped points gives the mapped fit: same LogIC50, slope and SEs.
        for k in 0..4 {
            assert!((mapped.params[k] - pct.params[k]).abs() < 1e-6, "{k}: {mapped:?} {pct:?}");
            assert!((mapped.se[k] - pct.se[k]).abs() < 1e-6 * (1.0 + pct.se[k]), "se {k}");
        }
        assert!((mapped.params[0] - 100.0).abs() < 1e-9 && mapped.params[1].abs() < 1e-9);
        assert!((mapped.rss - pct.rss).abs() < 1e-6 * pct.rss);
    }

    #[test]
    fn a_flat_curve_is_shown_in_percent_of_its_mean() {
        let span = Span::of(Some(&[300.0, 300.0, -1.0, -7.0]), &[290.0, 310.0]).expect("span");
        assert!(!span.fitted);
        assert!((span.apply(300.0) - 100.0).abs() < 1e-12);
        assert!(Span::of(None, &[]).is_none());
    }
}
