//! Reference-compound QC of one run: each target's reference compound (config
//! `targets.<name>.reference`) measured against its accepted range, and what the assay history
//! needs to know of the run ([`RunHistory`], written to run.json).
//!
//! A run whose reference is out of range (or not measured: absent, failed, censored) has
//! the flag [`REFERENCE_OUT_OF_RANGE`] on every curve of that target and experiment; the
//! curves' status becomes `flagged`. Ranges learned from earlier runs (mean ± 3 SD, Westgard
//! rules) are `radbind summarize`'s, which sees the history; a run sees only itself.

use std::collections::BTreeMap;

use super::rows::{Censor, CurveRow, FunctionalRole};
pub use super::rows::{Measure, ReferenceRow, RunHistory, Verdict};
use crate::config::Reference;

/// The flag of every curve of a target whose reference compound is out of range.
pub const REFERENCE_OUT_OF_RANGE: &str = "reference_out_of_range";

/// The potency of a curve row: its measure and value (NaN without a fit), and its censoring.
#[must_use]
pub fn potency(row: &CurveRow) -> (Measure, f64, Censor) {
    let agonist = row.functional.as_ref().is_some_and(|f| f.role == FunctionalRole::Agonist);
    match &row.fit {
        Some(f) => {
            let m = Measure::of(f.pki, agonist);
            (m, if m == Measure::PKi { f.pki } else { f.pic50 }, f.censor)
        }
        None => (Measure::PIc50, f64::NAN, Censor::Exact),
    }
}

/// Checks every target's reference compound (per experiment of the run) and flags every
/// curve of a target whose reference fails ([`Verdict::fails`]) with
/// [`REFERENCE_OUT_OF_RANGE`]. Returns one row per target and experiment, sorted.
pub fn check_references(
    curves: &mut [CurveRow],
    refs: &BTreeMap<String, Reference>,
) -> Vec<ReferenceRow> {
    let mut rows = Vec::new();
    for (target, r) in refs {
        let mut experiments: Vec<String> = curves
            .iter()
            .filter(|c| c.target == *target)
            .map(|c| c.experiment_id.clone())
            .collect();
        experiments.sort();
        experiments.dedup();
        for exp in experiments {
            let curve = curves.iter().find(|c| {
                c.target == *target && c.compound == r.compound && c.experiment_id == exp
            });
            let row = match curve {
                None => ReferenceRow {
                    target: target.clone(),
                    compound: r.compound.clone(),
                    experiment_id: exp.clone(),
                    measure: Measure::PIc50,
                    value: f64::NAN,
                    expected: r.expected,
                    verdict: if r.expected.is_some() {
                        Verdict::NotMeasured("not on the plates".into())
                    } else {
                        Verdict::Recorded
                    },
                },
                Some(c) => judge(c, r),
            };
            if row.verdict.fails() {
                for c in curves.iter_mut().filter(|c| c.target == *target && c.experiment_id == exp)
                {
                    if !c.flags.iter().any(|f| f == REFERENCE_OUT_OF_RANGE) {
                        c.flags.push(REFERENCE_OUT_OF_RANGE.to_string());
                        c.status.flag();
                    }
                }
            }
            rows.push(row);
        }
    }
    rows
}

/// The verdict on one reference curve: in range when `|value - expected| <= limit`.
fn judge(c: &CurveRow, r: &Reference) -> ReferenceRow {
    let (measure, value, censor) = potency(c);
    let verdict = match r.expected {
        None => Verdict::Recorded,
        Some(_) if c.is_failed() || !value.is_finite() => {
            Verdict::NotMeasured(format!("no usable fit ({})", c.status))
        }
        Some(_) if !censor.is_exact() => {
            Verdict::NotMeasured(format!("censored ({} the tested range)", censor))
        }
        Some((e, limit)) if (value - e).abs() <= limit => Verdict::InRange,
        Some(_) => Verdict::OutOfRange,
    };
    ReferenceRow {
        target: c.target.clone(),
        compound: c.compound.clone(),
        experiment_id: c.experiment_id.clone(),
        measure,
        value,
        expected: r.expected,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fit::status::CurveStatus;

    fn refs(compound: &str, expected: Option<(f64, f64)>) -> BTreeMap<String, Reference> {
        let r = Reference { compound: compound.into(), expected };
        BTreeMap::from([("5-HT2A".to_string(), r)])
    }

    /// The reference lands 0.3 log units from its expected pKi: in range at limit 0.5, out at
    /// 0.2, and then every curve of the target (not the other targets') is flagged.
    #[test]
    fn out_of_range_flags_every_curve_of_the_target() {
        let base = crate::test_support::sample_results().curves;
        let at = |t: &str| base.iter().find(|c| c.target == t).expect("target").clone();
        let mut curves = vec![
            CurveRow { compound: "ketanserin".into(), ..at("5-HT2A") },
            CurveRow { compound: "mianserin".into(), ..at("5-HT2A") },
            at("5-HT1A"),
        ];
        let pki = curves[0].fit.as_ref().expect("fit").pki;
        let mut ok = curves.clone();
        let rows = check_references(&mut ok, &refs("ketanserin", Some((pki + 0.3, 0.5))));
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].verdict, Verdict::InRange);
        assert!(ok.iter().all(|c| !c.flags.iter().any(|f| f == REFERENCE_OUT_OF_RANGE)));

        let rows = check_references(&mut curves, &refs("ketanserin", Some((pki + 0.3, 0.2))));
        assert_eq!(rows[0].verdict, Verdict::OutOfRange);
        assert!(rows[0].line().contains("out_of_range"), "{}", rows[0].line());
        for c in &curves[..2] {
            assert!(c.flags.iter().any(|f| f == REFERENCE_OUT_OF_RANGE), "{:?}", c.flags);
            assert_ne!(c.status, CurveStatus::Ok);
        }
        assert!(!curves[2].flags.iter().any(|f| f == REFERENCE_OUT_OF_RANGE));
    }

    #[test]
    fn a_missing_reference_is_not_measured_and_recorded_only_without_a_range() {
        let mut curves = crate::test_support::sample_results().curves;
        let rows = check_references(&mut curves, &refs("nope", Some((9.0, 0.5))));
        assert!(matches!(rows[0].verdict, Verdict::NotMeasured(_)));
        let mut curves = crate::test_support::sample_results().curves;
        let rows = check_references(&mut curves, &refs("nope", None));
        assert_eq!(rows[0].verdict, Verdict::Recorded);
        assert!(curves.iter().all(|c| !c.flags.iter().any(|f| f == REFERENCE_OUT_OF_RANGE)));
    }
}
