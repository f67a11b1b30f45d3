//! Derive: from fitted IC50 to Ki (Cheng-Prusoff), pIC50/pKi, censoring and the per-curve
//! flags that tell a pharmacologist whether to trust a number.
//!
//! Produces the output record [`CurveRow`]; the fit itself is not changed here.

pub mod rows;

use crate::config::{Assay, ModelKind, Target};
use crate::fit::engine::Termination;
use crate::fit::status::CurveStatus;
use crate::fit::{CurveFit, FitOutcome};
use crate::units::{log10_molar, nm_from_log10_molar, p_value};
use rows::{
    Censor, CompareNumbers, CurvePoint, CurveRow, Efficacy, FitNumbers, FunctionalNumbers,
    FunctionalRole, TwoSiteNumbers, WellRow,
};

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
    ic50 / (1.0 + radioligand / kd)
}

/// Limits of the quality flags (DOMAIN.md §2; Prism and the NIH Assay Guidance Manual).
mod limits {
    /// Hill slopes outside [-2, -0.5] (by magnitude) are flagged.
    pub const HILL_MIN: f64 = 0.5;
    pub const HILL_MAX: f64 = 2.0;
    /// SE of log IC50 above this is flagged.
    pub const SE_LOG_IC50: f64 = 0.5;
    /// Fitted plateaus further than this (in % specific binding) from the controls
    /// (Top vs 100 %, Bottom vs 0 %) are flagged.
    pub const PLATEAU_OFF: f64 = 20.0;
    /// Fewer distinct concentrations than this is flagged.
    pub const MIN_CONCENTRATIONS: usize = 5;
    /// Parameter dependency above this makes a fit "ambiguous" (Prism).
    pub const DEPENDENCY: f64 = 0.9999;
}

/// Builds the output row of one curve: Ki and its CI, censoring, flags, status.
///
/// The row reports the model the fit stage used ([`CurveFit::model`]: the curve's, or the one a
/// comparison preferred). Per model:
/// - `fit_ki`: Ki, its CI and pKi come straight from the LogKi fit (`Ki = 10^LogKi`), and
///   `IC50 = Ki (1 + [L]/Kd)` (Cheng-Prusoff the other way round);
/// - `two_site`: the IC50/Ki columns hold the high-affinity site, [`TwoSiteNumbers`] both;
/// - `agonist`: a rising curve, the IC50 columns hold the EC50 and censoring runs the other
///   way (`>` when the EC50 lies above the range or the data never rise to 50%); no Ki/pKi.
#[must_use]
pub fn derive(cf: &CurveFit, target: &Target, experiment: &str) -> CurveRow {
    let c = &cf.curve;
    let model = cf.model;
    let fitted = cf.fitted();
    let (lo_nm, hi_nm) = c.tested_range_nm();
    let points: Vec<CurvePoint> = c
        .points
        .iter()
        .map(|p| CurvePoint {
            plate: p.plate.clone(),
            well: p.well.clone(),
            conc_nm: p.conc_nm,
            y: p.y,
            excluded: p.excluded.clone(),
        })
        .collect();
    let (x, y) = c.fit_data();
    let mut flags: Vec<String> = Vec::new();
    let n_conc = {
        let mut d = x.clone();
        d.sort_by(f64::total_cmp);
        d.dedup();
        d.len()
    };
    if n_conc < limits::MIN_CONCENTRATIONS {
        flags.push("few_concentrations".into());
    }
    if max_replicates(&x) < 2 {
        flags.push("few_replicates".into());
    }
    let mut row = CurveRow {
        experiment: experiment.to_string(),
        target: c.target.clone(),
        compound: c.compound.clone(),
        plates: c.plates.clone(),
        radioligand: target.radioligand.clone(),
        radioligand_nm: target.radioligand_nm,
        kd_nm: target.kd_nm,
        model: cf.model_label.clone(),
        n_points: x.len(),
        fit: None,
        status: CurveStatus::Ok,
        flags: Vec::new(),
        tested_range_nm: (lo_nm, hi_nm),
        points,
        n_outliers: cf.n_outliers,
        curve_class: fitted.map_or("", |f| f.curve_class.label()).to_string(),
        lack_of_fit_p: fitted.map_or(f64::NAN, |f| f.lack_of_fit_p),
        comparison: fitted.and_then(|f| f.comparison.as_ref()).map(|o| CompareNumbers {
            name: o.kind.name().to_string(),
            statistic: o.statistic,
            p: o.p,
            preferred: o.preferred.name().to_string(),
        }),
        functional: None,
        response_label: match target.assay {
            Assay::Gtpgs(_) => "% stimulation over basal",
            Assay::Uptake => "% specific uptake",
            _ => "% specific binding",
        },
    };
    let functional = matches!(target.assay, Assay::Gtpgs(_));
    let fd = match &cf.outcome {
        FitOutcome::Fitted(fd) => fd,
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
    // Response means per concentration: does the curve cross 50 % specific binding?
    let means = concentration_means(&x, &y);
    let min_mean = means.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
    let max_mean = means.iter().map(|m| m.1).fold(f64::NEG_INFINITY, f64::max);
    let (log_lo, log_hi) = (log10_molar(lo_nm), log10_molar(hi_nm));
    // Where the data stay on the low-concentration side of 50% the IC50 lies above the range:
    // above 50% for a falling curve, below 50% for a rising (agonist) one.
    // Binding and uptake: 50 % of the controls' window. Functional ([35S]GTPγS) curves have no
    // such control: their midpoint is half-way between the fitted plateaus.
    let rising = model == ModelKind::Agonist;
    let mid = if functional { 0.5 * (top + bottom) } else { 50.0 };
    let (stays_low_side, stays_high_side) =
        if rising { (max_mean < mid, min_mean > mid) } else { (min_mean > mid, max_mean < mid) };
    let censor = if log_ic50 > log_hi || stays_low_side {
        Censor::Above
    } else if log_ic50 < log_lo || stays_high_side {
        Censor::Below
    } else {
        Censor::Exact
    };
    if censor == Censor::Above {
        flags.push("ic50_above_range".into());
    }
    if censor == Censor::Below {
        flags.push("ic50_below_range".into());
    }
    if min_mean > mid || max_mean < mid {
        flags.push("no_50pct_span".into());
    }
    if matches!(model, ModelKind::FourParameter | ModelKind::Agonist)
        && !(limits::HILL_MIN..=limits::HILL_MAX).contains(&hill.abs())
    {
        flags.push("hill_outside_0.5_2".into());
    }
    // [T, B, h, L] and [B, T, -h, L] are the same curve: rising means (Top - Bottom) h > 0.
    if rising && !((top - bottom) * hill > 0.0) {
        flags.push("not_rising".into());
    }
    if !(se <= limits::SE_LOG_IC50) {
        flags.push("se_log_ic50_gt_0.5".into());
    }
    if !functional && (top - 100.0).abs() > limits::PLATEAU_OFF {
        flags.push("top_off_control".into());
    }
    if bottom.abs() > limits::PLATEAU_OFF {
        flags.push("bottom_off_control".into());
    }
    // `fit.ci: profile`: the profile-likelihood interval replaces the asymptotic one; a side
    // the data do not bound is empty (NaN) and makes the fit ambiguous.
    let log_ci = match fd.log_ic50_profile {
        Some((lo, hi)) => (lo.unwrap_or(f64::NAN), hi.unwrap_or(f64::NAN)),
        None => fit.log_ic50_ci,
    };
    let ambiguous = fit.dependency.iter().any(|d| *d > limits::DEPENDENCY)
        || !(log_ci.0.is_finite() && log_ci.1.is_finite());
    if ambiguous {
        flags.push("ambiguous".into());
    }
    flags.extend(fd.constraints.iter().map(ToString::to_string));
    flags.extend(cf.flags.iter().cloned());
    // A parameter on its bound is expected for a censored (incomplete) curve: the censored
    // value is the result. A bound the user set (`fit.bounds`) gives the constrained optimum
    // asked for (flagged `at_bound_<parameter>`). Anywhere else it means the fit failed.
    let at_bound_censored = fit.termination == Termination::AtBound && !censor.is_exact();
    let at_user_bound = fit.termination == Termination::AtBound && fd.at_user_bound;
    let converged = fit.termination.converged() || at_bound_censored || at_user_bound;
    if at_bound_censored {
        flags.push("parameter_at_bound".into());
    } else if !converged {
        flags.push("not_converged".into());
    }
    flags.extend(c.plate_flags.iter().cloned());

    let factor = 1.0 + target.radioligand_nm / target.kd_nm;
    let (ic50_nm, ic50_ci_nm) = match censor {
        // A censored IC50 is reported as the bound it lies beyond, never extrapolated.
        Censor::Above => (hi_nm, (f64::NAN, f64::NAN)),
        Censor::Below => (lo_nm, (f64::NAN, f64::NAN)),
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
        _ => (ic50_nm / factor, (ic50_ci_nm.0 / factor, ic50_ci_nm.1 / factor)),
    };
    let (ic50_nm, ic50_ci_nm) = if model == ModelKind::FitKi && censor.is_exact() {
        (ki_nm * factor, (ki_ci_nm.0 * factor, ki_ci_nm.1 * factor))
    } else {
        (ic50_nm, ic50_ci_nm)
    };
    let two_site = fd.two_site.map(|t| TwoSiteNumbers {
        fraction_hi: t.fraction_hi,
        log_ic50_hi: t.log_ic50_hi,
        log_ic50_lo: t.log_ic50_lo,
        ki_hi_nm: nm_from_log10_molar(t.log_ic50_hi) / factor,
        ki_lo_nm: nm_from_log10_molar(t.log_ic50_lo) / factor,
    });
    row.fit = Some(FitNumbers {
        top,
        bottom,
        hill_slope: hill,
        log_ic50,
        log_ic50_se: se,
        plateau_hill_se: [fit.se[0], fit.se[1], fit.se[2]],
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

/// Antagonist dissociation constant from a functional IC50 against a fixed agonist
/// concentration `[A]` (Leff & Dougall 1993, Trends Pharmacol Sci 14:110):
/// `Kb = IC50 / ((2 + ([A] / EC50)^n)^(1/n) - 1)`, with `n` the agonist's Hill slope; for
/// `n = 1` this is the Cheng-Prusoff form `IC50 / (1 + [A] / EC50)`. Concentrations in one unit.
///
/// ```
/// // IC50 100 nM against the agonist at its EC50 (n = 1): Kb = 100 / 2 = 50 nM.
/// assert_eq!(radbind::derive::leff_dougall(100.0, 30.0, 30.0, 1.0), 50.0);
/// ```
#[must_use]
pub fn leff_dougall(ic50: f64, agonist: f64, ec50: f64, n: f64) -> f64 {
    ic50 / ((2.0 + (agonist / ec50).powf(n)).powf(1.0 / n) - 1.0)
}

/// The [35S]GTPγS numbers that need more than one curve: each agonist's relative efficacy
/// (`Emax / Emax of the reference agonist`, both in % stimulation over basal; below
/// `partial_below` it is a partial agonist, flagged `partial_agonist`) and each antagonist's Kb
/// ([`leff_dougall`] with the configured agonist concentration and the configured EC50, or the
/// reference agonist's fitted EC50 and Hill slope). Returns problems (a reference agonist that
/// is missing or has no usable fit).
pub fn functional_results(
    rows: &mut [CurveRow],
    targets: &std::collections::BTreeMap<String, Target>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for t in targets.values() {
        let Assay::Gtpgs(spec) = &t.assay else { continue };
        let reference = spec.reference_agonist.as_ref().and_then(|r| {
            rows.iter().find(|c| c.target == t.name && &c.compound == r).and_then(|c| {
                let f = c.fit.as_ref()?;
                let usable = f.censor.is_exact() && !c.is_failed() && f.top.is_finite();
                usable.then_some((f.top, f.ic50_nm, f.hill_slope))
            })
        });
        if let Some(r) = &spec.reference_agonist {
            if reference.is_none() {
                problems.push(format!(
                    "target {}: reference agonist `{r}` has no complete fitted curve; relative \
                     efficacies not computed",
                    t.name
                ));
            }
        }
        for row in rows.iter_mut().filter(|c| c.target == t.name) {
            let Some(fit) = row.fit.as_ref() else { continue };
            let censor = fit.censor;
            let (ic50, ci) = (fit.ic50_nm, fit.ic50_ci_nm);
            let Some(fun) = row.functional.as_mut() else { continue };
            if fun.role == FunctionalRole::Agonist {
                if let Some((ref_emax, _, _)) = reference {
                    fun.relative_efficacy = fun.emax_pct / ref_emax;
                    fun.efficacy = if !censor.is_exact() {
                        None
                    } else if fun.relative_efficacy < spec.partial_below {
                        Some(Efficacy::Partial)
                    } else {
                        Some(Efficacy::Full)
                    };
                    if fun.efficacy == Some(Efficacy::Partial) {
                        row.flags.push("partial_agonist".into());
                        row.status.flag();
                    }
                }
            } else {
                let (ec50, n) = match (spec.agonist_ec50_nm, reference) {
                    (Some(e), _) => (e, 1.0),
                    (None, Some((_, e, h))) => (e, h.abs()),
                    (None, None) => continue,
                };
                let Some(a) = spec.agonist_nm else { continue };
                let kb = |v: f64| leff_dougall(v, a, ec50, n);
                fun.kb_nm = kb(ic50);
                fun.kb_ci_nm =
                    if censor.is_exact() { (kb(ci.0), kb(ci.1)) } else { (f64::NAN, f64::NAN) };
            }
        }
    }
    problems
}

/// Marks the wells the fit stage excluded (ROUT outliers) in the well table: each curve point
/// with an exclusion reason that its well row lacks passes that reason on, so `wells.csv`
/// lists every point left out of a fit with why.
pub fn mark_fit_exclusions(wells: &mut [WellRow], curves: &[CurveRow]) {
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

/// Mean response per distinct concentration, sorted by concentration.
fn concentration_means(x: &[f64], y: &[f64]) -> Vec<(f64, f64)> {
    let mut pairs: Vec<(f64, f64)> = x.iter().copied().zip(y.iter().copied()).collect();
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64, usize)> = Vec::new();
    for (xi, yi) in pairs {
        match out.last_mut() {
            Some(last) if last.0 == xi => {
                last.1 += yi;
                last.2 += 1;
            }
            _ => out.push((xi, yi, 1)),
        }
    }
    out.into_iter().map(|(x, s, n)| (x, s / n as f64)).collect()
}

/// Largest number of points at one concentration.
fn max_replicates(x: &[f64]) -> usize {
    let mut d = x.to_vec();
    d.sort_by(f64::total_cmp);
    d.chunk_by(|a, b| a == b).map(<[f64]>::len).max().unwrap_or(0)
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
    fn means_and_replicates() {
        let x = [-9.0, -9.0, -8.0, -8.0, -7.0];
        let y = [90.0, 110.0, 40.0, 60.0, 5.0];
        assert_eq!(concentration_means(&x, &y), vec![(-9.0, 100.0), (-8.0, 50.0), (-7.0, 5.0)]);
        assert_eq!(max_replicates(&x), 2);
    }
}
