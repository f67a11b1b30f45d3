//! The Markdown report (`report.md`), and the wording both reports share: flag
//! explanations and the display of censored values.
//!
//! Owns the text of the report, not the numbers: every value comes from [`RunResults`].
//! Censored IC50/Ki values are written as bounds (`> 10 µM`), never as a number as if it
//! had been measured. User strings are escaped so a `|` cannot break a table.

use std::collections::BTreeSet;
use std::fmt::Write as _;

pub use super::flag_words::flag_explanation;
use super::selectivity;
use super::text::{link_target, md, table_row};
use crate::derive::rows::{CurveRow, PlateRow, RunResults, TargetRow};
use crate::units::{ConcUnit, NOT_DETERMINED, format_conc_nm, format_conc_range_in, p_value};

/// Display helpers shared by the Markdown and HTML reports and the figures.
impl CurveRow {
    /// What the fitted midpoint is: `EC50` for an agonist (a rising functional curve),
    /// `IC50` otherwise.
    #[must_use]
    pub fn potency_word(&self) -> &'static str {
        if self
            .functional
            .as_ref()
            .is_some_and(|f| f.role == crate::derive::rows::FunctionalRole::Agonist)
        {
            "EC50"
        } else {
            "IC50"
        }
    }

    /// The censor mark of the fit: `">"`, `"<"` or `""` (also `""` without a fit).
    fn censor(&self) -> &'static str {
        self.fit.as_ref().map_or("", |f| f.censor.mark())
    }

    /// The Ki bound (nM) of a censored curve: its IC50 bound through
    /// [`crate::derive::cheng_prusoff`] with the curve's [L] and Kd; `None` without a bound or
    /// when Kd or the result is not a positive number.
    pub(crate) fn censored_ki_nm(&self) -> Option<f64> {
        let b = self.ic50_bound_nm()?;
        let ki = crate::derive::cheng_prusoff(b, self.radioligand_nm, self.kd_nm);
        (self.kd_nm > 0.0 && ki.is_finite() && ki > 0.0).then_some(ki)
    }

    /// The bound (nM) a censored IC50 is reported against: the one derive chose
    /// ([`crate::derive::flags::censored_bound`], held in `ic50_nm`) within the tested range,
    /// else the highest tested concentration for `>`, the lowest for `<`.
    pub(crate) fn ic50_bound_nm(&self) -> Option<f64> {
        let (lo, hi) = self.tested_range_nm;
        let range = match self.censor() {
            ">" => hi,
            "<" => lo,
            _ => return None,
        };
        // Never beyond the tested range: a bound is where the data stop, not an extrapolation.
        let own = self.fit.as_ref().map_or(f64::NAN, |f| f.ic50_nm);
        let b = match self.censor() {
            _ if !(own.is_finite() && own > 0.0) => range,
            ">" => own.min(range),
            _ => own.max(range),
        };
        (b.is_finite() && b > 0.0).then_some(b)
    }

    /// IC50 for display: `2.5 nM`, `> 10 µM` when censored, `—` when not determined.
    #[must_use]
    pub fn ic50_text(&self) -> String {
        let Some(fit) = &self.fit else {
            return NOT_DETERMINED.to_string();
        };
        match (self.censor(), self.ic50_bound_nm()) {
            ("", _) if fit.ic50_nm.is_finite() && fit.ic50_nm > 0.0 => format_conc_nm(fit.ic50_nm),
            (c @ (">" | "<"), Some(b)) => format!("{c} {}", format_conc_nm(b)),
            _ => NOT_DETERMINED.to_string(),
        }
    }

    /// Ki for display: `0.833 nM`, `> 3.33 µM` when censored (the bound through
    /// Cheng-Prusoff), `—` when not determined.
    #[must_use]
    pub fn ki_text(&self) -> String {
        let Some(fit) = &self.fit else {
            return NOT_DETERMINED.to_string();
        };
        match (self.censor(), self.censored_ki_nm()) {
            ("", _) if fit.ki_nm.is_finite() && fit.ki_nm > 0.0 => format_conc_nm(fit.ki_nm),
            (c @ (">" | "<"), Some(ki)) => format!("{c} {}", format_conc_nm(ki)),
            _ => NOT_DETERMINED.to_string(),
        }
    }

    /// 95% CI of Ki in the unit of the Ki ([`format_conc_range_in`]), `0.667–1.03 nM`; empty when censored or not finite.
    #[must_use]
    pub fn ki_ci_text(&self) -> String {
        let Some(fit) = &self.fit else {
            return String::new();
        };
        let (lo, hi) = fit.ki_ci_nm;
        if !(self.censor().is_empty() && lo.is_finite() && hi.is_finite() && lo > 0.0) {
            return String::new();
        }
        format_conc_range_in(ConcUnit::of(fit.ki_nm), lo, hi)
    }

    /// Ki with its CI: `0.833 nM (0.667–1.03 nM)`, or the bound alone when censored.
    #[must_use]
    pub fn ki_with_ci_text(&self) -> String {
        let ci = self.ki_ci_text();
        if ci.is_empty() { self.ki_text() } else { format!("{} ({ci})", self.ki_text()) }
    }

    /// 95% CI of the IC50 in the unit of the IC50, `1.2–3.4 µM`; empty when censored or not finite.
    #[must_use]
    pub fn ic50_ci_text(&self) -> String {
        let Some(fit) = &self.fit else {
            return String::new();
        };
        let (lo, hi) = fit.ic50_ci_nm;
        if !(self.censor().is_empty() && lo.is_finite() && hi.is_finite() && lo > 0.0) {
            return String::new();
        }
        format_conc_range_in(ConcUnit::of(fit.ic50_nm), lo, hi)
    }

    /// pIC50 to two decimals; a bound (`< 5.00`) when censored.
    #[must_use]
    pub fn pic50_text(&self) -> String {
        let Some(fit) = &self.fit else {
            return NOT_DETERMINED.to_string();
        };
        match (self.censor(), self.ic50_bound_nm().map(p_value)) {
            ("", _) if fit.pic50.is_finite() => format!("{:.2}", fit.pic50),
            (">", Some(p)) => format!("< {p:.2}"),
            ("<", Some(p)) => format!("> {p:.2}"),
            _ => NOT_DETERMINED.to_string(),
        }
    }

    /// The constant the curve is summarised by: `Ki`, or its potency word (`IC50`, `EC50`)
    /// where there is no Ki (an IC50-only target).
    #[must_use]
    pub fn headline_word(&self) -> &'static str {
        if self.has_ki() { "Ki" } else { self.potency_word() }
    }

    /// That constant for display ([`Self::ki_text`] or [`Self::ic50_text`]).
    #[must_use]
    pub fn headline_text(&self) -> String {
        if self.has_ki() { self.ki_text() } else { self.ic50_text() }
    }

    /// That constant with its CI.
    #[must_use]
    pub fn headline_with_ci_text(&self) -> String {
        if self.has_ki() {
            return self.ki_with_ci_text();
        }
        let ci = self.ic50_ci_text();
        if ci.is_empty() { self.ic50_text() } else { format!("{} ({ci})", self.ic50_text()) }
    }

    /// pKi to two decimals; a bound (`< 5.48`) when censored.
    #[must_use]
    pub fn pki_text(&self) -> String {
        let Some(fit) = &self.fit else {
            return NOT_DETERMINED.to_string();
        };
        let bound = self.censored_ki_nm().map(p_value);
        match (self.censor(), bound) {
            ("", _) if fit.pki.is_finite() => format!("{:.2}", fit.pki),
            // Ki above the bound means pKi below it, and the other way round.
            (">", Some(p)) => format!("< {p:.2}"),
            ("<", Some(p)) => format!("> {p:.2}"),
            _ => NOT_DETERMINED.to_string(),
        }
    }

    /// The model reported, with the comparison that chose it and any ROUT exclusions, e.g.
    /// `two_site (preferred by one_vs_two_sites); one_vs_two_sites: p = 0.0012`.
    #[must_use]
    pub fn model_text(&self) -> String {
        let mut t = self.model.clone();
        if let Some(c) = &self.comparison {
            if c.p.is_finite() {
                t.push_str(&format!("; {}: p = {}", c.name, crate::units::sig3(c.p)));
            }
        }
        if self.n_outliers > 0 {
            t.push_str(&format!("; {} ROUT outlier(s)", self.n_outliers));
        }
        t
    }

    /// Hill slope to two decimals.
    #[must_use]
    pub fn hill_text(&self) -> String {
        match &self.fit {
            Some(f) if f.hill_slope.is_finite() => format!("{:.2}", f.hill_slope),
            _ => NOT_DETERMINED.to_string(),
        }
    }

    /// Status and flags in one cell: `failed: reason; few_concentrations`.
    #[must_use]
    pub fn flags_text(&self) -> String {
        let status = self.status.is_failed().then(|| self.status.to_string());
        let mut parts: Vec<&str> = status.as_deref().into_iter().collect();
        parts.extend(self.flags.iter().map(String::as_str));
        parts.join("; ")
    }
}

/// Counts for the summary of both reports. Saturation fits count as curves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counts {
    pub plates: usize,
    pub plates_failing_qc: usize,
    /// Plates whose Z' cannot be computed (no pair of controls) and carry no flag.
    pub plates_qc_na: usize,
    pub curves: usize,
    pub flagged: usize,
    pub failed: usize,
    pub excluded_wells: usize,
}

impl Counts {
    pub(crate) fn of(r: &RunResults) -> Self {
        let state = |s: QcState| r.plates.iter().filter(|p| QcState::of(p) == s).count();
        let sat_failed =
            |s: &&crate::saturation::SaturationRow| s.fit.is_none() || s.status.is_failed();
        Self {
            plates: r.plate_count(),
            plates_failing_qc: state(QcState::Fail),
            plates_qc_na: state(QcState::NotApplicable),
            curves: r.curve_count() + r.saturation.len(),
            flagged: r.large.as_ref().map_or_else(
                || r.curves.iter().filter(|c| c.is_flagged()).count(),
                |l| l.counts.flagged,
            ) + r
                .saturation
                .iter()
                .filter(|s| !sat_failed(s) && (!s.flags.is_empty() || s.status.is_flagged()))
                .count(),
            failed: r.large.as_ref().map_or_else(
                || r.curves.iter().filter(|c| c.is_failed()).count(),
                |l| l.counts.failed,
            ) + r.saturation.iter().filter(sat_failed).count(),
            excluded_wells: r.wells.iter().filter(|w| w.excluded.is_some()).count(),
        }
    }
}

/// A plate's QC verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum QcState {
    /// Z' at least 0.5 and no flag.
    Pass,
    /// Z' below 0.5 or a flag.
    Fail,
    /// No Z' to judge (a plate without a pair of controls: [35S]GTPγS without totals,
    /// saturation, curve-only and background plates) and no flag.
    NotApplicable,
}

impl QcState {
    /// The verdict on a plate.
    pub(crate) fn of(p: &PlateRow) -> QcState {
        // A plate without controls has no Z' to fail; a background plate is not an assay plate.
        if matches!(p.normalisation, "raw_signal" | "background") {
            return QcState::NotApplicable;
        }
        if !p.flags.is_empty() || p.z_prime < 0.5 {
            QcState::Fail
        } else if p.z_prime.is_finite() {
            QcState::Pass
        } else {
            QcState::NotApplicable
        }
    }
}

/// Targets in report order: those of `results.targets` (config order), then any target that only
/// appears in the curves (with [L] and Kd taken from its first curve).
pub(crate) fn targets_in_order(r: &RunResults) -> Vec<TargetRow> {
    // Saturation targets have no curves: the saturation section reports them.
    let mut out: Vec<TargetRow> =
        r.targets.iter().filter(|t| t.assay != "saturation").cloned().collect();
    for c in &r.curves {
        if !out.iter().any(|t| t.target == c.target) {
            out.push(TargetRow {
                target: c.target.clone(),
                radioligand: c.radioligand.clone(),
                radioligand_nm: c.radioligand_nm,
                kd_nm: c.kd_nm,
                assay: "competition".into(),
                kd_source: "config".into(),
            });
        }
    }
    out
}

/// Every flag used by a curve, a saturation fit or a plate, sorted, once each.
pub(crate) fn flags_in_use(r: &RunResults) -> Vec<String> {
    let set: BTreeSet<&str> = r
        .curves
        .iter()
        .flat_map(|c| c.flags.iter())
        .chain(r.saturation.iter().flat_map(|s| s.flags.iter()))
        .chain(r.plates.iter().flat_map(|p| p.flags.iter()))
        .map(String::as_str)
        .collect();
    set.into_iter().map(str::to_string).collect()
}

/// A number with `decimals` decimals (`-0` as `0`), `—` when not finite.
pub(crate) fn fixed(v: f64, decimals: usize) -> String {
    if v.is_finite() {
        format!("{:.decimals$}", crate::units::plain_zero(v))
    } else {
        NOT_DETERMINED.to_string()
    }
}
/// Header and separator lines of a table; `right` marks numeric (right-aligned) columns.
fn table_head(cols: &[(&str, bool)]) -> String {
    let head: Vec<String> = cols.iter().map(|(c, _)| (*c).to_string()).collect();
    let sep: Vec<String> =
        cols.iter().map(|(_, right)| if *right { "---:" } else { "---" }.to_string()).collect();
    format!("{}{}", table_row(&head), table_row(&sep))
}

/// A code fence longer than any run of backticks in `text`.
fn fence_for(text: &str) -> String {
    let mut longest = 0;
    let mut run = 0;
    for c in text.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    "`".repeat((longest + 1).max(3))
}

/// The plate QC table columns (shared with the HTML report); `basal` adds the basal mean and
/// CV% of [35S]GTPγS plates.
pub(crate) fn qc_columns(basal: bool) -> Vec<(&'static str, bool)> {
    let mut cols = vec![
        ("Plate", false),
        ("Target", false),
        ("Source", false),
        ("QC", false),
        ("Z'", true),
        ("S/B", true),
        ("CV% total", true),
        ("CV% NSB", true),
        ("NSB % of total", true),
    ];
    if basal {
        cols.extend([("Basal mean (CPM)", true), ("CV% basal", true)]);
    }
    cols.extend([("Pipetting CV%", true), ("Rotated", false), ("Flags", false)]);
    cols
}

/// The Markdown report.
///
/// `png_paths` holds, per curve (same order as `results.curves`), the relative path of its
/// PNG, e.g. `plots/003_5-HT2A_mianserin.png`, or `None` when there is no figure.
/// Deterministic: the same input gives the same text.
#[must_use]
pub fn render_markdown(results: &RunResults, png_paths: &[Option<String>]) -> String {
    assemble(results, png_paths, None)
}

/// The Markdown report with every figure of the run linked (see [`super::write_report`]):
/// the text of [`render_markdown`] plus the assay sections, the Ki matrix and selectivity map
/// after the summary, target and compound overlays before the curve figures, plate heat maps
/// after plate QC, and the Prism files and residual plots before the provenance.
#[must_use]
pub fn render_markdown_with(
    results: &RunResults,
    figs: &super::ReportFigures,
    outcome: &super::ReportOutcome,
) -> String {
    assemble(results, &figs.curve_pngs, Some((figs, outcome)))
}

/// The report, section after section in reading order; the sections that link figures and
/// other files only with `linked` (the figures and what writing the report made).
fn assemble(
    results: &RunResults,
    png_paths: &[Option<String>],
    linked: Option<(&super::ReportFigures, &super::ReportOutcome)>,
) -> String {
    let mut out = String::new();
    intro(&mut out, results);
    summary(&mut out, results);
    large_run(&mut out, results);
    problems(&mut out, results, linked.map(|(_, outcome)| outcome));
    if let Some((figs, _)) = linked {
        out.push_str(&super::primary::markdown_section(results, &figs.primary));
        out.push_str(&super::assays::markdown_sections(results, &figs.saturation));
        if super::assays::has_affinity_curves(results) {
            ki_matrix(&mut out, results, figs);
        }
        if results.curves.iter().any(CurveRow::has_ki) {
            out.push_str(&selectivity_markdown(results));
        }
    }
    results_by_target(&mut out, results);
    if let Some((figs, _)) = linked {
        overlays(&mut out, figs);
    }
    curve_figures(&mut out, results, png_paths);
    plate_qc(&mut out, results);
    if let Some((figs, _)) = linked {
        heat_maps(&mut out, figs);
    }
    flags(&mut out, results);
    excluded_wells(&mut out, results);
    if let Some((figs, outcome)) = linked {
        prism_files(&mut out, outcome);
        residual_plots(&mut out, results, figs);
    }
    provenance(&mut out, results);
    out
}

/// A linked image, `![alt](path)` and a blank line, when the figure has a PNG.
fn image(alt: &str, f: &super::FigureRef) -> Option<String> {
    let path = f.png_path.as_deref()?;
    let alt = md(alt).replace('[', "\\[").replace(']', "\\]");
    Some(format!("![{alt}]({})\n\n", link_target(path)))
}

/// Title and the line that says what was done, in the words of the run's assays
/// ([`super::assays::header_line`]).
fn intro(out: &mut String, results: &RunResults) {
    let _ = writeln!(out, "# {}\n", md(&results.experiment));
    let raw = |c: &CurveRow| c.response_label == "% of fitted span";
    let note = if !results.curves.is_empty() && results.curves.iter().all(raw) {
        " Curves of plates without controls are fitted on the raw signal and shown in % of \
         the fitted span."
    } else {
        ""
    };
    let _ = writeln!(
        out,
        "{}. Analysed by radbind {}.{note}\n",
        md(&super::assays::header_line(results)),
        md(&results.version)
    );
}

/// The summary table: what the run holds and how much of it failed or is flagged.
fn summary(out: &mut String, results: &RunResults) {
    let n = Counts::of(results);
    out.push_str("## Summary\n\n");
    out.push_str(&table_head(&[("Item", false), ("Value", false)]));
    let rows: [(&str, String); 9] = [
        ("Experiment", md(&results.experiment)),
        ("radbind version", md(&results.version)),
        ("Plates", n.plates.to_string()),
        ("Plates failing QC", n.plates_failing_qc.to_string()),
        ("Plates with Z' n/a (no pair of controls)", n.plates_qc_na.to_string()),
        ("Curves", n.curves.to_string()),
        ("Curves flagged", n.flagged.to_string()),
        ("Curves failed (no usable fit)", n.failed.to_string()),
        ("Excluded wells", n.excluded_wells.to_string()),
    ];
    for (k, v) in rows {
        out.push_str(&table_row(&[k.to_string(), v]));
    }
    out.push('\n');
    for row in &results.history.references {
        let _ = writeln!(out, "- Reference {}", md(&row.line()));
    }
    if !results.history.references.is_empty() {
        out.push('\n');
    }
}

/// What the report of a large run (`RunResults::large`) leaves to the tables, as one
/// paragraph of plain text; `None` for a run whose report lists every curve.
pub(crate) fn large_run_note(r: &RunResults) -> Option<String> {
    let l = r.large.as_ref()?;
    let more = if l.not_shown > 0 {
        format!(" (the first {}; {} more are in the tables)", r.curves.len(), l.not_shown)
    } else {
        String::new()
    };
    Some(format!(
        "A large run: {} curves on {} plates. The tables (fits, plates, wells and selectivity, \
         CSV and Parquet) hold every row; this report gives the counts by target below and \
         lists only the flagged and failed curves{more} and the plates with flags, without \
         the excluded wells.",
        l.curves, l.plates
    ))
}

/// A large run's counts by target: target, curves, ok, flagged, failed.
pub(crate) fn large_run_rows(r: &RunResults) -> Vec<[String; 5]> {
    r.large.as_ref().map_or_else(Vec::new, |l| {
        l.targets
            .iter()
            .map(|(t, n, k)| {
                [
                    t.clone(),
                    n.to_string(),
                    k.ok.to_string(),
                    k.flagged.to_string(),
                    k.failed.to_string(),
                ]
            })
            .collect()
    })
}

/// The paragraph and table of a large run, after the summary.
fn large_run(out: &mut String, results: &RunResults) {
    let Some(note) = large_run_note(results) else { return };
    let _ = writeln!(
        out,
        "{}
",
        md(&note)
    );
    out.push_str(&table_head(&[
        ("Target", false),
        ("Curves", true),
        ("ok", true),
        ("Flagged", true),
        ("Failed", true),
    ]));
    for row in large_run_rows(results) {
        let [t, rest @ ..] = row;
        let mut cells = vec![md(&t)];
        cells.extend(rest);
        out.push_str(&table_row(&cells));
    }
    out.push('\n');
}

/// Files, plates, controls or figures the run went on without (figures when the report was
/// written with them, `outcome`); nothing when there are none.
fn problems(out: &mut String, results: &RunResults, outcome: Option<&super::ReportOutcome>) {
    let problems = outcome.map_or_else(|| results.problems.clone(), |o| o.problems(results));
    if !problems.is_empty() {
        out.push_str("## Problems\n\nThe run went on without these (exit code 1):\n\n");
        for p in &problems {
            let _ = writeln!(out, "- {}", md(p));
        }
        out.push('\n');
    }
}

/// One table per target, under a heading with its ligand line; concentrations in one unit
/// per column (in the heading).
fn results_by_target(out: &mut String, results: &RunResults) {
    use super::assays::{AssayKind, target_assay};
    use super::cells::{Measured, column_unit, flag_words_text, signed};
    if results.curves.is_empty() {
        return;
    }
    out.push_str("## Results by target\n\n");
    out.push_str(
        "Censored values are bounds: `> 10` means the IC50 lies above the highest tested \
         concentration and was not measured. Concentrations are in the unit of the column \
         heading.\n\n",
    );
    for t in targets_in_order(results) {
        let _ = writeln!(out, "### {}\n\n{}\n", md(&t.target), md(&super::text::ligand_text(&t)));
        let gtpgs = target_assay(results, &t.target) == AssayKind::Gtpgs;
        let has_ki = t.radioligand_nm.is_finite() && t.kd_nm.is_finite() && !gtpgs;
        let curves: Vec<&CurveRow> =
            results.curves.iter().filter(|c| c.target == t.target).collect();
        let ic50: Vec<Measured> = curves.iter().map(|c| Measured::ic50(c)).collect();
        let ki: Vec<Measured> = curves.iter().map(|c| Measured::ki(c)).collect();
        let (unit, ki_unit) = (column_unit(ic50.iter()), column_unit(ki.iter()));
        let (word, p_word) =
            if gtpgs { ("EC50 / IC50", "pEC50 / pIC50") } else { ("IC50", "pIC50") };
        let second = if has_ki {
            format!("Ki ({}) (95% CI)", ki_unit.symbol)
        } else {
            format!("95% CI ({})", unit.symbol)
        };
        let first = format!("{word} ({})", unit.symbol);
        out.push_str(&table_head(&[
            ("Compound", false),
            (&first, true),
            (&second, true),
            (if has_ki { "pKi" } else { p_word }, true),
            ("Hill", true),
            ("n", true),
            ("Model", false),
            ("Class", false),
            ("Flags", false),
        ]));
        for (k, c) in curves.iter().enumerate() {
            let (ci, p) = if has_ki {
                (ki[k].with_ci_text(ki_unit), ki[k].p_text())
            } else {
                (ic50[k].ci_text(unit), ic50[k].p_text())
            };
            out.push_str(&table_row(&[
                md(&c.compound),
                md(&ic50[k].value_text(unit)),
                md(&ci),
                md(&p),
                signed(c.fit.as_ref().map_or(f64::NAN, |f| f.hill_slope), 2),
                c.n_points.to_string(),
                md(&c.model_text()),
                md(&c.curve_class),
                md(&flag_words_text(c.status.is_failed().then(|| c.status.to_string()), &c.flags)),
            ]));
        }
        out.push('\n');
    }
}

/// The curve figures, by target.
fn curve_figures(out: &mut String, results: &RunResults, png_paths: &[Option<String>]) {
    let figures: Vec<(usize, &CurveRow, &str)> = results
        .curves
        .iter()
        .enumerate()
        .filter_map(|(i, c)| Some((i, c, png_paths.get(i)?.as_deref()?)))
        .collect();
    if !figures.is_empty() {
        out.push_str("## Figures\n\n");
        out.push_str(
            "Open circles: replicates; filled circles: mean ± SD; crosses: excluded points; \
             line: 4PL fit.\n\n",
        );
        for t in targets_in_order(results) {
            let of_target: Vec<_> = figures.iter().filter(|f| f.1.target == t.target).collect();
            if of_target.is_empty() {
                continue;
            }
            let _ = writeln!(out, "### {}\n", md(&t.target));
            for (_, c, path) in of_target {
                let alt = md(&format!("{} — {}", c.target, c.compound))
                    .replace('[', "\\[")
                    .replace(']', "\\]");
                let _ = writeln!(out, "![{alt}]({})\n", link_target(path));
            }
        }
    }
}

/// The plate QC table.
fn plate_qc(out: &mut String, results: &RunResults) {
    out.push_str("## Plate QC\n\n");
    out.push_str(
        "Z' = 1 − 3 (SD total + SD NSB) / |mean total − mean NSB|; plates with Z' below 0.5 \
         are in bold. Pipetting CV%: the plate's variance model of counts, var(CPM) = a + \
         CPM/t + (cv·CPM)², estimated from its replicate wells (t = counting minutes; * = too \
         few replicates, the configured fit.pipetting_cv_pct).\n\n",
    );
    let basal = results.plates.iter().any(|p| p.n_basal > 0);
    out.push_str(&table_head(&qc_columns(basal)));
    for p in &results.plates {
        let z = if p.z_prime.is_finite() { fixed(p.z_prime, 2) } else { "n/a".to_string() };
        let z = if p.z_prime < 0.5 { format!("**{z}**") } else { z };
        let mut row = vec![
            md(&p.plate),
            md(&p.target),
            md(&format!("{} #{}", p.source, p.index_in_file)),
            match QcState::of(p) {
                QcState::Pass => "pass",
                QcState::Fail => "fail",
                QcState::NotApplicable => "Z' n/a",
            }
            .to_string(),
            z,
            fixed(p.signal_to_background, 1),
            fixed(p.total_cv_pct, 1),
            fixed(p.nsb_cv_pct, 1),
            fixed(p.nsb_pct_of_total, 1),
        ];
        if basal {
            row.extend([fixed(p.basal_mean, 0), fixed(p.basal_cv_pct, 1)]);
        }
        row.extend([
            pipetting_cv_cell(p),
            if p.rotated { "yes" } else { "no" }.to_string(),
            md(&super::cells::flag_words_text(None, &p.flags)),
        ]);
        out.push_str(&table_row(&row));
    }
    out.push('\n');
}

/// The plate's pipetting CV from its variance model, `*` marking the fallback (too few
/// replicates to estimate it).
pub(crate) fn pipetting_cv_cell(p: &PlateRow) -> String {
    let v = fixed(p.pipetting_cv_pct, 1);
    if p.variance_wells == 0 { format!("{v}*") } else { v }
}

/// Every flag in use, explained.
fn flags(out: &mut String, results: &RunResults) {
    let flags = flags_in_use(results);
    out.push_str("## Flags\n\n");
    if flags.is_empty() {
        out.push_str("No curve or plate was flagged.\n\n");
    } else {
        for f in &flags {
            let _ = writeln!(
                out,
                "- **{}** (`{}`): {}",
                md(&super::flag_words::flag_label(f)),
                f.replace('`', "'"),
                md(&super::flag_words::flag_description(f))
            );
        }
        out.push('\n');
    }
}

/// The wells left out, with the reason.
fn excluded_wells(out: &mut String, results: &RunResults) {
    out.push_str("## Excluded wells\n\n");
    let excluded: Vec<_> =
        results.wells.iter().filter_map(|w| Some((w, w.excluded.as_deref()?))).collect();
    if excluded.is_empty() {
        out.push_str("No well was excluded.\n\n");
    } else {
        out.push_str(&table_head(&[
            ("Plate", false),
            ("Well", false),
            ("Role", false),
            ("Compound", false),
            ("Concentration", true),
            ("CPM", true),
            ("Reason", false),
        ]));
        for (w, reason) in excluded {
            out.push_str(&table_row(&[
                md(&w.plate),
                md(&w.well),
                md(w.role),
                w.compound.as_deref().map(md).unwrap_or_default(),
                w.conc_nm.map(format_conc_nm).unwrap_or_default(),
                w.cpm.map(|v| fixed(v, 0)).unwrap_or_default(),
                md(reason),
            ]));
        }
        out.push('\n');
    }
}

/// Version, input files with their SHA-256 and the resolved configuration.
fn provenance(out: &mut String, results: &RunResults) {
    out.push_str("## Provenance\n\n");
    let _ = writeln!(
        out,
        "radbind {}; run times and the resolved config are in run.json.\n",
        md(&results.version),
    );
    if !results.inputs.is_empty() {
        out.push_str(&table_head(&[("Input file", false), ("Bytes", true), ("SHA-256", false)]));
        for f in &results.inputs {
            out.push_str(&table_row(&[
                md(&f.path),
                f.bytes.to_string(),
                format!("`{}`", f.sha256.replace('`', "")),
            ]));
        }
        out.push('\n');
    }
    out.push_str("Resolved configuration:\n\n");
    let fence = fence_for(&results.config_yaml);
    let _ = writeln!(out, "{fence}yaml\n{}\n{fence}", results.config_yaml.trim_end());
}

/// What the compound × target matrix holds: `Ki` when any curve reports one, else `IC50`
/// (every target IC50-only); cells of IC50-only targets hold their IC50.
pub(crate) fn matrix_word(results: &RunResults) -> &'static str {
    if results.curves.iter().any(CurveRow::has_ki) { "Ki" } else { "IC50" }
}

/// The compound × target Ki matrix and the selectivity map.
fn ki_matrix(out: &mut String, results: &RunResults, figs: &super::ReportFigures) {
    let _ = writeln!(out, "## {} by compound and target\n", matrix_word(results));
    let targets = targets_in_order(results);
    let rows = super::selectivity::matrix_rows(&results.curves);
    if let Some(note) = rows.note() {
        let _ = writeln!(out, "{}\n", md(&note));
    }
    if rows.shown.is_empty() {
        return;
    }
    let mut cols: Vec<(&str, bool)> = vec![("Compound", false)];
    cols.extend(targets.iter().map(|t| (t.target.as_str(), true)));
    let head: Vec<String> = cols.iter().map(|(c, _)| md(c)).collect();
    let sep: Vec<String> =
        cols.iter().map(|(_, r)| if *r { "---:" } else { "---" }.to_string()).collect();
    out.push_str(&table_row(&head));
    out.push_str(&table_row(&sep));
    let (cells, several) = super::selectivity::matrix_cells(&results.curves);
    for comp in &rows.shown {
        let mut row = vec![md(comp)];
        for t in &targets {
            let curves = cells.get(&(*comp, t.target.as_str())).map_or(&[][..], Vec::as_slice);
            let values: Vec<String> = curves
                .iter()
                .map(|(_, c)| {
                    let warn = if c.is_flagged() || c.is_failed() { " ⚠" } else { "" };
                    format!("{}{warn}", md(&c.headline_with_ci_text()))
                })
                .collect();
            row.push(values.join("; "));
        }
        out.push_str(&table_row(&row));
    }
    out.push_str(
        "\n⚠: flagged or failed, see the table of the target. Censored values are bounds.",
    );
    if several {
        out.push(' ');
        out.push_str(super::selectivity::SEVERAL_VALUES_NOTE);
    }
    out.push_str("\n\n");
    if let Some(s) =
        figs.selectivity.as_ref().and_then(|f| image("Selectivity: pKi by compound and target", f))
    {
        out.push_str(&s);
    }
}

/// Target and compound overlays; nothing without any.
fn overlays(out: &mut String, figs: &super::ReportFigures) {
    let target_imgs: Vec<String> = figs
        .target_overlays
        .iter()
        .filter_map(|f| image(&format!("{}: all compounds", f.key), f))
        .collect();
    let compound_imgs: Vec<String> = figs
        .compound_overlays
        .iter()
        .filter_map(|f| image(&format!("{} at every target", f.key), f))
        .collect();
    if !target_imgs.is_empty() || !compound_imgs.is_empty() {
        out.push_str("## Overlays\n\nMeans per concentration and 4PL fits, one colour per compound (per target in the compound overlays); dashed: censored IC50.\n\n");
        for s in target_imgs.iter().chain(&compound_imgs) {
            out.push_str(s);
        }
    }
}

/// The plate heat maps (under plate QC); nothing without any.
fn heat_maps(out: &mut String, figs: &super::ReportFigures) {
    let mut images = String::new();
    for (cpm, pct) in &figs.heatmaps {
        for (f, what) in [(cpm, "CPM"), (pct, "% specific binding")] {
            if let Some(s) = image(&format!("Plate {}: {what}", f.key), f) {
                images.push_str(&s);
            }
        }
    }
    if !images.is_empty() {
        out.push_str("### Plate heat maps\n\nT total, N NSB, B blank, V vehicle, letters compounds, thick lines around blocks, × excluded.\n\n");
        out.push_str(&images);
    }
}

/// The Prism files written; nothing without any.
fn prism_files(out: &mut String, outcome: &super::ReportOutcome) {
    if !outcome.prism_files.is_empty() {
        out.push_str("## GraphPad Prism files\n\nOne XY table per target (X = log10 [compound] (M), Y = % specific binding, replicates as subcolumns):\n\n");
        for f in &outcome.prism_files {
            let _ = writeln!(out, "- [{}]({})", md(f), link_target(f));
        }
        out.push('\n');
    }
}

/// Links to the residual plots; nothing without any.
fn residual_plots(out: &mut String, results: &RunResults, figs: &super::ReportFigures) {
    let residuals: Vec<String> = results
        .curves
        .iter()
        .zip(&figs.residual_pngs)
        .filter_map(|(c, p)| {
            let p = p.as_deref()?;
            Some(format!("- [{} — {}]({})", md(&c.target), md(&c.compound), link_target(p)))
        })
        .collect();
    if !residuals.is_empty() {
        out.push_str("## Residual plots\n\n");
        out.push_str(&residuals.join("\n"));
        out.push_str("\n\n");
    }
}

/// The "Selectivity panel" section: per compound a small table of Ki (95% CI), pKi and the
/// ratio to the primary target, with censored values as bounds (see
/// [`super::selectivity`]). Empty when the run has no curves.
pub(crate) fn selectivity_markdown(results: &RunResults) -> String {
    let rows = selectivity::panel(&results.curves, results.primary_target.as_deref());
    if rows.is_empty() {
        return String::new();
    }
    let mut s = String::from("## Selectivity panel\n\n");
    let _ = writeln!(
        s,
        "{} {}\n",
        md(selectivity::REPORT_INTRO),
        md(&selectivity::primary_rule_text(results.primary_target.as_deref()))
    );
    let n = selectivity::by_compound(&rows).count();
    if n > selectivity::REPORT_COMPOUND_LIMIT {
        let _ = writeln!(s, "{n} compounds: too many to list here; see selectivity.csv.\n");
        return s;
    }
    for group in selectivity::by_compound(&rows) {
        let first = &group[0];
        match &first.primary_target {
            Some(p) => {
                let _ = writeln!(s, "### {} (primary target {})\n", md(&first.compound), md(p));
            }
            None => {
                let _ = writeln!(s, "### {} (no primary target)\n", md(&first.compound));
            }
        }
        let heading = first.ratio_heading();
        s.push_str(&table_head(&[
            ("Target", false),
            ("Ki (95% CI)", true),
            ("pKi", true),
            (&md(&heading), true),
            ("Note", false),
        ]));
        for r in group {
            let warn = if r.needs_attention() { " \u{26a0}" } else { "" };
            s.push_str(&table_row(&[
                md(&r.target_label()),
                format!("{}{warn}", md(&r.ki_with_ci_text())),
                md(&r.pki_text()),
                md(&r.ratio_text()),
                md(&r.note_text()),
            ]));
        }
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests;
