//! The HTML report (`report.html`): one self-contained page with the summary, the
//! profiling tables, the curve figures (inline SVG), plate QC, flags, excluded wells and
//! provenance.
//!
//! Self-contained means no URL of any kind: CSS and the few lines of script that sort the
//! tables are inline, the figures are inline SVG (with the `xmlns` attribute, the one URL
//! plotters writes, removed: HTML does not need it), and text uses the reader's system
//! fonts. Every user-supplied string goes through [`escape`]. Wording of flags and censored
//! values is shared with the Markdown report (see [`super::markdown`]).

use std::fmt::Write as _;

use super::markdown::{
    Counts, QC_COLUMNS, fixed, flag_explanation, flags_in_use, pipetting_cv_cell, plate_fails_qc,
    profile_columns, targets_in_order,
};
use super::text::{escape, figure_block, inline_svg, png_href};
use super::{FigureRef, ReportFigures, ReportOutcome, selectivity};
use crate::derive::rows::{Censor, CurveRow, RunResults};
use crate::units::{NOT_DETERMINED, format_conc_nm, nm_number};

pub(crate) const CSS: &str = r#"
:root { --ink: #1a1a1a; --muted: #5c5c5c; --line: #dcdcdc; --soft: #f6f7f9; --accent: #0072b2;
  --bad: #b3261e; --bad-bg: #fdecea; --warn-bg: #fff4e0; }
* { box-sizing: border-box; }
body { margin: 0; color: var(--ink); background: #fff; line-height: 1.45;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1240px; margin: 0 auto; padding: 28px 32px 64px; }
header h1 { margin: 0 0 4px; font-size: 28px; font-weight: 650; }
header p { margin: 0; color: var(--muted); }
nav { margin: 18px 0 8px; padding: 8px 0; border-top: 1px solid var(--line);
  border-bottom: 1px solid var(--line); font-size: 14px; }
nav a { color: var(--accent); text-decoration: none; margin-right: 18px; }
h2 { margin: 36px 0 12px; font-size: 21px; font-weight: 650; padding-bottom: 4px;
  border-bottom: 2px solid var(--ink); }
h3 { margin: 24px 0 6px; font-size: 17px; }
p.note { color: var(--muted); font-size: 13.5px; margin: 4px 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 10px;
  margin: 0; }
.cards div { background: var(--soft); border: 1px solid var(--line); border-radius: 6px;
  padding: 10px 12px; }
.cards dt { font-size: 12.5px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .03em; }
.cards dd { margin: 2px 0 0; font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.cards div.alert { background: var(--bad-bg); border-color: #f1b8b3; }
.cards div.alert dd { color: var(--bad); }
.run { font-size: 13.5px; color: var(--muted); margin-top: 10px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 6px 0 8px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left;
  vertical-align: top; }
th { background: var(--soft); font-weight: 600; white-space: nowrap; border-bottom: 2px solid #bbb; }
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th::after { content: " \2195"; color: #aaa; font-size: 11px; }
table.sortable th[aria-sort="ascending"]::after { content: " \25B2"; color: var(--ink); }
table.sortable th[aria-sort="descending"]::after { content: " \25BC"; color: var(--ink); }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) { background: #fbfbfc; }
tr.failed td { color: var(--muted); }
td.censored { font-style: italic; }
td.bad { color: var(--bad); background: var(--bad-bg); font-weight: 600; }
tr.flagged td:first-child { box-shadow: inset 3px 0 0 #e69f00; }
tr.failed td:first-child { box-shadow: inset 3px 0 0 var(--bad); }
.flag { display: inline-block; font: 12px/1.5 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
  background: var(--warn-bg); border: 1px solid #f0d29a; border-radius: 4px; padding: 0 5px;
  margin: 1px 2px 1px 0; white-space: nowrap; }
.status { color: var(--bad); font-size: 13px; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(480px, 1fr)); gap: 16px; }
figure { margin: 0; border: 1px solid var(--line); border-radius: 6px; padding: 6px; background: #fff; }
figure svg { display: block; width: 100%; height: auto; }
figure a { display: block; }
figcaption { font-size: 13px; color: var(--muted); padding: 4px 4px 0; }
figcaption a { display: inline; color: var(--accent); }
.wide figure { max-width: 1000px; margin: 8px 0 12px; }
details { margin: 8px 0 16px; border: 1px solid var(--line); border-radius: 6px; padding: 4px 10px; }
details > summary { cursor: pointer; font-weight: 600; padding: 4px 0; color: var(--accent); }
details[open] > summary { margin-bottom: 6px; }
table.matrix td { white-space: nowrap; }
.panels { display: grid; grid-template-columns: repeat(auto-fill, minmax(560px, 1fr)); gap: 0 28px; }
.panels > div { min-width: 0; overflow-x: auto; }
.panels h3 small { font-weight: 400; color: var(--muted); }
table.panel { width: auto; font-size: 13.5px; }
table.panel th, table.panel td { padding: 5px 8px; }
table.panel td { white-space: nowrap; }
table.panel tr.primary td { font-weight: 600; }
.missing { padding: 40px 10px; text-align: center; color: var(--muted); background: var(--soft); }
dl.flags dt { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-weight: 600;
  margin-top: 10px; }
dl.flags dd { margin: 2px 0 0 18px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; font-size: 14px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12.5px; }
pre { background: var(--soft); border: 1px solid var(--line); border-radius: 6px; padding: 12px;
  overflow-x: auto; }
@media print { nav { display: none; } details > summary { display: none; } main { max-width: none; padding: 0; }
  .grid { grid-template-columns: repeat(2, 1fr); } figure { break-inside: avoid; } }
"#;

/// Sorts a `table.sortable` by the clicked column (numbers by `data-sort` or value).
const SORT_JS: &str = r"
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute('aria-sort') !== 'ascending';
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    function key(row) {
      var cell = row.cells[col], v = cell.getAttribute('data-sort');
      if (v === null) { v = cell.textContent.trim(); }
      var n = parseFloat(v);
      return isNaN(n) ? v.toLowerCase() : n;
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (typeof x !== typeof y) { x = String(x); y = String(y); }
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  });
});
";

/// The HTML report as one self-contained page.
///
/// `figures` holds the inline SVG of each curve (same order as `results.curves`, e.g. from
/// [`super::figures::CurveFigure`]); `png_names` the relative path of each curve's PNG, which
/// the figure then links to. Either may be shorter than the curve list or hold `None`.
/// Deterministic: the same input gives the same bytes.
#[must_use]
pub fn render_html(
    results: &RunResults,
    figures: &[Option<String>],
    png_names: &[Option<String>],
) -> String {
    let figs = ReportFigures {
        curve_svgs: figures.to_vec(),
        curve_pngs: png_names.to_vec(),
        ..ReportFigures::default()
    };
    render_html_with(results, &figs, &ReportOutcome::default())
}

/// The HTML report with every figure of the run (see [`super::write_report`]): summary
/// first, then per target the overlay, the table and a collapsible grid of curve figures,
/// compounds across targets, plate QC with heat maps, flags, excluded wells, provenance.
/// Deterministic: the same input gives the same bytes.
#[must_use]
pub fn render_html_with(
    results: &RunResults,
    figs: &ReportFigures,
    outcome: &ReportOutcome,
) -> String {
    let mut h = String::with_capacity(256 * 1024);
    let title = escape(&results.experiment);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"generator\" content=\"radbind {}\">\n\
         <title>{title} \u{2014} radbind report</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n",
        escape(&results.version)
    );
    let ki = if results.curves.iter().any(CurveRow::has_ki) {
        ", Ki by Cheng\u{2013}Prusoff"
    } else {
        " (IC50 only)"
    };
    let what = if results.curves.is_empty() && !results.primary.rows.is_empty() {
        "Radioligand binding primary screen \u{b7} % inhibition at one concentration".to_string()
    } else {
        format!("Radioligand competition binding \u{b7} IC50 by four-parameter logistic fit{ki}")
    };
    let _ = writeln!(
        h,
        "<header><h1>{title}</h1><p>{what} \u{b7} radbind {}</p></header>",
        escape(&results.version)
    );
    h.push_str(
        "<nav><a href=\"#summary\">Summary</a><a href=\"#selectivity\">Selectivity</a>\
         <a href=\"#results\">Results by target</a>\
         <a href=\"#compounds\">Compounds</a><a href=\"#qc\">Plate QC</a><a href=\"#flags\">Flags</a>\
         <a href=\"#excluded\">Excluded wells</a><a href=\"#provenance\">Provenance</a></nav>\n",
    );
    summary(&mut h, results);
    h.push_str(&super::primary::html_section(results, &figs.primary));
    h.push_str(&super::assays::html_sections(results, &figs.saturation));
    ki_matrix(&mut h, results, figs.selectivity.as_ref(), outcome);
    selectivity_panel(&mut h, results);
    profiling(&mut h, results, figs);
    compounds_section(&mut h, figs);
    plate_qc(&mut h, results, figs);
    flags_section(&mut h, results);
    excluded_wells(&mut h, results);
    provenance(&mut h, results, outcome);
    let _ = write!(h, "</main>\n<script>{SORT_JS}</script>\n</body>\n</html>\n");
    h
}

/// Compound x target Ki table (the summary of the run) and the selectivity map.
fn ki_matrix(h: &mut String, r: &RunResults, sel: Option<&FigureRef>, outcome: &ReportOutcome) {
    let targets = targets_in_order(r);
    let rows = selectivity::matrix_rows(&r.curves);
    let word = super::markdown::matrix_word(r);
    let _ = writeln!(h, "<section id=\"ki\">\n<h2>{word} by compound and target</h2>");
    if let Some(note) = rows.note() {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(&note));
    }
    if rows.shown.is_empty() {
        ki_matrix_end(h, r, sel, outcome);
        return;
    }
    h.push_str(
        &format!("<p class=\"note\">{word} (hover for the 95% CI; the tables below give it); <em>italics</em>: censored bound (IC50 outside the \
         tested range); \u{26a0}: flagged (see the target\u{2019}s table); \u{2014}: no usable fit.</p>\n"),
    );
    let _ = write!(
        h,
        "<div class=\"scroll\"><table class=\"sortable matrix\"><thead><tr><th scope=\"col\">Compound</th>"
    );
    for t in &targets {
        let _ = write!(h, "<th scope=\"col\" class=\"num\">{}</th>", escape(&t.target));
    }
    h.push_str("</tr></thead><tbody>\n");
    // (compound, target) -> its curve (the first, as a linear search would find it).
    let mut cells: std::collections::HashMap<(&str, &str), &CurveRow> =
        std::collections::HashMap::new();
    for c in &r.curves {
        cells.entry((c.compound.as_str(), c.target.as_str())).or_insert(c);
    }
    for comp in &rows.shown {
        let _ = write!(h, "<tr><td>{}</td>", escape(comp));
        for t in &targets {
            match cells.get(&(*comp, t.target.as_str())).copied() {
                None => h.push_str("<td class=\"num\" data-sort=\"\"></td>"),
                Some(c) => {
                    let censored = c.fit.as_ref().is_some_and(|f| !f.censor.is_exact());
                    let key = c
                        .fit
                        .as_ref()
                        .filter(|f| f.censor.is_exact())
                        .map(|f| if c.has_ki() { f.ki_nm } else { f.ic50_nm });
                    let class = if censored { "num censored" } else { "num" };
                    let warn = if c.is_flagged() || c.is_failed() { " \u{26a0}" } else { "" };
                    let _ = write!(
                        h,
                        "<td class=\"{class}\"{} title=\"{}\">{}{warn}</td>",
                        sort_attr(key),
                        escape(&format!(
                            "{} / {}: {} {}",
                            c.compound,
                            c.target,
                            c.headline_word(),
                            c.headline_with_ci_text()
                        )),
                        escape(&c.headline_text())
                    );
                }
            }
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
    ki_matrix_end(h, r, sel, outcome);
}

/// After the Ki matrix: the selectivity map, the run's problems and the figures that failed.
fn ki_matrix_end(h: &mut String, r: &RunResults, sel: Option<&FigureRef>, outcome: &ReportOutcome) {
    if let Some(f) = sel {
        h.push_str("<div class=\"wide\">");
        figure_block(h, f, "Selectivity: pKi by compound and target (hatched: censored bound)");
        h.push_str("</div>\n");
    }
    if !r.problems.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Problems</h3>\n<p class=\"note\">The run went on without these; exit code 1.</p>\n<ul>"
        );
        for p in &r.problems {
            let _ = writeln!(h, "<li>{}</li>", escape(p));
        }
        h.push_str("</ul>\n");
    }
    if !outcome.figure_failures.is_empty() {
        let _ = writeln!(h, "<h3>Figures that failed</h3>\n<ul>");
        for (what, e) in &outcome.figure_failures {
            let _ = writeln!(h, "<li>{}: {}</li>", escape(what), escape(e));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</section>\n");
}

/// The selectivity panel: per compound a small table of Ki (95% CI), pKi and the ratio to
/// the primary target, censored values as bounds (see [`super::selectivity`]).
fn selectivity_panel(h: &mut String, r: &RunResults) {
    let rows = selectivity::panel(&r.curves, r.primary_target.as_deref());
    if rows.is_empty() {
        return;
    }
    h.push_str("<section id=\"selectivity\">\n<h2>Selectivity panel</h2>\n");
    let _ = writeln!(
        h,
        "<p class=\"note\">{} {}</p>",
        escape(selectivity::REPORT_INTRO),
        escape(&selectivity::primary_rule_text(r.primary_target.as_deref()))
    );
    let n = selectivity::by_compound(&rows).count();
    if n > selectivity::REPORT_COMPOUND_LIMIT {
        let _ = writeln!(
            h,
            "<p>{n} compounds: too many to list here; see selectivity.csv.</p>\n</section>"
        );
        return;
    }
    h.push_str("<div class=\"panels\">\n");
    for group in selectivity::by_compound(&rows) {
        let first = &group[0];
        let primary = first.primary_target.as_ref().map_or_else(
            || "no primary target".to_string(),
            |p| format!("primary target {}", escape(p)),
        );
        let _ = writeln!(
            h,
            "<div><h3>{} <small>({primary})</small></h3>\
             <table class=\"panel\">{}<tbody>",
            escape(&first.compound),
            head_row(&[
                ("Target", false),
                ("Ki (95% CI)", true),
                ("pKi", true),
                (&first.ratio_heading(), true),
                ("Note", false),
            ])
        );
        for row in group {
            let censored = |c: Censor| {
                if c == Censor::Exact { "num" } else { "num censored" }
            };
            let warn = if row.needs_attention() { " \u{26a0}" } else { "" };
            let class = if row.is_primary() { " class=\"primary\"" } else { "" };
            let _ = writeln!(
                h,
                "<tr{class}><td>{}</td><td class=\"{}\">{}{warn}</td><td class=\"{}\">{}</td>\
                 <td class=\"{}\">{}</td><td>{}</td></tr>",
                escape(&row.target_label()),
                censored(row.ki_censor),
                escape(&row.ki_with_ci_text()),
                censored(row.ki_censor),
                escape(&row.pki_text()),
                censored(row.ratio_censor),
                escape(&row.ratio_text()),
                escape(&row.note_text()),
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    h.push_str("</div>\n</section>\n");
}

fn summary(h: &mut String, r: &RunResults) {
    let n = Counts::of(r);
    h.push_str("<section id=\"summary\">\n<h2>Summary</h2>\n<dl class=\"cards\">\n");
    let card = |h: &mut String, label: &str, value: usize, alert: bool| {
        let class = if alert && value > 0 { " class=\"alert\"" } else { "" };
        let _ = writeln!(h, "<div{class}><dt>{label}</dt><dd>{value}</dd></div>");
    };
    card(h, "Plates", n.plates, false);
    card(h, "Plates failing QC", n.plates_failing_qc, true);
    card(h, "Curves", n.curves, false);
    card(h, "Curves flagged", n.flagged, true);
    card(h, "Curves failed", n.failed, true);
    card(h, "Excluded wells", n.excluded_wells, false);
    h.push_str("</dl>\n");
    let _ = writeln!(
        h,
        "<p class=\"run\">Experiment <strong>{}</strong> \u{b7} radbind {} \u{b7} run times \
         and input hashes in run.json</p>",
        escape(&r.experiment),
        escape(&r.version),
    );
    reference_lines(h, r);
    h.push_str("</section>\n");
}

/// The run's reference compounds, one line each (failing ones marked), inside the summary.
fn reference_lines(h: &mut String, r: &RunResults) {
    if r.history.references.is_empty() {
        return;
    }
    h.push_str("<ul class=\"references\">\n");
    for row in &r.history.references {
        let class = if row.verdict.fails() { " class=\"alert\"" } else { "" };
        let _ = writeln!(h, "<li{class}>Reference {}</li>", escape(&row.line()));
    }
    h.push_str("</ul>\n");
}

/// `<th>` cells of a header row.
fn head_row(cols: &[(&str, bool)]) -> String {
    let mut s = String::from("<thead><tr>");
    for (c, num) in cols {
        let class = if *num { " class=\"num\"" } else { "" };
        let _ = write!(s, "<th scope=\"col\"{class}>{}</th>", escape(c));
    }
    s.push_str("</tr></thead>");
    s
}

/// A numeric sort key for a concentration cell (censored values sort at their bound).
fn sort_attr(v: Option<f64>) -> String {
    match v {
        Some(v) if v.is_finite() => format!(" data-sort=\"{v:e}\""),
        _ => " data-sort=\"\"".to_string(),
    }
}

/// Flags of a curve (and its status when not ok) as badges with their explanation.
fn flag_badges(c: &CurveRow) -> String {
    let mut s = String::new();
    if c.status.is_failed() {
        let _ = write!(s, "<span class=\"status\">{}</span> ", escape(&c.status.to_string()));
    }
    for f in &c.flags {
        let title =
            flag_explanation(f).map_or(String::new(), |t| format!(" title=\"{}\"", escape(t)));
        let _ = write!(s, "<span class=\"flag\"{title}>{}</span>", escape(f));
    }
    s
}

fn profiling(h: &mut String, r: &RunResults, figs: &ReportFigures) {
    h.push_str("<section id=\"results\">\n<h2>Results by target</h2>\n");
    h.push_str(&format!(
        "<p class=\"note\">{}Values in <em>italics</em> are censored \
             bounds: \u{201c}&gt; 10 \u{b5}M\u{201d} means the IC50 lies above the highest tested \
             concentration and was not measured. Click a column header to sort.</p>\n",
        if r.curves.iter().any(CurveRow::has_ki) { "Ki = IC50 / (1 + [L]/Kd). " } else { "" }
    ));
    for t in targets_in_order(r) {
        let _ = writeln!(
            h,
            "<h3>{}</h3>\n<p class=\"note\">{}</p>",
            escape(&t.target),
            escape(&super::text::ligand_text(&t)),
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
        let has_ki = t.radioligand_nm.is_finite() && t.kd_nm.is_finite();
        let _ = writeln!(
            h,
            "<div class=\"scroll\"><table class=\"sortable\">{}<tbody>",
            head_row(profile_columns(has_ki))
        );
        for c in r.curves.iter().filter(|c| c.target == t.target) {
            let class = if c.is_failed() {
                " class=\"failed\""
            } else if c.is_flagged() {
                " class=\"flagged\""
            } else {
                ""
            };
            let censored = c.fit.as_ref().is_some_and(|f| !f.censor.is_exact());
            let cen = if censored {
                " censored\" title=\"censored: outside the tested range"
            } else {
                ""
            };
            let fit = c.fit.as_ref();
            let (ic50_key, ki_key) = if censored {
                let b = c.ic50_bound_nm().unwrap_or(f64::NAN);
                (Some(b), Some(crate::derive::cheng_prusoff(b, c.radioligand_nm, c.kd_nm)))
            } else {
                (fit.map(|f| f.ic50_nm), fit.map(|f| f.ki_nm))
            };
            let (ki_key, ki_text, pki_text) = if has_ki {
                (ki_key, c.ki_with_ci_text(), c.pki_text())
            } else {
                (ic50_key, c.ic50_ci_text(), c.pic50_text())
            };
            let _ = writeln!(
                h,
                "<tr{class}><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"num{cen}\"{}>{}</td><td class=\"num{cen}\"{}>{}</td>\
                 <td class=\"num{cen}\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
                 <td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&t.target),
                escape(&t.radioligand),
                nm_number(t.radioligand_nm),
                nm_number(t.kd_nm),
                escape(&c.compound),
                sort_attr(ic50_key),
                escape(&c.ic50_text()),
                sort_attr(ki_key),
                escape(&ki_text),
                escape(&pki_text),
                escape(&c.hill_text().replace('-', "\u{2212}")),
                c.n_points,
                escape(&c.model_text()),
                escape(&c.curve_class),
                flag_badges(c),
            );
        }
        h.push_str("</tbody></table></div>\n");
        curve_grid(h, r, figs, &t.target);
    }
    h.push_str("</section>\n");
}

/// The collapsible grid of curve figures of one target.
fn curve_grid(h: &mut String, r: &RunResults, figs: &ReportFigures, target: &str) {
    let items: Vec<(usize, &CurveRow)> =
        r.curves.iter().enumerate().filter(|(_, c)| c.target == target).collect();
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
        if items.iter().any(|(_, c)| c.has_ki()) { "; triangle: Ki." } else { "." }
    );
    for (i, c) in items {
        let svg = figs.curve_svgs.get(i).and_then(Option::as_deref).and_then(inline_svg);
        let href = figs.curve_pngs.get(i).and_then(Option::as_deref).and_then(png_href);
        let residual = figs.residual_pngs.get(i).and_then(Option::as_deref).and_then(png_href);
        let label = format!("{} \u{2014} {}", c.target, c.compound);
        h.push_str("<figure>");
        match (&svg, &href) {
            (Some(svg), Some(href)) => {
                let _ = write!(
                    h,
                    "<a href=\"{href}\" title=\"{}\">{svg}</a>",
                    escape(&format!("PNG: {label}"))
                );
            }
            (Some(svg), None) => h.push_str(svg),
            (None, Some(href)) => {
                let _ = write!(h, "<a class=\"missing\" href=\"{href}\">Open the figure</a>");
            }
            (None, None) => h.push_str("<div class=\"missing\">No figure</div>"),
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

/// One overlay per compound tested at several targets.
fn compounds_section(h: &mut String, figs: &ReportFigures) {
    h.push_str("<section id=\"compounds\">\n<h2>Compounds across targets</h2>\n");
    if figs.compound_overlays.is_empty() {
        h.push_str("<p>No compound was tested at more than one target.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<details><summary>Overlays ({})</summary>\n<div class=\"grid\">",
        figs.compound_overlays.len()
    );
    for f in &figs.compound_overlays {
        figure_block(h, f, &format!("{} at every target", f.key));
    }
    h.push_str("</div>\n</details>\n</section>\n");
}

fn plate_qc(h: &mut String, r: &RunResults, figs: &ReportFigures) {
    h.push_str("<section id=\"qc\">\n<h2>Plate QC</h2>\n");
    h.push_str(
        "<p class=\"note\">Z\u{2032} = 1 \u{2212} 3 (SD<sub>total</sub> + SD<sub>NSB</sub>) / \
         |mean<sub>total</sub> \u{2212} mean<sub>NSB</sub>| (Zhang et al. 1999); \
         Z\u{2032} below 0.5 is highlighted. S/B = mean total / mean NSB. Pipetting CV%: the \
         plate's variance model of counts, var(CPM) = a + CPM/t + (cv\u{b7}CPM)\u{b2}, from \
         its replicate wells (* = too few replicates, fit.pipetting_cv_pct).</p>\n",
    );
    if r.plates.is_empty() {
        h.push_str("<p>No plates.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<div class=\"scroll\"><table class=\"sortable\">{}<tbody>",
        head_row(&QC_COLUMNS)
    );
    for p in &r.plates {
        // A plate without controls has no Z' to fall short.
        let z_class = if p.z_prime >= 0.5 || !plate_fails_qc(p) { "num" } else { "num bad" };
        let class = if plate_fails_qc(p) { " class=\"flagged\"" } else { "" };
        let flags: String = p
            .flags
            .iter()
            .map(|f| {
                let title = flag_explanation(f)
                    .map_or(String::new(), |t| format!(" title=\"{}\"", escape(t)));
                format!("<span class=\"flag\"{title}>{}</span>", escape(f))
            })
            .collect();
        let _ = writeln!(
            h,
            "<tr{class}><td>{}</td><td>{}</td><td>{} #{}</td><td class=\"{z_class}\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num\">{}</td><td class=\"num\">{}</td><td>{}</td><td>{flags}</td></tr>",
            escape(&p.plate),
            escape(&p.target),
            escape(&p.source),
            p.index_in_file,
            fixed(p.z_prime, 2).replace('-', "\u{2212}"),
            fixed(p.signal_to_background, 1),
            fixed(p.total_cv_pct, 1),
            fixed(p.nsb_cv_pct, 1),
            fixed(p.nsb_pct_of_total, 1),
            pipetting_cv_cell(p),
            if p.rotated { "yes" } else { "no" },
        );
    }
    h.push_str("</tbody></table></div>\n");
    if !figs.heatmaps.is_empty() {
        let _ = writeln!(
            h,
            "<h3>Plate heat maps</h3>\n<p class=\"note\">Each plate as counted (turned back when it \
             was counted rotated): CPM and % specific binding, with the layout drawn on \
             (T total, N NSB, B blank, V vehicle, letters compounds, thick lines around blocks, \
             \u{d7} excluded). Edge effects, pipetting errors and a plate counted the wrong way \
             round show up here.</p>"
        );
        for (cpm, pct) in &figs.heatmaps {
            let _ = writeln!(
                h,
                "<details class=\"plate\"><summary>Plate {}</summary>\n<div class=\"grid\">",
                escape(&cpm.key)
            );
            figure_block(h, cpm, &format!("{}: CPM", cpm.key));
            figure_block(h, pct, &format!("{}: % specific binding", pct.key));
            h.push_str("</div>\n</details>\n");
        }
    }
    h.push_str("</section>\n");
}

fn flags_section(h: &mut String, r: &RunResults) {
    h.push_str("<section id=\"flags\">\n<h2>Flags</h2>\n");
    let flags = flags_in_use(r);
    if flags.is_empty() {
        h.push_str("<p>No curve or plate was flagged.</p>\n</section>\n");
        return;
    }
    h.push_str("<dl class=\"flags\">\n");
    for f in &flags {
        let text = flag_explanation(f).unwrap_or("(no description available)");
        let _ = writeln!(h, "<dt>{}</dt><dd>{}</dd>", escape(f), escape(text));
    }
    h.push_str("</dl>\n</section>\n");
}

fn excluded_wells(h: &mut String, r: &RunResults) {
    h.push_str("<section id=\"excluded\">\n<h2>Excluded wells</h2>\n");
    let rows: Vec<_> = r.wells.iter().filter_map(|w| Some((w, w.excluded.as_deref()?))).collect();
    if rows.is_empty() {
        h.push_str("<p>No well was excluded.</p>\n</section>\n");
        return;
    }
    let _ = writeln!(
        h,
        "<div class=\"scroll\"><table class=\"sortable\">{}<tbody>",
        head_row(&[
            ("Plate", false),
            ("Well", false),
            ("Role", false),
            ("Compound", false),
            ("Concentration", true),
            ("CPM", true),
            ("Reason", false),
        ])
    );
    for (w, reason) in rows {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"num\"{}>{}</td>\
             <td class=\"num\">{}</td><td>{}</td></tr>",
            escape(&w.plate),
            escape(&w.well),
            escape(w.role),
            w.compound.as_deref().map(escape).unwrap_or_default(),
            sort_attr(w.conc_nm),
            w.conc_nm.map_or(String::new(), format_conc_nm),
            w.cpm.map_or(String::new(), |v| fixed(v, 0)),
            escape(reason),
        );
    }
    h.push_str("</tbody></table></div>\n</section>\n");
}

fn provenance(h: &mut String, r: &RunResults, outcome: &ReportOutcome) {
    h.push_str("<section id=\"provenance\">\n<h2>Provenance</h2>\n<dl class=\"meta\">\n");
    // Run times live in run.json only, so reruns give byte-identical reports.
    for (k, v) in [("radbind version", &r.version), ("Run times", &"see run.json".to_string())] {
        let _ = writeln!(h, "<dt>{k}</dt><dd>{}</dd>", escape(v));
    }
    h.push_str("</dl>\n");
    if !r.inputs.is_empty() {
        h.push_str(
            "<h3>Input files</h3>\n<div class=\"scroll\"><table><thead><tr>\
             <th scope=\"col\">File</th><th scope=\"col\" class=\"num\">Bytes</th>\
             <th scope=\"col\">SHA-256</th></tr></thead><tbody>\n",
        );
        for f in &r.inputs {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td class=\"num\">{}</td><td><code>{}</code></td></tr>",
                escape(&f.path),
                f.bytes,
                escape(&f.sha256)
            );
        }
        h.push_str("</tbody></table></div>\n");
    }
    if !outcome.prism_files.is_empty() {
        h.push_str(
            "<h3>GraphPad Prism files</h3>\n<p class=\"note\">One XY table per target: X = log10 \
             [compound] (M), Y = % specific binding with replicates as subcolumns, one data set \
             per compound; excluded points are marked excluded.</p>\n<ul>\n",
        );
        for f in &outcome.prism_files {
            if let Some(href) = png_href(f) {
                let _ = writeln!(h, "<li><a href=\"{href}\">{href}</a></li>");
            }
        }
        h.push_str("</ul>\n");
    }
    let config = if r.config_yaml.trim().is_empty() {
        NOT_DETERMINED.to_string()
    } else {
        escape(r.config_yaml.trim_end())
    };
    let _ = writeln!(h, "<h3>Resolved configuration</h3>\n<pre>{config}</pre>\n</section>");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::figures::{CurveFigure, to_svg};
    use crate::test_support::sample_results;

    fn render(r: &RunResults) -> String {
        let figs: Vec<Option<String>> =
            r.curves.iter().map(|c| to_svg(&CurveFigure::new(c)).ok()).collect();
        let pngs = vec![
            Some("plots/000_5-HT2A_mianserin.png".to_string()),
            Some("https://evil.example/x.png".to_string()),
            None,
        ];
        render_html(r, &figs, &pngs)
    }

    #[test]
    fn no_external_urls() {
        let html = render(&sample_results());
        for bad in ["http://", "https://", "src=\"//", "href=\"//", "@import", "url("] {
            assert!(!html.contains(bad), "found {bad}");
        }
        assert!(html.contains("<svg role=\"img\""), "figures are inlined");
        assert!(html.contains("<a href=\"plots/000_5-HT2A_mianserin.png\""));
    }

    #[test]
    fn escapes_user_strings() {
        let mut r = sample_results();
        r.experiment = "exp <i>\"x\" & 'y'".into();
        r.curves[0].compound = "<script>alert(1)</script>".into();
        r.config_yaml = "a: </pre><script>x</script>".into();
        let html = render(&r);
        assert!(!html.contains("<script>alert"));
        assert!(!html.contains("<script>x"));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(html.contains("<h1>exp &lt;i&gt;&quot;x&quot; &amp; &#39;y&#39;</h1>"));
        // Exactly one script element: ours.
        assert_eq!(html.matches("<script").count(), 1);
        assert!(html.contains("<td>cpd|7 &lt;b&gt;</td>"));
    }

    #[test]
    fn tables_and_censored_cells() {
        let html = render(&sample_results());
        for h in [
            "<th scope=\"col\">Target</th>",
            "<th scope=\"col\" class=\"num\">Ki (95% CI)</th>",
            "<th scope=\"col\" class=\"num\">Z&#39;</th>",
            "<th scope=\"col\">Reason</th>",
        ] {
            assert!(html.contains(h), "missing {h}");
        }
        assert!(html.contains(">&gt; 10 µM</td>"), "censored IC50 as a bound");
        assert!(html.contains(">&gt; 5 µM</td>"), "censored Ki as a bound");
        assert!(!html.contains("60 µM"), "no extrapolated IC50");
        assert!(html.contains("<td class=\"num bad\">0.42</td>"));
        assert!(html.contains("<dt>new_flag_x</dt><dd>(no description available)</dd>"));
        assert!(html.contains("<dt>ic50_above_range</dt><dd>The fitted IC50"));
        assert!(html.contains(&"ab".repeat(32)));
        assert!(html.contains("<dt>Curves failed</dt><dd>1</dd>"));
    }

    #[test]
    fn selectivity_panel_after_the_ki_matrix() {
        let html = render(&sample_results());
        let (ki, panel, results) = (
            html.find("<section id=\"ki\">").expect("Ki matrix"),
            html.find("<section id=\"selectivity\">").expect("panel"),
            html.find("<section id=\"results\">").expect("results"),
        );
        assert!(ki < panel && panel < results);
        assert!(html.contains("<h3>cpd|7 &lt;b&gt; <small>(no primary target)</small></h3>"));
        assert!(html.contains("<h3>mianserin <small>(primary target 5-HT2A)</small></h3>"));
        // 5-HT1A: Ki > 10 µM / 2 = 5 µM against 2.6 nM at 5-HT2A: > 1923-fold.
        assert!(html.contains(
            "<td class=\"num censored\">&gt; 5 µM \u{26a0}</td><td class=\"num censored\">&lt; 5.30</td>\
             <td class=\"num censored\">&gt; 1920x</td>"
        ));
        assert!(html.contains("<td>no usable Ki at this target</td>"));
    }

    #[test]
    fn deterministic() {
        let r = sample_results();
        assert_eq!(render(&r), render(&r));
    }

    /// Writes a sample report to `$RADBIND_HTML_SAMPLE` for looking at it.
    #[test]
    #[ignore = "writes a file for visual review"]
    fn write_sample() {
        if let Some(path) = std::env::var_os("RADBIND_HTML_SAMPLE") {
            std::fs::write(path, render(&sample_results())).expect("write");
        }
    }
}
