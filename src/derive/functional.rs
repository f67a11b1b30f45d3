//! The [35S]GTPγS numbers that need more than one curve: relative efficacy against the
//! reference agonist and antagonist Kb (Leff & Dougall 1993).
//!
//! Owns [`functional_results`] and [`leff_dougall`]; the per-curve functional numbers
//! (role, Emax) are set by [`super::derive`].

use std::collections::BTreeMap;

use crate::config::{Assay, Target};

use super::rows::{CurveRow, Efficacy, FunctionalRole};

/// Antagonist dissociation constant from a functional IC50 against a fixed agonist
/// concentration `[A]` (Leff & Dougall 1993, Trends Pharmacol Sci 14:110):
/// `Kb = IC50 / ((2 + ([A] / EC50)^n)^(1/n) - 1)`, with `n` the agonist's Hill slope; for
/// `n = 1` this is the Cheng-Prusoff form `IC50 / (1 + [A] / EC50)`. Concentrations in one unit.
///
/// ```
/// // IC50 100 nM against the agonist at its EC50 (n = 1): Kb = 100 / 2 = 50 nM.
/// assert_eq!(radbind::derive::functional::leff_dougall(100.0, 30.0, 30.0, 1.0), 50.0);
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
    targets: &BTreeMap<String, Target>,
) -> Vec<String> {
    let mut problems = Vec::new();
    for t in targets.values() {
        let Assay::Gtpgs(spec) = &t.assay else { continue };
        // A target without curves here (a shard holding other targets) has nothing to compute.
        if !rows.iter().any(|c| c.target == t.name) {
            continue;
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leff_dougall_is_cheng_prusoff_for_unit_slope() {
        // n = 1: Kb = IC50 / (1 + [A]/EC50).
        let kb = leff_dougall(100.0, 90.0, 30.0, 1.0);
        assert!((kb - crate::derive::cheng_prusoff(100.0, 90.0, 30.0)).abs() < 1e-12);
        // A steeper agonist curve gives a smaller correction: a larger Kb.
        assert!(leff_dougall(100.0, 90.0, 30.0, 2.0) > kb);
    }
}
