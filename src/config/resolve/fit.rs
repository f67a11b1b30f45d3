//! Resolving `fit:`: the model, fixed values and bounds, outlier removal, model comparison,
//! weighting, confidence intervals and shared parameters, with their cross-checks.

use std::collections::BTreeMap;

use super::Resolver;
use crate::config::options::{
    CiMethod, CompareMethodName, CompareName, ModelKind, Options, OutlierMethod, SharedParameter,
    WeightingName,
};
use crate::config::settings::{
    Assay, CompareKind, CompareMethod, CompareSettings, FitSettings, Target, WeightingKind,
};

impl Resolver<'_> {
    pub(super) fn fit(&mut self, o: &Options, targets: &BTreeMap<String, Target>) -> FitSettings {
        let f = o.fit.clone().unwrap_or_default();
        let model =
            self.choice(&["fit", "model"], f.model.as_ref(), ModelKind::FourParameter, |other| {
                format!("unknown model `{other}`: use {}", ModelKind::spellings())
            });
        let fix = f.fix.unwrap_or_default();
        let mut fixed = [fix.top, fix.bottom, fix.hill_slope, None];
        if matches!(model, ModelKind::OneSite | ModelKind::FitKi | ModelKind::TwoSite) {
            if fix.hill_slope.is_some_and(|h| h != -1.0) {
                self.problem(
                    &["fit", "fix", "hill_slope"],
                    format!("model {} fixes the Hill slope at -1", model.name()),
                );
            }
            fixed[2] = Some(-1.0);
        }
        let fixed_signal = [fix.top_cpm, fix.bottom_cpm];
        for (k, v) in ["top_cpm", "bottom_cpm"].iter().zip(fixed_signal) {
            if v.is_some_and(|v| !v.is_finite()) {
                self.problem(&["fit", "fix", k], "fixed values must be finite numbers".into());
            }
        }
        for (k, v) in ["top", "bottom", "hill_slope"].iter().zip(fixed) {
            if v.is_some_and(|v| !v.is_finite()) {
                self.problem(&["fit", "fix", k], "fixed values must be finite numbers".into());
            }
        }
        let b = f.bounds.unwrap_or_default();
        let mut bounds = [None; 4];
        for (k, (name, v)) in [
            ("top", b.top),
            ("bottom", b.bottom),
            ("hill_slope", b.hill_slope),
            ("log_ic50", b.log_ic50),
        ]
        .into_iter()
        .enumerate()
        {
            let Some([lo, hi]) = v else { continue };
            if lo.is_nan() || hi.is_nan() || lo > hi {
                self.problem(
                    &["fit", "bounds", name],
                    format!("bounds must be [low, high] with low <= high, got [{lo}, {hi}]"),
                );
                continue;
            }
            if matches!(model, ModelKind::FitKi | ModelKind::TwoSite) {
                self.problem(
                    &["fit", "bounds", name],
                    format!(
                        "bounds apply to the 4PL models (four_parameter, one_site, agonist), not \
                         to {}",
                        model.name()
                    ),
                );
                continue;
            }
            if let Some(x) = fixed[k].filter(|x| !(lo..=hi).contains(x)) {
                self.problem(
                    &["fit", "bounds", name],
                    format!("the fixed value {x} lies outside the bounds [{lo}, {hi}]"),
                );
            }
            bounds[k] = Some((lo, hi));
        }
        let rout_q = f.outliers.as_ref().and_then(|out| {
            match out.method.as_ref().map(|m| (m.value, m.text.as_str())) {
                None | Some((Some(OutlierMethod::Rout), _)) => {}
                Some((Some(OutlierMethod::None), _)) => return None,
                Some((None, other)) => {
                    self.problem(
                        &["fit", "outliers", "method"],
                        format!("unknown outlier method `{other}`: use rout or none"),
                    );
                    return None;
                }
            }
            let q = out.q_pct.unwrap_or(1.0);
            if !(q > 0.0 && q <= 10.0) {
                self.problem(
                    &["fit", "outliers", "q_pct"],
                    format!("Q must be a percentage in (0, 10] (Prism's default is 1), got {q}"),
                );
                return None;
            }
            Some(q / 100.0)
        });
        let compare = f.compare.as_ref().and_then(|c| {
            let mut models = Vec::new();
            for (i, m) in c.models.iter().enumerate() {
                match m.value {
                    Some(CompareName::OneVsTwoSites) => models.push(CompareKind::OneVsTwoSites),
                    Some(CompareName::Slope) => models.push(CompareKind::Slope),
                    None => self.problem(
                        &["fit", "compare", "models", &i.to_string()],
                        format!("unknown comparison `{}`: use one_vs_two_sites or slope", m.text),
                    ),
                }
            }
            if c.models.is_empty() {
                self.problem(
                    &["fit", "compare", "models"],
                    "list at least one comparison: one_vs_two_sites, slope".into(),
                );
            }
            let method = self.choice(
                &["fit", "compare", "method"],
                c.method.as_ref(),
                CompareMethodName::FTest,
                |other| format!("unknown comparison method `{other}`: use f_test or aicc"),
            );
            let method = match method {
                CompareMethodName::FTest => CompareMethod::FTest,
                CompareMethodName::Aicc => CompareMethod::Aicc,
            };
            let alpha = c.alpha.unwrap_or(0.05);
            if !(alpha > 0.0 && alpha < 1.0) {
                self.problem(
                    &["fit", "compare", "alpha"],
                    format!("alpha must lie between 0 and 1 (e.g. 0.05), got {alpha}"),
                );
            }
            if model != ModelKind::FourParameter && model != ModelKind::OneSite {
                self.problem(
                    &["fit", "compare"],
                    format!(
                        "comparisons start from one site: use model four_parameter or one_site, \
                         not {}",
                        model.name()
                    ),
                );
            }
            (!models.is_empty()).then_some(CompareSettings { models, method, alpha })
        });
        let ligand =
            targets.iter().map(|(k, t)| (k.clone(), (t.radioligand_nm, t.kd_nm))).collect();
        if model == ModelKind::FitKi {
            for t in targets.values().filter(|t| {
                matches!(t.assay, Assay::Competition | Assay::Uptake) && !t.reports_ki()
            }) {
                self.problem(
                    &["fit", "model"],
                    format!(
                        "model fit_ki fits Ki with the radioligand's [L] and Kd, and target `{}` \
                         gives neither (an IC50-only target): give its `radioligand_nM` and \
                         `kd_nM`, or use four_parameter",
                        t.name
                    ),
                );
            }
        }
        let weighting = self.choice(
            &["fit", "weighting"],
            f.weighting.as_ref(),
            WeightingName::None,
            |other| format!("unknown weighting `{other}`: use none, 1/y, 1/y2, poisson or auto"),
        );
        let weighting = match weighting {
            WeightingName::None => WeightingKind::None,
            WeightingName::InverseY => WeightingKind::InverseY,
            WeightingName::InverseY2 => WeightingKind::InverseY2,
            WeightingName::Poisson => WeightingKind::Poisson,
            WeightingName::Auto => WeightingKind::Auto,
        };
        let counting_minutes = f.counting_minutes.unwrap_or(1.0);
        if !(counting_minutes > 0.0 && counting_minutes.is_finite()) {
            self.problem(
                &["fit", "counting_minutes"],
                format!(
                    "counting time must be a positive number of minutes, got {counting_minutes}"
                ),
            );
        }
        let pipetting_cv_pct = f.pipetting_cv_pct.unwrap_or(5.0);
        if !(0.0..100.0).contains(&pipetting_cv_pct) {
            self.problem(
                &["fit", "pipetting_cv_pct"],
                format!("pipetting CV must be a % in [0, 100), got {pipetting_cv_pct}"),
            );
        }
        let ci = self.choice(&["fit", "ci"], f.ci.as_ref(), CiMethod::Asymptotic, |other| {
            format!("unknown confidence interval `{other}`: use asymptotic or profile")
        });
        let profile_ci = ci == CiMethod::Profile;
        let mut share = [false; 4];
        for (i, name) in f.share.iter().flatten().enumerate() {
            // Indexes into [top, bottom, hill_slope, log_ic50].
            match name.value {
                Some(SharedParameter::Top) => share[0] = true,
                Some(SharedParameter::Bottom) => share[1] = true,
                Some(SharedParameter::HillSlope) => share[2] = true,
                None => self.problem(
                    &["fit", "share", &i.to_string()],
                    format!("cannot share `{}`: use top, bottom or hill_slope", name.text),
                ),
            }
        }
        if share.iter().any(|s| *s) {
            let clash = [
                (!matches!(model, ModelKind::FourParameter | ModelKind::OneSite), "fit.model"),
                (compare.is_some(), "fit.compare"),
                (bounds.iter().any(Option::is_some), "fit.bounds"),
                (weighting != WeightingKind::None, "fit.weighting"),
                (profile_ci, "fit.ci: profile"),
            ];
            for (bad, what) in clash {
                if bad {
                    self.problem(
                        &["fit", "share"],
                        format!(
                            "fit.share (a global fit) works with model four_parameter or one_site \
                             and without {what} for now"
                        ),
                    );
                }
            }
        }
        FitSettings {
            model,
            fixed,
            fixed_signal,
            bounds,
            rout_q,
            compare,
            ligand,
            weighting,
            counting_minutes,
            pipetting_cv: pipetting_cv_pct / 100.0,
            profile_ci,
            share,
        }
    }
}
