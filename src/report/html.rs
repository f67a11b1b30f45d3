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

use super::cells::{Measured, column_unit, sort_attrs};
use super::flag_words::{flag_description, flag_label};
use super::html_results::{curve_anchor, flagged_section, plate_qc, results_section};
use super::markdown::{Counts, fixed, flags_in_use, targets_in_order};
use super::text::{escape, figure_block, head_row, png_href};
use super::{FigureRef, ReportFigures, ReportOutcome, selectivity};
use crate::derive::rows::{Censor, CurveRow, RunResults};
use crate::units::{NOT_DETERMINED, format_conc_nm};

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
td.censored, a.censored { font-style: italic; }
td.bad { color: var(--bad); background: var(--bad-bg); font-weight: 600; }
tr.flagged td:first-child { box-shadow: inset 3px 0 0 #e69f00; }
tr.failed td:first-child { box-shadow: inset 3px 0 0 var(--bad); }
a.flag { color: inherit; text-decoration: none; }
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
figure img.lazy { display: block; width: 100%; height: auto; }
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
td.model { white-space: normal; overflow-wrap: anywhere; min-width: 7em; }
table.results th, table.assay th { white-space: normal; }
table.results th, table.results td, table.assay th, table.assay td { padding: 5px 7px; }
table.results td.num, table.assay td { white-space: nowrap; }
table.assay td:last-child, table.assay td:first-child { white-space: normal; }
td.flags { min-width: 10em; }
td.fig { padding: 2px 6px; }
img.thumb { display: block; width: 64px; height: 48px; object-fit: contain; border: 1px solid var(--line);
  border-radius: 3px; background: #fff; }
ul.index { display: flex; flex-wrap: wrap; gap: 4px 18px; list-style: none; padding: 0; margin: 6px 0 10px;
  font-size: 14px; }
ul.index a { color: var(--accent); text-decoration: none; font-weight: 600; }
ul.index small { color: var(--muted); }
p.filter { font-size: 14px; margin: 6px 0; }
p.filter #shown { color: var(--muted); margin-left: 8px; }
body.only-flagged #results tbody tr:not(.flagged):not(.failed) { display: none; }
body.only-flagged #results details.curves { display: none; }
.legend-flagged { display: inline-block; width: 4px; height: 1em; vertical-align: -2px; background: #e69f00; }
.legend-failed { display: inline-block; width: 4px; height: 1em; vertical-align: -2px; background: var(--bad); }
details.plate > summary { font-weight: 500; color: var(--ink); }
details.plate > summary .qc { font-weight: 600; }
details.plate.qc-fail > summary .qc { color: var(--bad); }
details.plate.qc-pass > summary .qc { color: #2e7d32; }
details.plate.qc-na > summary .qc { color: var(--muted); }
details.plate.qc-fail { border-left: 4px solid var(--bad); }
p.key { font-size: 13px; color: var(--muted); margin: 2px 0 8px; }
div.target { scroll-margin-top: 8px; }
dl.flags dt small { font-weight: 400; color: var(--muted); }
@media print { nav { display: none; } details > summary { display: none; } main { max-width: none; padding: 0; }
  .grid { grid-template-columns: repeat(2, 1fr); } figure { break-inside: avoid; } }
"#;

/// Sorts a `table.sortable` by the clicked column: by the cell's `data-sort` number (and
/// `data-tie`: a censored bound after an exact value equal to it), else by its text read as a
/// number (U+2212 minus and a leading `<`/`>` understood) or as text; cells without a number
/// sort last either way. The "flagged only" filter hides the other rows of the results and
/// says how many are shown; `#flagged` in the address turns it on. Linked figures and row
/// thumbnails (`data-src`) load when they come near the view: browsers load every
/// `loading="lazy"` image of a page opened from disk at once.
const SORT_JS: &str = r"
function sortKey(cell) {
  var v = cell.getAttribute('data-sort');
  if (v === '') { return null; }
  if (v !== null) { return { n: parseFloat(v), t: +(cell.getAttribute('data-tie') || 0) }; }
  var text = cell.textContent.trim().replace(/\u2212/g, '-');
  var m = /^([<>])?\s*(-?[0-9.]+(e-?[0-9]+)?)/i.exec(text);
  if (m) { return { n: parseFloat(m[2]), t: m[1] ? 1 : 0 }; }
  return text === '' || text === '\u2014' ? null : { s: text.toLowerCase() };
}
document.querySelectorAll('table.sortable th').forEach(function (th) {
  th.addEventListener('click', function () {
    var table = th.closest('table'), body = table.tBodies[0];
    var col = Array.prototype.indexOf.call(th.parentNode.children, th);
    var asc = th.getAttribute('aria-sort') !== 'ascending', dir = asc ? 1 : -1;
    table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('aria-sort'); });
    th.setAttribute('aria-sort', asc ? 'ascending' : 'descending');
    var rows = Array.prototype.slice.call(body.rows).map(function (r) {
      return { row: r, key: sortKey(r.cells[col]) };
    });
    rows.sort(function (a, b) {
      var x = a.key, y = b.key;
      if (x === null || y === null) { return x === y ? 0 : (x === null ? 1 : -1); }
      if (x.n !== undefined && y.n !== undefined) {
        return x.n !== y.n ? (x.n < y.n ? -1 : 1) * dir : x.t - y.t;
      }
      var p = String(x.n !== undefined ? x.n : x.s), q = String(y.n !== undefined ? y.n : y.s);
      return (p < q ? -1 : p > q ? 1 : 0) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r.row); });
  });
});
(function () {
  var box = document.getElementById('only-flagged'), shown = document.getElementById('shown');
  if (!box) { return; }
  function apply() {
    document.body.classList.toggle('only-flagged', box.checked);
    var rows = document.querySelectorAll('#results tbody tr'), n = 0;
    rows.forEach(function (r) { if (r.offsetParent !== null) { n += 1; } });
    shown.textContent = 'showing ' + n + ' of ' + rows.length + ' curves';
  }
  box.addEventListener('change', apply);
  if (location.hash === '#flagged') { box.checked = true; }
  apply();
})();
(function () {
  function show(img) { img.src = img.getAttribute('data-src'); img.removeAttribute('data-src'); }
  var imgs = document.querySelectorAll('img[data-src]');
  if (!('IntersectionObserver' in window)) { imgs.forEach(show); return; }
  var io = new IntersectionObserver(function (entries) {
    entries.forEach(function (e) {
      if (e.isIntersecting) { io.unobserve(e.target); show(e.target); }
    });
  }, { rootMargin: '600px' });
  imgs.forEach(function (img) { io.observe(img); });
})();
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
    let _ = writeln!(
        h,
        "<header><h1>{title}</h1><p>{} \u{b7} radbind {}</p></header>",
        escape(&super::assays::header_line(results)),
        escape(&results.version)
    );
    let mut body = String::with_capacity(256 * 1024);
    summary(&mut body, results);
    flagged_section(&mut body, results);
    problems(&mut body, results, outcome);
    body.push_str(&super::primary::html_section(results, &figs.primary));
    body.push_str(&super::assays::html_sections(results, &figs.saturation));
    if super::assays::has_affinity_curves(results) {
        ki_matrix(&mut body, results, figs.selectivity.as_ref());
    }
    if results.curves.iter().any(CurveRow::has_ki) {
        selectivity_panel(&mut body, results);
    }
    results_section(&mut body, results, figs);
    compounds_section(&mut body, figs);
    plate_qc(&mut body, results, figs);
    flags_section(&mut body, results);
    excluded_wells(&mut body, results);
    provenance(&mut body, results, outcome);
    // The navigation lists the sections this report has, in order.
    h.push_str("<nav>");
    for (id, label) in NAV {
        if body.contains(&format!("<section id=\"{id}\">")) {
            let _ = write!(h, "<a href=\"#{id}\">{label}</a>");
        }
    }
    h.push_str("</nav>\n");
    h.push_str(&body);
    let _ = write!(h, "</main>\n<script>{SORT_JS}</script>\n</body>\n</html>\n");
    h
}

/// Every section a report can have, in reading order: (anchor, navigation label).
const NAV: [(&str, &str); 15] = [
    ("summary", "Summary"),
    ("flagged", "Flagged curves"),
    ("problems", "Problems"),
    ("primary", "Primary screen"),
    ("saturation", "Saturation"),
    ("functional", "GTP\u{3b3}S"),
    ("ki", "Compound \u{d7} target"),
    ("selectivity", "Selectivity"),
    ("results", "Results by target"),
    ("compounds", "Compounds"),
    ("qc", "Plate QC"),
    ("flags", "Flags"),
    ("excluded", "Excluded wells"),
    ("provenance", "Provenance"),
    ("figures-failed", "Figures that failed"),
];

/// Compound x target Ki table (the summary of the run) and the selectivity map: one unit per
/// target column (in its heading), numeric sort keys, each cell linked to its curve's row.
fn ki_matrix(h: &mut String, r: &RunResults, sel: Option<&FigureRef>) {
    let targets = targets_in_order(r);
    let rows = selectivity::matrix_rows(&r.curves);
    let word = super::markdown::matrix_word(r);
    let _ = writeln!(h, "<section id=\"ki\">\n<h2>{word} by compound and target</h2>");
    if let Some(note) = rows.note() {
        let _ = writeln!(h, "<p class=\"note\">{}</p>", escape(&note));
    }
    if !rows.shown.is_empty() {
        ki_table(h, r, &targets, &rows.shown, word);
    }
    if let Some(f) = sel {
        h.push_str("<div class=\"wide\">");
        figure_block(h, f, "Selectivity: pKi by compound and target (hatched: censored bound)");
        h.push_str("</div>\n");
    }
    h.push_str("</section>\n");
}

fn ki_table(
    h: &mut String,
    r: &RunResults,
    targets: &[crate::derive::rows::TargetRow],
    shown: &[&str],
    word: &str,
) {
    let (cells, several) = selectivity::matrix_cells(&r.curves);
    let _ = writeln!(
        h,
        "<p class=\"note\">{word} in the unit of each column (hover for the 95% CI; the \
         tables below give it); <em>italics</em>: censored bound (IC50 outside the tested \
         range); \u{26a0}: flagged (see the target\u{2019}s table); \u{2014}: no usable fit. \
         A value links to its curve.{}</p>",
        if several { format!(" {}", selectivity::SEVERAL_VALUES_NOTE) } else { String::new() }
    );
    let units: Vec<crate::units::ConcUnit> = targets
        .iter()
        .map(|t| {
            let m: Vec<Measured> =
                r.curves.iter().filter(|c| c.target == t.target).map(Measured::headline).collect();
            column_unit(m.iter())
        })
        .collect();
    h.push_str(
        "<div class=\"scroll\"><table class=\"sortable matrix\"><thead><tr><th scope=\"col\">Compound</th>",
    );
    for (t, u) in targets.iter().zip(&units) {
        let _ = write!(
            h,
            "<th scope=\"col\" class=\"num\">{} <small>({})</small></th>",
            escape(&t.target),
            u.symbol
        );
    }
    h.push_str("</tr></thead><tbody>\n");
    for comp in shown {
        let _ = write!(h, "<tr><td>{}</td>", escape(comp));
        for (t, u) in targets.iter().zip(&units) {
            let Some(curves) = cells.get(&(*comp, t.target.as_str())) else {
                h.push_str("<td class=\"num\" data-sort=\"\"></td>");
                continue;
            };
            // A run of several experiments: one value per experiment, the cell sorting by
            // the first.
            let (_, first) = curves[0];
            let m = Measured::headline(first);
            let class = if m.is_censored() && curves.len() == 1 { "num censored" } else { "num" };
            let title: Vec<String> = curves
                .iter()
                .map(|(_, c)| {
                    let exp = if curves.len() > 1 {
                        format!(" ({})", c.experiment_id)
                    } else {
                        String::new()
                    };
                    format!(
                        "{} / {}{exp}: {} {}",
                        c.compound,
                        c.target,
                        c.headline_word(),
                        Measured::headline(c).with_ci_text(*u)
                    )
                })
                .collect();
            let links: Vec<String> = curves
                .iter()
                .map(|&(i, c)| {
                    let warn = if c.is_flagged() || c.is_failed() { " \u{26a0}" } else { "" };
                    let m = Measured::headline(c);
                    // In a cell of several values each censored one is italic on its own.
                    let italic = if m.is_censored() && curves.len() > 1 {
                        " class=\"censored\""
                    } else {
                        ""
                    };
                    format!(
                        "<a href=\"#{}\"{italic}>{}</a>{warn}",
                        curve_anchor(i),
                        escape(&m.value_text(*u))
                    )
                })
                .collect();
            let _ = write!(
                h,
                "<td class=\"{class}\"{} title=\"{}\">{}</td>",
                m.sort(),
                escape(&title.join("; ")),
                links.join("<br>")
            );
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody></table></div>\n");
}

/// The run's problems and the figures that failed; nothing when there is none.
fn problems(h: &mut String, r: &RunResults, outcome: &ReportOutcome) {
    if !r.problems.is_empty() {
        let _ = writeln!(
            h,
            "<section id=\"problems\">\n<h2>Problems</h2>\n<p class=\"note\">The run went on \
             without these; exit code 1.</p>\n<ul>"
        );
        for p in &r.problems {
            let _ = writeln!(h, "<li>{}</li>", escape(p));
        }
        h.push_str("</ul>\n</section>\n");
    }
    if !outcome.figure_failures.is_empty() {
        let _ = writeln!(h, "<section id=\"figures-failed\">\n<h2>Figures that failed</h2>\n<ul>");
        for (what, e) in &outcome.figure_failures {
            let _ = writeln!(h, "<li>{}: {}</li>", escape(what), escape(e));
        }
        h.push_str("</ul>\n</section>\n");
    }
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
    if n.plates_qc_na > 0 {
        card(h, "Plates Z\u{2032} n/a", n.plates_qc_na, false);
    }
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
    if let Some(note) = super::markdown::large_run_note(r) {
        let _ = writeln!(h, "<p class=\"run\">{}</p>", escape(&note));
        h.push_str(
            "<table><thead><tr><th>Target</th><th>Curves</th><th>ok</th><th>Flagged</th>\
             <th>Failed</th></tr></thead><tbody>\n",
        );
        for row in super::markdown::large_run_rows(r) {
            h.push_str("<tr>");
            for cell in &row {
                let _ = write!(h, "<td>{}</td>", escape(cell));
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody></table>\n");
    }
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

/// One overlay per compound tested at several targets.
fn compounds_section(h: &mut String, figs: &ReportFigures) {
    // Only compounds tested at several targets have an overlay; no section without one.
    if figs.compound_overlays.is_empty() {
        return;
    }
    h.push_str("<section id=\"compounds\">\n<h2>Compounds across targets</h2>\n");
    let _ = writeln!(
        h,
        "<details><summary>Overlays ({})</summary>\n<div class=\"grid\">",
        figs.compound_overlays.len()
    );
    // Many overlays are linked, not inlined: the page stays small and quick to open.
    let inline = figs.compound_overlays.len() <= super::MAX_FIGURE_SERIES;
    for f in &figs.compound_overlays {
        let linked;
        let f = if inline {
            f
        } else {
            linked = FigureRef { svg: None, ..f.clone() };
            &linked
        };
        figure_block(h, f, &format!("{} at every target", f.key));
    }
    h.push_str("</div>\n</details>\n</section>\n");
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
        let _ = writeln!(
            h,
            "<dt>{} <small><code>{}</code></small></dt><dd>{}</dd>",
            escape(&flag_label(f)),
            escape(f),
            escape(&flag_description(f))
        );
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
            sort_attrs(w.conc_nm, false),
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
            "<th scope=\"col\" class=\"num\">Ki (nM) (95% CI)</th>",
            "<th scope=\"col\" class=\"num\">Z&#39;</th>",
            "<th scope=\"col\">Reason</th>",
        ] {
            assert!(html.contains(h), "missing {h}");
        }
        // Censored values are bounds in the column's unit, sorting at the bound.
        assert!(html.contains(" data-sort=\"1e4\" data-tie=\"1\">&gt; 10.0</td>"), "IC50 bound");
        assert!(html.contains(">&gt; 5.00 \u{26a0}</td>") || html.contains(">&gt; 5.00</td>"));
        // No table cell shows the extrapolated IC50 (60 µM); figures' axis ticks may read 60.
        let cells: Vec<&str> =
            html.split("<td").skip(1).map(|c| c.split("</td>").next().unwrap_or("")).collect();
        assert!(
            !cells.iter().any(|c| c.contains(">60") || c.contains("60 µM")),
            "no extrapolated IC50"
        );
        assert!(
            html.contains("<td class=\"num bad\" data-sort=\"4.2e-1\" data-tie=\"0\">0.42</td>")
        );
        // Every flag in words, with its code and a description.
        assert!(
            html.contains("<dt>new flag x <small><code>new_flag_x</code></small></dt><dd>A flag")
        );
        assert!(html.contains(
            "<dt>IC50 above tested range <small><code>ic50_above_range</code></small></dt><dd>The fitted IC50"
        ));
        assert!(!html.contains("no description available"));
        assert!(html.contains(&"ab".repeat(32)));
        assert!(html.contains("<dt>Curves failed</dt><dd>1</dd>"));
    }

    #[test]
    fn flagged_curves_come_first_and_link_their_rows() {
        let html = render(&sample_results());
        let (summary, flagged, results) = (
            html.find("<section id=\"summary\">").expect("summary"),
            html.find("<section id=\"flagged\">").expect("flagged"),
            html.find("<section id=\"results\">").expect("results"),
        );
        assert!(summary < flagged && flagged < results);
        assert!(html.contains("<a href=\"#c-2\">mianserin</a>"), "links the row");
        assert!(html.contains("<tr id=\"c-2\" class=\"flagged\">"));
        // The navigation lists the sections there are, and no other.
        let nav = &html[html.find("<nav>").unwrap()..html.find("</nav>").unwrap()];
        assert!(nav.contains("#flagged") && !nav.contains("#compounds"), "{nav}");
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
