//! The selectivity panel: per compound, its Ki at every target of a run (or of several runs)
//! and the selectivity ratio `Ki(target) / Ki(primary target)`, with censored values kept as
//! bounds.
//!
//! [`panel`] builds the rows from a run's curves; [`panel_of`] from [`KiEntry`]s, which is
//! what `radbind panel` reads back from the `fits.csv` of several runs. Both are pure: the
//! tables (`selectivity.csv`/`.parquet`) are written by `super::tables`, the report sections
//! by `super::html` and `super::markdown`.
//!
//! The primary target is either given (`report.primary_target`, `radbind panel --primary`) or,
//! per compound, the measurement with the lowest exact (uncensored, usable) Ki, so that every
//! exact ratio is a fold selectivity >= 1. A censored Ki (`> 3.3 µM`) never becomes a number:
//! the ratio is then a bound too, or empty with the reason in `ratio_note` (see [`ratio`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use crate::units::{ConcUnit, NOT_DETERMINED, format_conc_nm, format_conc_range_in, p_value, sig3};

use crate::derive::rows::{Censor, CurveRow};
use crate::fit::status::CurveStatus;

/// One compound at one target, as the panel needs it: the Ki (or its bound) and how far to
/// trust it. Built from a [`CurveRow`] ([`KiEntry::from_curve`]) or read from a `fits.csv`.
#[derive(Debug, Clone, PartialEq)]
pub struct KiEntry {
    /// Run directory name (empty inside a run, where there is only one).
    pub run: String,
    /// Experiment name.
    pub experiment: String,
    /// The curve's independent experiment (`fits.csv` column `experiment_id`); empty when
    /// the run is the experiment. A run with several experiments has one entry per
    /// experiment of a compound at a target.
    pub experiment_id: String,
    /// Compound.
    pub compound: String,
    /// Target.
    pub target: String,
    /// Model reported for the curve (`four_parameter`, `agonist`, ...).
    pub model: String,
    /// Ki in nM; the bound when censored; NaN when there is none (no fit, agonist).
    pub ki_nm: f64,
    /// Censoring of the Ki (that of the IC50).
    pub ki_censor: Censor,
    /// 95% CI of Ki, nM (NaN when censored or not determined).
    pub ki_ci_nm: (f64, f64),
    /// pKi (a bound when censored: `>` Ki gives an upper bound on pKi); NaN without a Ki.
    pub pki: f64,
    /// Curve status (`ok`, `flagged`, `failed: ...`, `not_converged: ...`).
    pub status: CurveStatus,
    /// Curve flags.
    pub flags: Vec<String>,
}

impl KiEntry {
    /// The entry of one fitted curve. Agonist curves and curves without a fit get a NaN Ki.
    /// A censored Ki is the bound the reports show (the IC50 bound through Cheng-Prusoff, as
    /// `derive` computes it), never a number extrapolated beyond the tested range.
    #[must_use]
    pub fn from_curve(c: &CurveRow) -> KiEntry {
        let fit = c.fit.as_ref().filter(|_| !is_agonist(&c.model));
        let ki_censor = fit.map(|f| f.censor).unwrap_or_default();
        let (ki_nm, ki_ci_nm, pki) = match fit {
            None => (f64::NAN, (f64::NAN, f64::NAN), f64::NAN),
            Some(f) if ki_censor == Censor::Exact => (f.ki_nm, f.ki_ci_nm, f.pki),
            Some(f) => {
                let ki = c.censored_ki_nm().unwrap_or(f.ki_nm);
                (ki, (f64::NAN, f64::NAN), p_value(ki))
            }
        };
        KiEntry {
            run: String::new(),
            experiment: c.experiment.clone(),
            experiment_id: c.experiment_id.clone(),
            compound: c.compound.clone(),
            target: c.target.clone(),
            model: c.model.clone(),
            ki_nm,
            ki_censor,
            ki_ci_nm,
            pki,
            status: c.status.clone(),
            flags: c.flags.clone(),
        }
    }

    /// `true` when the Ki can enter a ratio: a positive number from a curve that was fitted
    /// and converged (flagged curves count; their flags are in the row).
    #[must_use]
    pub fn usable(&self) -> bool {
        self.ki_nm.is_finite()
            && self.ki_nm > 0.0
            && !is_agonist(&self.model)
            && !self.status.is_failed()
    }
}

/// `true` for an agonist (EC50) model, which has no Ki.
fn is_agonist(model: &str) -> bool {
    model.starts_with("agonist")
}

/// One row of the selectivity panel: a compound at a target, and its ratio to the primary
/// target. Concentrations in nM.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectivityRow {
    /// Run directory name (`radbind panel`); empty in a run's own `selectivity.csv`.
    pub run: String,
    /// Experiment name.
    pub experiment: String,
    /// The curve's independent experiment (empty: the run is the experiment).
    pub experiment_id: String,
    /// Compound.
    pub compound: String,
    /// Target.
    pub target: String,
    /// Model reported for the curve.
    pub model: String,
    /// Ki, nM (the bound when censored; NaN when none).
    pub ki_nm: f64,
    /// Censoring of Ki.
    pub ki_censor: Censor,
    /// 95% CI of Ki, nM (NaN when censored or not determined).
    pub ki_ci_nm: (f64, f64),
    /// pKi (a bound when censored).
    pub pki: f64,
    /// Curve status.
    pub status: CurveStatus,
    /// Curve flags.
    pub flags: Vec<String>,
    /// The primary target the ratio is taken against (`None`: no primary for this compound).
    pub primary_target: Option<String>,
    /// Run of the primary measurement (empty inside one run).
    pub primary_run: String,
    /// Ki at the primary target, nM (NaN when none).
    pub primary_ki_nm: f64,
    /// Censoring of the primary Ki.
    pub primary_ki_censor: Censor,
    /// `Ki / Ki(primary)`, or its bound; NaN when it cannot be given (see `ratio_note`).
    pub ratio: f64,
    /// Censoring of the ratio.
    pub ratio_censor: Censor,
    /// Why there is no ratio; empty when there is one.
    pub ratio_note: String,
}

/// The selectivity ratio `Ki(target) / Ki(primary)` of two Ki values that may be censored,
/// as a value or a bound.
///
/// With `a` the target's Ki (or bound) and `b` the primary's, the ratio is `a / b` and:
///
/// | target | primary | ratio |
/// |---|---|---|
/// | exact | exact | `a/b` exact |
/// | `> a` | exact | `> a/b` |
/// | `< a` | exact | `< a/b` |
/// | exact | `> b` | `< a/b` (a larger primary Ki, a smaller ratio) |
/// | exact | `< b` | `> a/b` |
/// | `> a` | `< b` | `> a/b` (both push the ratio up) |
/// | `< a` | `> b` | `< a/b` |
/// | `> a` | `> b` | unknown |
/// | `< a` | `< b` | unknown |
///
/// ```
/// use radbind::derive::rows::Censor;
/// use radbind::report::selectivity::ratio;
/// // Ki > 3.3 µM at the target, 1.43 nM at the primary: more than 2300-fold selective.
/// let (r, c) = ratio((3333.3, Censor::Above), (1.4286, Censor::Exact)).unwrap();
/// assert_eq!(c, Censor::Above);
/// assert!((r - 2333.3).abs() < 0.1);
/// ```
///
/// # Errors
/// The reason, when both are censored on the same side or a value is not a positive number.
pub fn ratio(target: (f64, Censor), primary: (f64, Censor)) -> Result<(f64, Censor), String> {
    let ((a, ca), (b, cb)) = (target, primary);
    if !(a.is_finite() && a > 0.0 && b.is_finite() && b > 0.0) {
        return Err("no Ki".to_string());
    }
    let censor = match (ca, cb) {
        (Censor::Exact, Censor::Exact) => Censor::Exact,
        (Censor::Above, Censor::Exact | Censor::Below) | (Censor::Exact, Censor::Below) => {
            Censor::Above
        }
        (Censor::Below, Censor::Exact | Censor::Above) | (Censor::Exact, Censor::Above) => {
            Censor::Below
        }
        (Censor::Above, Censor::Above) | (Censor::Below, Censor::Below) => {
            return Err(format!("both Ki censored ({} at both targets): ratio unknown", ca.mark()));
        }
    };
    Ok((a / b, censor))
}

/// The selectivity panel of a run's curves (see [`panel_of`]).
#[must_use]
pub fn panel(curves: &[CurveRow], primary: Option<&str>) -> Vec<SelectivityRow> {
    panel_of(curves.iter().filter_map(panel_entry).collect(), primary)
}

/// A curve's entry in the selectivity panel; `None` for curves of IC50-only targets (no [L]
/// and Kd), which have no Ki to compare.
#[must_use]
pub fn panel_entry(c: &CurveRow) -> Option<KiEntry> {
    let ic50_only =
        c.functional.is_none() && !(c.radioligand_nm.is_finite() && c.kd_nm.is_finite());
    (!ic50_only).then(|| KiEntry::from_curve(c))
}

/// The selectivity panel: one row per entry, sorted by compound, target, run and experiment
/// (a stable sort: entries with the same key keep their order).
///
/// The primary measurement of a compound, which every ratio of its rows is taken against:
/// - `primary = Some(t)`: the compound's entry at target `t` in the row's own run and
///   experiment; when that run did not test it, the one other entry that did (if several
///   did, the ratio is empty);
/// - `primary = None`: the compound's entry with the lowest exact, usable Ki over all runs
///   (ties: the first in sorted order); none when the compound has no exact Ki anywhere. A
///   row of an independent experiment (`experiment_id`) takes its ratio against its own
///   experiment's entry at that target when there is one, so experiments are never mixed.
///
/// A row that is its own primary has ratio exactly 1, censored or not. Rows without a
/// usable Ki (no fit, failed, not converged, agonist model) get no ratio.
#[must_use]
pub fn panel_of(mut entries: Vec<KiEntry>, primary: Option<&str>) -> Vec<SelectivityRow> {
    entries.sort_by(|a, b| {
        (&a.compound, &a.target, &a.run, &a.experiment_id).cmp(&(
            &b.compound,
            &b.target,
            &b.run,
            &b.experiment_id,
        ))
    });
    let mut rows = Vec::with_capacity(entries.len());
    for group in entries.chunk_by(|a, b| a.compound == b.compound) {
        // Default primary: the lowest exact Ki of the compound.
        let lowest = group
            .iter()
            .enumerate()
            .filter(|(_, e)| e.usable() && e.ki_censor == Censor::Exact)
            .min_by(|(_, a), (_, b)| a.ki_nm.total_cmp(&b.ki_nm))
            .map(|(j, _)| j);
        for (i, e) in group.iter().enumerate() {
            let reference: Result<usize, String> = match primary {
                None => lowest
                    .map(|j| same_experiment(group, e, j).unwrap_or(j))
                    .ok_or_else(|| "no exact Ki at any target to take as primary".into()),
                Some(p) => primary_entry(group, e, p),
            };
            let primary_target = match primary {
                Some(p) => Some(p.to_string()),
                None => lowest.map(|j| group[j].target.clone()),
            };
            let p = reference.as_ref().ok().map(|&j| &group[j]);
            let outcome = if is_agonist(&e.model) {
                Err("agonist model: no Ki".to_string())
            } else if !e.usable() {
                Err("no usable Ki at this target".to_string())
            } else {
                match reference {
                    Err(note) => Err(note),
                    Ok(j) if j == i => Ok((1.0, Censor::Exact)),
                    Ok(j) if !group[j].usable() => Err("no usable Ki at the primary target".into()),
                    Ok(j) => ratio((e.ki_nm, e.ki_censor), (group[j].ki_nm, group[j].ki_censor)),
                }
            };
            let (ratio, ratio_censor, ratio_note) = match outcome {
                Ok((r, c)) => (r, c, String::new()),
                Err(note) => (f64::NAN, Censor::Exact, note),
            };
            rows.push(SelectivityRow {
                run: e.run.clone(),
                experiment: e.experiment.clone(),
                experiment_id: e.experiment_id.clone(),
                compound: e.compound.clone(),
                target: e.target.clone(),
                model: e.model.clone(),
                ki_nm: e.ki_nm,
                ki_censor: e.ki_censor,
                ki_ci_nm: e.ki_ci_nm,
                pki: e.pki,
                status: e.status.clone(),
                flags: e.flags.clone(),
                primary_target,
                primary_run: p.map(|p| p.run.clone()).unwrap_or_default(),
                primary_ki_nm: p.map_or(f64::NAN, |p| p.ki_nm),
                primary_ki_censor: p.map(|p| p.ki_censor).unwrap_or_default(),
                ratio,
                ratio_censor,
                ratio_note,
            });
        }
    }
    rows
}

/// For a row of an independent experiment: its own experiment's entry at the target of
/// entry `j` (same run and `experiment_id`), when it has one.
fn same_experiment(group: &[KiEntry], row: &KiEntry, j: usize) -> Option<usize> {
    if row.experiment_id.is_empty() {
        return None;
    }
    (0..group.len()).find(|&k| {
        group[k].target == group[j].target
            && group[k].run == row.run
            && group[k].experiment_id == row.experiment_id
    })
}

/// The entry (index into `group`) at the given primary target for `row`: the same run's and
/// experiment's, else the only other one.
fn primary_entry(group: &[KiEntry], row: &KiEntry, target: &str) -> Result<usize, String> {
    let at: Vec<usize> = (0..group.len()).filter(|&j| group[j].target == target).collect();
    if let Some(&j) =
        at.iter().find(|&&j| group[j].run == row.run && group[j].experiment_id == row.experiment_id)
    {
        return Ok(j);
    }
    match at.as_slice() {
        [] => Err(format!("not tested at the primary target {target}")),
        [j] => Ok(*j),
        _ => Err(format!("primary target {target} measured in several other runs or experiments")),
    }
}

/// Above this many compounds the reports point to `selectivity.csv` instead of showing one
/// table per compound.
pub const REPORT_COMPOUND_LIMIT: usize = 100;

/// At most this many compounds are rows of the Ki matrix and the pKi map of a report: a
/// dense compound x target matrix of a large screen (4,000 compounds at 350 targets) would
/// make a report of tens of MB that no browser opens.
pub const KI_MATRIX_ROW_LIMIT: usize = 200;

/// The compounds (rows) the Ki matrix and the pKi map show, by name, and what was left out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixRows<'a> {
    /// The compounds shown, by name.
    pub shown: Vec<&'a str>,
    /// All compounds of the run.
    pub total: usize,
}

impl MatrixRows<'_> {
    /// A sentence for the reports when compounds were left out (plain text; escape before
    /// use); `None` when every compound is shown.
    #[must_use]
    pub fn note(&self) -> Option<String> {
        if self.shown.len() == self.total {
            return None;
        }
        let left = self.total - self.shown.len();
        Some(if self.shown.is_empty() {
            format!(
                "{} compounds, none tested at two or more targets: the matrix is left out. \
                 Every Ki is in the tables by target and in selectivity.csv.",
                self.total
            )
        } else {
            format!(
                "{} of {} compounds shown: those tested at two or more targets (at most {}, \
                 by name); the other {left} are in the tables by target and in selectivity.csv.",
                self.shown.len(),
                self.total,
                KI_MATRIX_ROW_LIMIT
            )
        })
    }
}

/// The rows of the Ki matrix and pKi map: every compound when there are at most
/// [`KI_MATRIX_ROW_LIMIT`]; otherwise the compounds tested at two or more targets (the
/// matrix's purpose is comparing targets), the first [`KI_MATRIX_ROW_LIMIT`] by name.
#[must_use]
pub fn matrix_rows(curves: &[CurveRow]) -> MatrixRows<'_> {
    let mut targets_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for c in curves {
        targets_of.entry(c.compound.as_str()).or_default().insert(c.target.as_str());
    }
    let total = targets_of.len();
    let shown = if total <= KI_MATRIX_ROW_LIMIT {
        targets_of.into_keys().collect()
    } else {
        targets_of
            .into_iter()
            .filter(|(_, t)| t.len() >= 2)
            .map(|(c, _)| c)
            .take(KI_MATRIX_ROW_LIMIT)
            .collect()
    };
    MatrixRows { shown, total }
}

/// The cells of the Ki matrix: per (compound, target) its curves as (index in `curves`,
/// curve), one per experiment of the run, in curve order.
pub type MatrixCells<'a> = HashMap<(&'a str, &'a str), Vec<(usize, &'a CurveRow)>>;

/// [`MatrixCells`] of a run's curves, and whether any cell holds more than one curve (a run
/// of several experiments: the reports then say a cell has one value per experiment).
#[must_use]
pub fn matrix_cells(curves: &[CurveRow]) -> (MatrixCells<'_>, bool) {
    let mut cells: MatrixCells<'_> = HashMap::new();
    for (i, c) in curves.iter().enumerate() {
        cells.entry((c.compound.as_str(), c.target.as_str())).or_default().push((i, c));
    }
    let several = cells.values().any(|v| v.len() > 1);
    (cells, several)
}

/// Said under (Markdown) or above (HTML) a Ki matrix whose cells may hold several values.
pub const SEVERAL_VALUES_NOTE: &str =
    "Several values in a cell: one per experiment of the run, in experiment order.";

/// What the report says above the panel (plain text; escape before use).
pub const REPORT_INTRO: &str = "Per compound: its Ki at each target and the ratio Ki(target) / \
    Ki(primary target); 100x means 100-fold weaker binding than at the primary target. \
    Censored Ki stay bounds, and so do the ratios they give (> 2350x: at least 2350-fold); \
    where no bound follows (both Ki censored on the same side, no usable Ki) the note says \
    why. \u{26a0}: flagged or failed curve. Every number is in selectivity.csv.";

/// How the primary target was chosen, for the reports (plain text; escape before use).
#[must_use]
pub fn primary_rule_text(primary: Option<&str>) -> String {
    match primary {
        Some(p) => format!("Primary target: {p} (report.primary_target in the config)."),
        None => "Primary target: per compound, the target with its lowest exact (uncensored) \
                 Ki, so every exact ratio is at least 1 (set report.primary_target to choose \
                 one)."
            .to_string(),
    }
}

/// The rows of a panel grouped by compound (rows are sorted by compound).
pub fn by_compound(rows: &[SelectivityRow]) -> impl Iterator<Item = &[SelectivityRow]> {
    rows.chunk_by(|a, b| a.compound == b.compound)
}

/// A ratio for display: three significant digits, whole numbers from 1000 on rounded to
/// three significant digits too (`2345.6` -> `2350`).
#[must_use]
pub fn ratio_number(v: f64) -> String {
    if !(v.is_finite() && v > 0.0) {
        return NOT_DETERMINED.to_string();
    }
    let mag = v.log10().floor() as i32;
    if mag >= 3 {
        let unit = 10f64.powi(mag - 2);
        format!("{:.0}", (v / unit).round() * unit)
    } else {
        sig3(v)
    }
}

/// Display helpers shared by the HTML and Markdown reports.
impl SelectivityRow {
    /// Ki for display: `2.5 nM`, `> 3.33 µM`, `—`.
    #[must_use]
    pub fn ki_text(&self) -> String {
        if !(self.ki_nm.is_finite() && self.ki_nm > 0.0) {
            return NOT_DETERMINED.to_string();
        }
        match self.ki_censor {
            Censor::Exact => format_conc_nm(self.ki_nm),
            c => format!("{} {}", c.mark(), format_conc_nm(self.ki_nm)),
        }
    }

    /// Ki with its 95% CI in the Ki's unit, `2.6 nM (2.08–3.25 nM)`, `800 pM (600–1030 pM)`;
    /// the value alone without a CI.
    #[must_use]
    pub fn ki_with_ci_text(&self) -> String {
        let (lo, hi) = self.ki_ci_nm;
        if self.ki_censor != Censor::Exact || !(lo.is_finite() && hi.is_finite() && lo > 0.0) {
            return self.ki_text();
        }
        format!("{} ({})", self.ki_text(), format_conc_range_in(ConcUnit::of(self.ki_nm), lo, hi))
    }

    /// pKi to two decimals; a bound when censored (`> Ki` is `< pKi`).
    #[must_use]
    pub fn pki_text(&self) -> String {
        if !(self.pki.is_finite() && self.ki_nm.is_finite() && self.ki_nm > 0.0) {
            return NOT_DETERMINED.to_string();
        }
        match self.ki_censor {
            Censor::Exact => format!("{:.2}", self.pki),
            Censor::Above => format!("< {:.2}", self.pki),
            Censor::Below => format!("> {:.2}", self.pki),
        }
    }

    /// The ratio for display: `23.1x`, `> 2350x`, `1x`; `—` without one.
    #[must_use]
    pub fn ratio_text(&self) -> String {
        if !self.ratio.is_finite() {
            return NOT_DETERMINED.to_string();
        }
        match self.ratio_censor {
            Censor::Exact => format!("{}x", ratio_number(self.ratio)),
            c => format!("{} {}x", c.mark(), ratio_number(self.ratio)),
        }
    }

    /// The target as the reports label a row: `H1`, or `H1 (experiment 2)` for a curve of
    /// one independent experiment of the run.
    #[must_use]
    pub fn target_label(&self) -> String {
        if self.experiment_id.is_empty() {
            self.target.clone()
        } else {
            format!("{} (experiment {})", self.target, self.experiment_id)
        }
    }

    /// `true` for the primary measurement itself.
    #[must_use]
    pub fn is_primary(&self) -> bool {
        self.primary_target.as_deref() == Some(self.target.as_str())
            && self.primary_run == self.run
            && self.ratio_note.is_empty()
    }

    /// `true` when the curve is flagged or failed (as the Ki matrix marks it).
    #[must_use]
    pub fn needs_attention(&self) -> bool {
        !self.status.is_ok() || !self.flags.is_empty()
    }

    /// The note of the reports: `primary` for the primary measurement, else why there is no
    /// ratio (empty when there is one).
    #[must_use]
    pub fn note_text(&self) -> String {
        if self.is_primary() { "primary".to_string() } else { self.ratio_note.clone() }
    }

    /// The ratio column's heading in the reports: `Ratio to H1`, or `Ratio` without a
    /// primary target (plain text).
    #[must_use]
    pub fn ratio_heading(&self) -> String {
        self.primary_target
            .as_ref()
            .map_or_else(|| "Ratio".to_string(), |p| format!("Ratio to {p}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(compound: &str, target: &str, ki: f64, censor: Censor) -> KiEntry {
        KiEntry {
            run: String::new(),
            experiment: "e".into(),
            experiment_id: String::new(),
            compound: compound.into(),
            target: target.into(),
            model: "four_parameter".into(),
            ki_nm: ki,
            ki_censor: censor,
            ki_ci_nm: if censor == Censor::Exact {
                (ki / 1.5, ki * 1.5)
            } else {
                (f64::NAN, f64::NAN)
            },
            pki: p_value(ki),
            status: CurveStatus::Ok,
            flags: vec![],
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs()
    }

    /// Every censor combination, numbers worked by hand (target Ki / primary Ki).
    #[test]
    fn ratio_censor_combinations() {
        use Censor::{Above, Below, Exact};
        // 50 / 2 = 25 exactly.
        assert_eq!(ratio((50.0, Exact), (2.0, Exact)), Ok((25.0, Exact)));
        // Ki > 5000 vs 2: ratio > 2500.
        assert_eq!(ratio((5000.0, Above), (2.0, Exact)), Ok((2500.0, Above)));
        // Ki < 0.1 vs 2: ratio < 0.05.
        assert_eq!(ratio((0.1, Below), (2.0, Exact)), Ok((0.05, Below)));
        // 50 vs primary > 5000: ratio < 0.01.
        assert_eq!(ratio((50.0, Exact), (5000.0, Above)), Ok((0.01, Below)));
        // 50 vs primary < 0.1: ratio > 500.
        assert_eq!(ratio((50.0, Exact), (0.1, Below)), Ok((500.0, Above)));
        // > 5000 vs < 0.1: ratio > 50000.
        assert_eq!(ratio((5000.0, Above), (0.1, Below)), Ok((50_000.0, Above)));
        // < 0.1 vs > 5000: ratio < 0.00002.
        let (r, c) = ratio((0.1, Below), (5000.0, Above)).unwrap();
        assert!(close(r, 2e-5) && c == Below);
        // Same side: nothing known.
        assert!(ratio((5000.0, Above), (3000.0, Above)).unwrap_err().contains("both Ki censored"));
        assert!(ratio((0.1, Below), (0.2, Below)).is_err());
        // Missing Ki.
        assert!(ratio((f64::NAN, Exact), (2.0, Exact)).is_err());
        assert!(ratio((50.0, Exact), (0.0, Exact)).is_err());
    }

    #[test]
    fn default_primary_is_the_lowest_exact_ki() {
        // Mianserin-like: H1 1.2 nM, 5-HT2A 3 nM, SERT > 4000 nM (censored: never a
        // candidate), and a failed curve whose 0.5 nM must not become the primary.
        let mut failed = entry("m", "NET", 0.5, Censor::Exact);
        failed.status = CurveStatus::Failed("no fit".into());
        let rows = panel_of(
            vec![
                entry("m", "SERT", 4000.0, Censor::Above),
                entry("m", "H1", 1.2, Censor::Exact),
                entry("m", "5-HT2A", 3.0, Censor::Exact),
                failed,
            ],
            None,
        );
        let t: Vec<&str> = rows.iter().map(|r| r.target.as_str()).collect();
        assert_eq!(t, ["5-HT2A", "H1", "NET", "SERT"], "sorted by target");
        assert!(rows.iter().all(|r| r.primary_target.as_deref() == Some("H1")));
        // 3 / 1.2 = 2.5; H1 itself 1; SERT > 4000 / 1.2 = 3333.3.
        assert!(close(rows[0].ratio, 2.5) && rows[0].ratio_censor == Censor::Exact);
        assert_eq!((rows[1].ratio, rows[1].ratio_censor), (1.0, Censor::Exact));
        assert!(rows[1].is_primary());
        assert!(rows[2].ratio.is_nan());
        assert_eq!(rows[2].ratio_note, "no usable Ki at this target");
        assert!(close(rows[3].ratio, 4000.0 / 1.2) && rows[3].ratio_censor == Censor::Above);
        assert_eq!(rows[3].ratio_text(), "> 3330x");
        assert!(close(rows[3].primary_ki_nm, 1.2));
    }

    #[test]
    fn given_primary_and_censored_primary() {
        // Primary 5-HT1A is censored (> 2000): exact Ki elsewhere give "<" ratios, a ">" Ki
        // gives nothing, the primary row itself is 1.
        let rows = panel_of(
            vec![
                entry("c", "5-HT1A", 2000.0, Censor::Above),
                entry("c", "H1", 4.0, Censor::Exact),
                entry("c", "SERT", 5000.0, Censor::Above),
                entry("c", "D2", 0.05, Censor::Below),
            ],
            Some("5-HT1A"),
        );
        let get = |t: &str| rows.iter().find(|r| r.target == t).unwrap();
        assert_eq!((get("5-HT1A").ratio, get("5-HT1A").ratio_censor), (1.0, Censor::Exact));
        // 4 / 2000 = 0.002, and the true primary Ki is larger: < 0.002.
        assert!(close(get("H1").ratio, 0.002) && get("H1").ratio_censor == Censor::Below);
        assert_eq!(get("H1").ratio_text(), "< 0.002x");
        assert!(get("SERT").ratio.is_nan());
        assert!(get("SERT").ratio_note.contains("both Ki censored (>"));
        // < 0.05 vs > 2000: < 0.000025.
        assert!(close(get("D2").ratio, 2.5e-5) && get("D2").ratio_censor == Censor::Below);
        assert!(rows.iter().all(|r| r.primary_target.as_deref() == Some("5-HT1A")));
    }

    #[test]
    fn compounds_without_primary_or_ki() {
        let mut agonist = entry("a", "H1", f64::NAN, Censor::Exact);
        agonist.model = "agonist".into();
        let rows = panel_of(
            vec![
                agonist,
                entry("b", "H1", 5000.0, Censor::Above),
                entry("b", "SERT", 5000.0, Censor::Above),
                entry("d", "SERT", 7.0, Censor::Exact),
            ],
            None,
        );
        assert_eq!(rows[0].ratio_note, "agonist model: no Ki");
        assert_eq!(rows[0].primary_target, None);
        for r in &rows[1..3] {
            assert!(r.ratio.is_nan() && r.primary_target.is_none());
            assert_eq!(r.ratio_note, "no exact Ki at any target to take as primary");
            assert_eq!(r.ki_text(), "> 5 µM");
            assert_eq!(r.pki_text(), "< 5.30");
        }
        // A given primary the compound was not tested at.
        let rows = panel_of(vec![entry("d", "SERT", 7.0, Censor::Exact)], Some("H1"));
        assert_eq!(rows[0].ratio_note, "not tested at the primary target H1");
        assert_eq!(rows[0].primary_target.as_deref(), Some("H1"));
    }

    /// Two independent experiments of one run: one row per experiment at each target, and
    /// each experiment's ratio is taken against its own primary measurement.
    #[test]
    fn experiments_of_a_run_do_not_collide() {
        let e = |exp: &str, target: &str, ki: f64| KiEntry {
            experiment_id: exp.into(),
            ..entry("m", target, ki, Censor::Exact)
        };
        let entries = vec![
            e("1", "H1", 1.0),
            e("1", "SERT", 100.0),
            e("2", "H1", 2.0),
            e("2", "SERT", 400.0),
        ];
        for primary in [None, Some("H1")] {
            let rows = panel_of(entries.clone(), primary);
            assert_eq!(rows.len(), 4);
            let r = |exp: &str, t: &str| {
                rows.iter().find(|r| r.experiment_id == exp && r.target == t).expect("row")
            };
            assert!(close(r("1", "SERT").ratio, 100.0), "{primary:?}");
            assert!(close(r("2", "SERT").ratio, 200.0), "{primary:?}");
            assert!(close(r("2", "H1").ratio, 1.0) && r("2", "H1").is_primary());
            assert_eq!(r("2", "SERT").target_label(), "SERT (experiment 2)");
        }
    }

    #[test]
    fn several_runs_keep_their_rows_and_prefer_their_own_primary() {
        let mut e = Vec::new();
        for (run, h1, sert) in [("r1", 1.0, 300.0), ("r2", 2.0, 500.0)] {
            let mut a = entry("m", "H1", h1, Censor::Exact);
            a.run = run.into();
            let mut b = entry("m", "SERT", sert, Censor::Exact);
            b.run = run.into();
            e.extend([b, a]);
        }
        let mut only = entry("m", "5-HT2A", 6.0, Censor::Exact);
        only.run = "r3".into();
        e.push(only);
        let rows = panel_of(e.clone(), Some("H1"));
        let key: Vec<(&str, &str)> =
            rows.iter().map(|r| (r.target.as_str(), r.run.as_str())).collect();
        assert_eq!(
            key,
            [("5-HT2A", "r3"), ("H1", "r1"), ("H1", "r2"), ("SERT", "r1"), ("SERT", "r2")]
        );
        // Own run's primary: 300 / 1, 500 / 2.
        assert!(close(rows[3].ratio, 300.0) && rows[3].primary_run == "r1");
        assert!(close(rows[4].ratio, 250.0) && rows[4].primary_run == "r2");
        // r3 has no H1 and two other runs do: ambiguous.
        assert!(rows[0].ratio.is_nan());
        assert!(rows[0].ratio_note.contains("several other runs"), "{}", rows[0].ratio_note);
        // Default: the lowest exact Ki over all runs (r1 H1 = 1 nM) for every row.
        let rows = panel_of(e, None);
        assert!(
            rows.iter().all(|r| r.primary_run == "r1" && r.primary_target.as_deref() == Some("H1"))
        );
        assert!(close(rows[0].ratio, 6.0));
        assert!(close(rows[2].ratio, 2.0) && !rows[2].is_primary() && rows[1].is_primary());
    }

    #[test]
    fn numbers_for_display() {
        assert_eq!(ratio_number(2345.6), "2350");
        assert_eq!(ratio_number(23.456), "23.5");
        assert_eq!(ratio_number(1.0), "1");
        assert_eq!(ratio_number(0.0123), "0.0123");
        assert_eq!(ratio_number(f64::NAN), NOT_DETERMINED);
        let r = panel_of(vec![entry("x", "T", 2.6, Censor::Exact)], None);
        assert_eq!(r[0].ki_with_ci_text(), "2.6 nM (1.73\u{2013}3.9 nM)");
        assert_eq!(r[0].ratio_text(), "1x");
    }

    /// A run with more compounds than [`KI_MATRIX_ROW_LIMIT`] (the sample's plus 250 tested
    /// at one target each): the Ki matrix and pKi map keep the compounds tested at two or
    /// more targets and both reports say where the rest is; a small run keeps every compound.
    #[test]
    fn ki_matrix_rows_are_bounded_for_large_runs() {
        let mut r = crate::test_support::sample_results();
        let small = matrix_rows(&r.curves);
        assert_eq!(small.shown.len(), small.total);
        assert_eq!(small.note(), None);
        let small_total = small.total;
        let multi: BTreeSet<String> = {
            let mut targets_of: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
            for c in &r.curves {
                targets_of.entry(&c.compound).or_default().insert(&c.target);
            }
            targets_of.into_iter().filter(|(_, t)| t.len() >= 2).map(|(c, _)| c.into()).collect()
        };
        assert!(!multi.is_empty());
        let extra: Vec<CurveRow> = (0..250)
            .map(|k| CurveRow { compound: format!("single-{k:03}"), ..r.curves[0].clone() })
            .collect();
        r.curves.extend(extra);
        let rows = matrix_rows(&r.curves);
        assert_eq!(rows.total, small_total + 250);
        assert_eq!(rows.shown.iter().map(|c| (*c).to_string()).collect::<BTreeSet<_>>(), multi);
        let note = rows.note().expect("a note");
        assert!(note.contains("selectivity.csv"), "{note}");

        let figs = crate::report::ReportFigures::default();
        let outcome = crate::report::ReportOutcome::default();
        let md = crate::report::markdown::render_markdown_with(&r, &figs, &outcome);
        let section = md.split("## Ki by compound and target").nth(1).expect("section");
        let section = section.split("\n## ").next().expect("section");
        assert!(section.contains(&note), "{section}");
        assert!(!section.contains("| single-"), "single-target rows in the matrix");
        let html = crate::report::html::render_html_with(&r, &figs, &outcome);
        let section = html.split("<section id=\"ki\">").nth(1).expect("section");
        let section = section.split("</section>").next().expect("section");
        assert!(section.contains("selectivity.csv"), "no note in the HTML matrix");
        assert!(!section.contains("single-"), "single-target rows in the HTML matrix");
    }
}
