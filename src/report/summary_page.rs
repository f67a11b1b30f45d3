//! Writes a [`Summary`]: `summary.csv`/`.parquet` (pooled per compound and target),
//! `experiments.csv`/`.parquet` (every experiment's value), `references.csv`/`.parquet` (the
//! reference compounds' control history), the control charts under `figures/` (SVG and PNG)
//! and `summary.html`, one self-contained page with the charts inlined.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::FigureRef;
use super::figures::{ChartSeries, ControlChart, write_figure};
use super::summary::{ExperimentValue, ReferenceHistory, Summary, SummaryRow};
use super::tables::{Col, num, write_table};
use super::text::{escape, figure_block};
use crate::units::{format_conc_nm, safe_name};

/// The x coordinate of an assay date: its day number (NaN when not a date).
fn day(date: &str) -> f64 {
    crate::radioactivity::day_number(date).map_or(f64::NAN, |d| d as f64)
}

/// Writes every file of the summary into `dir` (created when missing); returns the files.
///
/// # Errors
/// When a file cannot be written.
pub fn write_summary(s: &Summary, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir.join("figures"))
        .with_context(|| format!("creating {}", dir.display()))?;
    write_table(dir, "summary", s.rows.len(), summary_columns(s))?;
    write_table(dir, "experiments", s.experiments.len(), experiment_columns(&s.experiments))?;
    let refs: Vec<(&ReferenceHistory, usize)> =
        s.references.iter().flat_map(|h| (0..h.points.len()).map(move |i| (h, i))).collect();
    write_table(dir, "references", refs.len(), reference_columns(&refs))?;
    let mut figures = Vec::new();
    let mut problems = Vec::new();
    for (i, h) in s.references.iter().enumerate() {
        let stem = format!("{:03}_levey_jennings_{}", i + 1, safe_name(&h.target));
        match write_figure(&levey_jennings(h), dir, "figures", &stem, &h.target, Some(1.0)) {
            Ok(f) => figures.push(f),
            Err(e) => problems.push(e),
        }
    }
    let mut qc_figures = Vec::new();
    for (stem, fig) in qc_charts(s) {
        match write_figure(&fig, dir, "figures", stem, stem, Some(1.0)) {
            Ok(f) => qc_figures.push(f),
            Err(e) => problems.push(e),
        }
    }
    let html = page(s, &figures, &qc_figures, &problems);
    let p = dir.join("summary.html");
    std::fs::write(&p, html).with_context(|| format!("writing {}", p.display()))?;
    let mut written: Vec<PathBuf> = ["summary", "experiments", "references"]
        .iter()
        .flat_map(|t| [format!("{t}.csv"), format!("{t}.parquet")])
        .map(|f| dir.join(f))
        .collect();
    written.push(p);
    if let Some(e) = problems.first() {
        anyhow::bail!("{} figure(s) could not be written: {e}", problems.len());
    }
    Ok(written)
}

/// The Levey-Jennings chart of a target's reference compound.
#[must_use]
pub fn levey_jennings(h: &ReferenceHistory) -> ControlChart {
    let points: Vec<(f64, f64, bool)> =
        h.points.iter().map(|p| (day(&p.2), p.4.value, !p.4.accepted)).collect();
    let rejected = h.points.iter().filter(|p| !p.4.accepted).count();
    let subtitle = match h.limits {
        Some((m, sd)) => format!(
            "mean {m:.2}, SD {sd:.3}, MSR {:.2} \u{b7} {} run(s), {rejected} rejected",
            h.msr,
            h.points.len()
        ),
        None => format!("{} run(s): too few accepted for limits", h.points.len()),
    };
    ControlChart {
        title: format!("{}: {} (reference)", h.target, h.compound),
        subtitle,
        y_desc: h.measure.to_string(),
        series: vec![ChartSeries { name: h.target.clone(), points }],
        limits: h.limits,
        threshold: None,
        x_labels: h.points.iter().map(|p| (day(&p.2), p.2.clone())).collect(),
    }
}

/// Plate-QC trends, one line per target, each point the mean over a run's plates of the
/// target: Z′ and signal/background (with their acceptance lines, points below them marked),
/// mean total-binding and mean NSB counts (CPM).
fn qc_charts(s: &Summary) -> Vec<(&'static str, ControlChart)> {
    let mut targets: Vec<&str> =
        s.runs.iter().flat_map(|r| r.plates.iter().map(|p| p.target.as_str())).collect();
    targets.sort_unstable();
    targets.dedup();
    let series = |f: fn(&super::summary::RecordedPlate) -> f64, min: f64| -> Vec<ChartSeries> {
        targets
            .iter()
            .map(|t| ChartSeries {
                name: (*t).to_string(),
                points: s
                    .runs
                    .iter()
                    .filter_map(|r| {
                        let v: Vec<f64> = r
                            .plates
                            .iter()
                            .filter(|p| p.target == *t)
                            .map(f)
                            .filter(|v| v.is_finite())
                            .collect();
                        (!v.is_empty()).then(|| {
                            let m = v.iter().sum::<f64>() / v.len() as f64;
                            (day(&r.date), m, m < min)
                        })
                    })
                    .collect(),
            })
            .filter(|c| !c.points.is_empty())
            .collect()
    };
    let labels: Vec<(f64, String)> =
        s.runs.iter().map(|r| (day(&r.date), r.date.clone())).collect();
    let chart = |title: &str, y: &str, series, threshold: Option<(f64, &str)>| ControlChart {
        title: title.to_string(),
        subtitle: "mean over each run's plates of the target".into(),
        y_desc: y.to_string(),
        series,
        limits: None,
        threshold: threshold.map(|t| (t.0, t.1.to_string())),
        x_labels: labels.clone(),
    };
    let charts = vec![
        (
            "qc_z_prime",
            chart(
                "Plate QC: Z\u{2032} per run",
                "Z\u{2032}",
                series(|p| p.z_prime, 0.5),
                Some((0.5, "0.5")),
            ),
        ),
        (
            "qc_signal_to_background",
            chart(
                "Plate QC: signal/background per run",
                "S/B",
                series(|p| p.signal_to_background, 3.0),
                Some((3.0, "3")),
            ),
        ),
        (
            "qc_total_cpm",
            chart(
                "Plate QC: total binding per run",
                "mean total (CPM)",
                series(|p| p.total_cpm, f64::NEG_INFINITY),
                None,
            ),
        ),
        (
            "qc_nsb_cpm",
            chart(
                "Plate QC: non-specific binding per run",
                "mean NSB (CPM)",
                series(|p| p.nsb_cpm, f64::NEG_INFINITY),
                None,
            ),
        ),
    ];
    // A chart without any value (e.g. no Z′ in saturation runs) is left out.
    charts.into_iter().filter(|c| !c.1.series.is_empty()).collect()
}

fn summary_columns(s: &Summary) -> Vec<Col> {
    let r = &s.rows;
    let st = |f: &dyn Fn(&SummaryRow) -> String| {
        r.iter().map(|x| Some(f(x)).filter(|v| !v.is_empty())).collect()
    };
    let pooled = |f: &dyn Fn(&super::history::Pooled) -> f64| {
        r.iter().map(|x| x.pooled.and_then(|p| num(f(&p)))).collect()
    };
    let geo = |f: &dyn Fn((f64, (f64, f64))) -> f64| {
        r.iter().map(|x| num(f(x.geometric_mean_nm()))).collect()
    };
    let count = |f: &dyn Fn(&SummaryRow) -> usize| r.iter().map(|x| Some(f(x) as u64)).collect();
    let msr =
        |x: &SummaryRow| s.spread.iter().find(|t| t.target == x.target).map_or(f64::NAN, |t| t.msr);
    let values = |x: &SummaryRow| {
        s.experiments
            .iter()
            .filter(|e| e.target == x.target && e.compound == x.compound)
            .map(|e| {
                let mark = if e.disagrees { " (disagrees)" } else { "" };
                let ex = if e.excluded.is_empty() {
                    String::new()
                } else {
                    format!(" [excluded: {}]", e.excluded)
                };
                format!("{}: {}{:.2}{mark}{ex} ({})", e.experiment, e.censor.mark(), e.value, e.run)
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    vec![
        Col::Str("target", st(&|x| x.target.clone())),
        Col::Str("compound", st(&|x| x.compound.clone())),
        Col::Str("measure", st(&|x| x.measure.to_string())),
        Col::U64("n_experiments", count(&|x| x.n_experiments())),
        Col::U64("n_pooled", count(&|x| x.pooled.map_or(0, |p| p.n))),
        Col::U64("n_censored", count(&|x| x.censored.len())),
        Col::Str("censored", st(&SummaryRow::censored_text)),
        Col::U64("n_excluded", count(&|x| x.n_excluded)),
        Col::F64("mean", pooled(&|p| p.mean)),
        Col::F64("sd", pooled(&|p| p.sd)),
        Col::F64("sem", pooled(&|p| p.sem)),
        Col::F64("ci_low", pooled(&|p| p.ci.0)),
        Col::F64("ci_high", pooled(&|p| p.ci.1)),
        Col::Str("qualifier", st(&|x| x.bound.map_or(String::new(), |b| b.0.mark().to_string()))),
        Col::F64(
            "geomean_nM",
            r.iter()
                .map(|x| x.bound.map_or_else(|| num(x.geometric_mean_nm().0), |b| num(b.1)))
                .collect(),
        ),
        Col::F64("geomean_ci_low_nM", geo(&|g| g.1.0)),
        Col::F64("geomean_ci_high_nM", geo(&|g| g.1.1)),
        Col::F64("target_msr", r.iter().map(|x| num(msr(x))).collect()),
        Col::Str("flags", st(&|x| x.flags.join(";"))),
        Col::Str("experiments", st(&values)),
    ]
}

fn experiment_columns(e: &[ExperimentValue]) -> Vec<Col> {
    let st = |f: &dyn Fn(&ExperimentValue) -> String| {
        e.iter().map(|x| Some(f(x)).filter(|v| !v.is_empty())).collect()
    };
    vec![
        Col::Str("target", st(&|x| x.target.clone())),
        Col::Str("compound", st(&|x| x.compound.clone())),
        Col::Str("experiment_id", st(&|x| x.experiment.clone())),
        Col::Str("run", st(&|x| x.run.clone())),
        Col::Str("assay_date", st(&|x| x.date.clone())),
        Col::Str("measure", st(&|x| x.measure.to_string())),
        Col::Str("qualifier", st(&|x| x.censor.mark().to_string())),
        Col::F64("value", e.iter().map(|x| num(x.value)).collect()),
        Col::Bool("disagrees", e.iter().map(|x| x.disagrees).collect()),
        Col::Str("excluded", st(&|x| x.excluded.clone())),
    ]
}

fn reference_columns(r: &[(&ReferenceHistory, usize)]) -> Vec<Col> {
    let st = |f: &dyn Fn(&ReferenceHistory, usize) -> String| {
        r.iter().map(|(h, i)| Some(f(h, *i)).filter(|v| !v.is_empty())).collect()
    };
    let f = |g: &dyn Fn(&ReferenceHistory, usize) -> f64| {
        r.iter().map(|(h, i)| num(g(h, *i))).collect()
    };
    let lim = |h: &ReferenceHistory, i: usize| h.points[i].4.limits;
    vec![
        Col::Str("target", st(&|h, _| h.target.clone())),
        Col::Str("compound", st(&|h, _| h.compound.clone())),
        Col::Str("run", st(&|h, i| h.points[i].0.clone())),
        Col::Str("experiment_id", st(&|h, i| h.points[i].1.clone())),
        Col::Str("assay_date", st(&|h, i| h.points[i].2.clone())),
        Col::Str("measure", st(&|h, _| h.measure.to_string())),
        Col::F64("value", f(&|h, i| h.points[i].4.value)),
        Col::F64("history_mean", f(&|h, i| lim(h, i).map_or(f64::NAN, |l| l.0))),
        Col::F64("history_sd", f(&|h, i| lim(h, i).map_or(f64::NAN, |l| l.1))),
        Col::Str("westgard", st(&|h, i| h.points[i].4.rule.map_or("", |r| r.name()).to_string())),
        Col::Bool("run_flagged", r.iter().map(|(h, i)| h.points[*i].3).collect()),
        Col::Bool("accepted", r.iter().map(|(h, i)| h.points[*i].4.accepted).collect()),
    ]
}

/// A CI for a table cell, `lo–hi`; one dash when it is not defined.
fn range(ci: (f64, f64), show: &dyn Fn(f64) -> String) -> String {
    if ci.0.is_finite() && ci.1.is_finite() {
        format!("{}\u{2013}{}", show(ci.0), show(ci.1))
    } else {
        "\u{2013}".to_string()
    }
}

/// The summary page: pooled table, reference control charts, QC trends.
fn page(s: &Summary, lj: &[FigureRef], qc: &[FigureRef], problems: &[String]) -> String {
    let mut h = String::with_capacity(64 * 1024);
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>radbind assay history</title>\n<style>{}td.nowrap{{white-space:nowrap}}</style>\n</head>\n<body>\n<main>\n\
         <header><h1>Assay history</h1><p>{} run(s), {} experiment value(s) \u{b7} mean of \
         log potencies of independent experiments, SEM and 95 % CI (t) \u{b7} radbind {}</p>\
         </header>\n",
        super::html::CSS,
        s.runs.len(),
        s.experiments.len(),
        env!("CARGO_PKG_VERSION")
    );
    for p in problems {
        let _ = writeln!(h, "<p class=\"alert\">{}</p>", escape(p));
    }
    h.push_str("<section id=\"pooled\"><h2>Pooled potencies</h2>\n<table>\n<thead><tr>");
    for c in [
        "Target",
        "Compound",
        "Measure",
        "n pooled",
        "Mean",
        "SD",
        "SEM",
        "95 % CI",
        "Geo. mean",
        "95 % CI (nM)",
        "Censored",
        "Excluded",
        "Flags",
    ] {
        let _ = write!(h, "<th>{c}</th>");
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    let f2 = |v: f64| if v.is_finite() { format!("{v:.2}") } else { "\u{2013}".into() };
    for r in &s.rows {
        let p = r.pooled;
        let (geo, ci) = r.geometric_mean_nm();
        let geo_text = match r.bound {
            Some((c, b)) => format!("{} {}", c.mark(), format_conc_nm(b)),
            None => format_conc_nm(geo),
        };
        let class = if r.flags.iter().any(|f| f == "disagreeing_experiment") {
            " class=\"alert\""
        } else {
            ""
        };
        let _ = writeln!(
            h,
            "<tr{class}><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td>{}</td><td class=\"nowrap\">{}</td><td>{}</td><td class=\"nowrap\">{}</td><td>{}</td>\
             <td>{}</td><td>{}</td></tr>",
            escape(&r.target),
            escape(&r.compound),
            r.measure,
            p.map_or(0, |p| p.n),
            f2(p.map_or(f64::NAN, |p| p.mean)),
            f2(p.map_or(f64::NAN, |p| p.sd)),
            f2(p.map_or(f64::NAN, |p| p.sem)),
            range(p.map_or((f64::NAN, f64::NAN), |p| p.ci), &f2),
            escape(&geo_text),
            escape(&range(ci, &|v| format_conc_nm(v))),
            escape(&r.censored_text()),
            r.n_excluded,
            escape(&r.flags.join(", ")),
        );
    }
    h.push_str(
        "</tbody></table>\n<p>Per-experiment values with their runs: experiments.csv. \
                Disagreeing: farther from the mean of the other experiments than \
                t(1 \u{2212} 0.05/(2n), df) s \u{221a}(1 + 1/(n \u{2212} 1)), s the target's \
                between-experiment SD without that experiment (Bonferroni over the n \
                experiments: a row of agreeing experiments is flagged at most 5 % of the \
                time; MSR = 10^(2\u{221a}2 s), Eastwood et al. 2006).</p>\n",
    );
    h.push_str(
        "<table>\n<thead><tr><th>Target</th><th>Between-experiment SD</th><th>df</th>\
                <th>MSR</th></tr></thead>\n<tbody>\n",
    );
    for t in &s.spread {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            escape(&t.target),
            f2(t.sd),
            t.df,
            f2(t.msr)
        );
    }
    h.push_str(
        "</tbody></table>\n</section>\n<section id=\"references\"><h2>Reference compounds</h2>\n",
    );
    for (hist, fig) in s.references.iter().zip(lj) {
        let rejected: Vec<String> = hist
            .points
            .iter()
            .filter(|p| !p.4.accepted)
            .map(|p| {
                let why = p.4.rule.map_or("run flagged reference_out_of_range", |r| r.name());
                format!("{} ({}, {why})", p.0, p.2)
            })
            .collect();
        let caption = format!(
            "{}: {} \u{b7} MSR {} \u{b7} rejected: {}",
            hist.target,
            hist.compound,
            f2(hist.msr),
            if rejected.is_empty() { "none".to_string() } else { rejected.join(", ") }
        );
        figure_block(&mut h, fig, &caption);
    }
    h.push_str("</section>\n<section id=\"qc\"><h2>Plate QC trends</h2>\n");
    for fig in qc {
        figure_block(&mut h, fig, &fig.key);
    }
    h.push_str("</section>\n</main>\n</body>\n</html>\n");
    h
}
