//! The `two_site` model of the pipeline ([`TwoSiteModel`]): Prism's "Two sites -- Fit
//! logIC50" as reported (the high-affinity site in the 4PL columns, both sites in
//! [`TwoSiteParams`], [`reported`]) with the profile interval of the high-affinity LogIC50.
//! The mean function and its fit are [`crate::fit::maths::two_site`].

use crate::config::{FitSettings, ModelKind};
use crate::fit::engine::{self, LmConfig, Model, uncertainty};
use crate::fit::maths::four_pl::{FourPlFit, FourPlOptions, fit_four_pl};
use crate::fit::maths::model_fit::ModelFit;
use crate::fit::maths::two_site::{TwoSite, fit_two_site, refit_two_site, two_site_bounds};
use crate::fit::models::curve::{CurveData, CurveModel, CurveResult, TwoSiteParams};
use crate::fit::procedures::classify::{self, CurveClass};
use crate::fit::procedures::{profile, weights};

/// A two-site fit as reported: its 4PL form holds the high-affinity site (slope -1, the
/// covariance of Top, Bottom and LogIC50hi), and both sites with their SEs and covariance.
#[must_use]
pub fn reported(
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    f: &ModelFit<5>,
    plateaus: [Option<f64>; 2],
) -> (FourPlFit, TwoSiteParams) {
    use TwoSite as T;
    let fixed = [plateaus[0].is_some(), plateaus[1].is_some(), false, false, false];
    let dep = uncertainty::asymptotic(&T, x, y, weights, &f.params, fixed, f.rss)
        .map_or([f64::NAN; 5], |u| u.dependency);
    let sites = TwoSiteParams {
        fraction_hi: f.params[T::FRACTION_HI],
        log_ic50_hi: f.params[T::LOG_IC50_HI],
        log_ic50_lo: f.params[T::LOG_IC50_LO],
        se: [f.se[T::FRACTION_HI], f.se[T::LOG_IC50_HI], f.se[T::LOG_IC50_LO]],
        cov: f.cov,
    };
    let ix = [T::TOP, T::BOTTOM, usize::MAX, T::LOG_IC50_HI];
    let mut cov = [[0.0; 4]; 4];
    for a in 0..4 {
        for b in 0..4 {
            if ix[a] != usize::MAX && ix[b] != usize::MAX {
                cov[a][b] = f.cov[ix[a]][ix[b]];
            }
        }
    }
    let fit = FourPlFit {
        params: [f.params[T::TOP], f.params[T::BOTTOM], -1.0, f.params[T::LOG_IC50_HI]],
        se: [f.se[T::TOP], f.se[T::BOTTOM], f64::NAN, f.se[T::LOG_IC50_HI]],
        cov,
        log_ic50_ci: f.ci95[T::LOG_IC50_HI],
        // The slope slot carries the worse of the fraction's and the low site's dependency,
        // so an ambiguous two-site fit is flagged.
        dependency: [dep[0], dep[1], dep[2].max(dep[4]), dep[3]],
        rss: f.rss,
        r_squared: f.r_squared,
        sy_x: f.sy_x,
        n: f.n,
        df: f.df,
        iterations: f.iterations,
        termination: f.termination,
    };
    (fit, sites)
}

/// Profile-likelihood 95% interval of the high-affinity LogIC50 of a two-site fit: the other
/// parameters refitted with it held (no relabelling, so the held site stays the high one).
#[must_use]
pub fn profile_log_ic50_hi(
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    f: &ModelFit<5>,
    plateaus: [Option<f64>; 2],
) -> (Option<f64>, Option<f64>) {
    use TwoSite as T;
    let (lower, upper) = two_site_bounds(x);
    // Top, Bottom as configured; LogIC50hi held by the profile.
    let fixed = [plateaus[0].is_some(), plateaus[1].is_some(), false, true, false];
    let refit = |theta: f64, warm: &[f64; 5]| {
        let mut start = *warm;
        start[T::LOG_IC50_HI] = theta;
        let cfg = LmConfig::default();
        let r = engine::fit_bounded(&T, x, y, weights, start, fixed, lower, upper, &cfg);
        Some((r.params, r.rss))
    };
    let li = T::LOG_IC50_HI;
    let fitted = profile::Fitted { params: f.params, rss: f.rss, df: f.df, se: f.se[li] };
    profile::profile_interval(&refit, &fitted, li, 0.95, (lower[li], upper[li]))
}

/// The `two_site` model of the config as a [`CurveModel`]: [`TwoSite`] fitted by
/// [`fit_two_site`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TwoSiteModel;

impl CurveModel for TwoSiteModel {
    fn free_params(&self, settings: &FitSettings, _functional: bool) -> usize {
        settings.fixed[..2].iter().filter(|p| p.is_none()).count() + 3
    }

    /// [`fit_two_site`], reweighted from the fitted curve ([`weights::iterate`]) with a
    /// weighting, and reported through [`reported`].
    fn fit(&self, data: &CurveData<'_>) -> CurveResult {
        let (x, y, plateaus) = (data.x, data.y, data.plateaus());
        let first = fit_two_site(x, y, plateaus, None);
        let (f, wts) = match &data.weights {
            Some(r) => {
                let (f, w, _, _) = weights::iterate(
                    r,
                    x,
                    |xi, p| TwoSite.value(xi, p),
                    first,
                    ModelFit::fitted_params,
                    |w, start| refit_two_site(x, y, plateaus, Some(w), start),
                );
                (f, Some(w))
            }
            None => (first, None),
        };
        let (fit, sites) = reported(x, y, wts.as_deref(), &f, plateaus);
        let mut r = CurveResult::four_pl(ModelKind::TwoSite, fit);
        r.curve = sites.fitted_curve(fit.params);
        r.two_site = Some(sites);
        if data.settings.profile_ci {
            r.log_ic50_profile = Some(profile_log_ic50_hi(x, y, wts.as_deref(), &f, plateaus));
        }
        r
    }

    /// The class describes the data's shape: judged on a one-curve 4PL.
    fn curve_class(&self, x: &[f64], y: &[f64], _fit: &FourPlFit, range: (f64, f64)) -> CurveClass {
        let f4 = fit_four_pl(x, y, &FourPlOptions::default());
        classify::curve_class(x, y, &f4, range)
    }
}
