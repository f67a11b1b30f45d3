//! The "Primary screen" report section (HTML and Markdown) and its figures: the hit table
//! first, then per plate the % inhibition map with the hits outlined, the plate-QC table,
//! and the distribution of % inhibition per plate. Empty when the run has no primary wells.

use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;

use super::figures::primary::{InhibitionMap, InhibitionStrip};
use super::figures::write_figure;
use super::text::{escape, figure_block, link_target, md, table_row};
use super::{FigureOptions, FigureRef, INLINE_PLATE_LIMIT, ReportOutcome};
use crate::config::HitRule;
use crate::derive::primary::PrimaryRow;
use crate::derive::rows::{PlateRow, RunResults};
use crate::types::WellPos;
use crate::units::{NOT_DETERMINED, format_conc_nm};

/// Above this many hits the report lists the strongest and points to `hits.csv`.
pub const HIT_TABLE_LIMIT: usize = 500;

/// The primary-screen figures of a run.
#[derive(Debug, Clone, Default)]
pub struct PrimaryFigures {
    /// Per primary plate, its % inhibition map (plate order).
    pub maps: Vec<FigureRef>,
    /// Per target, the % inhibition of its compounds plate by plate.
    pub strips: Vec<FigureRef>,
}

fn num(v: f64, digits: usize) -> String {
    if v.is_finite() {
        format!("{v:.digits$}").replace('-', "\u{2212}")
    } else {
        NOT_DETERMINED.to_string()
    }
}

/// The primary plates in order, each with its rows.
fn plates(rows: &[PrimaryRow]) -> Vec<(&str, Vec<&PrimaryRow>)> {
    let mut out: Vec<(&str, Vec<&PrimaryRow>)> = Vec::new();
    for r in rows {
        match out.last_mut() {
            Some((p, v)) if *p == r.plate => v.push(r),
            _ => out.push((r.plate.as_str(), vec![r])),
        }
    }
    out
}

/// Draws the primary figures into `dir/qc` (maps) and `dir/figures` (distributions), in
/// parallel, results in plate and target order; failures go to `outcome`.
pub fn write_figures(
    results: &RunResults,
    dir: &Path,
    opts: FigureOptions,
    outcome: &mut ReportOutcome,
) -> PrimaryFigures {
    let rows = &results.primary.rows;
    if rows.is_empty() || !opts.draw {
        return PrimaryFigures::default();
    }
    let png = opts.png.then_some(opts.png_scale);
    let by_plate = plates(rows);
    let inline = by_plate.len() <= INLINE_PLATE_LIMIT;
    let maps: Vec<(String, Result<FigureRef, String>)> = by_plate
        .par_iter()
        .enumerate()
        .map(|(k, (plate, prow))| {
            let wells: Vec<_> = results.wells.iter().filter(|w| w.plate == *plate).collect();
            let (mut nr, mut nc) = (8usize, 12usize);
            for w in &wells {
                if let Some(p) = WellPos::parse(&w.well) {
                    nr = nr.max(usize::from(p.row) + 1);
                    nc = nc.max(usize::from(p.col) + 1);
                }
            }
            let fig = InhibitionMap {
                plate,
                target: &prow[0].target,
                wells,
                rows: prow.clone(),
                shape: (nr, nc),
            };
            let stem = format!("{:03}_{}_inhibition", k + 1, crate::units::safe_name(plate));
            let r = write_figure(&fig, dir, "qc", &stem, plate, png).map(|mut f| {
                if !inline {
                    f.svg = None;
                }
                f
            });
            (format!("% inhibition map {plate}"), r)
        })
        .collect();
    let mut targets: Vec<&str> = rows.iter().map(|r| r.target.as_str()).collect();
    targets.sort_unstable();
    targets.dedup();
    let threshold = (results.primary.screen.rule != HitRule::RobustZ)
        .then_some(results.primary.screen.min_inhibition_pct);
    let strips: Vec<(String, Result<FigureRef, String>)> = targets
        .par_iter()
        .enumerate()
        .map(|(k, t)| {
            let fig = InhibitionStrip {
                target: t,
                rows: rows.iter().filter(|r| r.target == *t).collect(),
                threshold,
            };
            let stem = format!("primary_{:03}_{}", k + 1, crate::units::safe_name(t));
            (
                format!("% inhibition distribution {t}"),
                write_figure(&fig, dir, "figures", &stem, t, png),
            )
        })
        .collect();
    let mut out = PrimaryFigures::default();
    for (into, list) in [(&mut out.maps, maps), (&mut out.strips, strips)] {
        for (name, r) in list {
            match r {
                Ok(f) => {
                    outcome.extra_figures += 1;
                    into.push(f);
                }
                Err(e) => {
                    outcome.figure_failures.push((name, e));
                    into.push(FigureRef::default());
                }
            }
        }
    }
    out
}

const HIT_HEAD: [&str; 11] = [
    "Compound",
    "Target",
    "Plate",
    "Barcode",
    "Wells",
    "% inhibition",
    "SD (%SB)",
    "n",
    "Robust z",
    "CV%",
    "Flags",
];

fn hit_cells(r: &PrimaryRow) -> Vec<String> {
    vec![
        r.compound.clone(),
        r.target.clone(),
        r.plate.clone(),
        r.barcode.clone(),
        match (r.wells.first(), r.wells.last()) {
            (Some(a), Some(b)) if a != b => format!("{a}\u{2013}{b}"),
            (Some(a), _) => a.clone(),
            _ => String::new(),
        },
        num(r.pct_inhibition, 1),
        num(r.sd_pct_specific, 1),
        r.n.to_string(),
        num(r.robust_z, 1),
        num(r.cv_pct, 1),
        r.flags.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
    ]
}

/// The hits, strongest first (ties in plate and block order).
fn hits(rows: &[PrimaryRow]) -> Vec<&PrimaryRow> {
    let mut h: Vec<&PrimaryRow> = rows.iter().filter(|r| r.hit).collect();
    h.sort_by(|a, b| b.pct_inhibition.total_cmp(&a.pct_inhibition));
    h
}

const QC_HEAD: [&str; 9] = [
    "Plate",
    "Target",
    "Compounds",
    "Hits",
    "Median % inhibition",
    "Z\u{2032}",
    "S/B",
    "CV% total / NSB",
    "QC",
];

fn qc_cells(plate: &str, rows: &[&PrimaryRow], plate_rows: &[PlateRow]) -> Vec<String> {
    let p = plate_rows.iter().find(|p| p.plate == plate);
    let mut inh: Vec<f64> =
        rows.iter().map(|r| r.pct_inhibition).filter(|v| v.is_finite()).collect();
    inh.sort_by(f64::total_cmp);
    let median = match inh.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => inh[n / 2],
        n => 0.5 * (inh[n / 2 - 1] + inh[n / 2]),
    };
    vec![
        plate.to_string(),
        rows[0].target.clone(),
        rows.len().to_string(),
        rows.iter().filter(|r| r.hit).count().to_string(),
        num(median, 1),
        num(rows[0].z_prime, 2),
        p.map_or(NOT_DETERMINED.to_string(), |p| num(p.signal_to_background, 1)),
        p.map_or(NOT_DETERMINED.to_string(), |p| {
            format!("{} / {}", num(p.total_cv_pct, 1), num(p.nsb_cv_pct, 1))
        }),
        if rows[0].plate_qc_pass { "pass".into() } else { "FAIL".into() },
    ]
}

fn intro(r: &RunResults) -> String {
    let rows = &r.primary.rows;
    let conc: Vec<String> = {
        let mut v: Vec<String> = rows
            .iter()
            .filter(|x| x.conc_nm.is_finite())
            .map(|x| format_conc_nm(x.conc_nm))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    format!(
        "{} compound result(s) on {} plate(s){}; hit when {}. % inhibition = 100 \u{2212} mean % \
         specific binding of the replicates; robust z = (x \u{2212} median) / (1.4826 MAD) over \
         the plate's compounds. Every result is in primary.csv, the hits in hits.csv and, as a \
         pick list with source plate and wells, followup.csv.",
        rows.len(),
        plates(rows).len(),
        if conc.is_empty() { String::new() } else { format!(" at {}", conc.join(", ")) },
        r.primary.rule_text()
    )
}

/// The HTML section; empty without primary rows.
#[must_use]
pub fn html_section(r: &RunResults, figs: &PrimaryFigures) -> String {
    let rows = &r.primary.rows;
    if rows.is_empty() {
        return String::new();
    }
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<section id=\"primary\">\n<h2>Primary screen</h2>\n<p class=\"note\">{}</p>",
        escape(&intro(r))
    );
    let hits = hits(rows);
    let _ = writeln!(h, "<h3>Hits ({})</h3>", hits.len());
    if hits.is_empty() {
        h.push_str("<p>No hits.</p>\n");
    } else {
        let head: String = HIT_HEAD.iter().map(|c| format!("<th>{}</th>", escape(c))).collect();
        let _ = writeln!(
            h,
            "<div class=\"scroll\"><table class=\"sortable\"><thead><tr>{head}</tr></thead><tbody>"
        );
        for x in hits.iter().take(HIT_TABLE_LIMIT) {
            let class = if x.flags.is_empty() { "" } else { " class=\"flagged\"" };
            let cells: String = hit_cells(x)
                .iter()
                .enumerate()
                .map(|(k, c)| {
                    let cls = if (5..=9).contains(&k) { " class=\"num\"" } else { "" };
                    format!("<td{cls}>{}</td>", escape(c))
                })
                .collect();
            let _ = writeln!(h, "<tr{class}>{cells}</tr>");
        }
        h.push_str("</tbody></table></div>\n");
        if hits.len() > HIT_TABLE_LIMIT {
            let _ = writeln!(
                h,
                "<p class=\"note\">The {HIT_TABLE_LIMIT} strongest of {} hits; all in hits.csv.</p>",
                hits.len()
            );
        }
    }
    if figs.maps.iter().any(|f| f.svg_path.is_some()) {
        h.push_str(
            "<h3>% inhibition by well</h3>\n<p class=\"note\">Each primary plate coloured by \
             % inhibition (100 \u{2212} % specific binding); the wells of each hit are outlined \
             and marked H.</p>\n",
        );
        for f in figs.maps.iter().filter(|f| f.svg_path.is_some()) {
            let _ = writeln!(
                h,
                "<details class=\"plate\"><summary>Plate {}</summary>\n<div class=\"grid\">",
                escape(&f.key)
            );
            figure_block(&mut h, f, &format!("{}: % inhibition", f.key));
            h.push_str("</div>\n</details>\n");
        }
    }
    h.push_str("<h3>Primary plate QC</h3>\n");
    let head: String = QC_HEAD.iter().map(|c| format!("<th>{}</th>", escape(c))).collect();
    let _ = writeln!(
        h,
        "<div class=\"scroll\"><table class=\"sortable\"><thead><tr>{head}</tr></thead><tbody>"
    );
    for (plate, prow) in plates(rows) {
        let class = if prow[0].plate_qc_pass { "" } else { " class=\"flagged\"" };
        let cells: String = qc_cells(plate, &prow, &r.plates)
            .iter()
            .enumerate()
            .map(|(k, c)| {
                let cls = if (2..=7).contains(&k) { " class=\"num\"" } else { "" };
                format!("<td{cls}>{}</td>", escape(c))
            })
            .collect();
        let _ = writeln!(h, "<tr{class}>{cells}</tr>");
    }
    h.push_str("</tbody></table></div>\n");
    if figs.strips.iter().any(|f| f.svg_path.is_some()) {
        h.push_str("<h3>Distribution of % inhibition</h3>\n<div class=\"grid\">\n");
        for f in figs.strips.iter().filter(|f| f.svg_path.is_some()) {
            figure_block(&mut h, f, &format!("{}: % inhibition per plate", f.key));
        }
        h.push_str("</div>\n");
    }
    h.push_str("</section>\n");
    h
}

/// The Markdown section; empty without primary rows.
#[must_use]
pub fn markdown_section(r: &RunResults, figs: &PrimaryFigures) -> String {
    let rows = &r.primary.rows;
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("## Primary screen\n\n");
    let _ = writeln!(out, "{}\n", md(&intro(r)));
    let table = |out: &mut String, head: &[&str], body: Vec<Vec<String>>| {
        out.push_str(&table_row(&head.iter().map(|c| md(c)).collect::<Vec<_>>()));
        out.push_str(&table_row(&head.iter().map(|_| "---".to_string()).collect::<Vec<_>>()));
        for b in body {
            out.push_str(&table_row(&b.iter().map(|c| md(c)).collect::<Vec<_>>()));
        }
        out.push('\n');
    };
    let hits = hits(rows);
    let _ = writeln!(out, "### Hits ({})\n", hits.len());
    if hits.is_empty() {
        out.push_str("No hits.\n\n");
    } else {
        table(
            &mut out,
            &HIT_HEAD,
            hits.iter().take(HIT_TABLE_LIMIT).map(|x| hit_cells(x)).collect(),
        );
    }
    for f in &figs.maps {
        if let Some(p) = &f.png_path {
            let _ = write!(out, "![Plate {}: % inhibition]({})\n\n", md(&f.key), link_target(p));
        }
    }
    out.push_str("### Primary plate QC\n\n");
    table(
        &mut out,
        &QC_HEAD,
        plates(rows).iter().map(|(p, v)| qc_cells(p, v, &r.plates)).collect(),
    );
    for f in &figs.strips {
        if let Some(p) = &f.png_path {
            let _ =
                write!(out, "![{}: % inhibition per plate]({})\n\n", md(&f.key), link_target(p));
        }
    }
    out
}
