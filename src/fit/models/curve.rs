//! What every pipeline model shares: the [`CurveModel`] trait (how a model fits one curve of
//! the pipeline), the data it fits ([`CurveData`]) and what it reports ([`CurveResult`], with
//! both sites of a two-site fit in [`TwoSiteParams`]).
//!
//! Imports the model maths and the procedures, never a model file: each file under
//! `fit/models/` implements [`CurveModel`] from here, and [`crate::fit::models::curve_model`]
//! maps a configured [`ModelKind`] to its implementation.

use crate::config::{FitSettings, ModelKind};
use crate::fit::maths::four_pl::{FourPl, FourPlFit};
#[cfg(doc)]
use crate::fit::maths::two_site::TwoSite;
use crate::fit::procedures::band::FittedCurve;
use crate::fit::procedures::cascade::Constraint;
use crate::fit::procedures::classify::{self, CurveClass};
use crate::fit::procedures::compare::ComparisonOutcome;
use crate::fit::procedures::weights::WeightRule;

/// A competition-curve model as the fit stage uses it: one implementation per [`ModelKind`]
/// ([`crate::fit::models::curve_model`]).
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
    /// A curve on the raw signal (plates without controls): no control level to fix a
    /// plateau at; `settings` already carries `fit.fix.top_cpm`/`bottom_cpm` as its fixed
    /// plateaus.
    pub signal: bool,
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

/// Both sites of a two-site fit, with SEs (NaN when undefined).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TwoSiteParams {
    /// Fraction of high-affinity sites, 0..1.
    pub fraction_hi: f64,
    /// LogIC50 of the high-affinity site (log10 molar).
    pub log_ic50_hi: f64,
    /// LogIC50 of the low-affinity site (log10 molar).
    pub log_ic50_lo: f64,
    /// SEs of `[fraction_hi, log_ic50_hi, log_ic50_lo]`.
    pub se: [f64; 3],
    /// Covariance of `[top, bottom, fraction_hi, log_ic50_hi, log_ic50_lo]` (the model's
    /// parameter order, [`TwoSite`]).
    pub cov: [[f64; 5]; 5],
}

impl TwoSiteParams {
    /// The fitted two-site curve, with Top and Bottom from `four_pl` (the reported 4PL form).
    #[must_use]
    pub fn fitted_curve(&self, four_pl: [f64; 4]) -> FittedCurve {
        FittedCurve::TwoSite {
            params: [
                four_pl[FourPl::TOP],
                four_pl[FourPl::BOTTOM],
                self.fraction_hi,
                self.log_ic50_hi,
                self.log_ic50_lo,
            ],
            cov: self.cov,
        }
    }
}
