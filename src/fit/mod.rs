//! Fit: groups normalised wells into curves (one per target and compound, replicate wells and
//! replicate plates pooled as individual points) and fits them in parallel.
//!
//! Owns the curves ([`Curve`], [`build_curves`], the one decision of each curve's model,
//! [`assign_models`]) and the outcome of fitting them ([`CurveFit`], [`FitOutcome`]). The
//! least-squares engine is [`engine`] (one Levenberg-Marquardt, also an argmin `Solver`), the
//! mathematics of the models the procedures build on [`maths`] (4PL, two sites, agonist, the
//! generic fit), the procedures (weights, ROUT, profile CI, comparison, global fit, the
//! incomplete-curve cascade, curve class, replicates test, band) [`procedures`], and the
//! pipeline models [`models`] (one file each, [`models::curve::CurveModel`]).
//!
//! Layers, each importing only those before it: `engine` < `maths` < `procedures` <
//! `models` < this file.
//!
//! **Invariant:** parallelism lives only here; each curve is fitted by one thread with no shared
//! state, and results keep the input order (sorted by target, then compound), so outputs do not
//! depend on the thread count. A curve that cannot be fitted is a value with a status, never a
//! panic or an error.

pub mod engine;
pub mod maths;
pub mod models;
pub mod procedures;
pub mod stats;
pub mod status;

use std::collections::BTreeMap;
use std::fmt;

use rayon::prelude::*;

use crate::config::{Assay, FitSettings, ModelKind, Target, WeightingKind};
use crate::layout::Role;
use crate::normalise::variance::VarianceModel;
use crate::normalise::{Normalisation, NormalisedPlate};
use crate::units::log10_molar;
use engine::{Model, Termination};
use maths::four_pl::{FourPl, FourPlFit};
use models::curve::{CurveData, CurveResult};
use models::curve_model;
use models::four_pl::curve_options;
use procedures::band::FittedCurve;
use procedures::cascade::{Fitter, fit_cascade};
use procedures::classify::{self, CurveClass};
use procedures::rout::{MAX_OUTLIER_FRACTION, rout_guarded, rout_reason};
use procedures::span::Span;
use procedures::weights::{PointScale, WeightRule};
use procedures::{global, inactive, replicates};

/// One point offered to a fit.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// Plate id.
    pub plate: String,
    /// Well label.
    pub well: String,
    /// Concentration, nM.
    pub conc_nm: f64,
    /// Response: % specific binding (or the assay's %), or the raw signal on a plate without
    /// controls ([`Response::Signal`]; % of the fitted span after [`fit_all`]); NaN when the
    /// plate could not be normalised.
    pub y: f64,
    /// Why left out of the fit.
    pub excluded: Option<String>,
    /// Mean NSB of the point's plate, CPM (for Poisson weights).
    pub nsb_cpm: f64,
    /// Specific-binding window of the plate, mean total - mean NSB, CPM.
    pub window_cpm: f64,
    /// Counting time of the plate, minutes, when the export says.
    pub counting_minutes: Option<f64>,
    /// The plate's variance model of counts (weights `auto`, ROUT's scale).
    pub variance: VarianceModel,
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
    /// The model the curve is fitted with: the config's `fit.model`, except for [35S]GTPγS
    /// curves (an agonist is fitted rising, an antagonist falling; [`assign_models`]).
    pub model: ModelKind,
    /// A functional-assay curve ([35S]GTPγS): the plateaus are not the binding controls, so the
    /// incomplete-curve cascade does not fix Top at 100 % and no model comparison runs.
    pub functional: bool,
    /// What the points' `y` are.
    pub response: Response,
    /// The independent experiment the curve's plates belong to (`PlateSpec::experiment`);
    /// `None`: the run's. Plates of different experiments never pool into one curve.
    pub experiment: Option<String>,
}

/// What a curve's responses are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// % of the plate's controls (% specific binding, % of control uptake, % stimulation).
    Controls,
    /// The raw signal (CPM) of plates without controls: fitted with free plateaus (or
    /// `fit.fix.top_cpm`/`bottom_cpm`), then expressed in % of the fitted span
    /// ([`procedures::span`]). After [`fit_all`] the points' `y` are in that %.
    Signal,
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

/// The outcome of fitting one curve.
#[derive(Debug, Clone)]
pub struct CurveFit {
    /// The curve (points excluded as outliers carry their reason).
    pub curve: Curve,
    /// The model whose parameters are reported: the curve's ([`Curve::model`]), or the one a
    /// comparison preferred.
    pub model: ModelKind,
    /// The `model` column: the model name, with ` (preferred by <comparison>)` when a
    /// comparison ran, or ` (shared <parameters>)` for a global fit.
    pub model_label: String,
    /// The fit, or why none was attempted.
    pub outcome: FitOutcome,
    /// Points excluded by ROUT.
    pub n_outliers: usize,
    /// Further flags of the fit stage (`rout_skipped`, `at_bound_<parameter>`, `lack_of_fit`).
    pub flags: Vec<String>,
}

/// Whether a curve was fitted.
#[derive(Debug, Clone)]
pub enum FitOutcome {
    /// No fit was attempted.
    NotFitted(FitFailure),
    /// A fit was made (converged or not: its termination says).
    Fitted(Box<Fitted>),
}

/// Why no fit was attempted.
#[derive(Debug, Clone, PartialEq)]
pub enum FitFailure {
    /// A plate of the curve has no usable controls (the text says which and why).
    Unusable(String),
    /// Fewer points than the model's free parameters plus one, or fewer than 3
    /// concentrations.
    TooFewPoints {
        /// Points.
        points: usize,
        /// Distinct concentrations.
        concentrations: usize,
        /// Free parameters of the model.
        free: usize,
    },
}

impl fmt::Display for FitFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unusable(why) => f.write_str(why),
            Self::TooFewPoints { points, concentrations, free } => write!(
                f,
                "too few points to fit: {points} points at {concentrations} concentrations \
                 ({free} free parameters)"
            ),
        }
    }
}

/// A fitted curve: what its model reports ([`CurveResult`]; its flags are moved to
/// [`CurveFit::flags`]) with the curve class and the replicates test.
#[derive(Debug, Clone, PartialEq)]
pub struct Fitted {
    /// The model's result: the reported fit in 4PL form, the fitted curve, Ki, sites,
    /// constraints, comparison and profile interval.
    pub result: CurveResult,
    /// NCATS curve class.
    pub curve_class: CurveClass,
    /// p value of the replicates test for lack of fit (NaN when it cannot be run).
    pub lack_of_fit_p: f64,
    /// A horizontal line fits as well as the curve (F test, [`inactive`]): class 4, no IC50,
    /// the result's curve is the line.
    pub inactive: bool,
    /// A raw-signal curve's fitted plateaus in signal units (CPM), before its fit was
    /// expressed in % of the fitted span.
    pub signal_plateaus: Option<SignalPlateaus>,
}

/// The plateaus of a curve fitted on the raw signal, in signal units (CPM for counts).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SignalPlateaus {
    /// Top plateau.
    pub top: f64,
    /// Bottom plateau.
    pub bottom: f64,
    /// SE of Top (0 when fixed).
    pub top_se: f64,
    /// SE of Bottom (0 when fixed).
    pub bottom_se: f64,
    /// False when the plateaus did not define a span and the points are in % of their mean.
    pub span_fitted: bool,
}

impl CurveFit {
    /// The fit, when one was made.
    #[must_use]
    pub fn fitted(&self) -> Option<&Fitted> {
        match &self.outcome {
            FitOutcome::Fitted(f) => Some(f),
            FitOutcome::NotFitted(_) => None,
        }
    }

    /// The reported fit in 4PL form, when one was made.
    #[must_use]
    pub fn fit(&self) -> Option<&FourPlFit> {
        self.fitted().map(|f| &f.result.fit)
    }

    /// The reported fitted curve with its covariance; `None` without a fit.
    #[must_use]
    pub fn fitted_curve(&self) -> Option<FittedCurve> {
        self.fitted().map(|f| f.result.curve)
    }

    fn not_fitted(curve: Curve, why: FitFailure) -> CurveFit {
        let model = curve.model;
        CurveFit {
            curve,
            model,
            model_label: model.name().to_string(),
            outcome: FitOutcome::NotFitted(why),
            n_outliers: 0,
            flags: Vec::new(),
        }
    }
}

/// One plate's part of one curve: its sample wells of one compound as points.
struct PlatePart<'a> {
    plate: &'a NormalisedPlate,
    compound: &'a str,
    response: Response,
    points: Vec<Point>,
}

/// The parts of curves one plate holds, its compounds in the order of their first wells,
/// each compound's points in well order; none for a background plate (an empty or blank
/// plate in the export is not an assay plate).
fn plate_parts(np: &NormalisedPlate) -> Vec<PlatePart<'_>> {
    if np.qc.background_p95.is_some() {
        return Vec::new();
    }
    let p = &np.plate;
    let response = match np.qc.normalisation {
        Normalisation::Controls | Normalisation::Counts => Response::Controls,
        Normalisation::Signal => Response::Signal,
    };
    // A raw-signal point is its count: CPM = 0 + 100 y / 100 for the Poisson weights.
    let scale = match response {
        Response::Signal => (0.0, 100.0),
        Response::Controls => np.qc.response_scale().unwrap_or((f64::NAN, f64::NAN)),
    };
    let mut parts: Vec<PlatePart<'_>> = Vec::new();
    let mut index: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, w) in p.wells.iter().enumerate() {
        let (Role::Sample, Some(compound), Some(conc)) = (w.role, &w.compound, w.conc_nm) else {
            continue;
        };
        let k = *index.entry(compound.as_str()).or_insert_with(|| {
            parts.push(PlatePart { plate: np, compound, response, points: Vec::new() });
            parts.len() - 1
        });
        let y = match response {
            Response::Signal => w.cpm,
            Response::Controls => np.pct_specific[i],
        };
        parts[k].points.push(Point {
            plate: p.id.clone(),
            well: w.pos.label(),
            conc_nm: conc,
            y: y.unwrap_or(f64::NAN),
            excluded: w.excluded.clone(),
            // CPM = offset + window y / 100 (for Poisson weights).
            nsb_cpm: scale.0,
            window_cpm: scale.1,
            counting_minutes: p.meta.counting_minutes,
            variance: np.variance,
        });
    }
    parts
}

/// Groups sample wells of all plates into curves keyed by (target, compound, experiment),
/// sorted (one experiment's replicate plates pool; experiments never do), and
/// decides each curve's model ([`assign_models`]). Each plate's points are made on the current
/// rayon pool; the curves are joined in plate order.
#[must_use]
pub fn build_curves(
    plates: &[NormalisedPlate],
    targets: &BTreeMap<String, Target>,
    settings: &FitSettings,
) -> Vec<Curve> {
    use rayon::prelude::*;
    let parts: Vec<Vec<PlatePart<'_>>> = plates.par_iter().map(plate_parts).collect();
    let mut map: BTreeMap<(String, String, Option<String>), Curve> = BTreeMap::new();
    for part in parts.into_iter().flatten() {
        let (np, response) = (part.plate, part.response);
        let p = &np.plate;
        let key = (p.target.clone(), part.compound.to_string(), p.experiment.clone());
        let curve = map.entry(key).or_insert_with(|| Curve {
            target: p.target.clone(),
            compound: part.compound.to_string(),
            plates: Vec::new(),
            points: Vec::new(),
            plate_flags: Vec::new(),
            unusable: None,
            model: settings.model,
            functional: false,
            response,
            experiment: p.experiment.clone(),
        });
        if curve.plates.last() != Some(&p.id) {
            if curve.response != response && curve.unusable.is_none() {
                curve.unusable = Some(format!(
                    "plate {} has no control wells but plate {} has: a curve is fitted on \
                     % of controls or on the raw signal, not both; give its plates the same \
                     kind of layout (or `controls_from`)",
                    if response == Response::Signal { &p.id } else { &curve.plates[0] },
                    if response == Response::Signal { &curve.plates[0] } else { &p.id },
                ));
            }
            curve.plates.push(p.id.clone());
            for f in np.qc.flags.iter().map(|f| format!("plate_{f}")) {
                if !curve.plate_flags.contains(&f) {
                    curve.plate_flags.push(f);
                }
            }
            if curve.unusable.is_none() {
                curve.unusable = np.qc.unusable(&p.id);
            }
        }
        curve.points.extend(part.points);
    }
    let mut curves = map.into_values().collect();
    assign_models(&mut curves, targets, settings);
    curves
}

/// Decides each curve's model, once: curves of saturation targets are not competition curves
/// (the saturation stage fits them) and are dropped; [35S]GTPγS curves are functional, agonists
/// fitted rising, antagonists falling (one site when `fit.model` is one site); every other
/// curve has `fit.model`.
pub fn assign_models(
    curves: &mut Vec<Curve>,
    targets: &BTreeMap<String, Target>,
    settings: &FitSettings,
) {
    curves.retain(|c| {
        !targets.get(&c.target).is_some_and(|t| matches!(t.assay, Assay::Saturation(_)))
    });
    for c in curves.iter_mut() {
        c.model = settings.model;
        let Some(Assay::Gtpgs(spec)) = targets.get(&c.target).map(|t| &t.assay) else {
            continue;
        };
        c.functional = true;
        c.model = if spec.antagonists.contains(&c.compound) {
            match settings.model {
                ModelKind::OneSite => ModelKind::OneSite,
                _ => ModelKind::FourParameter,
            }
        } else {
            ModelKind::Agonist
        };
    }
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
    for f in fits.iter_mut().filter(|f| f.curve.response == Response::Signal) {
        express_in_span(f);
    }
    fits
}

/// A raw-signal curve ([`Response::Signal`]) in % of its fitted span ([`Span`]): its points,
/// its fit and fitted curve; the plateaus in signal units are kept in
/// [`Fitted::signal_plateaus`]. Without a fit (or a span) the points are in % of their
/// mean signal.
fn express_in_span(f: &mut CurveFit) {
    let (_, y) = f.curve.fit_data();
    // An inactive curve (a horizontal line) has no span: % of its mean signal.
    let inactive = f.fitted().is_some_and(|d| d.inactive);
    let params = f
        .fit()
        .filter(|x| x.termination.converged() || x.params.iter().all(|v| v.is_finite()))
        .map(|x| x.params);
    let Some(span) = Span::of(params.as_ref().filter(|_| !inactive), &y) else { return };
    for p in &mut f.curve.points {
        p.y = span.apply(p.y);
    }
    if let FitOutcome::Fitted(fd) = &mut f.outcome {
        let fit = &fd.result.fit;
        fd.signal_plateaus = Some(SignalPlateaus {
            top: fit.params[FourPl::TOP],
            bottom: fit.params[FourPl::BOTTOM],
            top_se: fit.se[FourPl::TOP],
            bottom_se: fit.se[FourPl::BOTTOM],
            span_fitted: span.fitted,
        });
        span.rescale_fit(&mut fd.result.fit);
        span.rescale_curve(&mut fd.result.curve);
    }
}

/// `fit.share`: refits the curves of each target jointly with the shared parameters
/// ([`global::fit_global`]; Motulsky & Christopoulos 2004, ch. 11-12), after each curve's own
/// fit (which did the outlier removal). Curves without a usable own fit stay as they are. Each
/// curve keeps one row: its parameters (shared ones equal across the target), SEs from the
/// global fit, LogIC50 CI `+- t(0.975, df_global) SE`, R² from its own points, Sy.x of the
/// global fit; the model column says what was shared. Targets in sorted order, so the result
/// does not depend on the thread count.
fn share_by_target(fits: &mut [CurveFit], settings: &FitSettings) {
    let shared: Vec<&str> = (0..4)
        .filter(|&k| settings.share[k] && settings.fixed[k].is_none())
        .map(|k| FourPl::NAMES[k])
        .collect();
    let spec = global::GlobalSpec { shared: settings.share, fixed: settings.fixed };
    let mut targets: Vec<String> = fits.iter().map(|f| f.curve.target.clone()).collect();
    targets.dedup();
    for target in targets {
        let members: Vec<usize> = (0..fits.len())
            .filter(|&i| {
                fits[i].curve.target == target
                    && fits[i].fit().is_some_and(|f| {
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
            let rss: f64 =
                x.iter().zip(y).map(|(xi, yi)| (yi - FourPl.value(*xi, &p)).powi(2)).sum();
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
            let FitOutcome::Fitted(fd) = &mut cf.outcome else { continue };
            fd.result.fit = fit;
            fd.result.curve = FittedCurve::FourPl { params: fit.params, cov: fit.cov };
            fd.result.constraints.clear();
            cf.model_label = format!("{} (shared {})", cf.model.name(), shared.join("+"));
            let (lo, hi) = cf.curve.tested_range_nm();
            fd.curve_class = classify::curve_class(x, y, &fit, (log10_molar(lo), log10_molar(hi)));
            fd.lack_of_fit_p =
                replicates::replicates_test(x, y, rss, k_own).map_or(f64::NAN, |r| r.p_value);
            cf.flags.retain(|f| f != "lack_of_fit");
            if fd.lack_of_fit_p < LACK_OF_FIT_ALPHA {
                cf.flags.push("lack_of_fit".into());
            }
        }
    }
}

/// Fewest points for a model with `free` free parameters: one more than the parameters.
fn min_points(free: usize) -> usize {
    free + 1
}

/// Significance level of the replicates test behind the `lack_of_fit` flag.
pub const LACK_OF_FIT_ALPHA: f64 = 0.05;

/// Fits one curve with its model ([`curve_model`]): the point checks, ROUT (Motulsky & Brown
/// 2006, on a variable-slope 4PL), the weights, the model's fit, then the curve class of the
/// reported model and the replicates test for lack of fit.
fn fit_one(mut curve: Curve, settings: &FitSettings) -> CurveFit {
    if let Some(why) = &curve.unusable {
        let why = FitFailure::Unusable(why.clone());
        return CurveFit::not_fitted(curve, why);
    }
    // A raw-signal curve: its fixed plateaus are `fit.fix.top_cpm`/`bottom_cpm`, and the
    // plateau bounds (in % of controls) do not apply.
    let signal_settings;
    let settings = if curve.response == Response::Signal {
        let mut s = settings.clone();
        s.fixed[FourPl::TOP] = settings.fixed_signal[0];
        s.fixed[FourPl::BOTTOM] = settings.fixed_signal[1];
        s.bounds[FourPl::TOP] = None;
        s.bounds[FourPl::BOTTOM] = None;
        signal_settings = s;
        &signal_settings
    } else {
        settings
    };
    let model = curve_model(curve.model);
    let free = model.free_params(settings, curve.functional);
    let (mut x, mut y) = curve.fit_data();
    let mut distinct: Vec<f64> = x.clone();
    distinct.sort_by(f64::total_cmp);
    distinct.dedup();
    if x.len() < min_points(free) || distinct.len() < 3 {
        let why =
            FitFailure::TooFewPoints { points: x.len(), concentrations: distinct.len(), free };
        return CurveFit::not_fitted(curve, why);
    }
    // ROUT on a variable-slope 4PL; the outliers are marked on the curve's points (and so in
    // wells.csv) and the curve is refitted without them.
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
        // Residuals studentised by the plates' variance models of counts.
        let scales = point_scales(&curve, settings, true);
        let scale = WeightRule::new(WeightingKind::Auto, &y, &scales);
        let fixed = rout_fixed(&curve, settings, &x, &y);
        let outliers = rout_guarded(&x, &y, q, scale.as_ref(), fixed);
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
    // Weights from the fitted curve (`fit.weighting`), iterated as Prism does.
    let counts = point_scales(&curve, settings, false);
    let data = CurveData {
        x: &x,
        y: &y,
        model: curve.model,
        target: &curve.target,
        functional: curve.functional,
        signal: curve.response == Response::Signal,
        settings,
        weights: WeightRule::new(settings.weighting, &y, &counts),
    };
    let mut r: CurveResult = model.fit(&data);
    flags.append(&mut r.flags);
    let (lo, hi) = curve.tested_range_nm();
    let range = (log10_molar(lo), log10_molar(hi));
    let mut curve_class = curve_model(r.model).curve_class(&x, &y, &r.fit, range);
    // Inactive: a horizontal line fits as well as the curve (F test with the fit's weights)
    // at a level above 50 % (no inhibition; a flat line near 0 % is a compound that inhibits
    // fully at every concentration, censored below the range by derive). Not for functional
    // curves, whose levels are not the binding controls.
    let is_inactive = r.two_site.is_none() && !curve.functional && {
        let w = data.weights.map(|rule| {
            let mut v = Vec::new();
            rule.weights(x.iter().map(|xi| FourPl.value(*xi, &r.fit.params)), &mut v);
            v
        });
        let c = inactive::line_vs_curve(&x, &y, w.as_deref(), &r.fit);
        let (level, se, _) = inactive::line_fit(&y, w.as_deref());
        // On the raw signal (no controls) a flat curve is inactive at any level; on % of
        // controls, data that fall through 50 % have an effect (and get a number).
        let no_effect = curve.response == Response::Signal
            || (level > 50.0 && !inactive::falls_through_half(&x, &y));
        if c.is_some_and(|c| !(c.p_value < inactive::INACTIVE_ALPHA)) && no_effect {
            r.curve = inactive::horizontal_line(level, se);
            curve_class = CurveClass::Class4;
            flags.push("inactive".to_string());
            true
        } else {
            false
        }
    };
    // The reported fit's residual sum of squares and fitted parameter count.
    let k_fit = r.fit.n - r.fit.df.min(r.fit.n);
    let lack_of_fit_p =
        replicates::replicates_test(&x, &y, r.fit.rss, k_fit).map_or(f64::NAN, |t| t.p_value);
    if lack_of_fit_p < LACK_OF_FIT_ALPHA {
        flags.push("lack_of_fit".into());
    }
    let model_label = match &r.comparison {
        Some(o) => format!("{} (preferred by {})", r.model.name(), o.kind.name()),
        None => r.model.name().to_string(),
    };
    let model_kind = r.model;
    let fitted = Fitted {
        result: r,
        curve_class,
        lack_of_fit_p,
        inactive: is_inactive,
        signal_plateaus: None,
    };
    CurveFit {
        curve,
        model: model_kind,
        model_label,
        outcome: FitOutcome::Fitted(Box::new(fitted)),
        n_outliers,
        flags,
    }
}

/// The 4PL parameters ROUT's robust fit holds fixed: those of the model the curve is fitted
/// with. For the falling 4PL models (`four_parameter`, `one_site`; not functional curves) the
/// user's `fit.fix`, the slope of one site, and the control-level plateaus the
/// incomplete-curve rule fixes ([`fit_cascade`] on the unweighted data): a free plateau the
/// data do not define lets the robust fit bend to an outlier at that end of the range (or find
/// a step through the noise of a flat curve), where the reported fit holds it at 0 % or 100 %.
/// Other models: all four free (Prism's ROUT on a variable-slope 4PL).
fn rout_fixed(curve: &Curve, settings: &FitSettings, x: &[f64], y: &[f64]) -> [Option<f64>; 4] {
    if !matches!(curve.model, ModelKind::FourParameter | ModelKind::OneSite) || curve.functional {
        return [None; 4];
    }
    let mut opts = curve_options(settings, curve.functional);
    if curve.model == ModelKind::OneSite {
        opts.fixed[FourPl::HILL] = Some(-1.0);
    }
    let signal = curve.response == Response::Signal;
    let w = Fitter {
        bounds: &settings.bounds,
        rule: None,
        top_control: !signal,
        bottom_control: !signal,
    };
    let (_, added, _) = fit_cascade(x, y, &opts, &w, false);
    let mut fixed = opts.fixed;
    for c in added {
        let (k, v) = c.fixes();
        fixed[k] = Some(v);
    }
    fixed
}

/// Per point used in the fit: its response scale and variance model of counts: the plate's
/// model ([`Point::variance`]) for `weighting: auto` and for ROUT, counting statistics only
/// (the counting minutes of the export, else `fit.counting_minutes`) for `poisson`; `model`:
/// always the plate's model.
fn point_scales(curve: &Curve, settings: &FitSettings, model: bool) -> Vec<PointScale> {
    curve
        .fit_points()
        .map(|p| {
            let variance = if settings.weighting == WeightingKind::Poisson && !model {
                let t =
                    p.counting_minutes.filter(|t| *t > 0.0).unwrap_or(settings.counting_minutes);
                VarianceModel::poisson_cv(t, 0.0)
            } else {
                p.variance
            };
            PointScale { offset: p.nsb_cpm, window: p.window_cpm, variance }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_weights_follow_the_counts() {
        // NSB 300, window 3700 CPM, 2 minutes: at Yfit = 50 %, CPM = 300 + 1850 = 2150,
        // var(%SB) = (100/3700)^2 * 2150 / 2.
        let p = [100.0, 0.0, -1.0, -8.0];
        let info = [PointScale {
            offset: 300.0,
            window: 3700.0,
            variance: VarianceModel::poisson_cv(2.0, 0.0),
        }; 2];
        let mut w = Vec::new();
        let yfit = [-8.0, f64::NEG_INFINITY].map(|x| FourPl.value(x, &p));
        let rule = WeightRule::new(WeightingKind::Poisson, &yfit, &info).expect("weighted");
        rule.weights(yfit.into_iter(), &mut w);
        let var = (100.0f64 / 3700.0).powi(2) * 2150.0 / 2.0;
        assert!((w[0] - 1.0 / var).abs() < 1e-9 * w[0]);
        // At the top (4000 CPM) the variance is larger, the weight smaller.
        assert!(w[1] < w[0]);
    }

    #[test]
    fn failure_text() {
        let f = FitFailure::TooFewPoints { points: 4, concentrations: 2, free: 4 };
        assert_eq!(
            f.to_string(),
            "too few points to fit: 4 points at 2 concentrations (4 free parameters)"
        );
    }
}
