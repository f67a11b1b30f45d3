//! The curve sections of the HTML report: the flagged curves first (with why), then the
//! results by target (an index, an anchor per target, one table per target with a lazily
//! loaded thumbnail of each curve's figure, a filter for flagged curves), and the plate QC
//! table with a bar per plate (target, QC status, the compound key of its heat maps).
//!
//! Words that depend on the assay come from [`super::assays::AssayKind`]; measured values go
//! through [`super::cells`] (one unit per column, numeric sort keys).

use std::collections::HashMap;
use std::fmt::Write as _;

use super::assays::{AssayKind, target_assay};
use super::cells::{Measured, column_unit, flag_badges_html, signed, sort_attrs};
use super::markdown::{QcState, fixed, pipetting_cv_cell, qc_columns, targets_in_order};
use super::text::{escape, figure_block, head_row, inline_svg, png_href};
use super::{ReportFigures, figures::compound_letters, figures::plate_compounds};
use crate::derive::rows::{CurveRow, PlateRow, RunResults, WellRow};

/// The anchor of a target's block: `t-1`, `t-2`, … in report order.
pub(crate) fn target_anchor(i: usize) -> String {
    format!("t-{}", i + 1)
}

/// The anchor of a curve's row: `c-1`, `c-2`, … in `RunResults::curves` order.
pub(crate) fn curve_anchor(i: usize) -> String {
    format!("c-{}", i + 1)
}

/// The figure file a curve's row links to (its PNG, else its SVG), made safe for `href`.
fn figure_href(figs: &ReportFigures, i: usize) -> Option<String> {
    figs.curve_pngs.get(i).and_then(Option::as_deref).and_then(png_href)
}

/// A lazily loaded thumbnail of a curve's figure, linked to the figure file.
fn thumbnail(figs: &ReportFigures, i: usize, label: &str) -> String {
    figure_href(figs, i).map_or_else(String::new, |href| {
        format!(
            "<a href=\"{href}\" title=\"{}\"><img class=\"thumb\" loading=\"lazy\" \
             data-src=\"{href}\" alt=\"\" width=\"64\" height=\"48\"></a>",
            escape(&format!("Figure: {label}"))
        )
    })
}

/// The row class of a curve: `failed`, `flagged` or none.
fn row_class(c: &CurveRow) -> &'static str {
    if c.is_failed() {
        " class=\"failed\""
    } else if c.is_flagged() {
        " class=\"flagged\""
    } else {
        ""
    }
}

fn failed_status(c: &CurveRow) -> Option<String> {
    c.status.is_failed().then(|| c.status.to_string())
}

/// "Flagged curves": every flagged or failed curve with its flags in words, linked to its
/// row; nothing when there is none.
pub(crate) fn flagged_section(h: &mut String, r: &RunResults) {
    let rows: Vec<(usize, &CurveRow)> =
        r.curves.iter().enumerate().filter(|(_, c)| c.is_flagged() || c.is_failed()).collect();
    let sat: Vec<_> = r
        .saturation
        .iter()
        .filter(|s| s.status.is_failed() || s.status.is_flagged() || !s.flags.is_empty())
        .collect();
    if rows.is_empty() && sat.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<section id=\"flagged\">\n<h2>Flagged curves ({})</h2>\n<p class=\"note\">Curves a \
         reader should look at before using their numbers; the reason is under Flags (a flag \
         links to what it means). The name links to the curve\u{2019}s row.</p>",
        rows.len() + sat.len()
    );
    // How often each flag occurs, most frequent first: the pattern before the list.
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for f in rows.iter().flat_map(|(_, c)| &c.flags).chain(sat.iter().flat_map(|s| &s.flags)) {
        *counts.entry(f.as_str()).or_default() += 1;
    }
    let mut counts: Vec<(&str, usize)> = counts.into_iter().collect();
    counts.sort_by_key(|c| std::cmp::Reverse(c.1));
    let by_flag: Vec<String> = counts
        .iter()
        .map(|(f, n)| {
            format!("{} \u{d7}{n}", flag_badges_html(None, std::slice::from_ref(&(*f).to_string())))
        })
        .collect();
    let _ = writeln!(h, "<p class=\"note\">By flag: {}</p>", by_flag.join(" "));
    // A long list is folded: the counts above say what it holds.
    let n = rows.len() + sat.len();
    let _ = writeln!(
        h,
        "<details{}><summary>The {n} flagged curve{}</summary>",
        if n <= FLAGGED_OPEN_LIMIT { " open" } else { "" },
        if n == 1 { "" } else { "s" }
    );
    let _ = writeln!(
        h,
        "<div class=\"scroll\"><table class=\"sortable\">{}<tbody>",
        head_row(&[("Target", false), ("Compound", false), ("Status", false), ("Flags", false)])
    );
    for (i, c) in rows {
        let _ = writeln!(
            h,
            "<tr{}><td>{}</td><td><a href=\"#{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            row_class(c),
            escape(&c.target),
            curve_anchor(i),
            escape(&c.compound),
            escape(&c.status.to_string()),
            flag_badges_html(None, &c.flags),
        );
    }
    for s in sat {
        let _ = writeln!(
            h,
            "<tr class=\"flagged\"><td>{}</td><td><a href=\"#saturation\">saturation fit</a></td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&s.target),
            escape(&s.status.to_string()),
            flag_badges_html(None, &s.flags),
        );
    }
    h.push_str("</tbody></table></div>\n</details>\n</section>\n");
}

/// Up to this many flagged curves are listed open; more are folded under their counts.
const FLAGGED_OPEN_LIMIT: usize = 30;

/// The columns of a target's table, by assay and whether its curves report a Ki; the
/// concentration columns carry their unit.
fn columns(kind: AssayKind, has_ki: bool, unit: &str, ci_unit: &str) -> Vec<(String, bool)> {
    let mut cols: Vec<(String, bool)> = vec![("Compound".into(), false)];
    match (kind, has_ki) {
        (AssayKind::Gtpgs, _) => {
            cols.push(("Role".into(), false));
            cols.push((format!("EC50 / IC50 ({unit})"), true));
            cols.push((format!("95% CI ({unit})"), true));
            cols.push(("pEC50 / pIC50".into(), true));
            cols.push(("Emax (%)".into(), true));
        }
        (_, true) => {
            cols.push((format!("IC50 ({unit})"), true));
            cols.push((format!("Ki ({ci_unit}) (95% CI)"), true));
            cols.push(("pKi".into(), true));
        }
        (_, false) => {
            cols.push((format!("IC50 ({unit})"), true));
            cols.push((format!("95% CI ({unit})"), true));
            cols.push(("pIC50".into(), true));
        }
    }
    for (c, num) in [("Hill", true), ("n", true), ("Model", false), ("Class", false)] {
        cols.push((c.into(), num));
    }
    cols.push(("Flags".into(), false));
    cols.push(("Figure".into(), false));
    cols
}

/// "Results by target": an index of the targets, then per target its line (ligand and its
/// constant in the assay's words), the overlay, the table and (small runs) the inline
/// figures.
pub(crate) fn results_section(h: &mut String, r: &RunResults, figs: &ReportFigures) {
    let targets = targets_in_order(r);
    if r.curves.is_empty() {
        return;
    }
    h.push_str("<section id=\"results\">\n<h2>Results by target</h2>\n");
    let any_ki = r.curves.iter().any(CurveRow::has_ki);
    let _ = writeln!(
        h,
        "<p class=\"note\">{}Values in <em>italics</em> are censored bounds: \u{201c}&gt; \
         10\u{201d} means the IC50 lies above the highest tested concentration and was not \
         measured. Concentrations are in the unit of the column heading. Click a column \
         heading to sort (censored values sort at their bound). The orange bar marks a \
         flagged curve, the red bar a failed one.</p>",
        if any_ki { "Ki = IC50 / (1 + [L]/Kd) (uptake: [S] and Km). " } else { "" }
    );
    let n_flagged = r.curves.iter().filter(|c| c.is_flagged() || c.is_failed()).count();
    let _ = writeln!(
        h,
        "<p class=\"filter\"><label><input type=\"checkbox\" id=\"only-flagged\"> Flagged and \
         failed curves only ({n_flagged})</label> <span id=\"shown\"></span></p>"
    );
    // The index: one link per target with its counts.
    h.push_str("<ul class=\"index\">");
    for (ti, t) in targets.iter().enumerate() {
        let of: Vec<&CurveRow> = r.curves.iter().filter(|c| c.target == t.target).collect();
        let flagged = of.iter().filter(|c| c.is_flagged() || c.is_failed()).count();
        let _ = write!(
            h,
            "<li><a href=\"#{}\">{}</a> <small>{} curve{}{}</small></li>",
            target_anchor(ti),
            escape(&t.target),
            of.len(),
            if of.len() == 1 { "" } else { "s" },
            if flagged > 0 { format!(", {flagged} flagged") } else { String::new() }
        );
    }
    h.push_str("</ul>\n");
    for (ti, t) in targets.iter().enumerate() {
        let kind = target_assay(r, &t.target);
        let _ = writeln!(
            h,
            "<div class=\"target\" id=\"{}\"><h3>{}</h3>\n<p class=\"note\">{}</p>",
            target_anchor(ti),
            escape(&t.target),
            escape(&super::text::ligand_text(t)),
        );
        if let Some(f) = figs.target_overlays.iter().find(|f| f.key == t.target) {
            h.push_str("<div class=\"wide\">");
            figure_block(
                h,
                f,
                &format!("{}: all compounds (means per concentration; dashed: censored)", t.target),
            );
            h.push_str("</div>\n");
        }
        target_table(
            h,
            r,
            figs,
            &t.target,
            kind,
            t.radioligand_nm.is_finite() && t.kd_nm.is_finite(),
        );
        curve_grid(h, r, figs, &t.target);
        h.push_str("</div>\n");
    }
    h.push_str("</section>\n");
}

/// One target's table.
fn target_table(
    h: &mut String,
    r: &RunResults,
    figs: &ReportFigures,
    target: &str,
    kind: AssayKind,
    has_ki: bool,
) {
    let rows: Vec<(usize, &CurveRow)> =
        r.curves.iter().enumerate().filter(|(_, c)| c.target == target).collect();
    let ic50: Vec<Measured> = rows.iter().map(|(_, c)| Measured::ic50(c)).collect();
    let ki: Vec<Measured> = rows.iter().map(|(_, c)| Measured::ki(c)).collect();
    let unit = column_unit(ic50.iter());
    let ki_unit = column_unit(ki.iter());
    let gtpgs = kind == AssayKind::Gtpgs;
    let cols = columns(kind, has_ki && !gtpgs, unit.symbol, ki_unit.symbol);
    let head: Vec<(&str, bool)> = cols.iter().map(|(c, n)| (c.as_str(), *n)).collect();
    let _ = writeln!(
        h,
        "<div class=\"scroll\"><table class=\"sortable results\">{}<tbody>",
        head_row(&head)
    );
    for (k, (i, c)) in rows.iter().enumerate() {
        let (ic, kv) = (&ic50[k], &ki[k]);
        let cen = |m: &Measured| if m.is_censored() { "num censored" } else { "num" };
        let _ = write!(
            h,
            "<tr id=\"{}\"{}><td>{}</td>",
            curve_anchor(*i),
            row_class(c),
            escape(&c.compound)
        );
        if gtpgs {
            let f = c.functional.as_ref();
            let _ = write!(
                h,
                "<td>{}</td><td class=\"{}\"{}>{}</td><td class=\"num\">{}</td>\
                 <td class=\"{}\"{}>{}</td><td class=\"num\"{}>{}</td>",
                f.map(|f| f.role.to_string()).unwrap_or_default(),
                cen(ic),
                ic.sort(),
                escape(&ic.value_text(unit)),
                escape(&ic.ci_text(unit)),
                cen(ic),
                ic.p_sort(),
                escape(&ic.p_text()),
                sort_attrs(f.map(|f| f.emax_pct), false),
                f.map_or_else(|| fixed(f64::NAN, 0), |f| fixed(f.emax_pct, 0)),
            );
        } else if has_ki {
            let _ = write!(
                h,
                "<td class=\"{}\"{}>{}</td><td class=\"{}\"{}>{}</td><td class=\"{}\"{}>{}</td>",
                cen(ic),
                ic.sort(),
                escape(&ic.value_text(unit)),
                cen(kv),
                kv.sort(),
                escape(&kv.with_ci_text(ki_unit)),
                cen(kv),
                kv.p_sort(),
                escape(&kv.p_text()),
            );
        } else {
            let _ = write!(
                h,
                "<td class=\"{}\"{}>{}</td><td class=\"num\">{}</td><td class=\"{}\"{}>{}</td>",
                cen(ic),
                ic.sort(),
                escape(&ic.value_text(unit)),
                escape(&ic.ci_text(unit)),
                cen(ic),
                ic.p_sort(),
                escape(&ic.p_text()),
            );
        }
        let hill = c.fit.as_ref().map_or(f64::NAN, |f| f.hill_slope);
        let _ = writeln!(
            h,
            "<td class=\"num\"{}>{}</td><td class=\"num\">{}</td><td class=\"model\">{}</td>\
             <td>{}</td><td class=\"flags\">{}</td><td class=\"fig\">{}</td></tr>",
            sort_attrs(Some(hill), false),
            signed(hill, 2),
            c.n_points,
            escape(&c.model_text()),
            escape(&c.curve_class),
            flag_badges_html(failed_status(c), &c.flags),
            thumbnail(figs, *i, &format!("{} \u{2014} {}", c.target, c.compound)),
        );
    }
    h.push_str("</tbody></table></div>\n");
}

/// The collapsible grid of inline curve figures of one target (runs small enough to inline
/// them); nothing otherwise: the rows link each figure.
fn curve_grid(h: &mut String, r: &RunResults, figs: &ReportFigures, target: &str) {
    let items: Vec<(usize, &CurveRow, String)> = r
        .curves
        .iter()
        .enumerate()
        .filter(|(_, c)| c.target == target)
        .filter_map(|(i, c)| {
            let svg = figs.curve_svgs.get(i).and_then(Option::as_deref).and_then(inline_svg)?;
            Some((i, c, svg))
        })
        .collect();
    if items.is_empty() {
        return;
    }
    let _ = writeln!(
        h,
        "<details class=\"curves\"><summary>Curve figures and residuals ({})</summary>\n\
         <p class=\"note\">Open circles: replicates; filled circles: mean \u{b1} SD; crosses: \
         excluded points (not in the mean or the fit); line: fitted curve (4PL, or the two-site \
         or agonist model); band: pointwise 95% confidence band of the curve, from the covariance \
         of all fitted parameters{} \
         Click a figure for its PNG.</p>\n<div class=\"grid\">",
        items.len(),
        if items.iter().any(|(_, c, _)| c.has_ki()) { "; triangle: Ki." } else { "." }
    );
    for (i, c, svg) in items {
        let href = figure_href(figs, i);
        let residual = figs.residual_pngs.get(i).and_then(Option::as_deref).and_then(png_href);
        let label = format!("{} \u{2014} {}", c.target, c.compound);
        h.push_str("<figure>");
        match &href {
            Some(href) => {
                let _ = write!(
                    h,
                    "<a href=\"{href}\" title=\"{}\">{svg}</a>",
                    escape(&format!("PNG: {label}"))
                );
            }
            None => h.push_str(&svg),
        }
        let _ = write!(
            h,
            "<figcaption>{} \u{b7} {} {}{}",
            escape(&label),
            c.potency_word(),
            escape(&c.ic50_text()),
            if c.has_ki() { format!(" \u{b7} Ki {}", escape(&c.ki_text())) } else { String::new() }
        );
        if let Some(href) = &href {
            let _ = write!(h, " \u{b7} <a href=\"{href}\">PNG</a>");
        }
        if let Some(href) = &residual {
            let _ = write!(h, " \u{b7} <a href=\"{href}\">residuals</a>");
        }
        h.push_str("</figcaption></figure>\n");
    }
    h.push_str("</div>\n</details>\n");
}

/// The QC status of a plate in words, for its table cell and its bar.
fn qc_words(p: &PlateRow) -> (&'static str, &'static str) {
    match QcState::of(p) {
        QcState::Pass => ("qc-pass", "passes QC"),
        QcState::Fail => ("qc-fail", "fails QC"),
        QcState::NotApplicable => ("qc-na", "Z\u{2032} n/a"),
    }
}

/// "Plate QC": the table (basal columns for [35S]GTPγS plates) and one bar per plate with
/// its target, QC status and the key of the letters on its heat maps.
pub(crate) fn plate_qc(h: &mut String, r: &RunResults, figs: &ReportFigures) {
    h.push_str("<section id=\"qc\">\n<h2>Plate QC</h2>\n");
    h.push_str(
        "<p class=\"note\">Z\u{2032} = 1 \u{2212} 3 (SD<sub>high</sub> + SD<sub>low</sub>) / \
         |mean<sub>high</sub> \u{2212} mean<sub>low</sub>| (Zhang et al. 1999), from total and \
         NSB wells (GTP\u{3b3}S: total and basal); Z\u{2032} below 0.5 is highlighted, \
         \u{201c}n/a\u{201d} where the plate has no pair of controls to compute it (it is not \
         counted as failing). S/B = mean total / mean NSB. Pipetting CV%: the plate's variance \
         model of counts, var(CPM) = a + CPM/t + (cv\u{b7}CPM)\u{b2}, from its replicate wells \
         (* = too few replicates, fit.pipetting_cv_pct).</p>\n",
    );
    if r.plates.is_empty() {
        h.push_str("<p>No plates.</p>\n</section>\n");
        return;
    }
    let basal = r.plates.iter().any(|p| p.n_basal > 0);
    let _ = writeln!(
        h,
        "<div class=\"scroll\"><table class=\"sortable\">{}<tbody>",
        head_row(&qc_columns(basal))
    );
    for p in &r.plates {
        let state = QcState::of(p);
        let z_class = if state == QcState::Fail && !(p.z_prime >= 0.5) { "num bad" } else { "num" };
        let class = if state == QcState::Fail { " class=\"flagged\"" } else { "" };
        let z = if p.z_prime.is_finite() { signed(p.z_prime, 2) } else { "n/a".to_string() };
        let _ = write!(
            h,
            "<tr{class}><td>{}</td><td>{}</td><td>{} #{}</td><td>{}</td>\
             <td class=\"{z_class}\"{}>{z}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td>",
            escape(&p.plate),
            escape(&p.target),
            escape(&p.source),
            p.index_in_file,
            qc_words(p).1,
            sort_attrs(Some(p.z_prime), false),
            fixed(p.signal_to_background, 1),
            fixed(p.total_cv_pct, 1),
            fixed(p.nsb_cv_pct, 1),
            fixed(p.nsb_pct_of_total, 1),
        );
        if basal {
            let _ = write!(
                h,
                "<td class=\"num\">{}</td><td class=\"num\">{}</td>",
                fixed(p.basal_mean, 0),
                fixed(p.basal_cv_pct, 1)
            );
        }
        let _ = writeln!(
            h,
            "<td class=\"num\">{}</td><td>{}</td><td>{}</td></tr>",
            pipetting_cv_cell(p),
            if p.rotated { "yes" } else { "no" },
            flag_badges_html(None, &p.flags),
        );
    }
    h.push_str("</tbody></table></div>\n");
    if figs.heatmaps.is_empty() {
        h.push_str("</section>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<h3>Plate heat maps</h3>\n<p class=\"note\">Each plate as counted (turned back when it \
         was counted rotated): CPM and the assay\u{2019}s response, with the layout drawn on \
         (T total, N NSB, B blank, V vehicle, letters: the compounds of that plate as its bar \
         lists them and as <code>radbind validate</code> prints them, thick lines around \
         blocks, \u{d7} excluded). Edge effects, pipetting errors and a plate counted the wrong \
         way round show up here.</p>"
    );
    let mut wells_of: HashMap<&str, Vec<&WellRow>> = HashMap::new();
    for w in &r.wells {
        wells_of.entry(w.plate.as_str()).or_default().push(w);
    }
    for (cpm, pct) in &figs.heatmaps {
        let plate = r.plates.iter().find(|p| p.plate == cpm.key);
        let (class, words) = plate.map_or(("qc-na", ""), qc_words);
        let target = plate.map_or("", |p| p.target.as_str());
        let response = AssayKind::from_name(
            r.targets.iter().find(|t| t.target == target).map_or("", |t| t.assay.as_str()),
        )
        .response();
        let z = plate
            .filter(|p| p.z_prime.is_finite())
            .map_or(String::new(), |p| format!(" \u{b7} Z\u{2032} {}", signed(p.z_prime, 2)));
        let wells = wells_of.get(cpm.key.as_str()).cloned().unwrap_or_default();
        let letters = compound_letters(plate_compounds(&wells));
        let mut key: Vec<(&String, &String)> = letters.iter().map(|(n, l)| (l, n)).collect();
        key.sort_by(|a, b| (a.0.len(), a.0).cmp(&(b.0.len(), b.0)));
        let key: Vec<String> =
            key.iter().map(|(l, n)| format!("<b>{}</b> {}", escape(l), escape(n))).collect();
        let _ = writeln!(
            h,
            "<details class=\"plate {class}\"><summary>Plate {} \u{b7} {}{z} \u{b7} \
             <span class=\"qc\">{words}</span></summary>\n<p class=\"key\">{}</p>\n<div class=\"grid\">",
            escape(&cpm.key),
            escape(target),
            key.join(" \u{b7} ")
        );
        figure_block(h, cpm, &format!("{}: CPM", cpm.key));
        figure_block(h, pct, &format!("{}: {response}", pct.key));
        h.push_str("</div>\n</details>\n");
    }
    h.push_str("</section>\n");
}
