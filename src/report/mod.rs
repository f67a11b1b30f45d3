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
    /// Per plate: CPM heat map, then the heat map of the assay's % response.
    pub heatmaps: Vec<(FigureRef, FigureRef)>,
    /// Compound x target pKi map.
    pub selectivity: Option<FigureRef>,
    /// One saturation figure per saturation row, in row order.
    pub saturation: Vec<FigureRef>,
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
    let (figs, mut outcome) = figures::write::write_figures(results, dir, fig_opts, done);

    // Prism: one file per target, names made safe and unique.
    let targets = markdown::targets_in_order(results);
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

/// Everything a run produced, in report order (sorted by target, then compound).
/// The single source the tables, figures and reports are built from.
#[derive(Debug, Clone)]
pub struct RunResults {
    /// Experiment name from the config.
    pub experiment: String,
    /// radbind version that made the run.
    pub version: String,
    /// One row per plate: QC numbers.
    pub plates: Vec<PlateRow>,
    /// One row per well of every plate.
    pub wells: Vec<WellRow>,
    /// One row per fitted (or unfittable) curve.
    pub curves: Vec<CurveRow>,
    /// One row per saturation target.
    pub saturation: Vec<SaturationRow>,
    /// Per target: radioligand, [L], Kd.
    pub targets: Vec<TargetRow>,
    /// The input files with their SHA-256.
    pub inputs: Vec<InputFile>,
    /// The resolved config as YAML text.
    pub config_yaml: String,
    /// Primary target of the selectivity panel (`report.primary_target`); `None`: per
    /// compound, the target with its lowest exact Ki.
    pub primary_target: Option<String>,
    /// Files, plates or controls that could not be used (the run went on without them).
    pub problems: Vec<String>,
    /// Start of the run, RFC 3339 UTC.
    pub started: String,
    /// End of the run, RFC 3339 UTC.
    pub finished: String,
}

/// One saturation experiment (a saturation target, its plates pooled). Signal in CPM,
/// concentrations in nM.
#[derive(Debug, Clone, PartialEq)]
pub struct SaturationRow {
    /// Experiment name.
    pub experiment: String,
    /// Saturation target.
    pub target: String,
    /// Radioligand.
    pub radioligand: String,
    /// Plates the wells come from.
    pub plates: Vec<String>,
    /// `total_and_nsb` (global fit) or `specific`, with ` (Hill slope free)`.
    pub model: String,
    /// Fitted against free [L] = added - bound.
    pub depletion_corrected: bool,
    /// Specific activity on the assay date, Ci/mmol (NaN without counting details).
    pub specific_activity_ci_per_mmol: f64,
    /// Fraction of the calibration activity left on the assay date (NaN without dates).
    pub decay_fraction: f64,
    /// Bmax in DPM.
    pub bmax_dpm: f64,
    /// Bmax in fmol per well.
    pub bmax_fmol: f64,
    /// Bmax in fmol per mg protein.
    pub bmax_fmol_per_mg: f64,
    /// 95% CI of Bmax, fmol/mg.
    pub bmax_fmol_per_mg_ci: (f64, f64),
    /// Binding sites per cell.
    pub sites_per_cell: f64,
    /// Largest % of the added radioligand bound in a total well.
    pub max_fraction_bound_pct: f64,
    /// `ok`, `flagged`, `not_converged: …`, `failed: …`.
    pub status: String,
    /// Flags (see the README).
    pub flags: Vec<String>,
    /// Every total and NSB well offered to the fit.
    pub wells: Vec<SaturationWell>,
    /// The fit: Kd, Bmax (CPM), Hill slope, NSB line, R², Sy.x, % specific at Kd, notes;
    /// `None` when nothing could be fitted.
    pub fit: Option<crate::fit::models::saturation::SaturationFit>,
}

impl SaturationRow {
    /// A row with every number NaN and no wells.
    #[must_use]
    pub fn empty() -> Self {
        let nan2 = (f64::NAN, f64::NAN);
        SaturationRow {
            experiment: String::new(),
            target: String::new(),
            radioligand: String::new(),
            plates: Vec::new(),
            model: String::new(),
            depletion_corrected: false,
            specific_activity_ci_per_mmol: f64::NAN,
            decay_fraction: f64::NAN,
            bmax_dpm: f64::NAN,
            bmax_fmol: f64::NAN,
            bmax_fmol_per_mg: f64::NAN,
            bmax_fmol_per_mg_ci: nan2,
            sites_per_cell: f64::NAN,
            max_fraction_bound_pct: f64::NAN,
            status: String::new(),
            flags: Vec::new(),
            wells: Vec::new(),
            fit: None,
        }
    }
}

/// One total or NSB well of a saturation experiment.
#[derive(Debug, Clone, PartialEq)]
pub struct SaturationWell {
    /// Plate id.
    pub plate: String,
    /// Well label.
    pub well: String,
    /// Added radioligand, nM.
    pub l_nm: f64,
    /// Counts, CPM.
    pub cpm: f64,
    /// Total (true) or NSB (false) well.
    pub total: bool,
    /// Why left out, if it was.
    pub excluded: Option<String>,
}

/// A target (receptor) and the radioligand used on it.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetRow {
    /// Target name, e.g. `5-HT2A`.
    pub target: String,
    /// Radioligand, e.g. `[3H]ketanserin`.
    pub radioligand: String,
    /// Radioligand concentration [L], nM.
    pub radioligand_nm: f64,
    /// Radioligand dissociation constant Kd, nM.
    pub kd_nm: f64,
    /// `competition`, `saturation`, `gtpgs` or `uptake`.
    pub assay: String,
    /// Where the Kd comes from: `config`, or `saturation <target>` (`kd_from`); empty where
    /// the assay uses none.
    pub kd_source: String,
}

/// An input file and its SHA-256 (hex).
#[derive(Debug, Clone, PartialEq)]
pub struct InputFile {
    /// Path as given (after glob expansion).
    pub path: String,
    /// Lowercase hex SHA-256 of the bytes read.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Plate QC, one row per plate. Means and SDs are in CPM; SD is the sample SD (n-1).
#[derive(Debug, Clone, PartialEq)]
pub struct PlateRow {
    /// Plate id used everywhere in the outputs (e.g. `P1`), stable across runs.
    pub plate: String,
    /// File the plate came from.
    pub source: String,
    /// Plate number within that file (1-based).
    pub index_in_file: usize,
    /// Target assayed on the plate.
    pub target: String,
    /// Layout template name.
    pub layout: String,
    /// Whether the plate was turned back from a 180-degree rotation.
    pub rotated: bool,
    /// Number of total-binding wells used.
    pub n_total: usize,
    /// Mean of total binding, CPM.
    pub total_mean: f64,
    /// SD of total binding, CPM.
    pub total_sd: f64,
    /// CV% of total binding.
    pub total_cv_pct: f64,
    /// Number of NSB wells used.
    pub n_nsb: usize,
    /// Mean NSB, CPM.
    pub nsb_mean: f64,
    /// SD of NSB, CPM.
    pub nsb_sd: f64,
    /// CV% of NSB.
    pub nsb_cv_pct: f64,
    /// Z' = 1 - 3 (SD_total + SD_nsb) / |mean_total - mean_nsb| (Zhang et al. 1999).
    pub z_prime: f64,
    /// Signal to background, mean_total / mean_nsb.
    pub signal_to_background: f64,
    /// NSB as % of total binding.
    pub nsb_pct_of_total: f64,
    /// Basal wells used ([35S]GTPγS plates; 0 elsewhere).
    pub n_basal: usize,
    /// Mean basal, CPM.
    pub basal_mean: f64,
    /// CV% of basal.
    pub basal_cv_pct: f64,
    /// % of the added radioligand bound in the total wells (needs the target's specific
    /// activity, efficiency and volume; NaN otherwise).
    pub fraction_bound_pct: f64,
    /// QC flags, e.g. `z_prime_below_0.5`.
    pub flags: Vec<String>,
    /// Instrument protocol / date / warnings, one string.
    pub instrument: String,
}

/// One well of one plate, after layout and normalisation.
#[derive(Debug, Clone, PartialEq)]
pub struct WellRow {
    /// Plate id (as in [`PlateRow::plate`]).
    pub plate: String,
    /// Well label, e.g. `B05` (after undoing a rotation).
    pub well: String,
    /// `total`, `nsb`, `blank`, `vehicle`, `sample` or `unused`.
    pub role: &'static str,
    /// Compound in the well (sample wells only).
    pub compound: Option<String>,
    /// Competitor concentration, nM (sample wells only; 0 for vehicle).
    pub conc_nm: Option<f64>,
    /// Counts as read (CPM); `None` = not counted.
    pub cpm: Option<f64>,
    /// CPM minus mean NSB of the plate.
    pub specific: Option<f64>,
    /// 100 * (CPM - mean NSB) / (mean total - mean NSB).
    pub pct_specific: Option<f64>,
    /// Why the well was left out of fits and QC, if it was.
    pub excluded: Option<String>,
}

/// One curve: a compound at a target (replicate plates pooled). Concentrations in nM.
#[derive(Debug, Clone, PartialEq)]
pub struct CurveRow {
    /// Experiment name.
    pub experiment: String,
    /// Target.
    pub target: String,
    /// Compound.
    pub compound: String,
    /// Plate ids the points come from.
    pub plates: Vec<String>,
    /// Radioligand name.
    pub radioligand: String,
    /// [L], nM.
    pub radioligand_nm: f64,
    /// Kd of the radioligand, nM.
    pub kd_nm: f64,
    /// Model reported: its name as in the config (`four_parameter`, `one_site`, `fit_ki`,
    /// `two_site`, `agonist`), with ` (preferred by <comparison>)` when `fit.compare` chose it.
    pub model: String,
    /// Points used in the fit.
    pub n_points: usize,
    /// Fitted parameters; `None` when no fit was possible.
    pub fit: Option<FitNumbers>,
    /// `ok`, `flagged`, `not_converged`, `failed`, with the reason after a colon for the last two.
    pub status: String,
    /// Flags (machine names, see the README for each).
    pub flags: Vec<String>,
    /// Lowest and highest tested concentration, nM.
    pub tested_range_nm: (f64, f64),
    /// Every point offered to the fit, including excluded ones.
    pub points: Vec<CurvePoint>,
    /// Points excluded by ROUT (`fit.outliers`).
    pub n_outliers: usize,
    /// NCATS curve class (`1.1`, `1.2`, `2.1`, `2.2`, `3`, `4`); empty without a fit.
    pub curve_class: String,
    /// p value of the replicates test for lack of fit; NaN when it cannot be run.
    pub lack_of_fit_p: f64,
    /// The model comparison that decided the reported model (`fit.compare`).
    pub comparison: Option<CompareNumbers>,
    /// [35S]GTPγS numbers (functional assays only).
    pub functional: Option<FunctionalNumbers>,
    /// What the response axis is: `% specific binding`, `% specific uptake` or
    /// `% stimulation over basal`.
    pub response_label: &'static str,
}

/// A [35S]GTPγS curve's functional numbers. Responses in % stimulation over basal.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionalNumbers {
    /// `agonist` (rising curve, EC50 in the IC50 columns) or `antagonist` (falling, IC50).
    pub role: &'static str,
    /// Emax: the fitted top, % stimulation over basal (agonists; NaN for antagonists).
    pub emax_pct: f64,
    /// Standard error of Emax.
    pub emax_se: f64,
    /// Emax / Emax of the reference agonist (NaN without one).
    pub relative_efficacy: f64,
    /// `full`, `partial` or empty (no reference, or EC50 censored).
    pub efficacy: &'static str,
    /// Antagonist Kb by Leff-Dougall / Cheng-Prusoff, nM (NaN when not computable).
    pub kb_nm: f64,
    /// 95% CI of Kb, nM.
    pub kb_ci_nm: (f64, f64),
}

/// A model comparison's outcome for one curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareNumbers {
    /// `one_vs_two_sites` or `slope`.
    pub name: String,
    /// F (F test) or AICc(complex) - AICc(simpler) (AICc).
    pub statistic: f64,
    /// F test p value, or (AICc) the probability that the complex model is correct.
    pub p: f64,
    /// The preferred model, e.g. `two_site`.
    pub preferred: String,
}

/// Both sites of a two-site fit. Concentrations in nM, log IC50s in log10 molar.
#[derive(Debug, Clone, PartialEq)]
pub struct TwoSiteNumbers {
    /// Fraction of high-affinity sites, 0..1.
    pub fraction_hi: f64,
    /// log IC50 of the high-affinity site.
    pub log_ic50_hi: f64,
    /// log IC50 of the low-affinity site.
    pub log_ic50_lo: f64,
    /// Ki of the high-affinity site (Cheng-Prusoff), nM.
    pub ki_hi_nm: f64,
    /// Ki of the low-affinity site (Cheng-Prusoff), nM.
    pub ki_lo_nm: f64,
}

/// Fitted numbers of one curve. Response units are % specific binding.
#[derive(Debug, Clone, PartialEq)]
pub struct FitNumbers {
    /// Upper plateau.
    pub top: f64,
    /// Lower plateau.
    pub bottom: f64,
    /// Hill slope (Prism sign: about -1 for a falling curve).
    pub hill_slope: f64,
    /// log10 IC50 in molar.
    pub log_ic50: f64,
    /// Standard error of log IC50 (J'J asymptotic).
    pub log_ic50_se: f64,
    /// Standard errors of top, bottom and Hill slope (NaN when the parameter was fixed).
    pub plateau_hill_se: [f64; 3],
    /// IC50, nM.
    pub ic50_nm: f64,
    /// 95% CI of IC50, nM.
    pub ic50_ci_nm: (f64, f64),
    /// Ki by Cheng-Prusoff, nM.
    pub ki_nm: f64,
    /// 95% CI of Ki, nM.
    pub ki_ci_nm: (f64, f64),
    /// -log10 Ki (M).
    pub pki: f64,
    /// -log10 IC50 (M).
    pub pic50: f64,
    /// Coefficient of determination.
    pub r_squared: f64,
    /// Residual standard deviation, sqrt(RSS / df).
    pub sy_x: f64,
    /// `">"` when the IC50 lies above the top tested concentration (censored), `"<"` below
    /// the lowest, `""` when inside the tested range.
    pub censor: &'static str,
    /// Both sites, for a two-site fit (the fields above then hold the high-affinity site).
    pub two_site: Option<TwoSiteNumbers>,
    /// Profile-likelihood 95% interval of log IC50 (`fit.ci: profile`); NaN on a side the
    /// data do not bound, both NaN without a profile.
    pub log_ic50_profile: (f64, f64),
    /// The fitted curve with its covariance (the two-site model for a two-site fit), drawn as
    /// the line and the confidence band; `None` where only the numbers above are known.
    pub curve: Option<crate::fit::procedures::band::FittedCurve>,
    /// Degrees of freedom of the fit (the band's t quantile).
    pub df: usize,
}

impl FitNumbers {
    /// The fitted response at `X = log10 M` (`-inf`: zero concentration): [`Self::curve`] when
    /// known, else the 4PL of `top`, `bottom`, `hill_slope`, `log_ic50`.
    #[must_use]
    pub fn value(&self, x: f64) -> f64 {
        match &self.curve {
            Some(c) => c.value(x),
            None => crate::fit::procedures::band::FittedCurve::FourPl {
                params: [self.top, self.bottom, self.hill_slope, self.log_ic50],
                cov: [[f64::NAN; 4]; 4],
            }
            .value(x),
        }
    }

    /// The pointwise 95% confidence band of the fitted curve at `X = log10 M`:
    /// `f(X) -+ t(0.975, df) sqrt(g' C g)`, `g = df/dp`, `C` the asymptotic covariance (the
    /// delta method, as Prism draws confidence bands: Motulsky & Christopoulos 2004, ch. 42).
    /// `None` without a covariance or degrees of freedom.
    #[must_use]
    pub fn band(&self, x: f64) -> Option<(f64, f64)> {
        let c = self.curve.as_ref().filter(|c| c.has_covariance() && self.df > 0)?;
        let (y, se) = c.value_se(x);
        let h = crate::fit::stats::t975(self.df) * se;
        (y.is_finite() && h.is_finite()).then_some((y - h, y + h))
    }
}

/// One data point of a curve.
#[derive(Debug, Clone, PartialEq)]
pub struct CurvePoint {
    /// Plate id.
    pub plate: String,
    /// Well label.
    pub well: String,
    /// Concentration, nM (0 for vehicle/zero-dose points).
    pub conc_nm: f64,
    /// Response, % specific binding.
    pub y: f64,
    /// Why excluded from the fit, if it was.
    pub excluded: Option<String>,
}
