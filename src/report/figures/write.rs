//! Writes every figure of a run into the staging directory, in parallel, through the one
//! [`Figure`](super::Figure) path ([`write_figure`]): the curve and residual figure of each
//! curve, the target and compound overlays, the plate heat maps, the selectivity map and the
//! saturation figures. Returns where each went for the reports; a figure that fails is listed,
//! not an error.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use rayon::prelude::*;

use super::{
    CurveFigure, HeatValue, OverlayFigure, PlateHeatMap, ResidualFigure, SaturationFigure,
    SelectivityFigure, colour_index, compound_letters, overlay_label, palette_colour,
    plate_compounds, write_figure,
};
use crate::config::CurveFigures;
use crate::derive::rows::{PlateRow, RunResults, TargetRow, WellRow};
use crate::report::plots::plot_file_stem;
use crate::report::{
    FigureOptions, FigureRef, INLINE_CURVE_LIMIT, INLINE_PLATE_LIMIT, MAX_FIGURE_SERIES,
    ReportFigures, ReportOutcome, markdown, selectivity,
};
use crate::saturation::SaturationRow;

/// A figure other than a curve, to render in parallel.
enum Job<'a> {
    Target(usize, &'a TargetRow),
    Compound(usize, &'a str),
    Heat(usize, &'a PlateRow, HeatValue),
    Selectivity,
    Saturation(usize, &'a SaturationRow),
}

/// Curve figure (inline SVG or empty, link) and residual figure (link, or why it failed) of
/// one curve.
type Rendered = Result<(String, String, Result<Option<String>, String>), String>;

/// Draws every figure of `results` into `dir` (`plots/`, `residuals/`, `figures/`, `qc/`
/// must exist) as [`super::super::write_report`] documents; `done` is called after each curve.
/// The outcome counts the figures and lists the failures.
pub(in crate::report) fn write_figures(
    results: &RunResults,
    dir: &Path,
    fig_opts: FigureOptions,
    done: &(dyn Fn() + Sync),
) -> (ReportFigures, ReportOutcome) {
    let mut outcome = ReportOutcome::default();
    let mut figs = ReportFigures::default();
    let png_scale = fig_opts.png.then_some(fig_opts.png_scale);
    curve_figures(results, dir, fig_opts, png_scale, done, &mut figs, &mut outcome);
    let targets = markdown::targets_in_order(results);
    let colours = colour_index(results.curves.iter().map(|c| c.compound.as_str()));
    let compounds: Vec<&str> = colours.keys().map(String::as_str).collect();
    let jobs = if fig_opts.draw {
        jobs(results, &targets, &compounds, fig_opts.curves)
    } else {
        Vec::new()
    };
    let extra = render_jobs(results, dir, png_scale, &jobs, &targets, &colours);
    let mut heat_cpm: Vec<FigureRef> = Vec::new();
    for (job, (name, r)) in jobs.iter().zip(extra) {
        let f = match r {
            Ok(f) => {
                outcome.extra_figures += 1;
                f
            }
            Err(e) => {
                outcome.figure_failures.push((name, e));
                FigureRef::default()
            }
        };
        match job {
            Job::Target(_, t) => {
                figs.target_overlays.push(FigureRef { key: t.target.clone(), ..f });
            }
            Job::Compound(_, c) => {
                figs.compound_overlays.push(FigureRef { key: (*c).to_string(), ..f });
            }
            Job::Heat(_, p, value) => {
                let f = FigureRef { key: p.plate.clone(), ..f };
                match value {
                    HeatValue::Cpm => heat_cpm.push(f),
                    HeatValue::PctSpecific => {
                        let cpm = heat_cpm.pop().unwrap_or_default();
                        figs.heatmaps.push((cpm, f));
                    }
                }
            }
            Job::Selectivity => figs.selectivity = Some(f),
            Job::Saturation(_, r) => figs.saturation.push(FigureRef { key: r.target.clone(), ..f }),
        }
    }
    (figs, outcome)
}

/// The curve and residual figure of every curve, in parallel; results in curve order.
fn curve_figures(
    results: &RunResults,
    dir: &Path,
    fig_opts: FigureOptions,
    png_scale: Option<f64>,
    done: &(dyn Fn() + Sync),
    figs: &mut ReportFigures,
    outcome: &mut ReportOutcome,
) {
    let inline = results.curves.len() <= INLINE_CURVE_LIMIT;
    let rendered: Vec<Rendered> = if fig_opts.draw {
        results
            .curves
            .par_iter()
            .enumerate()
            .map(|(i, c)| {
                if !curve_drawn(fig_opts.curves, c) {
                    return Err(String::new());
                }
                let stem = plot_file_stem(&c.target, &c.compound, i + 1);
                let fig = CurveFigure { curve: c, style: fig_opts.style };
                let f = write_figure(&fig, dir, "plots", &stem, &c.compound, png_scale)?;
                let link = f.png_path.or(f.svg_path).unwrap_or_default();
                let residual = write_figure(
                    &ResidualFigure { curve: c },
                    dir,
                    "residuals",
                    &format!("{stem}_residuals"),
                    &c.compound,
                    png_scale,
                )
                .map(|f| f.png_path.or(f.svg_path));
                done();
                let svg = if inline { f.svg.unwrap_or_default() } else { String::new() };
                Ok((svg, link, residual))
            })
            .collect()
    } else {
        results.curves.iter().map(|_| Err("figures: none".to_string())).collect()
    };
    for (r, c) in rendered.into_iter().zip(&results.curves) {
        match r {
            Ok((svg, png, residual)) => {
                outcome.figures += 1;
                figs.curve_svgs.push(Some(svg).filter(|s| !s.is_empty()));
                figs.curve_pngs.push(Some(png));
                figs.residual_pngs.push(residual.unwrap_or_else(|e| {
                    outcome
                        .figure_failures
                        .push((format!("residuals {} / {}", c.target, c.compound), e));
                    None
                }));
            }
            Err(e) => {
                if fig_opts.draw && !e.is_empty() {
                    outcome.figure_failures.push((format!("{} / {}", c.target, c.compound), e));
                }
                figs.curve_svgs.push(None);
                figs.curve_pngs.push(None);
                figs.residual_pngs.push(None);
            }
        }
    }
}

/// Whether a curve gets its figures under `report.curve_figures` (`flagged`: flagged or failed
/// curves; `auto` is resolved before, here it draws all).
fn curve_drawn(which: CurveFigures, c: &crate::derive::rows::CurveRow) -> bool {
    match which {
        CurveFigures::Auto | CurveFigures::All => true,
        CurveFigures::Flagged => c.is_flagged() || c.is_failed(),
        CurveFigures::None => false,
    }
}

/// Whether a plate gets its heat maps under `report.curve_figures` (`flagged`: plates with
/// QC flags).
fn plate_drawn(which: CurveFigures, p: &PlateRow) -> bool {
    match which {
        CurveFigures::Auto | CurveFigures::All => true,
        CurveFigures::Flagged => !p.flags.is_empty(),
        CurveFigures::None => false,
    }
}

/// The figures other than curves, in the order the reports list them.
fn jobs<'a>(
    results: &'a RunResults,
    targets: &'a [TargetRow],
    compounds: &[&'a str],
    which: CurveFigures,
) -> Vec<Job<'a>> {
    let mut per_compound: HashMap<&str, usize> = HashMap::new();
    for c in &results.curves {
        *per_compound.entry(c.compound.as_str()).or_default() += 1;
    }
    let multi_target: Vec<&str> = compounds
        .iter()
        .copied()
        .filter(|c| per_compound.get(c).copied().unwrap_or(0) >= 2)
        .collect();
    let mut jobs: Vec<Job<'_>> = Vec::new();
    // Every target gets its overlay, however many compounds (panels beyond ten; the figure
    // says what it leaves out).
    jobs.extend(targets.iter().enumerate().map(|(i, t)| Job::Target(i, t)));
    jobs.extend(multi_target.into_iter().enumerate().map(|(i, c)| Job::Compound(i, c)));
    for (i, p) in results.plates.iter().enumerate().filter(|(_, p)| plate_drawn(which, p)) {
        jobs.push(Job::Heat(i, p, HeatValue::Cpm));
        jobs.push(Job::Heat(i, p, HeatValue::PctSpecific));
    }
    // The pKi map shows the rows of the Ki matrix, while they stay readable.
    let rows = selectivity::matrix_rows(&results.curves).shown.len();
    if rows > 0
        && rows <= MAX_FIGURE_SERIES * 4
        && results.curves.iter().any(crate::derive::rows::CurveRow::has_ki)
    {
        jobs.push(Job::Selectivity);
    }
    jobs.extend(results.saturation.iter().enumerate().map(|(i, r)| Job::Saturation(i, r)));
    jobs
}

/// Renders the jobs in parallel: (name for a failure, the figure) in job order.
fn render_jobs(
    results: &RunResults,
    dir: &Path,
    png_scale: Option<f64>,
    jobs: &[Job<'_>],
    targets: &[TargetRow],
    colours: &BTreeMap<String, usize>,
) -> Vec<(String, Result<FigureRef, String>)> {
    let target_colours = colour_index(targets.iter().map(|t| t.target.as_str()));
    // Wells by plate, grouped once (a scan of all wells per heat map is quadratic in plates).
    let mut wells_of: HashMap<&str, Vec<&WellRow>> = HashMap::new();
    for w in &results.wells {
        wells_of.entry(w.plate.as_str()).or_default().push(w);
    }
    // The response of a target's assay, as its curves say it.
    let response_of = |target: &str| {
        results
            .curves
            .iter()
            .find(|c| c.target == target)
            .map_or("% specific binding", |c| c.response_label)
    };
    let colour_of =
        |m: &BTreeMap<String, usize>, k: &str| palette_colour(m.get(k).copied().unwrap_or(0));
    // Heat maps of a large run are linked, not inlined: their SVG text is dropped as each is
    // written, not held until all are drawn.
    let inline_plates = results.plates.len() <= INLINE_PLATE_LIMIT;
    jobs.par_iter()
        .map(|job| match job {
            Job::Target(i, t) => {
                let series = results
                    .curves
                    .iter()
                    .filter(|c| c.target == t.target)
                    .map(|c| (overlay_label(&c.compound, c), colour_of(colours, &c.compound), c))
                    .collect();
                let fig = OverlayFigure {
                    title: t.target.clone(),
                    subtitle: crate::report::text::ligand_text(t),
                    series,
                };
                let stem = plot_file_stem("target", &t.target, i + 1);
                (
                    format!("overlay {}", t.target),
                    write_figure(&fig, dir, "figures", &stem, &t.target, png_scale),
                )
            }
            Job::Compound(i, name) => {
                let series = results
                    .curves
                    .iter()
                    .filter(|c| c.compound == *name)
                    .map(|c| {
                        (overlay_label(&c.target, c), colour_of(&target_colours, &c.target), c)
                    })
                    .collect();
                let fig = OverlayFigure {
                    title: (*name).to_string(),
                    subtitle: "across targets".to_string(),
                    series,
                };
                let stem = plot_file_stem("compound", name, i + 1);
                (
                    format!("overlay {name}"),
                    write_figure(&fig, dir, "figures", &stem, name, png_scale),
                )
            }
            Job::Heat(i, p, value) => {
                let wells = wells_of.get(p.plate.as_str()).cloned().unwrap_or_default();
                // Letters per plate, as `validate` prints them.
                let letters = compound_letters(plate_compounds(&wells));
                let fig = PlateHeatMap {
                    plate: p,
                    wells,
                    value: *value,
                    letters: &letters,
                    response_label: response_of(&p.target),
                };
                let kind = match value {
                    HeatValue::Cpm => "cpm",
                    HeatValue::PctSpecific => "pct",
                };
                let stem = plot_file_stem(&p.plate, kind, i + 1);
                let f = write_figure(&fig, dir, "qc", &stem, &p.plate, png_scale);
                let f = f.map(|f| FigureRef { svg: f.svg.filter(|_| inline_plates), ..f });
                (format!("heat map {}", p.plate), f)
            }
            Job::Selectivity => {
                let fig = SelectivityFigure {
                    curves: &results.curves,
                    targets: targets.iter().map(|t| t.target.clone()).collect(),
                    compounds: selectivity::matrix_rows(&results.curves)
                        .shown
                        .iter()
                        .map(|c| (*c).to_string())
                        .collect(),
                };
                (
                    "selectivity".to_string(),
                    write_figure(&fig, dir, "figures", "selectivity", "selectivity", png_scale),
                )
            }
            Job::Saturation(i, r) => {
                let fig = SaturationFigure { row: r };
                let stem = plot_file_stem("saturation", &r.target, i + 1);
                (
                    format!("saturation {}", r.target),
                    write_figure(&fig, dir, "figures", &stem, &r.target, png_scale),
                )
            }
        })
        .collect()
}
