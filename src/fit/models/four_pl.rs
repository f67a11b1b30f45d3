//! The `four_parameter` and `one_site` models of the pipeline ([`FourPlModel`]) and the 4PL
//! pipeline fit shared with the agonist ([`fit_curve`]): the incomplete-curve cascade with the
//! user's bounds and weights, the configured comparisons, the profile interval of LogIC50.
//!
//! The 4PL mathematics (mean function, starting values, one-curve fit) are
//! [`crate::fit::maths::four_pl`].

use crate::config::{FitSettings, ModelKind};
use crate::fit::maths::four_pl::{FourPl, FourPlOptions};
use crate::fit::models::curve::{CurveData, CurveModel, CurveResult};
use crate::fit::models::two_site::reported;
use crate::fit::procedures::cascade::{Fitter, fit_cascade};
use crate::fit::procedures::compare::{Chosen, choose_model};
use crate::fit::procedures::profile;

/// The falling 4PL models of the config, `four_parameter` and `one_site` (the config fixes the
/// slope at -1 for one site), as a [`CurveModel`]: [`fit_curve`] falling.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FourPlModel;

impl CurveModel for FourPlModel {
    fn free_params(&self, settings: &FitSettings, functional: bool) -> usize {
        curve_options(settings, functional).fixed.iter().filter(|f| f.is_none()).count()
    }

    fn fit(&self, data: &CurveData<'_>) -> CurveResult {
        fit_curve(data, false)
    }
}

/// The options of a pipeline 4PL fit: `fit.fix`, except that a functional curve's Top is its
/// own maximal response (`fit.fix.top` is the binding control level, 100 %).
#[must_use]
pub fn curve_options(settings: &FitSettings, functional: bool) -> FourPlOptions {
    let mut opts = FourPlOptions { fixed: settings.fixed, ..FourPlOptions::default() };
    if functional {
        opts.fixed[FourPl::TOP] = None;
    }
    opts
}

/// A curve fitted with a 4PL model (falling, or rising for `rising`: the agonist): the
/// incomplete-curve cascade with the user's bounds and weights ([`fit_cascade`]), the
/// configured comparisons (`fit.compare`, not for functional curves: [`choose_model`]), and the
/// profile-likelihood interval of LogIC50 of the reported fit (`fit.ci: profile`).
#[must_use]
pub fn fit_curve(data: &CurveData<'_>, rising: bool) -> CurveResult {
    let (x, y, settings) = (data.x, data.y, data.settings);
    let opts = curve_options(settings, data.functional);
    // The plateaus' control levels (0 % and 100 %) exist only on a scale relative to controls.
    let w = Fitter {
        bounds: &settings.bounds,
        rule: data.weights,
        top_control: !data.functional && !data.signal,
        bottom_control: !data.signal,
    };
    let (fit, added, user) = fit_cascade(x, y, &opts, &w, rising);
    let mut r = CurveResult::four_pl(data.model, fit);
    r.constraints = added;
    r.at_user_bound = !user.is_empty();
    r.flags.extend(user.iter().map(|n| format!("at_bound_{n}")));
    if let Some(c) = settings.compare.as_ref().filter(|_| !data.functional) {
        let (chosen, comparison) = choose_model(x, y, &opts, data.plateaus(), c, &w);
        r.comparison = comparison;
        match chosen {
            Chosen::TwoSite { fit, weights } => {
                let (four_pl, sites) = reported(x, y, weights.as_deref(), &fit, data.plateaus());
                r.model = ModelKind::TwoSite;
                r.fit = four_pl;
                r.curve = sites.fitted_curve(four_pl.params);
                r.two_site = Some(sites);
                r.constraints.clear();
                r.at_user_bound = false;
            }
            Chosen::FourPl { model, fit, constraints, user_bounds } => {
                r.model = model;
                r.fit = fit;
                r.curve = CurveResult::four_pl(model, fit).curve;
                r.constraints = constraints;
                r.at_user_bound = !user_bounds.is_empty();
            }
        }
    }
    if settings.profile_ci && r.two_site.is_none() {
        // The options of the reported fit: the model's slope and any plateaus the cascade
        // fixed.
        let mut used = opts;
        if r.model == ModelKind::OneSite {
            used.fixed[FourPl::HILL] = Some(-1.0);
        } else if r.model == ModelKind::FourParameter && settings.model != r.model {
            used.fixed[FourPl::HILL] = None;
        }
        for c in &r.constraints {
            let (k, v) = c.fixes();
            used.fixed[k] = Some(v);
        }
        let wts = w.weights_for(x, &r.fit);
        let ci = profile::profile_ci(x, y, wts.as_deref(), &used, &r.fit, FourPl::LOG_IC50, 0.95);
        r.log_ic50_profile = Some(ci);
    }
    r
}
