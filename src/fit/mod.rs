//! Fit: groups normalised wells into curves (one per target and compound, replicate wells and
//! replicate plates pooled as individual points) and fits them in parallel.
//!
//! The least-squares engine is in `lm` (Levenberg-Marquardt, also an argmin `Solver`), the
//! models in `model`, uncertainty in `stats`, the 4PL front end in `four_pl`.
//!
//! **Invariant:** parallelism lives only here; each curve is fitted by one thread with no shared
//! state, and results keep the input order (sorted by target, then compound), so outputs do not
//! depend on the thread count. A curve that cannot be fitted is a value with a status, never a
//! panic or an error.

pub mod engine;
pub mod models;
pub mod procedures;
pub mod stats;

use std::collections::BTreeMap;

use rayon::prelude::*;

use crate::config::settings::{
    CompareKind, CompareMethod, CompareSettings, FitSettings, ModelKind, WeightingKind,
};
use crate::layout::Role;
use crate::normalise::NormalisedPlate;
use engine::{Termination, uncertainty};
use models::four_pl::{self, FourPl, FourPlFit, FourPlOptions, LOG_IC50_MARGIN, fit_four_pl};
use procedures::weights::{self, WeightRule, Weighting};
use procedures::{band, classify, compare, global, profile, replicates, rout};

/// One point offered to a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Plate id.
    pub plate: String,
    /// Well label.
    pub well: String,
    /// Concentration, nM.
    pub conc_nm: f64,
    /// Response, % specific binding (NaN when the plate could not be normalised).
    pub y: f64,
    /// Why left out of the fit.
    pub excluded: Option<String>,
    /// Mean NSB of the point's plate, CPM (for Poisson weights).
    pub nsb_cpm: f64,
    /// Specific-binding window of the plate, mean total - mean NSB, CPM.
    pub window_cpm: f64,
    /// Counting time of the plate, minutes, when the export says.
    pub counting_minutes: Option<f64>,
}

/// A compound at a target, with all its points.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    /// Target.
    pub target: String,
    /// Compound.
    pub compound: String,
    /// Plates the points come from, in plate order.
    pub plates: Vec<String>,
    /// Points in plate, then well order.
    pub points: Vec<Point>,
    /// QC flags of the plates the curve comes from (e.g. `plate_z_prime_below_0.5`).
    pub plate_flags: Vec<String>,
    /// Why the curve cannot be fitted at all (e.g. a plate without usable controls).
    pub unusable: Option<String>,
    /// The model for this curve when it is not the config's `fit.model` (a [35S]GTPγS
    /// agonist is fitted rising, an antagonist falling).
    pub model: Option<ModelKind>,
    /// A functional-assay curve ([35S]GTPγS): the plateaus are not the binding controls, so the
    /// incomplete-curve cascade does not fix Top at 100 % and no model comparison runs.
    pub functional: bool,
}

impl Curve {
    /// The points the fit uses: (log10 molar concentration, % specific binding).
    #[must_use]
    pub fn fit_data(&self) -> (Vec<f64>, Vec<f64>) {
        self.points
            .iter()
            .filter(|p| p.excluded.is_none() && p.y.is_finite())
            .map(|p| (log10_molar(p.conc_nm), p.y))
            .unzip()
    }

    /// The points the fit uses, in the order of [`Curve::fit_data`].
    pub fn fit_points(&self) -> impl Iterator<Item = &Point> {
        self.points.iter().filter(|p| p.excluded.is_none() && p.y.is_finite())
    }

    /// Lowest and highest concentration offered (nM), excluded points included.
    #[must_use]
    pub fn tested_range_nm(&self) -> (f64, f64) {
        let c = self.points.iter().map(|p| p.conc_nm).filter(|c| *c > 0.0);
        let lo = c.clone().fold(f64::INFINITY, f64::min);
        let hi = c.fold(f64::NEG_INFINITY, f64::max);
        (lo, hi)
    }
}

/// log10 of a concentration given in nM, in molar: `log10(c) - 9`; `-inf` for 0.
#[must_use]
pub fn log10_molar(conc_nm: f64) -> f64 {
    if conc_nm > 0.0 { conc_nm.log10() - 9.0 } else { f64::NEG_INFINITY }
}

/// The outcome of fitting one curve.
#[derive(Debug, Clone)]
pub struct CurveFit {
    /// The curve (points excluded as outliers carry their reason).
    pub curve: Curve,
    /// The reported fit in 4PL form `[top, bottom, hill_slope, log_ic50]`, when one was
    /// attempted. `fit_ki`: LogIC50 = LogKi + log10(1 + [L]/Kd); `two_site`: the high-affinity
    /// site (slope -1); `agonist`: LogEC50 in the LogIC50 slot.
    pub fit: Option<FourPlFit>,
    /// Why no fit was attempted.
    pub failure: Option<String>,
    /// Constraints radbind added (e.g. `bottom_fixed_0` after a free fit ran into a bound).
    pub constraints: Vec<&'static str>,
    /// The model whose parameters are reported (differs from the config's when a comparison
    /// preferred another).
    pub model: ModelKind,
    /// The `model` column: the model name, with ` (preferred by <comparison>)` when a
    /// comparison chose it over the configured model.
    pub model_label: String,
    /// `fit_ki`: LogKi (log10 molar), its SE and 95% CI, straight from the LogKi fit.
    pub log_ki: Option<(f64, f64, (f64, f64))>,
    /// Both sites of a two-site fit.
    pub two_site: Option<TwoSiteParams>,
    /// The comparison that decided the reported model.
    pub comparison: Option<ComparisonOutcome>,
    /// Points excluded by ROUT.
    pub n_outliers: usize,
    /// Further flags of the fit stage (`rout_skipped`, `at_bound_<parameter>`).
    pub flags: Vec<String>,
    /// A free parameter ended on a bound the user set (`fit.bounds`): a constrained optimum.
    pub at_user_bound: bool,
    /// NCATS curve class (`1.1` .. `4`), when a fit was attempted.
    pub curve_class: Option<&'static str>,
    /// p value of the replicates test for lack of fit (NaN when it cannot be run).
    pub lack_of_fit_p: f64,
    /// Profile-likelihood 95% interval of LogIC50 (`fit.ci: profile`); `None` on a side the
    /// data do not bound.
    pub log_ic50_profile: Option<(Option<f64>, Option<f64>)>,
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
    /// parameter order, [`models::two_site::TwoSite`]).
    pub cov: [[f64; 5]; 5],
}

/// The comparison reported for a curve.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonOutcome {
    /// `one_vs_two_sites` or `slope`.
    pub name: &'static str,
    /// F (F test) or AICc(complex) - AICc(simpler) (AICc).
    pub statistic: f64,
    /// F test p value, or (AICc) the probability that the complex model is correct.
    pub p: f64,
    /// The preferred model: `one_site`, `two_site` or `four_parameter`.
    pub preferred: &'static str,
}

impl CurveFit {
    /// The reported fitted curve with its covariance: the two-site model for a two-site fit,
    /// else the 4PL form of [`CurveFit::fit`]. `None` without a fit.
    #[must_use]
    pub fn fitted_curve(&self) -> Option<band::FittedCurve> {
        let f = self.fit.as_ref()?;
        Some(match &self.two_site {
            Some(t) => band::FittedCurve::TwoSite {
                params: [
                    f.params[FourPl::TOP],
                    f.params[FourPl::BOTTOM],
                    t.fraction_hi,
                    t.log_ic50_hi,
                    t.log_ic50_lo,
                ],
                cov: t.cov,
            },
            None => band::FittedCurve::FourPl { params: f.params, cov: f.cov },
        })
    }

    fn failed(curve: Curve, why: String, model: ModelKind) -> CurveFit {
        CurveFit {
            curve,
            fit: None,
            failure: Some(why),
            constraints: Vec::new(),
            model,
            model_label: model.name().to_string(),
            log_ki: None,
            two_site: None,
            comparison: None,
            n_outliers: 0,
            flags: Vec::new(),
            at_user_bound: false,
            curve_class: None,
            lack_of_fit_p: f64::NAN,
            log_ic50_profile: None,
        }
    }
}

/// Groups sample wells of all plates into curves keyed by (target, compound), sorted.
#[must_use]
pub fn build_curves(plates: &[NormalisedPlate]) -> Vec<Curve> {
    let mut map: BTreeMap<(String, String), Curve> = BTreeMap::new();
    for np in plates {
        let p = &np.plate;
        let plate_flags: Vec<String> = np.qc.flags.iter().map(|f| format!("plate_{f}")).collect();
        let scale = np.qc.response_scale().unwrap_or((f64::NAN, f64::NAN));
        for (i, w) in p.wells.iter().enumerate() {
            let (Role::Sample, Some(compound), Some(conc)) = (w.role, &w.compound, w.conc_nm)
            else {
                continue;
            };
            let curve = map.entry((p.target.clone(), compound.clone())).or_insert_with(|| Curve {
                target: p.target.clone(),
                compound: compound.clone(),
                plates: Vec::new(),
                points: Vec::new(),
                plate_flags: Vec::new(),
                unusable: None,
                model: None,
                functional: false,
            });
            if curve.plates.last() != Some(&p.id) {
                curve.plates.push(p.id.clone());
                for f in &plate_flags {
                    if !curve.plate_flags.contains(f) {
                        curve.plate_flags.push(f.clone());
                    }
                }
                let usable = np.qc.response_scale().is_some();
                if !usable && curve.unusable.is_none() {
                    curve.unusable = Some(format!(
                        "plate {} has no usable total/NSB window ({})",
                        p.id,
                        np.qc.flags.join(", ")
                    ));
                }
            }
            curve.points.push(Point {
                plate: p.id.clone(),
                well: w.pos.to_string(),
                conc_nm: conc,
                y: np.pct_specific[i].unwrap_or(f64::NAN),
                excluded: w.excluded.clone(),
                // CPM = offset + window y / 100 (for Poisson weights).
                nsb_cpm: scale.0,
                window_cpm: scale.1,
                counting_minutes: p.meta.counting_minutes,
            });
        }
    }
    map.into_values().collect()
}

/// Fits every curve in parallel on the current rayon pool; output order = input order.
/// `done` is called once per finished curve (for a progress bar).
#[must_use]
pub fn fit_all(
    curves: Vec<Curve>,
    settings: &FitSettings,
    done: &(dyn Fn() + Sync),
) -> Vec<CurveFit> {
    let mut fits: Vec<CurveFit> = curves
        .into_par_iter()
        .map(|c| {
            let f = fit_one(c, settings);
            done();
            f
        })
        .collect();
    if settings.share.iter().any(|s| *s) {
        share_by_target(&mut fits, settings);
    }
    fits
}

/// `fit.share`: refits the curves of each target jointly with the shared parameters
/// ([`global::fit_global`]; Motulsky & Christopoulos 2004, ch. 11-12), after each curve's own
/// fit (which did the outlier removal). Curves without a usable own fit stay as they are. Each
/// curve keeps one row: its parameters (shared ones equal across the target), SEs from the
/// global fit, LogIC50 CI `+- t(0.975, df_global) SE`, R² from its own points, Sy.x of the
/// global fit; the model column says what was shared. Targets in sorted order, so the result
/// does not depend on the thread count.
fn share_by_target(fits: &mut [CurveFit], settings: &FitSettings) {
    const NAMES: [&str; 4] = ["top", "bottom", "hill_slope", "log_ic50"];
    let shared: Vec<&str> = (0..4)
        .filter(|&k| settings.share[k] && settings.fixed[k].is_none())
        .map(|k| NAMES[k])
        .collect();
    let spec = global::GlobalSpec { shared: settings.share, fixed: settings.fixed };
    let mut targets: Vec<String> = fits.iter().map(|f| f.curve.target.clone()).collect();
    targets.dedup();
    for target in targets {
        let members: Vec<usize> = (0..fits.len())
            .filter(|&i| {
                fits[i].curve.target == target
                    && fits[i].fit.is_some_and(|f| {
                        !matches!(
                            f.termination,
                            Termination::InsufficientData | Termination::FlatResponse
                        )
                    })
            })
            .collect();
        if members.len() < 2 {
            continue;
        }
        let data: Vec<(Vec<f64>, Vec<f64>)> =
            members.iter().map(|&i| fits[i].curve.fit_data()).collect();
        let views: Vec<(&[f64], &[f64])> =
            data.iter().map(|(x, y)| (x.as_slice(), y.as_slice())).collect();
        let g = global::fit_global(&views, &spec, &engine::LmConfig::default());
        if !g.per_curve.iter().flatten().all(|v| v.is_finite()) {
            continue;
        }
        let t = stats::t975(g.df);
        let sy_x = if g.df > 0 { (g.rss / g.df as f64).sqrt() } else { f64::NAN };
        for (j, &i) in members.iter().enumerate() {
            let (x, y) = (&data[j].0, &data[j].1);
            let p = g.per_curve[j];
            let se = g.se[j];
            let cov = g.cov[j];
            let rss: f64 = {
                use models::Model;
                x.iter().zip(y).map(|(xi, yi)| (yi - FourPl.value(*xi, &p)).powi(2)).sum()
            };
            let mean = y.iter().sum::<f64>() / y.len().max(1) as f64;
            let tss: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
            let own_free = (0..4).filter(|&k| settings.fixed[k].is_none() && !settings.share[k]);
            let k_own = own_free.count();
            let li = FourPl::LOG_IC50;
            let fit = FourPlFit {
                params: p,
                se,
                cov,
                log_ic50_ci: (p[li] - t * se[li], p[li] + t * se[li]),
                dependency: [f64::NAN; 4],
                rss,
                r_squared: if tss > 0.0 { 1.0 - rss / tss } else { 0.0 },
                sy_x,
                n: x.len(),
                df: g.df,
                iterations: g.iterations,
                termination: g.termination,
            };
            let cf = &mut fits[i];
            cf.fit = Some(fit);
            cf.constraints.clear();
            cf.model_label = format!("{} (shared {})", cf.model.name(), shared.join("+"));
            let (lo, hi) = cf.curve.tested_range_nm();
            cf.curve_class =
                Some(classify::curve_class(x, y, &fit, (log10_molar(lo), log10_molar(hi))).label());
            cf.lack_of_fit_p =
                replicates::replicates_test(x, y, rss, k_own).map_or(f64::NAN, |r| r.p_value);
            cf.flags.retain(|f| f != "lack_of_fit");
            if cf.lack_of_fit_p < LACK_OF_FIT_ALPHA {
                cf.flags.push("lack_of_fit".into());
            }
        }
    }
}

/// Fewest points for a 4PL with `free` free parameters: one more than the parameters.
fn min_points(free: usize) -> usize {
    free + 1
}

/// Largest fraction of a curve's points ROUT may exclude. The FDR rule tests only the largest
/// 30% of residuals, so it can flag up to about 30%; that many "outliers" means the model
/// misses the data (ROUT over-flags on model misfit, see `rout`), not that the data are bad.
/// Above this fraction nothing is excluded and the curve is flagged `rout_skipped`.
pub const MAX_OUTLIER_FRACTION: f64 = 0.2;

/// Significance level of the replicates test behind the `lack_of_fit` flag.
pub const LACK_OF_FIT_ALPHA: f64 = 0.05;

/// The reason written for a ROUT outlier, e.g. `ROUT outlier (Q = 1%)`.
#[must_use]
pub fn rout_reason(q: f64) -> String {
    format!("ROUT outlier (Q = {}%)", (q * 100.0 * 1e6).round() / 1e6)
}

fn fit_one(mut curve: Curve, settings: &FitSettings) -> CurveFit {
    let model = curve.model.unwrap_or(settings.model);
    let functional = curve.functional;
    if let Some(why) = &curve.unusable {
        let why = why.clone();
        return CurveFit::failed(curve, why, model);
    }
    let weighting = match settings.weighting {
        WeightingKind::InverseY => Weighting::InverseY,
        WeightingKind::InverseY2 => Weighting::InverseY2,
        WeightingKind::None | WeightingKind::Poisson => Weighting::None,
    };
    let mut opts = FourPlOptions { fixed: settings.fixed, weighting, ..FourPlOptions::default() };
    if functional {
        // `fit.fix.top` is the binding control level (100 %); a functional curve's top is its
        // own maximal response.
        opts.fixed[FourPl::TOP] = None;
    }
    let plateaus = [settings.fixed[0], settings.fixed[1]];
    let free_plateaus = plateaus.iter().filter(|p| p.is_none()).count();
    let free = match model {
        ModelKind::FitKi => free_plateaus + 1,
        ModelKind::TwoSite => free_plateaus + 3,
        _ => opts.fixed.iter().filter(|f| f.is_none()).count(),
    };
    let (mut x, mut y) = curve.fit_data();
    let mut distinct: Vec<f64> = x.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if x.len() < min_points(free) || distinct.len() < 3 {
        let why = format!(
            "too few points to fit: {} points at {} concentrations ({} free parameters)",
            x.len(),
            distinct.len(),
            free
        );
        return CurveFit::failed(curve, why, model);
    }
    // ROUT (Motulsky & Brown 2006) on a variable-slope 4PL; the outliers are marked on the
    // curve's points (and so in wells.csv) and the curve is refitted without them.
    let mut flags = Vec::new();
    let mut n_outliers = 0;
    if let Some(q) = settings.rout_q {
        let used: Vec<usize> = curve
            .points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.excluded.is_none() && p.y.is_finite())
            .map(|(i, _)| i)
            .collect();
        let outliers = rout_guarded(&x, &y, q);
        if outliers.len() as f64 > MAX_OUTLIER_FRACTION * x.len() as f64 {
            flags.push("rout_skipped".to_string());
        } else if !outliers.is_empty() {
            for &k in &outliers {
                if let Some(p) = used.get(k).and_then(|&i| curve.points.get_mut(i)) {
                    p.excluded = Some(rout_reason(q));
                    n_outliers += 1;
                }
            }
            (x, y) = curve.fit_data();
        }
    }
    let mut cf = CurveFit::failed(curve, String::new(), model);
    cf.failure = None;
    cf.flags = flags;
    cf.n_outliers = n_outliers;
    // Weights from the fitted curve (`fit.weighting`), iterated as Prism does.
    let poisson = poisson_info(&cf.curve, settings);
    let rule = match settings.weighting {
        WeightingKind::None => None,
        WeightingKind::Poisson => poisson.as_deref().map(WeightRule::PoissonSb),
        WeightingKind::InverseY | WeightingKind::InverseY2 => {
            Some(WeightRule::Relative { weighting, floor: weights::yfit_floor(&y) })
        }
    };
    // The reported fit's residual sum of squares and fitted parameter count (lack of fit).
    let (rss, k_fit) = match model {
        ModelKind::FitKi => {
            use models::Model;
            let (l, kd) = settings.ligand.get(&cf.curve.target).copied().unwrap_or((0.0, 1.0));
            let m = models::fit_ki::FitKi { radioligand_nm: l, kd_nm: kd };
            let first = models::fit_ki::fit_ki(&m, &x, &y, plateaus, None, None);
            let (f, wts) = match &rule {
                Some(r) => {
                    let (f, w, _, _) = weights::iterate(
                        r,
                        &x,
                        |xi, p| m.value(xi, p),
                        first,
                        models::ModelFit::fitted_params,
                        |w, start| {
                            models::fit_ki::fit_ki(&m, &x, &y, plateaus, Some(w), Some(start))
                        },
                    );
                    (f, Some(w))
                }
                None => (first, None),
            };
            let shift = m.log_shift();
            let li = models::fit_ki::FitKi::LOG_KI;
            let fixed = [plateaus[0].is_some(), plateaus[1].is_some(), false];
            let mut ci = f.ci95[li];
            if settings.profile_ci {
                // Profile of LogKi: the plateaus refitted with LogKi held (no bounds needed).
                let mut pfixed = fixed;
                pfixed[li] = true;
                let refit = |theta: f64, warm: &[f64; 3]| {
                    let mut start = *warm;
                    start[li] = theta;
                    let r = engine::fit_bounded(
                        &m,
                        &x,
                        &y,
                        wts.as_deref(),
                        start,
                        pfixed,
                        [f64::NEG_INFINITY; 3],
                        [f64::INFINITY; 3],
                        &engine::LmConfig::default(),
                    );
                    Some((r.params, r.rss))
                };
                let (lo, hi) = models::finite_range(&x);
                let limits = (lo - LOG_IC50_MARGIN - shift, hi + LOG_IC50_MARGIN - shift);
                let fitted =
                    profile::Fitted { params: f.params, rss: f.rss, df: f.df, se: f.se[li] };
                let (a, b) = profile::profile_interval(&refit, &fitted, li, 0.95, limits);
                ci = (a.unwrap_or(f64::NAN), b.unwrap_or(f64::NAN));
                cf.log_ic50_profile = Some((a.map(|v| v + shift), b.map(|v| v + shift)));
            }
            cf.log_ki = Some((f.params[li], f.se[li], ci));
            let dep = uncertainty::asymptotic(&m, &x, &y, wts.as_deref(), &f.params, fixed, f.rss)
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
            cf.fit = Some(FourPlFit {
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
            });
            (f.rss, f.free_params())
        }
        ModelKind::TwoSite => {
            use models::Model;
            let first = models::two_site::fit_two_site(&x, &y, plateaus, None);
            let (f, wts) = match &rule {
                Some(r) => {
                    let (f, w, _, _) = weights::iterate(
                        r,
                        &x,
                        |xi, p| models::two_site::TwoSite.value(xi, p),
                        first,
                        models::ModelFit::fitted_params,
                        |w, start| {
                            models::two_site::refit_two_site(&x, &y, plateaus, Some(w), start)
                        },
                    );
                    (f, Some(w))
                }
                None => (first, None),
            };
            let (rss, k) = (f.rss, f.free_params());
            set_two_site(&mut cf, &x, &y, wts.as_deref(), &f, plateaus);
            if settings.profile_ci {
                cf.log_ic50_profile = Some(two_site_profile(&x, &y, wts.as_deref(), &f, plateaus));
            }
            (rss, k)
        }
        ModelKind::FourParameter | ModelKind::OneSite | ModelKind::Agonist => {
            let rising = model == ModelKind::Agonist;
            let w = Fitter { bounds: &settings.bounds, rule, top_control: !functional };
            let (fit, added, user) = fit_cascade(&x, &y, &opts, &w, rising);
            cf.constraints = added;
            cf.at_user_bound = !user.is_empty();
            cf.flags.extend(user.iter().map(|n| format!("at_bound_{n}")));
            let k = fit.n - fit.df.min(fit.n);
            cf.fit = Some(fit);
            let out = if let Some(c) = settings.compare.as_ref().filter(|_| !functional) {
                compare(&mut cf, &x, &y, &opts, plateaus, c, &w)
            } else {
                (fit.rss, k)
            };
            if settings.profile_ci && cf.two_site.is_none() {
                if let Some(f) = &cf.fit {
                    // The options of the reported fit: the model's slope and any plateaus the
                    // cascade fixed.
                    let mut used = opts;
                    if cf.model == ModelKind::OneSite {
                        used.fixed[FourPl::HILL] = Some(-1.0);
                    } else if cf.model == ModelKind::FourParameter && settings.model != cf.model {
                        used.fixed[FourPl::HILL] = None;
                    }
                    for c in &cf.constraints {
                        match *c {
                            "bottom_fixed_0" => used.fixed[FourPl::BOTTOM] = Some(0.0),
                            "top_fixed_100" => used.fixed[FourPl::TOP] = Some(100.0),
                            _ => {}
                        }
                    }
                    let wts = w.weights_for(&x, f);
                    let ci = profile::profile_ci(
                        &x,
                        &y,
                        wts.as_deref(),
                        &used,
                        f,
                        FourPl::LOG_IC50,
                        0.95,
                    );
                    cf.log_ic50_profile = Some(ci);
                }
            }
            out
        }
    };
    if let Some(f) = &cf.fit {
        let (lo, hi) = cf.curve.tested_range_nm();
        let range = (log10_molar(lo), log10_molar(hi));
        cf.curve_class = Some(match (cf.model, &cf.two_site) {
            (ModelKind::Agonist, _) => {
                // A rising curve [T, B, h, L] is the falling curve [B, T, -h, L] of the same
                // values; negating y makes it a falling curve [-B, -T, -h, L] of equal span.
                let [t, b, h, l] = f.params;
                let mirrored = FourPlFit { params: [-b, -t, -h, l], ..*f };
                let ny: Vec<f64> = y.iter().map(|v| -v).collect();
                classify::curve_class(&x, &ny, &mirrored, range).label()
            }
            (_, Some(_)) => {
                // The class describes the data's shape: judge it on a one-curve 4PL.
                let f4 = fit_four_pl(&x, &y, &FourPlOptions::default());
                classify::curve_class(&x, &y, &f4, range).label()
            }
            _ => classify::curve_class(&x, &y, f, range).label(),
        });
        cf.lack_of_fit_p =
            replicates::replicates_test(&x, &y, rss, k_fit).map_or(f64::NAN, |t| t.p_value);
        if cf.lack_of_fit_p < LACK_OF_FIT_ALPHA {
            cf.flags.push("lack_of_fit".into());
        }
    }
    cf
}

/// ROUT outliers of a variable-slope 4PL ([`rout::rout_four_pl`]) with one guard against
/// over-flagging: the scale of the FDR test ([`rout::fdr_outliers`]) is RSDR, but never less
/// than the replicate noise [`replicate_sd`]. A robust fit that threads through one replicate
/// of each pair has an RSDR far below the real scatter, and ROUT would then call ordinary
/// replicate scatter outliers; replicates say how large that scatter is, independent of the
/// model. Without replicates this is Prism's ROUT unchanged.
fn rout_guarded(x: &[f64], y: &[f64], q: f64) -> Vec<usize> {
    let Some(r) = rout::rout_four_pl(x, y, q) else { return Vec::new() };
    let floor = replicate_sd(x, y);
    let scale = if floor.is_finite() { r.robust.rsdr.max(floor) } else { r.robust.rsdr };
    rout::fdr_outliers(&r.robust.residuals, scale, 4, q)
}

/// Robust estimate of the replicate noise SD: `1.4826 median_i |e_i| sqrt(n_j / (n_j - 1))`
/// with `e_i = y_i - mean_j` the deviation from its concentration's mean over the `n_j >= 2`
/// replicates (`var(e_i) = sigma^2 (n_j - 1) / n_j`, and 1.4826 makes the median absolute value
/// consistent for a Gaussian; Rousseeuw & Croux 1993). The median keeps one outlier from
/// inflating it. NaN without replicates.
#[must_use]
pub fn replicate_sd(x: &[f64], y: &[f64]) -> f64 {
    let mut pts: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut dev: Vec<f64> = Vec::new();
    for level in pts.chunk_by(|a, b| a.0 == b.0) {
        let n = level.len();
        if n < 2 {
            continue;
        }
        let mean = level.iter().map(|p| p.1).sum::<f64>() / n as f64;
        let c = (n as f64 / (n as f64 - 1.0)).sqrt();
        dev.extend(level.iter().map(|p| (p.1 - mean).abs() * c));
    }
    if dev.is_empty() {
        return f64::NAN;
    }
    dev.sort_by(f64::total_cmp);
    let m = dev.len();
    let median = if m % 2 == 1 { dev[m / 2] } else { 0.5 * (dev[m / 2 - 1] + dev[m / 2]) };
    1.4826 * median
}

/// Stores a two-site fit as the reported fit: the 4PL form holds the high-affinity site.
fn set_two_site(
    cf: &mut CurveFit,
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    f: &models::ModelFit<5>,
    plateaus: [Option<f64>; 2],
) {
    use models::two_site::TwoSite as T;
    let fixed = [plateaus[0].is_some(), plateaus[1].is_some(), false, false, false];
    let dep = uncertainty::asymptotic(&T, x, y, weights, &f.params, fixed, f.rss)
        .map_or([f64::NAN; 5], |u| u.dependency);
    cf.two_site = Some(TwoSiteParams {
        fraction_hi: f.params[T::FRACTION_HI],
        log_ic50_hi: f.params[T::LOG_IC50_HI],
        log_ic50_lo: f.params[T::LOG_IC50_LO],
        se: [f.se[T::FRACTION_HI], f.se[T::LOG_IC50_HI], f.se[T::LOG_IC50_LO]],
        cov: f.cov,
    });
    let ix = [T::TOP, T::BOTTOM, usize::MAX, T::LOG_IC50_HI];
    let mut cov = [[0.0; 4]; 4];
    for a in 0..4 {
        for b in 0..4 {
            if ix[a] != usize::MAX && ix[b] != usize::MAX {
                cov[a][b] = f.cov[ix[a]][ix[b]];
            }
        }
    }
    cf.fit = Some(FourPlFit {
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
    });
}

/// Runs the configured comparisons (`fit.compare`) and sets the reported fit, as Prism reports
/// the preferred model. Every comparison tests one site (slope -1) against a more complex
/// model; of the complex models that their comparison prefers, the one with the lowest AICc is
/// reported (two_site and a variable slope are not nested, so AICc decides between them);
/// when none is preferred, one site is reported with the first comparison's numbers.
/// Returns the reported fit's (RSS, fitted parameters).
fn compare(
    cf: &mut CurveFit,
    x: &[f64],
    y: &[f64],
    opts: &FourPlOptions,
    plateaus: [Option<f64>; 2],
    c: &CompareSettings,
    w: &Fitter<'_>,
) -> (f64, usize) {
    let outcome = |name, cmp: &compare::Comparison, complex: &'static str| {
        let (statistic, p, prefer) = match c.method {
            CompareMethod::FTest => (cmp.f, cmp.p_value, cmp.prefer_complex_f),
            CompareMethod::Aicc => (cmp.delta_aicc, cmp.prob_complex, cmp.prefer_complex_aicc),
        };
        let preferred = if prefer { complex } else { "one_site" };
        (ComparisonOutcome { name, statistic, p, preferred }, prefer)
    };
    // With a weighting, both models of a comparison are fitted with the same fixed weights,
    // those of the weighted one-site fit, so that their weighted RSS are comparable (nested F
    // test, AICc).
    let cmp_weights = w.rule.as_ref().and_then(|_| {
        let mut one = *opts;
        one.fixed[FourPl::HILL] = Some(-1.0);
        let f = w.fit(x, y, &one, false);
        w.weights_for(x, &f)
    });
    let cmp_weights = cmp_weights.as_deref();
    let mut first: Option<ComparisonOutcome> = None;
    // (AICc of the complex model, its outcome, the kind) of each preferred complex model.
    let mut best: Option<(f64, ComparisonOutcome, CompareKind)> = None;
    let mut two_site = None;
    for kind in &c.models {
        let (o, prefer, aicc) = match kind {
            CompareKind::OneVsTwoSites => {
                let nf = compare::one_vs_two_sites(x, y, plateaus, cmp_weights, c.alpha);
                let (o, prefer) = outcome(kind.name(), &nf.comparison, "two_site");
                // A two-site fit with F on 0 or 1 is a one-site curve, whatever the test says.
                let prefer = prefer && nf.complex.termination.converged();
                let o = if prefer { o } else { ComparisonOutcome { preferred: "one_site", ..o } };
                two_site = Some(nf.complex);
                (o, prefer, nf.comparison.aicc_complex)
            }
            CompareKind::Slope => {
                let nf = compare::slope_fixed_vs_free(x, y, opts, cmp_weights, c.alpha);
                let (o, prefer) = outcome(kind.name(), &nf.comparison, "four_parameter");
                (o, prefer, nf.comparison.aicc_complex)
            }
        };
        if prefer && best.as_ref().is_none_or(|b| !(b.0 <= aicc)) {
            best = Some((aicc, o.clone(), *kind));
        }
        first.get_or_insert(o);
    }
    match (best, two_site) {
        (Some((_, o, CompareKind::OneVsTwoSites)), Some(f)) => {
            set_two_site(cf, x, y, cmp_weights, &f, plateaus);
            cf.model = ModelKind::TwoSite;
            cf.model_label = format!("two_site (preferred by {})", o.name);
            cf.constraints.clear();
            cf.at_user_bound = false;
            cf.comparison = Some(o);
            (f.rss, f.free_params())
        }
        (Some((_, o, _)), _) => {
            let mut free = *opts;
            free.fixed[FourPl::HILL] = None;
            let (fit, added, user) = fit_cascade(x, y, &free, w, false);
            cf.fit = Some(fit);
            cf.constraints = added;
            cf.at_user_bound = !user.is_empty();
            cf.model = ModelKind::FourParameter;
            cf.model_label = format!("four_parameter (preferred by {})", o.name);
            cf.comparison = Some(o);
            (fit.rss, fit.n - fit.df.min(fit.n))
        }
        (None, _) => {
            let mut one = *opts;
            one.fixed[FourPl::HILL] = Some(-1.0);
            let (fit, added, user) = fit_cascade(x, y, &one, w, false);
            cf.fit = Some(fit);
            cf.constraints = added;
            cf.at_user_bound = !user.is_empty();
            cf.model = ModelKind::OneSite;
            cf.model_label = match &first {
                Some(o) => format!("one_site (preferred by {})", o.name),
                None => "one_site".into(),
            };
            cf.comparison = first;
            (fit.rss, fit.n - fit.df.min(fit.n))
        }
    }
}

/// A 4PL fit (falling, or rising for `rising`) with the incomplete-curve refit cascade.
/// Returns the fit, the constraints added and the parameters that ended on a user bound.
fn fit_cascade(
    x: &[f64],
    y: &[f64],
    opts: &FourPlOptions,
    w: &Fitter<'_>,
    rising: bool,
) -> (FourPlFit, Vec<&'static str>, Vec<&'static str>) {
    let bounds = w.bounds;
    let fit = w.fit(x, y, opts, rising);
    let user = at_user_bounds(&fit, opts, bounds);
    // An incomplete curve (a compound that barely inhibits at the top concentration) lets the
    // free plateaus run away: the fit hits a parameter bound or never settles. As screening
    // systems do, refit with the plateaus the controls define: Bottom at the NSB level (0 %),
    // then also Top at total binding (100 %). The first constrained fit that converges is kept.
    // Not for agonist curves (their plateaus are not the controls), nor when the bound hit is
    // one the user set (a constrained optimum the user asked for).
    if !rising
        && user.is_empty()
        && matches!(fit.termination, Termination::AtBound | Termination::MaxIterations)
    {
        let mut constrained = *opts;
        let mut added = Vec::new();
        for (k, value, name) in [(1, 0.0, "bottom_fixed_0"), (0, 100.0, "top_fixed_100")] {
            if constrained.fixed[k].is_some() {
                continue;
            }
            if bounds[k].is_some_and(|(lo, hi)| !(lo..=hi).contains(&value))
                || (k == 0 && !w.top_control)
            {
                continue;
            }
            constrained.fixed[k] = Some(value);
            added.push(name);
            let refit = w.fit(x, y, &constrained, rising);
            if refit.termination.converged() {
                let user = at_user_bounds(&refit, &constrained, bounds);
                return (refit, added, user);
            }
            // A constrained optimum on a bound (log IC50 far beyond the top concentration) is
            // the honest answer for an inactive compound; an unsettled free fit is not.
            if refit.termination == Termination::AtBound
                && fit.termination == Termination::MaxIterations
                && k == 0
            {
                let user = at_user_bounds(&refit, &constrained, bounds);
                return (refit, added, user);
            }
        }
    }
    (fit, Vec::new(), user)
}

/// Per point used in the fit: (plate NSB CPM, window CPM, counting minutes), for
/// `weighting: poisson`; `None` for other weightings.
fn poisson_info(curve: &Curve, settings: &FitSettings) -> Option<Vec<(f64, f64, f64)>> {
    (settings.weighting == WeightingKind::Poisson).then(|| {
        curve
            .fit_points()
            .map(|p| {
                let t =
                    p.counting_minutes.filter(|t| *t > 0.0).unwrap_or(settings.counting_minutes);
                (p.nsb_cpm, p.window_cpm, t)
            })
            .collect()
    })
}

/// Profile-likelihood 95% interval of the high-affinity LogIC50 of a two-site fit: the other
/// parameters refitted with it held (no relabelling, so the held site stays the high one).
fn two_site_profile(
    x: &[f64],
    y: &[f64],
    weights: Option<&[f64]>,
    f: &models::ModelFit<5>,
    plateaus: [Option<f64>; 2],
) -> (Option<f64>, Option<f64>) {
    use models::two_site::TwoSite as T;
    let (lower, upper) = models::two_site::two_site_bounds(x);
    // Top, Bottom as configured; LogIC50hi held by the profile.
    let fixed = [plateaus[0].is_some(), plateaus[1].is_some(), false, true, false];
    let refit = |theta: f64, warm: &[f64; 5]| {
        let mut start = *warm;
        start[T::LOG_IC50_HI] = theta;
        let cfg = engine::LmConfig::default();
        let r = engine::fit_bounded(&T, x, y, weights, start, fixed, lower, upper, &cfg);
        Some((r.params, r.rss))
    };
    let li = T::LOG_IC50_HI;
    let fitted = profile::Fitted { params: f.params, rss: f.rss, df: f.df, se: f.se[li] };
    profile::profile_interval(&refit, &fitted, li, 0.95, (lower[li], upper[li]))
}

/// How the 4PL models are fitted: user bounds and weights from the fitted curve.
struct Fitter<'a> {
    bounds: &'a [Option<(f64, f64)>; 4],
    /// Weights from the fitted curve (`fit.weighting`), iterated; `None` = unweighted.
    rule: Option<WeightRule<'a>>,
    /// Top may be fixed at the total-binding control (100 %) by the incomplete-curve cascade.
    top_control: bool,
}

impl Fitter<'_> {
    /// The unweighted fit (falling, or rising for `rising`) with the user's bounds, then, with
    /// a weighting, weighted refits from the previous curve until the parameters settle
    /// ([`weights::iterate`]).
    fn fit(&self, x: &[f64], y: &[f64], opts: &FourPlOptions, rising: bool) -> FourPlFit {
        let unweighted = FourPlOptions { weighting: Weighting::None, ..*opts };
        let first = fit_four_pl_bounded(x, y, &unweighted, self.bounds, rising);
        let Some(rule) = &self.rule else { return first };
        use models::Model;
        let o = FourPlOptions { bounds: *self.bounds, ..unweighted };
        weights::iterate(
            rule,
            x,
            |xi, p| FourPl.value(xi, p),
            first,
            weights::fitted_params,
            |w, start| four_pl::fit_four_pl_with(x, y, Some(w), &o, Some(start)),
        )
        .0
    }

    /// The weights at the final fit (for the profile CI); `None` = unweighted.
    fn weights_for(&self, x: &[f64], fit: &FourPlFit) -> Option<Vec<f64>> {
        use models::Model;
        let rule = self.rule.as_ref()?;
        let mut out = Vec::new();
        rule.weights(x.iter().map(|xi| FourPl.value(*xi, &fit.params)), &mut out);
        Some(out)
    }
}

/// Names of the free parameters of `fit` sitting on a bound from `fit.bounds`.
fn at_user_bounds(
    fit: &FourPlFit,
    opts: &FourPlOptions,
    bounds: &[Option<(f64, f64)>; 4],
) -> Vec<&'static str> {
    const NAMES: [&str; 4] = ["top", "bottom", "hill_slope", "log_ic50"];
    (0..4)
        .filter(|&k| opts.fixed[k].is_none())
        .filter(|&k| {
            bounds[k].is_some_and(|(lo, hi)| {
                let v = fit.params[k];
                let tol = 1e-7 * (1.0 + v.abs());
                (v - lo).abs() <= tol || (v - hi).abs() <= tol
            })
        })
        .map(|k| NAMES[k])
        .collect()
}

/// The 4PL (or, `rising`, the agonist curve) with box constraints from `fit.bounds` on top of
/// radbind's own; see [`four_pl::apply_bounds`]. Without user bounds this is exactly
/// [`fit_four_pl`] (or [`models::agonist::fit_agonist`]).
#[must_use]
pub fn fit_four_pl_bounded(
    x: &[f64],
    y: &[f64],
    opts: &FourPlOptions,
    bounds: &[Option<(f64, f64)>; 4],
    rising: bool,
) -> FourPlFit {
    let opts = FourPlOptions { bounds: *bounds, ..*opts };
    if rising { models::agonist::fit_agonist(x, y, &opts) } else { fit_four_pl(x, y, &opts) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_weights_follow_the_counts() {
        // NSB 300, window 3700 CPM, 2 minutes: at Yfit = 50 %, CPM = 300 + 1850 = 2150,
        // var(%SB) = (100/3700)^2 * 2150 / 2.
        let p = [100.0, 0.0, -1.0, -8.0];
        let info = [(300.0, 3700.0, 2.0); 2];
        let mut w = Vec::new();
        let yfit = [-8.0, f64::NEG_INFINITY].map(|x| models::Model::value(&FourPl, x, &p));
        WeightRule::PoissonSb(&info).weights(yfit.into_iter(), &mut w);
        let var = (100.0f64 / 3700.0).powi(2) * 2150.0 / 2.0;
        assert!((w[0] - 1.0 / var).abs() < 1e-9 * w[0]);
        // At the top (4000 CPM) the variance is larger, the weight smaller.
        assert!(w[1] < w[0]);
    }

    #[test]
    fn replicate_sd_is_robust_to_one_outlier() {
        // Duplicates differing by 2 (deviations +-1, times sqrt(2)), one pair far apart.
        let x = [1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0, 4.0, 5.0, 5.0];
        let y = [10.0, 12.0, 20.0, 22.0, 30.0, 32.0, 40.0, 42.0, 50.0, 90.0];
        let sd = replicate_sd(&x, &y);
        assert!((sd - 1.4826 * 2f64.sqrt()).abs() < 1e-9, "{sd}");
        assert!(replicate_sd(&[1.0, 2.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn rout_reason_text() {
        assert_eq!(rout_reason(0.01), "ROUT outlier (Q = 1%)");
        assert_eq!(rout_reason(0.005), "ROUT outlier (Q = 0.5%)");
    }
}
