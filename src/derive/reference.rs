//! Reference-compound QC of one run: each target's reference compound (config
//! `targets.<name>.reference`) measured against its accepted range, and what the assay history
//! needs to know of the run ([`RunHistory`], written to run.json).
//!
//! A run whose reference is out of range (or not measured: absent, failed, censored) has
//! the flag [`REFERENCE_OUT_OF_RANGE`] on every curve of that target and experiment; the
//! curves' status becomes `flagged`. Ranges learned from earlier runs (mean ± 3 SD, Westgard
//! rules) are `radbind summarize`'s, which sees the history; a run sees only itself.

use std::collections::BTreeMap;
use std::fmt;

use super::rows::{Censor, CurveRow, FunctionalRole};
use crate::config::Reference;

/// The flag of every curve of a target whose reference compound is out of range.
pub const REFERENCE_OUT_OF_RANGE: &str = "reference_out_of_range";

/// What `radbind summarize` needs of a run besides its tables.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunHistory {
    /// The run's experiment (`experiment_id`); `None`: the run is its own experiment.
    pub experiment_id: Option<String>,
    /// Assay date as configured (`assay_date`, `YYYY-MM-DD`).
    pub assay_date: Option<String>,
    /// One row per target with a reference compound (per experiment of the run).
    pub references: Vec<ReferenceRow>,
}

/// The potency a curve reports, in log units: pKi where the target gives Ki, else pEC50
/// (agonists) or pIC50. Potency words follow the curve, as in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// `pKi`
    PKi,
    /// `pIC50`
    PIc50,
    /// `pEC50`
    PEc50,
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Measure::PKi => "pKi",
            Measure::PIc50 => "pIC50",
            Measure::PEc50 => "pEC50",
        })
    }
}

impl Measure {
    /// The measure of a row given its pKi (NaN when the target gives no Ki) and whether the
    /// curve is an agonist's: the one rule `run` and `summarize` share.
    #[must_use]
    pub fn of(pki: f64, agonist: bool) -> Measure {
        if pki.is_finite() {
            Measure::PKi
        } else if agonist {
            Measure::PEc50
        } else {
            Measure::PIc50
        }
    }
}

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

/// The verdict on a run's reference compound at one target.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// Within `expected ± limit`.
    InRange,
    /// Outside `expected ± limit`.
    OutOfRange,
    /// Not measured: absent from the plates, no usable fit, or censored (the text says).
    NotMeasured(String),
    /// Recorded only: the config gives no expected value.
    Recorded,
}

impl Verdict {
    /// `true` when the run's curves of the target get [`REFERENCE_OUT_OF_RANGE`].
    #[must_use]
    pub fn fails(&self) -> bool {
        matches!(self, Verdict::OutOfRange | Verdict::NotMeasured(_))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::InRange => f.write_str("in_range"),
            Verdict::OutOfRange => f.write_str("out_of_range"),
            Verdict::NotMeasured(why) => write!(f, "not_measured: {why}"),
            Verdict::Recorded => f.write_str("recorded"),
        }
    }
}

/// A target's reference compound in one run.
#[derive(Debug, Clone, PartialEq)]
pub struct ReferenceRow {
    /// Target.
    pub target: String,
    /// Reference compound.
    pub compound: String,
    /// The curve's experiment (`CurveRow::experiment_id`; empty: the run's).
    pub experiment_id: String,
    /// pKi, or pIC50/pEC50 where the target gives no Ki.
    pub measure: Measure,
    /// The measured value, log units (NaN when not measured; the bound when censored).
    pub value: f64,
    /// Expected value and accepted distance, log units (from the config).
    pub expected: Option<(f64, f64)>,
    /// The verdict.
    pub verdict: Verdict,
}

impl ReferenceRow {
    /// One line for the run summary and reports, e.g.
    /// `5-HT2A: ketanserin pKi 8.41, expected 9.30 ± 0.50: out_of_range`.
    #[must_use]
    pub fn line(&self) -> String {
        let exp = if self.experiment_id.is_empty() {
            String::new()
        } else {
            format!(" (experiment {})", self.experiment_id)
        };
        let value =
            if self.value.is_finite() { format!(" {:.2}", self.value) } else { String::new() };
        let range =
            self.expected.map_or(String::new(), |(e, l)| format!(", expected {e:.2} ± {l:.2}"));
        format!(
            "{}{exp}: {} {}{value}{range}: {}",
            self.target, self.compound, self.measure, self.verdict
        )
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
