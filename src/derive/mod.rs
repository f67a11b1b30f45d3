//! Derive: from fitted IC50 to Ki (Cheng-Prusoff), pIC50/pKi, censoring and the per-curve
//! flags that tell a pharmacologist whether to trust a number; then the whole run's results.
//!
//! Owns the derive stage ([`derive_all`]: one [`CurveRow`] per fitted curve, the numbers that
//! need several curves, the plate/well/target rows, all in one [`RunResults`]), the output
//! row types ([`rows`]), the flag rules ([`flags`]), the functional-assay numbers
//! ([`functional`]) and Cheng-Prusoff ([`cheng_prusoff`]). The fit itself is not changed here;
//! nothing is written here (that is `report`).

pub mod flags;
pub mod functional;
pub mod primary;
pub mod reference;
pub mod rows;

use std::collections::BTreeMap;
use std::time::SystemTime;

use crate::config::{Assay, ModelKind, Settings, Target};
use crate::fit::procedures::band::FittedCurve;
use crate::fit::status::CurveStatus;
use crate::fit::{CurveFit, FitOutcome, Response};
use crate::ingest::inputs::InputFile;
use crate::normalise::NormalisedPlate;
use crate::saturation::SaturationRow;
use crate::units::{log10_molar, nm_from_log10_molar, p_value};
use flags::{FitView, Shape};
use rows::{
    Censor, CompareNumbers, CurvePoint, CurveRow, FitNumbers, FunctionalNumbers, FunctionalRole,
    PlateRow, RunResults, TargetRow, TwoSiteNumbers, WellRow,
};

/// The Cheng-Prusoff factor `1 + [L] / Kd` (both in the same unit): how far the radioligand
/// shifts a competitor's IC50 above its Ki. See [`cheng_prusoff`].
#[must_use]
pub fn cheng_prusoff_factor(radioligand: f64, kd: f64) -> f64 {
    1.0 + radioligand / kd
}

/// Cheng-Prusoff: `Ki = IC50 / (1 + [L] / Kd)` (Cheng & Prusoff 1973, Biochem Pharmacol
/// 22:3099). All three concentrations in the same unit (here nM). Valid for a competitive,
/// reversible interaction at equilibrium with free [L] close to added [L] (< 10% bound).
///
/// ```
/// // IC50 10 nM, [L] 1 nM at Kd 1 nM: Ki = 10 / 2 = 5 nM.
/// assert_eq!(radbind::derive::cheng_prusoff(10.0, 1.0, 1.0), 5.0);
/// ```
#[must_use]
pub fn cheng_prusoff(ic50: f64, radioligand: f64, kd: f64) -> f64 {
    ic50 / cheng_prusoff_factor(radioligand, kd)
}

/// Cheng-Prusoff the other way round: `IC50 = Ki (1 + [L] / Kd)`, the IC50 a competitor of
/// inhibition constant `ki` shows against `radioligand` at dissociation constant `kd` (one
/// unit for all three).
///
/// ```
/// // Ki 5 nM, [L] 1 nM at Kd 1 nM: IC50 = 5 x 2 = 10 nM.
/// assert_eq!(radbind::derive::ic50_from_ki(5.0, 1.0, 1.0), 10.0);
/// ```
#[must_use]
pub fn ic50_from_ki(ki: f64, radioligand: f64, kd: f64) -> f64 {
    ki * cheng_prusoff_factor(radioligand, kd)
}

/// What the stages before derive produced, as [`derive_all`] needs it.
#[derive(Debug)]
pub struct Upstream<'a> {
    /// The resolved configuration.
    pub settings: &'a Settings,
    /// The targets with each `kd_from` Kd filled in from its saturation fit.
    pub targets: &'a BTreeMap<String, Target>,
    /// The normalised plates.
    pub plates: &'a [NormalisedPlate],
    /// The saturation rows.
    pub saturation: Vec<SaturationRow>,
    /// Every input file with its hash.
    pub inputs: Vec<InputFile>,
    /// Problems so far (files, plates, Kd sources); derive adds its own.
    pub problems: Vec<String>,
    /// Start of the run.
    pub started: SystemTime,
}

/// The derive stage: one row per fitted curve ([`derive`]), the numbers that need several
/// curves ([`functional::functional_results`], whose problems join the run's), the plate, well
/// and target rows, and the wells the fit excluded marked in the well rows. `finished` is left
/// empty for the caller to set when the outputs are written.
#[must_use]
pub fn derive_all(up: Upstream<'_>, fits: &[CurveFit]) -> RunResults {
    let part = derive_part(up.settings, up.targets, up.plates, fits);
    assemble(up, part)
}

/// The rows of a part of a run (whole curves with their plates): a run in batches derives
/// each batch with [`derive_part`] and joins them with [`assemble`].
#[derive(Debug, Default)]
pub struct Part {
    /// One row per curve, in the order of the fits.
    pub curves: Vec<CurveRow>,
    /// One row per plate.
    pub plates: Vec<PlateRow>,
    /// One row per well, the wells the fit excluded marked.
    pub wells: Vec<WellRow>,
    /// Primary-screen rows of the plates.
    pub primary: Vec<primary::PrimaryRow>,
}

/// The per-curve, plate, well and primary-screen rows of `plates` and their `fits`: what does
/// not need the other curves of the run (in parallel on the current rayon pool, in order).
#[must_use]
pub fn derive_part(
    settings: &Settings,
    targets: &BTreeMap<String, Target>,
    plates: &[NormalisedPlate],
    fits: &[CurveFit],
) -> Part {
    use rayon::prelude::*;
    // Rows of curves and of wells side by side, each in order, on the current rayon pool.
    let (curves, mut wells): (Vec<CurveRow>, Vec<WellRow>) = rayon::join(
        || {
            fits.par_iter()
                .map(|f| derive(f, &targets[&f.curve.target], &settings.experiment))
                .collect()
        },
        || plates.par_iter().flat_map_iter(WellRow::of_plate).collect(),
    );
    mark_fit_exclusions(&mut wells, &curves);
    span_percent_of_wells(&mut wells, fits);
    Part {
        curves,
        plates: plates.par_iter().map(PlateRow::of).collect(),
        wells,
        primary: primary::primary_rows(plates, settings),
    }
}

/// The run's results from its rows ([`Part`], curves sorted by target, then compound): the
/// numbers that need several curves (functional, reference verdicts) and the run's own rows.
/// `up.plates` is not read (the part holds their rows).
#[must_use]
pub fn assemble(up: Upstream<'_>, part: Part) -> RunResults {
    let settings = up.settings;
    let Part { mut curves, plates, wells, primary } = part;
    let mut problems = up.problems;
    problems.extend(functional::functional_results(&mut curves, up.targets));
    let references = reference::check_references(&mut curves, &settings.references);
    problems.extend(primary::problems(&primary));
    RunResults {
        experiment: settings.experiment.clone(),
        version: env!("CARGO_PKG_VERSION").to_string(),
        plates,
        wells,
        curves,
        saturation: up.saturation,
        targets: in_config_order(up.targets, &settings.target_order),
        inputs: up.inputs,
        config_yaml: settings.config_text.clone(),
        primary_target: settings.primary_target.clone(),
        primary: primary::PrimaryResults { rows: primary, screen: settings.screen },
        problems,
        started: humantime::format_rfc3339_seconds(up.started).to_string(),
        finished: String::new(),
        history: reference::RunHistory {
            experiment_id: settings.experiment_id.clone(),
            assay_date: settings.assay_date.clone(),
            references,
        },
        large: None,
    }
}

/// Builds the output row of one curve: Ki and its CI, censoring, flags, status.
///
/// The row reports the model the fit stage used ([`CurveFit::model`]: the curve's, or the one a
/// comparison preferred). Per model:
/// - `fit_ki`: Ki, its CI and pKi come straight from the LogKi fit (`Ki = 10^LogKi`), and
///   `IC50 = Ki (1 + [L]/Kd)` ([`ic50_from_ki`]);
/// - `two_site`: the IC50/Ki columns hold the high-affinity site, [`TwoSiteNumbers`] both;
/// - `agonist`: a rising curve, the IC50 columns hold the EC50 and censoring runs the other
///   way (`>` when the EC50 lies above the range or the data never rise to 50%); no Ki/pKi.
#[must_use]
pub fn derive(cf: &CurveFit, target: &Target, experiment: &str) -> CurveRow {
    let c = &cf.curve;
    let model = cf.model;
    let (lo_nm, hi_nm) = c.tested_range_nm();
    let (x, y) = c.fit_data();
    let mut flags = flags::data_flags(&x);
    let mut row = skeleton(cf, target, experiment, x.len());
    let functional = matches!(target.assay, Assay::Gtpgs(_));
    let fd = match &cf.outcome {
        FitOutcome::Fitted(fd) => &fd.result,
        FitOutcome::NotFitted(why) => {
            flags.extend(c.plate_flags.iter().cloned());
            row.flags = flags;
            row.status = CurveStatus::Failed(why.to_string());
            return row;
        }
    };
    let fit = &fd.fit;
    let [top, bottom, hill, log_ic50] = fit.params;
    let se = fit.se[3];
    // Does the curve cross its midpoint? Binding and uptake: 50 % of the controls' window.
    // Functional ([35S]GTPγS) curves have no such control: their midpoint is half-way between
    // the fitted plateaus.
    let rising = model == ModelKind::Agonist;
    let mid = if functional { 0.5 * (top + bottom) } else { 50.0 };
    let log_range = (log10_molar(lo_nm), log10_molar(hi_nm));
    // An inactive curve (a horizontal line fits as well, class 4) has no IC50: it lies above
    // the tested range.
    let inactive = cf.fitted().is_some_and(|f| f.inactive);
    let shape @ Shape { censor, .. } = if inactive {
        Shape { censor: Censor::Above, spans_mid: false }
    } else {
        flags::shape(&x, &y, log_ic50, log_range, rising, mid)
    };
    // `fit.ci: profile`: the profile-likelihood interval replaces the asymptotic one; a side
    // the data do not bound is empty (NaN) and makes the fit ambiguous.
    let log_ci = match fd.log_ic50_profile {
        Some((lo, hi)) => (lo.unwrap_or(f64::NAN), hi.unwrap_or(f64::NAN)),
        None => fit.log_ic50_ci,
    };
    let ambiguous = flags::is_ambiguous(&fit.dependency, log_ci);
    if !inactive {
        flags.extend(flags::fit_flags(&FitView {
            shape,
            params: fit.params,
            se_log_ic50: se,
            model,
            functional,
            ambiguous,
        }));
        flags.extend(fd.constraints.iter().map(ToString::to_string));
    }
    flags.extend(cf.flags.iter().cloned());
    // The line is the answer for an inactive curve, whatever the 4PL did.
    let (converged, flag) = if inactive {
        (true, None)
    } else {
        flags::convergence(fit.termination, censor, fd.at_user_bound)
    };
    flags.extend(flag.map(str::to_string));
    flags.extend(c.plate_flags.iter().cloned());

    let (l, kd) = (target.radioligand_nm, target.kd_nm);
    // A censored IC50 is reported as the bound it lies beyond, never extrapolated, and the
    // bound is one the data support (the fit's 95% limit when inside the range).
    let fit_ci_nm = if inactive {
        (f64::NAN, f64::NAN)
    } else {
        (nm_from_log10_molar(log_ci.0), nm_from_log10_molar(log_ci.1))
    };
    let bound = flags::censored_bound(censor, (lo_nm, hi_nm), fit_ci_nm);
    let (ic50_nm, ic50_ci_nm) = match censor {
        Censor::Above | Censor::Below => (bound, (f64::NAN, f64::NAN)),
        Censor::Exact => (
            nm_from_log10_molar(log_ic50),
            (nm_from_log10_molar(log_ci.0), nm_from_log10_molar(log_ci.1)),
        ),
    };
    let (ki_nm, ki_ci_nm) = match (model, fd.log_ki) {
        // No Ki for an agonist's EC50, nor for a functional antagonist (its Kb is derived
        // later, from the agonist's EC50: `functional_results`).
        (ModelKind::Agonist, _) => (f64::NAN, (f64::NAN, f64::NAN)),
        _ if functional => (f64::NAN, (f64::NAN, f64::NAN)),
        // Fit Ki: Ki and its CI straight from the LogKi fit; IC50 = Ki (1 + [L]/Kd).
        (ModelKind::FitKi, Some((log_ki, _, ci))) if censor.is_exact() => {
            (nm_from_log10_molar(log_ki), (nm_from_log10_molar(ci.0), nm_from_log10_molar(ci.1)))
        }
        _ => (
            cheng_prusoff(ic50_nm, l, kd),
            (cheng_prusoff(ic50_ci_nm.0, l, kd), cheng_prusoff(ic50_ci_nm.1, l, kd)),
        ),
    };
    let (ic50_nm, ic50_ci_nm) = if model == ModelKind::FitKi && censor.is_exact() {
        (
            ic50_from_ki(ki_nm, l, kd),
            (ic50_from_ki(ki_ci_nm.0, l, kd), ic50_from_ki(ki_ci_nm.1, l, kd)),
        )
    } else {
        (ic50_nm, ic50_ci_nm)
    };
    let two_site = fd.two_site.map(|t| TwoSiteNumbers {
        fraction_hi: t.fraction_hi,
        log_ic50_hi: t.log_ic50_hi,
        log_ic50_lo: t.log_ic50_lo,
        ki_hi_nm: cheng_prusoff(nm_from_log10_molar(t.log_ic50_hi), l, kd),
        ki_lo_nm: cheng_prusoff(nm_from_log10_molar(t.log_ic50_lo), l, kd),
    });
    // An inactive curve reports its line: Top = Bottom = the level, no slope, no IC50.
    let (top, bottom, hill, log_ic50, se, plateau_se) = match (inactive, fd.curve) {
        (true, FittedCurve::FourPl { params, cov }) => {
            let s = cov[0][0].sqrt();
            (params[0], params[0], f64::NAN, f64::NAN, f64::NAN, [s, s, f64::NAN])
        }
        _ => (top, bottom, hill, log_ic50, se, [fit.se[0], fit.se[1], fit.se[2]]),
    };
    row.fit = Some(FitNumbers {
        top,
        bottom,
        hill_slope: hill,
        log_ic50,
        log_ic50_se: se,
        plateau_hill_se: plateau_se,
        ic50_nm,
        ic50_ci_nm,
        ki_nm,
        ki_ci_nm,
        pki: p_value(ki_nm),
        pic50: p_value(ic50_nm),
        r_squared: fit.r_squared,
        sy_x: fit.sy_x,
        censor,
        two_site,
        log_ic50_profile: if fd.log_ic50_profile.is_some() && censor.is_exact() {
            log_ci
        } else {
            (f64::NAN, f64::NAN)
        },
        curve: Some(fd.curve),
        df: fit.df,
        signal_plateaus: cf.fitted().and_then(|f| f.signal_plateaus),
    });
    if functional {
        row.functional = Some(FunctionalNumbers {
            role: if rising { FunctionalRole::Agonist } else { FunctionalRole::Antagonist },
            emax_pct: if rising { top } else { f64::NAN },
            emax_se: if rising { fit.se[0] } else { f64::NAN },
            relative_efficacy: f64::NAN,
            efficacy: None,
            kb_nm: f64::NAN,
            kb_ci_nm: (f64::NAN, f64::NAN),
        });
    }
    row.status =
        CurveStatus::of_fit((!converged).then(|| fit.termination.reason().to_string()), &flags);
    row.flags = flags;
    row
}

/// The row of a curve before its fit is read: what the curve, its target and the fit
/// stage's bookkeeping say (no fit numbers, no flags, status `ok` until decided).
fn skeleton(cf: &CurveFit, target: &Target, experiment: &str, n_points: usize) -> CurveRow {
    let c = &cf.curve;
    let fitted = cf.fitted();
    CurveRow {
        experiment: experiment.to_string(),
        experiment_id: c.experiment.clone().unwrap_or_default(),
        target: c.target.clone(),
        compound: c.compound.clone(),
        plates: c.plates.clone(),
        radioligand: target.radioligand.clone(),
        radioligand_nm: target.radioligand_nm,
        kd_nm: target.kd_nm,
        model: cf.model_label.clone(),
        n_points,
        fit: None,
        status: CurveStatus::Ok,
        flags: Vec::new(),
        tested_range_nm: c.tested_range_nm(),
        points: c
            .points
            .iter()
            .map(|p| CurvePoint {
                plate: p.plate.clone(),
                well: p.well.clone(),
                conc_nm: p.conc_nm,
                y: p.y,
                excluded: p.excluded.clone(),
            })
            .collect(),
        n_outliers: cf.n_outliers,
        curve_class: fitted.map_or("", |f| f.curve_class.label()).to_string(),
        lack_of_fit_p: fitted.map_or(f64::NAN, |f| f.lack_of_fit_p),
        comparison: fitted.and_then(|f| f.result.comparison.as_ref()).map(|o| CompareNumbers {
            name: o.kind.name().to_string(),
            statistic: o.statistic,
            p: o.p,
            preferred: o.preferred.name().to_string(),
        }),
        functional: None,
        response_label: match (c.response, &target.assay) {
            (Response::Signal, _) => "% of fitted span",
            (_, Assay::Gtpgs(_)) => "% stimulation over basal",
            (_, Assay::Uptake) => "% specific uptake",
            _ => "% specific binding",
        },
    }
}

/// Marks the wells the fit stage excluded (ROUT outliers) in the well table: each curve point
/// with an exclusion reason that its well row lacks passes that reason on, so `wells.csv`
/// lists every point left out of a fit with why.
fn mark_fit_exclusions(wells: &mut [WellRow], curves: &[CurveRow]) {
    let mut reasons: std::collections::HashMap<(&str, &str), &str> =
        std::collections::HashMap::new();
    for c in curves {
        for p in &c.points {
            if let Some(r) = &p.excluded {
                reasons.insert((p.plate.as_str(), p.well.as_str()), r.as_str());
            }
        }
    }
    for w in wells.iter_mut().filter(|w| w.excluded.is_none()) {
        if let Some(r) = reasons.get(&(w.plate.as_str(), w.well.as_str())) {
            w.excluded = Some((*r).to_string());
        }
    }
}

/// On plates without controls a well's `%` is its point's % of its curve's fitted span (the
/// fit stage expressed the raw-signal curves so).
fn span_percent_of_wells(wells: &mut [WellRow], fits: &[CurveFit]) {
    let mut pct: std::collections::HashMap<(&str, &str), f64> = std::collections::HashMap::new();
    for f in fits.iter().filter(|f| f.curve.response == Response::Signal) {
        for p in f.curve.points.iter().filter(|p| p.y.is_finite()) {
            pct.insert((p.plate.as_str(), p.well.as_str()), p.y);
        }
    }
    if pct.is_empty() {
        return;
    }
    for w in wells.iter_mut().filter(|w| w.pct_specific.is_none()) {
        w.pct_specific = pct.get(&(w.plate.as_str(), w.well.as_str())).copied();
    }
}

/// The targets' rows in the order the config lists them (`Settings::target_order`); a target
/// the order does not name goes last, in name order.
fn in_config_order(targets: &BTreeMap<String, Target>, order: &[String]) -> Vec<TargetRow> {
    let mut rows: Vec<TargetRow> = targets.values().map(TargetRow::of).collect();
    rows.sort_by_key(|t| order.iter().position(|o| *o == t.target).unwrap_or(usize::MAX));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cheng_prusoff_worked_example() {
        // DOMAIN.md §3: pIC50 8.6 -> IC50 2.512 nM; with [L] = Kd, Ki = IC50 / 2.
        let ic50 = 10f64.powf(9.0 - 8.6);
        assert!((ic50 - 2.511_886).abs() < 1e-6);
        assert!((cheng_prusoff(ic50, 0.4, 0.4) - ic50 / 2.0).abs() < 1e-12);
        assert!((p_value(cheng_prusoff(ic50, 0.4, 0.4)) - (8.6 + 2f64.log10())).abs() < 1e-12);
    }

    #[test]
    fn cheng_prusoff_is_the_division_by_its_factor() {
        // The reports divide by the factor; derive calls the function: the same f64.
        for (x, l, kd) in [(7.8, 1.0, 0.5), (60_000.0, 1.0, 1.0), (2.511_886, 0.3, 0.7)] {
            let f = 1.0 + l / kd;
            assert_eq!(cheng_prusoff(x, l, kd).to_bits(), (x / f).to_bits());
            assert_eq!(ic50_from_ki(x, l, kd).to_bits(), (x * f).to_bits());
        }
    }
}
