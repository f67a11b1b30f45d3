//! Report sections of the assays beyond competition binding: saturation (Kd, Bmax in every
//! unit, assay QC) and [35S]GTPγS (EC50, Emax, relative efficacy, antagonist Kb). Shared by
//! the HTML and Markdown reports; empty when the run has none.

use std::fmt::Write as _;

use super::FigureRef;
use super::text::{escape, figure_block, link_target, md, table_row};
pub use super::words::AssayKind;
use crate::derive::rows::{CurveRow, RunResults};
use crate::saturation::SaturationRow;
use crate::units::{ConcUnit, NOT_DETERMINED, nm_number};

fn num(v: f64, digits: usize) -> String {
    if v.is_finite() { format!("{v:.digits$}") } else { NOT_DETERMINED.to_string() }
}

/// A value with its CI in brackets, both from `f`; the value alone without a CI.
fn with_ci(v: f64, c: (f64, f64), f: impl Fn(f64) -> String) -> String {
    if v.is_finite() && c.0.is_finite() && c.1.is_finite() {
        format!("{} ({}\u{2013}{})", f(v), f(c.0), f(c.1))
    } else if v.is_finite() {
        f(v)
    } else {
        NOT_DETERMINED.to_string()
    }
}

/// The unit of the Kd column of the saturation table.
fn kd_unit(results: &RunResults) -> ConcUnit {
    ConcUnit::for_column(results.saturation.iter().filter_map(|r| r.fit.as_ref().map(|f| f.kd_nm)))
}

/// The saturation table's cells for one row (Kd in `unit`, flags in words).
fn saturation_cells(r: &SaturationRow, unit: ConcUnit) -> Vec<String> {
    let fit = |g: fn(&crate::fit::models::saturation::SaturationFit) -> f64| {
        r.fit.as_ref().map_or(f64::NAN, g)
    };
    let kd_ci = r.fit.as_ref().map_or((f64::NAN, f64::NAN), |f| f.kd_ci_nm);
    vec![
        r.target.clone(),
        r.radioligand.clone(),
        r.model.clone() + if r.depletion_corrected { ", free [L]" } else { "" },
        with_ci(fit(|f| f.kd_nm), kd_ci, |v| unit.number(v)),
        with_ci(r.bmax_fmol_per_mg, r.bmax_fmol_per_mg_ci, |v| num(v, 0)),
        num(fit(|f| f.bmax), 0),
        num(r.sites_per_cell, 0),
        num(fit(|f| f.hill), 2),
        num(fit(|f| f.pct_specific_at_kd), 0),
        num(r.max_fraction_bound_pct, 1),
        r.status.to_string(),
        super::cells::flag_words_text(None, &r.flags),
    ]
}

fn saturation_head(unit: ConcUnit) -> Vec<String> {
    [
        "Target",
        "Radioligand",
        "Model",
        &format!("Kd ({}) (95% CI)", unit.symbol),
        "Bmax (fmol/mg) (95% CI)",
        "Bmax (CPM)",
        "Sites/cell",
        "Hill",
        "% specific at Kd",
        "Max % bound",
        "Status",
        "Flags",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

/// Functional rows: (target, compound, role, EC50/IC50 with CI in `unit`, Emax, relative
/// efficacy, efficacy, Kb with CI, status, flags in words).
fn functional_cells(results: &RunResults, unit: ConcUnit) -> Vec<Vec<String>> {
    results
        .curves
        .iter()
        .filter_map(|c| {
            let f = c.functional.as_ref()?;
            let m = super::cells::Measured::ic50(c);
            Some(vec![
                c.target.clone(),
                c.compound.clone(),
                f.role.to_string(),
                m.with_ci_text(unit),
                num(f.emax_pct, 0),
                num(f.relative_efficacy, 2),
                f.efficacy.map(|e| e.to_string()).unwrap_or_default(),
                with_ci(f.kb_nm, f.kb_ci_nm, |v| unit.number(v)),
                c.status.to_string(),
                super::cells::flag_words_text(None, &c.flags),
            ])
        })
        .collect()
}

fn functional_head(unit: ConcUnit) -> Vec<String> {
    [
        "Target",
        "Compound",
        "Role",
        &format!("EC50 / IC50 ({}) (95% CI)", unit.symbol),
        "Emax (% over basal)",
        "Relative efficacy",
        "Efficacy",
        &format!("Kb ({}) (95% CI)", unit.symbol),
        "Status",
        "Flags",
    ]
    .iter()
    .map(|s| (*s).to_string())
    .collect()
}

/// The unit of the functional table's concentration columns.
fn functional_unit(results: &RunResults) -> ConcUnit {
    let m: Vec<super::cells::Measured> = results
        .curves
        .iter()
        .filter(|c| c.functional.is_some())
        .map(super::cells::Measured::ic50)
        .collect();
    super::cells::column_unit(m.iter())
}

/// Where each target's Kd comes from, when any comes from a saturation fit.
fn kd_sources(results: &RunResults) -> Vec<(String, String, f64)> {
    results
        .targets
        .iter()
        .filter(|t| t.kd_source.starts_with("saturation"))
        .map(|t| (t.target.clone(), t.kd_source.clone(), t.kd_nm))
        .collect()
}

/// HTML sections (saturation, functional); empty when the run has neither.
#[must_use]
pub fn html_sections(results: &RunResults, saturation_figs: &[FigureRef]) -> String {
    let mut h = String::new();
    if !results.saturation.is_empty() {
        h.push_str("<section id=\"saturation\"><h2>Saturation binding</h2>\n");
        h.push_str(
            "<p>Total and nonspecific binding fitted together (specific = Bmax\u{b7}L/(Kd+L), \
             NSB = NS\u{b7}L + background), or specific binding alone; Bmax converted with the \
             counting efficiency and the decay-corrected specific activity.</p>\n",
        );
        let unit = kd_unit(results);
        table_html(
            &mut h,
            &saturation_head(unit),
            results.saturation.iter().map(|r| saturation_cells(r, unit)),
        );
        for (r, f) in results.saturation.iter().zip(saturation_figs) {
            figure_block(&mut h, f, &format!("{}: saturation binding", r.target));
        }
        let src = kd_sources(results);
        if !src.is_empty() {
            h.push_str("<p>Kd used for Cheng\u{2013}Prusoff from this run's saturation fits: ");
            let parts: Vec<String> = src
                .iter()
                .map(|(t, s, kd)| {
                    format!("{} \u{2190} {} ({} nM)", escape(t), escape(s), nm_number(*kd))
                })
                .collect();
            h.push_str(&parts.join("; "));
            h.push_str(".</p>\n");
        }
        h.push_str("</section>\n");
    }
    let unit = functional_unit(results);
    let fun = functional_cells(results, unit);
    if !fun.is_empty() {
        h.push_str("<section id=\"functional\"><h2>[35S]GTP\u{3b3}S functional assays</h2>\n");
        h.push_str(
            "<p>Response: % stimulation over basal. Agonists: EC50 and Emax of a rising \
             four-parameter logistic; relative efficacy = Emax / Emax of the reference agonist \
             (partial below the configured threshold). Antagonists: IC50 against a fixed \
             agonist concentration, Kb by Leff\u{2013}Dougall.</p>\n",
        );
        table_html(&mut h, &functional_head(unit), fun.into_iter());
        h.push_str("</section>\n");
    }
    h
}

fn table_html(h: &mut String, head: &[String], rows: impl Iterator<Item = Vec<String>>) {
    // Scrolls inside its box when wider than the page, never widening the page.
    h.push_str("<div class=\"scroll\"><table class=\"assay\"><thead><tr>");
    for c in head {
        let _ = write!(h, "<th>{}</th>", escape(c));
    }
    h.push_str("</tr></thead><tbody>\n");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{}</td>", escape(&c));
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
}

/// Markdown sections (saturation, functional); empty when the run has neither.
#[must_use]
pub fn markdown_sections(results: &RunResults, saturation_figs: &[FigureRef]) -> String {
    let mut out = String::new();
    let table = |out: &mut String, head: &[String], rows: Vec<Vec<String>>| {
        out.push_str(&table_row(&head.iter().map(|c| md(c)).collect::<Vec<_>>()));
        out.push_str(&table_row(&head.iter().map(|_| "---".to_string()).collect::<Vec<_>>()));
        for r in rows {
            out.push_str(&table_row(&r.iter().map(|c| md(c)).collect::<Vec<_>>()));
        }
        out.push('\n');
    };
    if !results.saturation.is_empty() {
        out.push_str("## Saturation binding\n\n");
        let unit = kd_unit(results);
        table(
            &mut out,
            &saturation_head(unit),
            results.saturation.iter().map(|r| saturation_cells(r, unit)).collect(),
        );
        for (r, f) in results.saturation.iter().zip(saturation_figs) {
            if let Some(p) = &f.png_path {
                let _ =
                    write!(out, "![{}: saturation binding]({})\n\n", md(&r.target), link_target(p));
            }
        }
        for (t, s, kd) in kd_sources(results) {
            let _ = writeln!(out, "- Kd of {} from {} ({} nM)", md(&t), md(&s), nm_number(kd));
        }
        out.push('\n');
    }
    let unit = functional_unit(results);
    let fun = functional_cells(results, unit);
    if !fun.is_empty() {
        out.push_str("## [35S]GTPγS functional assays\n\n");
        table(&mut out, &functional_head(unit), fun);
    }
    out
}

/// The assays of a run, in config order of their first target, each once (targets that
/// only appear in the curves count as competition binding).
#[must_use]
pub fn run_assays(results: &RunResults) -> Vec<AssayKind> {
    let mut out: Vec<AssayKind> = Vec::new();
    for name in results.targets.iter().map(|t| t.assay.as_str()) {
        let k = AssayKind::from_name(name);
        if !out.contains(&k) {
            out.push(k);
        }
    }
    if results.curves.iter().any(|c| !results.targets.iter().any(|t| t.target == c.target))
        && !out.contains(&AssayKind::Competition)
    {
        out.push(AssayKind::Competition);
    }
    out
}

/// The assay of a target by name (competition binding when the run does not list it).
#[must_use]
pub fn target_assay(results: &RunResults, target: &str) -> AssayKind {
    results
        .targets
        .iter()
        .find(|t| t.target == target)
        .map_or(AssayKind::Competition, |t| AssayKind::from_name(&t.assay))
}

/// The line under the report title: each assay of the run with its method
/// (`Radioligand competition binding · IC50 by four-parameter logistic fit, Ki by
/// Cheng–Prusoff`), joined by `; `; a primary screen says so.
#[must_use]
pub fn header_line(results: &RunResults) -> String {
    let mut parts: Vec<String> = Vec::new();
    if !results.primary.rows.is_empty() {
        parts.push(
            "Radioligand binding primary screen \u{b7} % inhibition at one concentration".into(),
        );
    }
    for k in run_assays(results) {
        let curves = || results.curves.iter().filter(|c| target_assay(results, &c.target) == k);
        if k != AssayKind::Saturation && curves().next().is_none() && !parts.is_empty() {
            continue;
        }
        if k == AssayKind::Saturation && results.saturation.is_empty() {
            continue;
        }
        let has_ki = curves().any(CurveRow::has_ki);
        parts.push(format!("{} \u{b7} {}", k.title(), k.method(has_ki)));
    }
    if parts.is_empty() {
        parts.push(format!(
            "{} \u{b7} {}",
            AssayKind::Competition.title(),
            AssayKind::Competition.method(false)
        ));
    }
    parts.join("; ")
}

/// True when the run has a Ki (or IC50) to put in the compound × target matrix, the pKi map
/// and the selectivity panel: some curve of a competition or uptake target.
#[must_use]
pub fn has_affinity_curves(results: &RunResults) -> bool {
    results
        .curves
        .iter()
        .any(|c| c.functional.is_none() && target_assay(results, &c.target).reports_ki())
}
