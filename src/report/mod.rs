//! Report: everything radbind writes. Builds tables (CSV/Parquet via polars), figures
//! (plotters), the HTML and Markdown reports and the run manifest from one [`RunResults`].
//!
//! Only this stage writes files, and only into the staging directory it is given
//! (see `crate::output`).

pub mod assays;
pub mod figures;
pub mod html;
pub mod manifest;
pub mod markdown;
pub mod plots;
pub mod prism;
pub mod selectivity;
pub mod tables;

use std::path::Path;

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::derive::rows::{CurveRow, PlateRow, RunResults, TargetRow, WellRow};
use crate::saturation::SaturationRow;

/// What writing the report went through: figures that failed are listed, the rest is written.
#[derive(Debug, Default)]
pub struct ReportOutcome {
    /// Figures that could not be rendered: (curve or figure, message).
    pub figure_failures: Vec<(String, String)>,
    /// Number of curve figures written (SVG + PNG pairs).
    pub figures: usize,
    /// Number of other figures written (overlays, heat maps, selectivity; SVG + PNG pairs).
    pub extra_figures: usize,
    /// Prism files written, relative to the run directory.
    pub prism_files: Vec<String>,
}

/// A figure the reports show: inline SVG and the relative paths of its files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FigureRef {
    /// What it shows: a target, compound or plate id (user text, escape before use).
    pub key: String,
    /// The SVG document, for inlining.
    pub svg: Option<String>,
    /// Relative path of the SVG file.
    pub svg_path: Option<String>,
    /// Relative path of the PNG file.
    pub png_path: Option<String>,
}

/// Every figure of a run, as the HTML and Markdown reports use them. Curve vectors are in
/// the order of `RunResults::curves`.
#[derive(Debug, Clone, Default)]
pub struct ReportFigures {
    /// Inline SVG of each curve.
    pub curve_svgs: Vec<Option<String>>,
    /// Relative PNG path of each curve.
    pub curve_pngs: Vec<Option<String>>,
    /// Relative PNG path of each curve's residual plot.
    pub residual_pngs: Vec<Option<String>>,
    /// One overlay per target (all compounds), in target order.
    pub target_overlays: Vec<FigureRef>,
    /// One overlay per compound tested at two or more targets.
    pub compound_overlays: Vec<FigureRef>,
    /// Per plate: CPM heat map, then % specific binding heat map.
    pub heatmaps: Vec<(FigureRef, FigureRef)>,
    /// Compound x target pKi map.
    pub selectivity: Option<FigureRef>,
    /// One saturation figure per saturation row, in row order.
    pub saturation: Vec<FigureRef>,
}

/// Renders `fig` to `dir/rel_dir/stem.svg` and `.png`; the reference holds the relative paths.
fn render_figure(
    fig: &impl figures::Figure,
    dir: &Path,
    rel_dir: &str,
    stem: &str,
    key: &str,
    png: Option<f64>,
) -> std::result::Result<FigureRef, String> {
    let svg = figures::to_svg(fig).map_err(|e| e.to_string())?;
    let svg_rel = format!("{rel_dir}/{stem}.svg");
    std::fs::write(dir.join(&svg_rel), &svg).map_err(|e| format!("writing {svg_rel}: {e}"))?;
    let png_path = if let Some(scale) = png {
        let png_rel = format!("{rel_dir}/{stem}.png");
        figures::to_png(fig, &dir.join(&png_rel), scale).map_err(|e| e.to_string())?;
        Some(png_rel)
    } else {
        None
    };
    Ok(FigureRef { key: key.to_string(), svg: Some(svg), svg_path: Some(svg_rel), png_path })
}

/// Which figures [`write_report`] draws, and how.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FigureOptions {
    /// Draw figures at all (curves, residuals, overlays, heat maps, selectivity).
    pub draw: bool,
    /// Also write PNG next to each SVG (costs most of the figure time).
    pub png: bool,
    /// PNG size factor: 1.0 = 800 x 600 px (about 100 dpi at 8 x 6 in), 3.0 for print.
    pub png_scale: f64,
    /// Curve figure style (error bars).
    pub style: plots::CurveStyle,
}

impl Default for FigureOptions {
    fn default() -> Self {
        FigureOptions { draw: true, png: true, png_scale: 1.0, style: plots::CurveStyle::default() }
    }
}

/// Above this many curves the HTML report links the curve figures instead of inlining them,
/// so it stays a reasonable size (a curve SVG is about 40 KB).
pub const INLINE_CURVE_LIMIT: usize = 300;

/// Above this many plates the plate heat maps are linked from the report, not inlined.
pub const INLINE_PLATE_LIMIT: usize = 48;

/// Overlays and the selectivity map are drawn only up to this many series (compounds or
/// targets): beyond it no one can read them, and the tables carry the numbers.
pub const MAX_FIGURE_SERIES: usize = 24;

/// A figure other than a curve, to render in parallel.
enum Job<'a> {
    Target(usize, &'a TargetRow),
    Compound(usize, &'a str),
    Heat(usize, &'a PlateRow, figures::HeatValue),
    Selectivity,
    Saturation(usize, &'a SaturationRow),
}

/// Writes every output of a run into `dir` (the staging directory): tables, figures, the
/// HTML and Markdown reports and `run.json` (last, so a directory with a manifest is complete).
///
/// Files: `fits|wells|plates|selectivity.csv|parquet`; `plots/<stem>.svg|png` (curve, 95%
/// band, Ki) and `residuals/<stem>_residuals.svg|png`; `figures/NNN_target_<t>.svg|png` (overlay of the
/// compounds at a target), `figures/NNN_compound_<c>.svg|png` (one compound across targets),
/// `figures/selectivity.svg|png`; `qc/NNN_<plate>_cpm|pct.svg|png` (plate heat maps);
/// `prism/<target>.pzfx`; `report.html`, `report.md`, `run.json`. Every file name is made
/// from free text only through [`crate::units::safe_name`] / [`plots::plot_file_stem`].
///
/// # Errors
/// When a file cannot be written. A figure that fails to render is not an error: it is listed
/// in the outcome and the reports say so.
#[allow(clippy::too_many_lines)]
pub fn write_report(
    results: &RunResults,
    manifest_json: &str,
    dir: &Path,
    fig_opts: FigureOptions,
    done: &(dyn Fn() + Sync),
) -> Result<ReportOutcome> {
    tables::write_all(results, dir)?;
    for sub in ["plots", "residuals", "figures", "qc", "prism"] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    }
    let plot_dir = dir.join("plots");
    type Rendered = std::result::Result<(String, String, Option<String>), String>;
    // Curve and residual figures render in parallel; results come back in curve order.
    let inline = results.curves.len() <= INLINE_CURVE_LIMIT;
    let png_scale = fig_opts.png.then_some(fig_opts.png_scale);
    let rendered: Vec<Rendered> = if fig_opts.draw {
        results
            .curves
            .par_iter()
            .enumerate()
            .map(|(i, c)| {
                let stem = plots::plot_file_stem(&c.target, &c.compound, i + 1);
                let svg = plots::curve_svg_with(c, &fig_opts.style).map_err(|e| e.to_string())?;
                std::fs::write(plot_dir.join(format!("{stem}.svg")), &svg)
                    .map_err(|e| format!("writing {stem}.svg: {e}"))?;
                let link = if fig_opts.png {
                    let png = plot_dir.join(format!("{stem}.png"));
                    plots::curve_png_with(c, &png, fig_opts.png_scale, &fig_opts.style)
                        .map_err(|e| e.to_string())?;
                    format!("plots/{stem}.png")
                } else {
                    format!("plots/{stem}.svg")
                };
                let res_stem = format!("{stem}_residuals");
                let residual = render_figure(
                    &figures::ResidualFigure { curve: c },
                    dir,
                    "residuals",
                    &res_stem,
                    &c.compound,
                    png_scale,
                )
                .ok()
                .and_then(|f| f.png_path.or(f.svg_path));
                done();
                Ok((if inline { svg } else { String::new() }, link, residual))
            })
            .collect()
    } else {
        results.curves.iter().map(|_| Err("figures: none".to_string())).collect()
    };
    let mut outcome = ReportOutcome::default();
    let mut figs = ReportFigures::default();
    for (r, c) in rendered.into_iter().zip(&results.curves) {
        match r {
            Ok((svg, png, residual)) => {
                outcome.figures += 1;
                figs.curve_svgs.push(Some(svg).filter(|s| !s.is_empty()));
                figs.curve_pngs.push(Some(png));
                figs.residual_pngs.push(residual);
            }
            Err(e) => {
                if fig_opts.draw {
                    outcome.figure_failures.push((format!("{} / {}", c.target, c.compound), e));
                }
                figs.curve_svgs.push(None);
                figs.curve_pngs.push(None);
                figs.residual_pngs.push(None);
            }
        }
    }

    // Overlays, heat maps and the selectivity map.
    let targets = markdown::targets_in_order(results);
    let colours = figures::colour_index(results.curves.iter().map(|c| c.compound.as_str()));
    let target_colours = figures::colour_index(targets.iter().map(|t| t.target.as_str()));
    let letters =
        figures::compound_letters(results.wells.iter().filter_map(|w| w.compound.as_deref()));
    let compounds: Vec<&str> = colours.keys().map(String::as_str).collect();
    let mut per_compound: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for c in &results.curves {
        *per_compound.entry(c.compound.as_str()).or_default() += 1;
    }
    let multi_target: Vec<&str> = compounds
        .iter()
        .copied()
        .filter(|c| per_compound.get(c).copied().unwrap_or(0) >= 2)
        .collect();
    let mut jobs: Vec<Job<'_>> = Vec::new();
    let per_target = |t: &str| results.curves.iter().filter(|c| c.target == t).count();
    jobs.extend(
        targets
            .iter()
            .enumerate()
            .filter(|(_, t)| per_target(&t.target) <= MAX_FIGURE_SERIES)
            .map(|(i, t)| Job::Target(i, t)),
    );
    jobs.extend(multi_target.iter().enumerate().map(|(i, c)| Job::Compound(i, c)));
    for (i, p) in results.plates.iter().enumerate() {
        jobs.push(Job::Heat(i, p, figures::HeatValue::Cpm));
        jobs.push(Job::Heat(i, p, figures::HeatValue::PctSpecific));
    }
    if !results.curves.is_empty() && compounds.len() <= MAX_FIGURE_SERIES * 4 {
        jobs.push(Job::Selectivity);
    }
    jobs.extend(results.saturation.iter().enumerate().map(|(i, r)| Job::Saturation(i, r)));
    if !fig_opts.draw {
        jobs.clear();
    }
    // Wells by plate, grouped once (a scan of all wells per heat map is quadratic in plates).
    let mut wells_of: std::collections::HashMap<&str, Vec<&WellRow>> =
        std::collections::HashMap::new();
    for w in &results.wells {
        wells_of.entry(w.plate.as_str()).or_default().push(w);
    }
    let colour_of = |m: &std::collections::BTreeMap<String, usize>, k: &str| {
        figures::palette_colour(m.get(k).copied().unwrap_or(0))
    };
    let extra: Vec<(String, std::result::Result<FigureRef, String>)> = jobs
        .par_iter()
        .map(|job| match job {
            Job::Target(i, t) => {
                let series = results
                    .curves
                    .iter()
                    .filter(|c| c.target == t.target)
                    .map(|c| {
                        (
                            figures::overlay_label(&c.compound, c),
                            colour_of(&colours, &c.compound),
                            c,
                        )
                    })
                    .collect();
                let fig = figures::OverlayFigure {
                    title: t.target.clone(),
                    subtitle: format!(
                        "{} at {} nM, Kd {} nM",
                        t.radioligand,
                        crate::units::nm_number(t.radioligand_nm),
                        crate::units::nm_number(t.kd_nm)
                    ),
                    series,
                };
                let stem = plots::plot_file_stem("target", &t.target, i + 1);
                (
                    format!("overlay {}", t.target),
                    render_figure(&fig, dir, "figures", &stem, &t.target, png_scale),
                )
            }
            Job::Compound(i, name) => {
                let series = results
                    .curves
                    .iter()
                    .filter(|c| c.compound == *name)
                    .map(|c| {
                        (
                            figures::overlay_label(&c.target, c),
                            colour_of(&target_colours, &c.target),
                            c,
                        )
                    })
                    .collect();
                let fig = figures::OverlayFigure {
                    title: (*name).to_string(),
                    subtitle: "across targets".to_string(),
                    series,
                };
                let stem = plots::plot_file_stem("compound", name, i + 1);
                (
                    format!("overlay {name}"),
                    render_figure(&fig, dir, "figures", &stem, name, png_scale),
                )
            }
            Job::Heat(i, p, value) => {
                let fig = figures::PlateHeatMap {
                    plate: p,
                    wells: wells_of.get(p.plate.as_str()).cloned().unwrap_or_default(),
                    value: *value,
                    letters: &letters,
                };
                let kind = match value {
                    figures::HeatValue::Cpm => "cpm",
                    figures::HeatValue::PctSpecific => "pct",
                };
                let stem = plots::plot_file_stem(&p.plate, kind, i + 1);
                (
                    format!("heat map {}", p.plate),
                    render_figure(&fig, dir, "qc", &stem, &p.plate, png_scale),
                )
            }
            Job::Selectivity => {
                let fig = figures::SelectivityFigure {
                    curves: &results.curves,
                    targets: targets.iter().map(|t| t.target.clone()).collect(),
                    compounds: compounds.iter().map(|c| (*c).to_string()).collect(),
                };
                (
                    "selectivity".to_string(),
                    render_figure(&fig, dir, "figures", "selectivity", "selectivity", png_scale),
                )
            }
            Job::Saturation(i, r) => {
                let fig = figures::SaturationFigure { row: r };
                let stem = plots::plot_file_stem("saturation", &r.target, i + 1);
                (
                    format!("saturation {}", r.target),
                    render_figure(&fig, dir, "figures", &stem, &r.target, png_scale),
                )
            }
        })
        .collect();
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
                figs.target_overlays.push(FigureRef { key: t.target.clone(), ..f })
            }
            Job::Compound(_, c) => {
                figs.compound_overlays.push(FigureRef { key: (*c).to_string(), ..f })
            }
            Job::Heat(_, p, value) => {
                let mut f = FigureRef { key: p.plate.clone(), ..f };
                if results.plates.len() > INLINE_PLATE_LIMIT {
                    f.svg = None;
                }
                match value {
                    figures::HeatValue::Cpm => heat_cpm.push(f),
                    figures::HeatValue::PctSpecific => {
                        let cpm = heat_cpm.pop().unwrap_or_default();
                        figs.heatmaps.push((cpm, f));
                    }
                }
            }
            Job::Selectivity => figs.selectivity = Some(f),
            Job::Saturation(_, r) => figs.saturation.push(FigureRef { key: r.target.clone(), ..f }),
        }
    }

    // Prism: one file per target, names made safe and unique.
    let mut used = std::collections::BTreeSet::new();
    for t in &targets {
        let curves: Vec<&CurveRow> =
            results.curves.iter().filter(|c| c.target == t.target).collect();
        if curves.is_empty() {
            continue;
        }
        let base = {
            let mut b = String::new();
            for ch in crate::units::safe_name(&t.target).chars() {
                if !(ch == '_' && (b.is_empty() || b.ends_with('_'))) {
                    b.push(ch);
                }
            }
            let b = b.trim_end_matches('_').to_string();
            if b.is_empty() { "unnamed".to_string() } else { b }
        };
        let mut name = base.clone();
        let mut k = 2;
        while !used.insert(name.clone()) {
            name = format!("{base}_{k}");
            k += 1;
        }
        let rel = format!("prism/{name}.pzfx");
        let p = dir.join(&rel);
        std::fs::write(&p, prism::pzfx(&results.experiment, &t.target, &curves))
            .with_context(|| format!("writing {}", p.display()))?;
        outcome.prism_files.push(rel);
    }

    let write = |name: &str, text: &str| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
    };
    write("report.html", &html::render_html_with(results, &figs, &outcome))?;
    write("report.md", &markdown::render_markdown_with(results, &figs, &outcome))?;
    write("run.json", manifest_json)?;
    Ok(outcome)
}
