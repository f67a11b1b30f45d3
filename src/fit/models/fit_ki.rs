//! Prism's "One site -- Fit Ki": the competition curve with LogKi fitted directly.

use std::f64::consts::LN_10;

use crate::config::{FitSettings, ModelKind};
use crate::fit::engine::{self, LmConfig, Model, uncertainty};
use crate::fit::maths::four_pl::{FourPl, FourPlFit, LOG_IC50_MARGIN, initial_estimates};
use crate::fit::maths::model_fit::{ModelFit, finite_range, fit_model, fix_plateaus};
use crate::fit::models::curve::{CurveData, CurveModel, CurveResult};
use crate::fit::procedures::{profile, weights};

/// Prism's "One site -- Fit Ki" competition model, `p = [top, bottom, log_ki]`:
///
/// `Y = Bottom + (Top - Bottom) / (1 + 10^(X - LogIC50))`,
/// `LogIC50 = log10(10^LogKi (1 + [L]/Kd)) = LogKi + log10(1 + [L]/Kd)`
///
/// (Cheng & Prusoff 1973, Biochem Pharmacol 22:3099; GraphPad Prism curve-fitting guide,
/// "One site -- Fit Ki"). `X` and `LogKi` are log10 molar; `[L]` (radioligand concentration)
/// and `Kd` are constants in nM; only their ratio enters, so no unit conversion is needed.
/// The slope is fixed to -1 (a single site obeying the law of mass action). `X = -inf` gives
/// exactly Top.
///
/// Gradient: with `s = 1 / (1 + 10^(X - LogIC50))`, `dY/dTop = s`, `dY/dBottom = 1 - s`,
/// `dY/dLogKi = dY/dLogIC50 = (Top - Bottom) s (1 - s) ln 10`
/// (the 4PL gradient of [`FourPl`] at slope -1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitKi {
    /// Radioligand concentration `[L]`, nM.
    pub radioligand_nm: f64,
    /// Radioligand dissociation constant `Kd`, nM.
    pub kd_nm: f64,
}

impl FitKi {
    /// Index of Top.
    pub const TOP: usize = 0;
    /// Index of Bottom.
    pub const BOTTOM: usize = 1;
    /// Index of LogKi (log10 molar).
    pub const LOG_KI: usize = 2;

    /// `log10(1 + [L]/Kd)`: `LogIC50 - LogKi` (Cheng-Prusoff shift, log10 units).
    pub fn log_shift(&self) -> f64 {
        (self.radioligand_nm / self.kd_nm).ln_1p() / LN_10
    }

    /// The 4PL parameters `[top, bottom, -1, log_ic50]` equivalent to `p`.
    pub fn four_pl_params(&self, p: &[f64; 3]) -> [f64; 4] {
        [p[0], p[1], -1.0, p[2] + self.log_shift()]
    }

    /// Data-driven start `[top, bottom, log_ki]`: the 4PL [`initial_estimates`] with LogIC50
    /// converted to LogKi.
    pub fn initial_estimates(&self, x: &[f64], y: &[f64]) -> [f64; 3] {
        let p = initial_estimates(x, y);
        let shift = self.log_shift();
        let log_ki = p[3] - if shift.is_finite() { shift } else { 0.0 };
        [p[0], p[1], log_ki]
    }
}

impl Model<3> for FitKi {
    #[inline]
    fn value(&self, x: f64, p: &[f64; 3]) -> f64 {
        FourPl.value(x, &self.four_pl_params(p))
    }

    #[inline]
    fn value_grad(&self, x: f64, p: &[f64; 3], grad: &mut [f64; 3]) -> f64 {
        let mut g = [0.0; 4];
        let y = FourPl.value_grad(x, &self.four_pl_params(p), &mut g);
        *grad = [g[0], g[1], g[3]];
        y
    }
}

/// Fits [`FitKi`] with Top/Bottom optionally fixed (`plateaus = [top, bottom]`), LogKi bounded
/// to the tested range +- [`LOG_IC50_MARGIN`] (shifted by the Cheng-Prusoff term), with
/// optional `weights` (see [`fit_model`]) and `start` (`None`: [`FitKi::initial_estimates`]).
pub fn fit_ki(
    model: &FitKi,
    x: &[f64],
    y: &[f64],
    plateaus: [Option<f64>; 2],
    weights: Option<&[f64]>,
    start: Option<[f64; 3]>,
) -> ModelFit<3> {
    let mut start = start.unwrap_or_else(|| model.initial_estimates(x, y));
    let fixed = fix_plateaus(&mut start, plateaus);
    let (lo, hi) = finite_range(x);
    let shift = model.log_shift();
    let shift = if shift.is_finite() { shift } else { 0.0 };
    let lower = [f64::NEG_INFINITY, f64::NEG_INFINITY, lo - LOG_IC50_MARGIN - shift];
    let upper = [f64::INFINITY, f64::INFINITY, hi + LOG_IC50_MARGIN - shift];
    fit_model(model, x, y, weights, start, fixed, lower, upper)
}

/// The `fit_ki` model of the config as a [`CurveModel`]: [`FitKi`] with the curve's target's
/// [L] and Kd.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FitKiModel;

impl CurveModel for FitKiModel {
    fn free_params(&self, settings: &FitSettings, _functional: bool) -> usize {
        settings.fixed[..2].iter().filter(|p| p.is_none()).count() + 1
    }

    /// [`fit_ki`], reweighted from the fitted curve ([`weights::iterate`]) with a weighting;
    /// the profile interval of LogKi (the plateaus refitted with LogKi held) with
    /// `fit.ci: profile`. Reported in 4PL form (LogIC50 = LogKi + log10(1 + [L]/Kd), the slope
    /// fixed at -1, the covariance of Top, Bottom and LogKi), with LogKi, its SE and CI.
    fn fit(&self, data: &CurveData<'_>) -> CurveResult {
        let (x, y, plateaus, settings) = (data.x, data.y, data.plateaus(), data.settings);
        let (l, kd) = settings.ligand.get(data.target).copied().unwrap_or((0.0, 1.0));
        let m = FitKi { radioligand_nm: l, kd_nm: kd };
        let first = fit_ki(&m, x, y, plateaus, None, None);
        let (f, wts) = match &data.weights {
            Some(r) => {
                let (f, w, _, _) = weights::iterate(
                    r,
                    x,
                    |xi, p| m.value(xi, p),
                    first,
                    ModelFit::fitted_params,
                    |w, start| fit_ki(&m, x, y, plateaus, Some(w), Some(start)),
                );
                (f, Some(w))
            }
            None => (first, None),
        };
        let shift = m.log_shift();
        let li = FitKi::LOG_KI;
        let fixed = [plateaus[0].is_some(), plateaus[1].is_some(), false];
        let mut ci = f.ci95[li];
        let mut log_ic50_profile = None;
        if settings.profile_ci {
            // Profile of LogKi: the plateaus refitted with LogKi held (no bounds needed).
            let mut pfixed = fixed;
            pfixed[li] = true;
            let refit = |theta: f64, warm: &[f64; 3]| {
                let mut start = *warm;
                start[li] = theta;
                let r = engine::fit_bounded(
                    &m,
                    x,
                    y,
                    wts.as_deref(),
                    start,
                    pfixed,
                    [f64::NEG_INFINITY; 3],
                    [f64::INFINITY; 3],
                    &LmConfig::default(),
                );
                Some((r.params, r.rss))
            };
            let (lo, hi) = finite_range(x);
            let limits = (lo - LOG_IC50_MARGIN - shift, hi + LOG_IC50_MARGIN - shift);
            let fitted = profile::Fitted { params: f.params, rss: f.rss, df: f.df, se: f.se[li] };
            let (a, b) = profile::profile_interval(&refit, &fitted, li, 0.95, limits);
            ci = (a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN));
            log_ic50_profile = Some((a.map(|v| v + shift), b.map(|v| v + shift)));
        }
        let dep = uncertainty::asymptotic(&m, x, y, wts.as_deref(), &f.params, fixed, f.rss)
            .map_or([f64::NAN; 3], |u| u.dependency);
        // Covariance in 4PL form: LogIC50 = LogKi + shift, the slope fixed at -1.
        let ix = [Some(0), Some(1), None, Some(li)];
        let mut cov = [[0.0; 4]; 4];
        for a in 0..4 {
            for b in 0..4 {
                if let (Some(i), Some(j)) = (ix[a], ix[b]) {
                    cov[a][b] = f.cov[i][j];
                }
            }
        }
        let fit = FourPlFit {
            params: m.four_pl_params(&f.params),
            se: [f.se[0], f.se[1], f64::NAN, f.se[li]],
            cov,
            log_ic50_ci: (f.ci95[li].0 + shift, f.ci95[li].1 + shift),
            dependency: [dep[0], dep[1], f64::NAN, dep[li]],
            rss: f.rss,
            r_squared: f.r_squared,
            sy_x: f.sy_x,
            n: f.n,
            df: f.df,
            iterations: f.iterations,
            termination: f.termination,
        };
        let mut r = CurveResult::four_pl(ModelKind::FitKi, fit);
        r.log_ki = Some((f.params[li], f.se[li], ci));
        r.log_ic50_profile = log_ic50_profile;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::maths::four_pl::{FourPlOptions, fit_four_pl};
    use crate::fit::maths::tests::{XS, check_grad, dup};
    use approx::assert_relative_eq;
    use proptest::prelude::*;

    proptest! {
    #[test]
    fn fit_ki_gradient(top in 50.0f64..150.0, bottom in -10.0f64..30.0,
                       log_ki in -10.0f64..-6.0, dx in -3.0f64..3.0,
                       l in 0.1f64..10.0, kd in 0.1f64..10.0) {
        let m = FitKi { radioligand_nm: l, kd_nm: kd };
        check_grad(&m, log_ki + dx, &[top, bottom, log_ki], top - bottom);
    }
    }

    #[test]
    fn zero_dose_is_top() {
        let m = FitKi { radioligand_nm: 1.0, kd_nm: 1.0 };
        let mut g = [f64::NAN; 3];
        assert_eq!(m.value_grad(f64::NEG_INFINITY, &[100.0, 3.0, -8.0], &mut g), 100.0);
        assert!(g.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn fit_ki_is_cheng_prusoff() {
        // [L] = Kd: IC50 = 2 Ki, LogIC50 = LogKi + log10 2.
        let m = FitKi { radioligand_nm: 2.0, kd_nm: 2.0 };
        assert_relative_eq!(m.log_shift(), 2f64.log10(), max_relative = 1e-15);
        let (x, y) = dup(&m, &[100.0, 0.0, -8.5], &XS);
        let f = fit_ki(&m, &x, &y, [None, None], None, None);
        assert!(f.termination.converged(), "{f:?}");
        assert_relative_eq!(f.params[2], -8.5, epsilon = 1e-8);
        assert_eq!(f.df, 17);
        // Same data through the 4PL with slope -1: LogIC50 = LogKi + log10 2.
        let p4 = fit_four_pl(
            &x,
            &y,
            &FourPlOptions { fixed: [None, None, Some(-1.0), None], ..Default::default() },
        );
        assert_relative_eq!(p4.params[3], -8.5 + 2f64.log10(), epsilon = 1e-8);
    }
}
