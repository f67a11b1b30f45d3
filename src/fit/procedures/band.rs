//! The fitted mean function of a curve with its asymptotic covariance, and the pointwise 95%
//! confidence band of the curve that figures shade.
//!
//! Owns only evaluation; the parameters and covariance come from the fit (`uncertainty::asymptotic`
//! for one curve, the block of the joint covariance for a global fit).

use crate::fit::engine::Model;
use crate::fit::maths::four_pl::FourPl;
use crate::fit::maths::two_site::TwoSite;

/// The mean function of a fitted curve, `X = log10 molar`, with the asymptotic covariance of its
/// parameters (`C = s^2 (J'WJ)^-1`; rows and columns of fixed parameters are 0).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum FittedCurve {
    /// Four-parameter logistic, `[top, bottom, hill_slope, log_ic50]` ([`FourPl`]); also the
    /// one-site, fit-Ki (LogIC50 = LogKi + log10(1 + [L]/Kd), slope -1) and agonist models.
    FourPl {
        /// Parameters.
        params: [f64; 4],
        /// Their covariance.
        cov: [[f64; 4]; 4],
    },
    /// Two-site competition, `[top, bottom, fraction_hi, log_ic50_hi, log_ic50_lo]`
    /// ([`TwoSite`]).
    TwoSite {
        /// Parameters.
        params: [f64; 5],
        /// Their covariance.
        cov: [[f64; 5]; 5],
    },
}

impl FittedCurve {
    /// `f(X)`; `X = -inf` is a zero-concentration point.
    #[must_use]
    pub fn value(&self, x: f64) -> f64 {
        match self {
            Self::FourPl { params, .. } => FourPl.value(x, params),
            Self::TwoSite { params, .. } => TwoSite.value(x, params),
        }
    }

    /// `(f(X), sqrt(g' C g))`: the fitted value and its asymptotic standard error by the delta
    /// method, with `g = df/dp` at the estimates (Seber & Wild 1989, *Nonlinear regression*,
    /// §5.1; Prism's confidence bands, Motulsky & Christopoulos 2004, ch. 42). The SE is NaN when
    /// the covariance is unavailable (NaN entries).
    #[must_use]
    pub fn value_se(&self, x: f64) -> (f64, f64) {
        fn quad<const P: usize>(g: &[f64; P], c: &[[f64; P]; P]) -> f64 {
            let mut v = 0.0;
            for i in 0..P {
                for j in 0..P {
                    v += g[i] * c[i][j] * g[j];
                }
            }
            if v.is_nan() { f64::NAN } else { v.max(0.0).sqrt() }
        }
        match self {
            Self::FourPl { params, cov } => {
                let mut g = [0.0; 4];
                let y = FourPl.value_grad(x, params, &mut g);
                (y, quad(&g, cov))
            }
            Self::TwoSite { params, cov } => {
                let mut g = [0.0; 5];
                let y = TwoSite.value_grad(x, params, &mut g);
                (y, quad(&g, cov))
            }
        }
    }

    /// Whether the covariance is usable for a band (all entries finite).
    #[must_use]
    pub fn has_covariance(&self) -> bool {
        match self {
            Self::FourPl { cov, .. } => cov.iter().flatten().all(|v| v.is_finite()),
            Self::TwoSite { cov, .. } => cov.iter().flatten().all(|v| v.is_finite()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use approx::assert_relative_eq;

    /// A 4PL whose only uncertain parameter is Top: the band is `s(X) SE(Top)` wide, with `s`
    /// the logistic weight of Top (1 at zero dose, 1/2 at the IC50).
    #[test]
    fn four_pl_band_from_one_variance() {
        let mut cov = [[0.0; 4]; 4];
        cov[0][0] = 4.0;
        let c = FittedCurve::FourPl { params: [100.0, 0.0, -1.0, -8.0], cov };
        let (y, se) = c.value_se(-8.0);
        assert_relative_eq!(y, 50.0, max_relative = 1e-12);
        assert_relative_eq!(se, 1.0, max_relative = 1e-12);
        let (y0, se0) = c.value_se(f64::NEG_INFINITY);
        assert_eq!((y0, se0), (100.0, 2.0));
    }

    /// The delta-method variance equals `g' C g` computed by hand with central differences.
    #[test]
    fn matches_finite_difference_gradient() {
        let params = [98.0, 3.0, -0.9, -7.6];
        let cov = [
            [4.0, 0.5, 0.01, 0.02],
            [0.5, 3.0, -0.02, 0.01],
            [0.01, -0.02, 0.01, 0.001],
            [0.02, 0.01, 0.001, 0.004],
        ];
        let c = FittedCurve::FourPl { params, cov };
        for x in [-10.0, -8.0, -7.6, -7.0, -5.0] {
            let mut g = [0.0; 4];
            for k in 0..4 {
                let h = 1e-6;
                let (mut a, mut b) = (params, params);
                a[k] += h;
                b[k] -= h;
                g[k] = (FourPl.value(x, &a) - FourPl.value(x, &b)) / (2.0 * h);
            }
            let v: f64 = (0..4)
                .flat_map(|i| (0..4).map(move |j| (i, j)))
                .map(|(i, j)| g[i] * cov[i][j] * g[j])
                .sum();
            assert_relative_eq!(c.value_se(x).1, v.sqrt(), max_relative = 1e-6);
        }
    }

    #[test]
    fn two_site_value_and_missing_covariance() {
        let c =
            FittedCurve::TwoSite { params: [100.0, 0.0, 0.4, -9.0, -6.0], cov: [[f64::NAN; 5]; 5] };
        // Far between the sites: the high-affinity fraction has gone, the rest remains.
        assert_relative_eq!(c.value(-7.5), 59.387, max_relative = 1e-4);
        assert!(!c.has_covariance());
        assert!(c.value_se(-7.5).1.is_nan());
    }
}
