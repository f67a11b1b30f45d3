//! Curve models: the [`Model`] trait (a mean function with its analytic gradient), the
//! generic fitting front end [`fit_model`] ([`ModelFit`] with SEs, 95% CIs, R², Sy.x and
//! AICc), and one file per model:
//!
//! - [`four_pl`]: Prism's "log(inhibitor) vs. response -- variable slope" (also one site, slope
//!   -1) with its starting values and the high-level 4PL fit;
//! - [`fit_ki`]: "One site -- Fit Ki" (LogKi fitted directly, Cheng-Prusoff built in);
//! - [`two_site`]: "Two sites -- Fit logIC50";
//! - [`agonist`]: the rising 4PL ("log(agonist) vs. response");
//! - [`saturation`]: saturation binding (Kd, Bmax).
//!
//! Each competition model implements [`CurveModel`]: how it fits one curve in the pipeline
//! (weights, profile CI, what it reports in the 4PL columns and as its fitted curve), and
//! [`curve_model`] is the one map from a configured [`ModelKind`] to its implementation. A new
//! model is a new file here, an arm in [`curve_model`] and its name in the config.
//!
//! Owns the models' mathematics and starting values; the engine is [`crate::fit::engine`],
//! the uncertainty [`crate::fit::engine::uncertainty`].

pub mod agonist;
pub mod fit_ki;
pub mod four_pl;
pub mod saturation;
pub mod two_site;

use crate::config::{FitSettings, ModelKind};
use crate::fit::engine::uncertainty;
use crate::fit::engine::{self, LmConfig, Model, Termination};
use crate::fit::procedures::band::FittedCurve;
use crate::fit::procedures::cascade::Constraint;
use crate::fit::procedures::classify::{self, CurveClass};
use crate::fit::procedures::compare::ComparisonOutcome;
use crate::fit::procedures::weights::WeightRule;
use crate::fit::stats;
use four_pl::FourPlFit;
use two_site::TwoSiteParams;

/// A competition-curve model as the fit stage uses it: one implementation per [`ModelKind`]
/// ([`curve_model`]).
pub trait CurveModel: Sync {
    /// Number of parameters the model fits under `settings` (a curve needs one point more);
    /// `functional`: a [35S]GTPγS curve, whose Top is never the binding control's.
    fn free_params(&self, settings: &FitSettings, functional: bool) -> usize;

    /// Fits one curve's points (after outlier removal) with the configured weights and
    /// interval: the reported parameters in the 4PL columns (with their covariance mapped
    /// there), the fitted curve and its covariance for the band, and what else the model
    /// reports.
    fn fit(&self, data: &CurveData<'_>) -> CurveResult;

    /// NCATS curve class of a fit this model reported: by default the class of the 4PL form.
    fn curve_class(&self, x: &[f64], y: &[f64], fit: &FourPlFit, range: (f64, f64)) -> CurveClass {
        classify::curve_class(x, y, fit, range)
    }
}

/// The one map from a configured model to its implementation.
#[must_use]
pub fn curve_model(kind: ModelKind) -> &'static dyn CurveModel {
    match kind {
        ModelKind::FourParameter | ModelKind::OneSite => &four_pl::FourPlModel,
        ModelKind::FitKi => &fit_ki::FitKiModel,
        ModelKind::TwoSite => &two_site::TwoSite,
        ModelKind::Agonist => &agonist::Agonist,
    }
}

/// One curve's points and the settings a [`CurveModel`] fits them with.
#[derive(Debug, Clone, Copy)]
pub struct CurveData<'a> {
    /// log10 molar concentrations (`-inf` = zero dose).
    pub x: &'a [f64],
    /// Responses.
    pub y: &'a [f64],
    /// The curve's model ([`crate::fit::Curve::model`]).
    pub model: ModelKind,
    /// The target (for its radioligand's [L] and Kd).
    pub target: &'a str,
    /// A functional ([35S]GTPγS) curve: its plateaus are not the binding controls.
    pub functional: bool,
    /// The fit settings.
    pub settings: &'a FitSettings,
    /// Weights from the fitted curve (`fit.weighting`); `None` = unweighted.
    pub weights: Option<WeightRule<'a>>,
}

impl CurveData<'_> {
    /// `[top, bottom]` as fixed by `fit.fix` (`None` = fitted).
    #[must_use]
    pub fn plateaus(&self) -> [Option<f64>; 2] {
        [self.settings.fixed[0], self.settings.fixed[1]]
    }
}

/// What a [`CurveModel`] reports for one curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveResult {
    /// The model whose parameters are reported (a comparison may prefer another than the one
    /// configured).
    pub model: ModelKind,
    /// The reported fit in 4PL form `[top, bottom, hill_slope, log_ic50]`: `fit_ki`: LogIC50 =
    /// LogKi + log10(1 + [L]/Kd); `two_site`: the high-affinity site (slope -1); `agonist`:
    /// LogEC50 in the LogIC50 slot.
    pub fit: FourPlFit,
    /// The fitted mean function with its covariance (the figures' curve and band).
    pub curve: FittedCurve,
    /// `fit_ki`: LogKi (log10 molar), its SE and 95% CI, straight from the LogKi fit.
    pub log_ki: Option<(f64, f64, (f64, f64))>,
    /// Both sites of a two-site fit.
    pub two_site: Option<TwoSiteParams>,
    /// Constraints radbind added (e.g. Bottom fixed at 0 after a free fit ran into a bound).
    pub constraints: Vec<Constraint>,
    /// A free parameter ended on a bound the user set (`fit.bounds`): a constrained optimum.
    pub at_user_bound: bool,
    /// The comparison that decided the reported model.
    pub comparison: Option<ComparisonOutcome>,
    /// Profile-likelihood 95% interval of LogIC50 (`fit.ci: profile`); `None` on a side the
    /// data do not bound.
    pub log_ic50_profile: Option<(Option<f64>, Option<f64>)>,
    /// Flags of the fit (`at_bound_<parameter>`).
    pub flags: Vec<String>,
}

impl CurveResult {
    /// A result that reports `fit` (the 4PL form) as the model `model` fitted it, with the
    /// 4PL curve and nothing else.
    #[must_use]
    pub fn four_pl(model: ModelKind, fit: FourPlFit) -> Self {
        Self {
            model,
            fit,
            curve: FittedCurve::FourPl { params: fit.params, cov: fit.cov },
            log_ki: None,
            two_site: None,
            constraints: Vec::new(),
            at_user_bound: false,
            comparison: None,
            log_ic50_profile: None,
            flags: Vec::new(),
        }
    }
}

/// Result of [`fit_model`]. Undefined statistics are NaN: `se`/`ci95` of fixed parameters, all
/// of them when the Jacobian is rank-deficient or `df == 0`; `sy_x` when `df == 0`; `aicc` when
/// `n <= K + 1` (K = free parameters + 1).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelFit<const P: usize> {
    /// Fitted parameters (fixed ones at their given value).
    pub params: [f64; P],
    /// Asymptotic standard errors `sqrt(diag(s^2 (J'WJ)^-1))` (Bates & Watts 1988, §2.3).
    pub se: [f64; P],
    /// Asymptotic covariance `s^2 (J'WJ)^-1` (rows and columns of fixed parameters 0; all NaN
    /// when the SEs are undefined).
    pub cov: [[f64; P]; P],
    /// 95% asymptotic (Wald) intervals `p -+ t(0.975, df) se`.
    pub ci95: [(f64, f64); P],
    /// (Weighted) residual sum of squares.
    pub rss: f64,
    /// Degrees of freedom, `n -` free parameters (0 if negative).
    pub df: usize,
    /// Number of data points.
    pub n: usize,
    /// `1 - rss / tss`, `tss` the (weighted) sum of squares about the (weighted) mean of y.
    pub r_squared: f64,
    /// `sqrt(rss / df)`, Prism's Sy.x.
    pub sy_x: f64,
    /// `n ln(rss/n) + 2K + 2K(K+1)/(n-K-1)`, `K` = free parameters + 1 (see [`aicc`]).
    pub aicc: f64,
    /// Levenberg-Marquardt iterations.
    pub iterations: u32,
    /// How the Levenberg-Marquardt iteration ended.
    pub termination: Termination,
}

impl<const P: usize> ModelFit<P> {
    /// The parameters when the fit converged or stopped on a bound and they are finite (a
    /// fit that may seed a reweighting round, [`crate::fit::procedures::weights::iterate`]).
    #[must_use]
    pub fn fitted_params(&self) -> Option<[f64; P]> {
        let fitted = self.termination.converged() || self.termination == Termination::AtBound;
        (fitted && self.params.iter().all(|v| v.is_finite())).then_some(self.params)
    }

    /// Number of fitted (free) parameters, `n - df` (exact whenever `n >=` free parameters;
    /// `n` otherwise, since `df` saturates at 0).
    pub fn free_params(&self) -> usize {
        self.n - self.df.min(self.n)
    }
}

/// Akaike's information criterion, small-sample corrected, as Prism computes it for least
/// squares: `AICc = n ln(SS/n) + 2K + 2K(K+1)/(n-K-1)` with `K` = fitted parameters + 1 (the
/// variance is the extra parameter) (Burnham & Anderson 2002, *Model selection and multimodel
/// inference*, §2.4; Motulsky & Christopoulos 2004, ch. 22). NaN when `n <= K + 1`; `-inf`
/// for `SS = 0`.
pub fn aicc(rss: f64, n: usize, fitted_params: usize) -> f64 {
    let k = (fitted_params + 1) as f64;
    let nf = n as f64;
    if n <= fitted_params + 2 || !(rss >= 0.0) {
        return f64::NAN;
    }
    nf * (rss / nf).ln() + 2.0 * k + 2.0 * k * (k + 1.0) / (nf - k - 1.0)
}

/// Fits `model` to `(x, y)` by (weighted) least squares with box bounds, starting at `start`,
/// holding `fixed[k]` parameters at their start value, and computes the asymptotic statistics.
///
/// Built on [`engine::fit_bounded`] (default [`LmConfig`]) and [`uncertainty::asymptotic`]. `x` and `y`
/// are truncated to the shorter length; `y` (and `weights`) must be finite (filter first).
/// Never panics on data: with no more points than free parameters the LM still runs (to an
/// exact or ambiguous fit) and the statistics are NaN.
#[allow(clippy::too_many_arguments)]
pub fn fit_model<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    start: [f64; P],
    fixed: [bool; P],
    lower: [f64; P],
    upper: [f64; P],
) -> ModelFit<P> {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let weights = weights.map(|w| &w[..n.min(w.len())]).filter(|w| w.len() == n);
    let f =
        engine::fit_bounded(model, x, y, weights, start, fixed, lower, upper, &LmConfig::default());
    finish(model, x, y, weights, fixed, f)
}

/// Statistics of an LM result (shared by [`fit_model`] and the multi-start fits).
fn finish<M: Model<P>, const P: usize>(
    model: &M,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    fixed: [bool; P],
    f: engine::LmFit<P>,
) -> ModelFit<P> {
    let n = x.len();
    let free = fixed.iter().filter(|v| !**v).count();
    let df = n.saturating_sub(free);
    let w = |i: usize| weights.map_or(1.0, |w| w[i]);
    let sw: f64 = (0..n).map(w).sum();
    let mean = if sw > 0.0 { (0..n).map(|i| w(i) * y[i]).sum::<f64>() / sw } else { 0.0 };
    let tss: f64 = (0..n).map(|i| w(i) * (y[i] - mean).powi(2)).sum();
    let r_squared = if tss > 0.0 {
        1.0 - f.rss / tss
    } else if f.rss == 0.0 {
        1.0
    } else {
        0.0
    };
    let mut se = [f64::NAN; P];
    let mut cov = [[f64::NAN; P]; P];
    let mut ci95 = [(f64::NAN, f64::NAN); P];
    if let Some(u) = uncertainty::asymptotic(model, x, y, weights, &f.params, fixed, f.rss) {
        let t = stats::t975(u.df);
        se = u.se;
        cov = u.cov;
        for k in 0..P {
            if !fixed[k] {
                ci95[k] = (f.params[k] - t * se[k], f.params[k] + t * se[k]);
            }
        }
    }
    ModelFit {
        params: f.params,
        se,
        cov,
        ci95,
        rss: f.rss,
        df,
        n,
        r_squared,
        sy_x: if df > 0 { (f.rss / df as f64).sqrt() } else { f64::NAN },
        aicc: aicc(f.rss, n, free),
        iterations: f.iterations,
        termination: f.termination,
    }
}

/// Smallest and largest finite x (`(0, 0)` when there is none).
pub(crate) fn finite_range(x: &[f64]) -> (f64, f64) {
    let lo = x.iter().copied().filter(|v| v.is_finite()).fold(f64::INFINITY, f64::min);
    let hi = x.iter().copied().filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    if lo <= hi { (lo, hi) } else { (0.0, 0.0) }
}

/// Fixes Top and Bottom (`plateaus = [top, bottom]`, the first two parameters of the fit-Ki,
/// two-site and 4PL models) at their given values in `start`; returns the `fixed` mask.
pub(crate) fn fix_plateaus<const P: usize>(
    start: &mut [f64; P],
    plateaus: [Option<f64>; 2],
) -> [bool; P] {
    let mut fixed = [false; P];
    for k in 0..2 {
        if let Some(v) = plateaus[k] {
            start[k] = v;
            fixed[k] = true;
        }
    }
    fixed
}

#[cfg(test)]
mod tests;
