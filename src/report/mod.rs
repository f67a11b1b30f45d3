//! Report: everything radbind writes. Builds tables (CSV/Parquet via polars), figures
//! (plotters), the HTML and Markdown reports and the run manifest from one [`RunResults`].
//!
//! Only this stage writes files, and only into the staging directory it is given
//! (see `crate::output`).

pub mod assays;
pub(crate) mod cells;
pub mod figures;
pub mod flag_words;
pub mod history;
pub mod html;
mod html_results;
pub mod manifest;
pub mod markdown;
pub mod plots;
pub mod primary;
pub mod prism;
pub mod selectivity;
pub mod spill;
pub mod summary;
pub mod summary_page;
pub mod tables;
pub mod text;
pub mod words;

use std::path::Path;

use anyhow::{Context, Result};

use crate::derive::rows::{CurveRow, RunResults};

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

impl ReportOutcome {
    /// Every problem of the run: those of the results, then one per figure that failed
    /// (`figure for <what> failed: <why>`). run.json, both reports and the summary list these.
    #[must_use]
    pub fn problems(&self, results: &RunResults) -> Vec<String> {
        let mut problems = results.problems.clone();
        problems.extend(self.figure_problems());
        problems
    }

    /// One problem per figure that failed: `figure for <what> failed: <why>`.
    pub fn figure_problems(&self) -> impl Iterator<Item = String> + '_ {
        self.figure_failures.iter().map(|(what, e)| format!("figure for {what} failed: {e}"))
    }
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
    /// Per plate: CPM heat map, then the heat map of the assay's % response.
    pub heatmaps: Vec<(FigureRef, FigureRef)>,
    /// Compound x target pKi map.
    pub selectivity: Option<FigureRef>,
    /// One saturation figure per saturation row, in row order.
    pub saturation: Vec<FigureRef>,
    /// Primary-screen figures (% inhibition maps and distributions).
    pub primary: primary::PrimaryFigures,
}

/// What [`write_report`] tells its caller as it goes, for a progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// One curve figure was written.
    Figure,
    /// The figures are done; the HTML and Markdown reports are being written.
    Reports,
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
    /// Which curves and plates get a figure (`report.curve_figures`, `auto` resolved by the
    /// caller; `auto` here draws all).
    pub curves: crate::config::CurveFigures,
}

impl FigureOptions {
    /// The figures the config's `report` options ask for (`figures`, `error_bars`,
    /// `png_scale`, `curve_figures`; `auto` left for the caller to resolve by run size).
    #[must_use]
    pub fn from_settings(s: &crate::config::Settings) -> FigureOptions {
        use crate::config::Figures;
        let (draw, png) = match s.figures {
            Figures::None => (false, false),
            Figures::Svg => (true, false),
            Figures::SvgPng => (true, true),
        };
        let style = plots::CurveStyle { error_bars: s.error_bars, ..Default::default() };
        FigureOptions { draw, png, png_scale: s.png_scale, style, curves: s.curve_figures }
    }
}

impl Default for FigureOptions {
    fn default() -> Self {
        FigureOptions {
            draw: true,
            png: true,
            png_scale: 1.0,
            style: plots::CurveStyle::default(),
            curves: crate::config::CurveFigures::All,
        }
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

/// Writes every output of a run into `dir` (the staging directory): tables, figures and Prism
/// files first, then the HTML and Markdown reports and `run.json` (last, so a directory with a
/// manifest is complete), each with the complete problem list, figures that failed included
/// ([`ReportOutcome::problems`]).
///
/// Files: `fits|wells|plates|selectivity.csv|parquet`; `plots/<stem>.svg|png` (curve, 95%
/// band, Ki) and `residuals/<stem>_residuals.svg|png`; `figures/NNN_target_<t>.svg|png` (overlay of the
/// compounds at a target), `figures/NNN_compound_<c>.svg|png` (one compound across targets),
/// `figures/selectivity.svg|png`; `qc/NNN_<plate>_cpm|pct.svg|png` (plate heat maps);
/// `prism/<target>.pzfx`; `report.html`, `report.md`, `run.json`. Every file name is made
/// from free text only through [`crate::units::safe_name`] / [`plots::plot_file_stem`].
///
/// `done` hears of each curve figure written ([`Step::Figure`]) and of the start of the
/// reports ([`Step::Reports`]).
///
/// # Errors
/// When a file cannot be written. A figure that fails to render is not an error: it is listed
/// in the outcome and the reports say so.
pub fn write_report(
    results: &RunResults,
    manifest: &manifest::RunContext,
    dir: &Path,
    fig_opts: FigureOptions,
    done: &(dyn Fn(Step) + Sync),
) -> Result<ReportOutcome> {
    tables::write_tables(results, dir, !manifest.wells_written)?;
    for sub in ["plots", "residuals", "figures", "qc", "prism"] {
        let p = dir.join(sub);
        std::fs::create_dir_all(&p).with_context(|| format!("creating {}", p.display()))?;
    }
    let (mut figs, mut outcome) =
        figures::write::write_figures(results, dir, fig_opts, &|| done(Step::Figure));
    figs.primary = primary::write_figures(results, dir, fig_opts, &mut outcome);

    // Prism: one file per target, names made safe and unique.
    let targets = markdown::targets_in_order(results);
    let mut used = std::collections::BTreeSet::new();
    // A run in batches keeps points only for the curves it draws: no Prism files then.
    let prism_targets = if manifest.points_dropped { &[][..] } else { &targets[..] };
    for t in prism_targets {
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

    done(Step::Reports);
    let write = |name: &str, text: &str| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("writing {}", p.display()))
    };
    write("report.html", &html::render_html_with(results, &figs, &outcome))?;
    write("report.md", &markdown::render_markdown_with(results, &figs, &outcome))?;
    let problems = outcome.problems(results);
    manifest::write_manifest(&dir.join("run.json"), results, &problems, manifest)?;
    Ok(outcome)
}
