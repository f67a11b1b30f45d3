//! Resolved, validated settings: the only view of the config that later stages see.
//!
//! [`load`] reads the YAML into [`Options`], then resolves it: units converted to nM, well sets
//! parsed, globs expanded, names cross-checked. Every problem is collected (not only the first)
//! and each names the config key and, where it can be found, its line.
//!
//! Precedence: command-line flags (applied by the caller) over the YAML over the defaults
//! written here.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::options::{
    ColumnsOptions, CompoundOptions, ExcludeOptions, LayoutOptions, Options, PlateOptions,
    PlateSelector, SeriesOptions, TargetOptions,
};
use super::wellset::{WellSet, parse_number_range, parse_row_range};
use crate::ingest::{ColumnMap, Format, PlateMap};
use crate::radioactivity::{Counting, Isotope};
use crate::types::{Geometry, parse_conc_nm};

/// Largest config file radbind reads (16 MiB): a screening campaign may list ten thousand
/// plates, but nothing legitimate comes near this.
const MAX_CONFIG_BYTES: u64 = 16 << 20;

/// The resolved configuration of one analysis.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Experiment name.
    pub experiment: String,
    /// The config file.
    pub config_path: PathBuf,
    /// The config text as read (kept for the manifest).
    pub config_text: String,
    /// Default output directory (the `--out` flag overrides it).
    pub output_dir: PathBuf,
    /// Input files after glob expansion, in config order (each glob sorted by name).
    pub inputs: Vec<PathBuf>,
    /// Forced input format, if any.
    pub format: Option<Format>,
    /// Chosen signal column, if any.
    pub signal: Option<String>,
    /// Column map for count tables and XLSX long sheets (the `columns:` key), if given.
    pub columns: Option<ColumnMap>,
    /// Keep negative counts as counts (`negative_counts: keep`) instead of leaving the wells out.
    pub keep_negative_counts: bool,
    /// Targets by name.
    pub targets: BTreeMap<String, Target>,
    /// Layout templates by name. Plate-map entries get a placeholder layout (no wells, an
    /// empty series) named `plate map <path>`, so every `PlateSpec::layout` names one.
    pub layouts: BTreeMap<String, Layout>,
    /// Plate assignments in config order.
    pub plates: Vec<PlateSpec>,
    /// Fit settings.
    pub fit: FitSettings,
    /// Masked wells.
    pub exclusions: Vec<Exclusion>,
    /// Plates with Z' below this are flagged.
    pub min_z_prime: f64,
    /// Plates with signal/background below this are flagged.
    pub min_signal_to_background: f64,
    /// Flag when more than this % of the added radioligand is bound.
    pub max_fraction_bound_pct: f64,
    /// Flag saturation fits with less specific binding than this % of total at [L] = Kd.
    pub min_specific_at_kd_pct: f64,
    /// Which curve figures to write.
    pub figures: Figures,
    /// PNG size factor (1 = 800 x 600 px).
    pub png_scale: f64,
    /// Error bars on curve figures.
    pub error_bars: crate::report::plots::ErrorBars,
    /// Primary target of the selectivity panel (a known target); `None`: per compound, its
    /// lowest exact Ki.
    pub primary_target: Option<String>,
    /// The options as parsed (for the manifest's resolved config).
    pub options: Options,
}

/// Which curve figures a run writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figures {
    /// No curve figures.
    None,
    /// SVG only.
    Svg,
    /// SVG and PNG (default).
    SvgPng,
}

/// A target and its radioligand. Concentrations in nM.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Target name.
    pub name: String,
    /// Radioligand name.
    pub radioligand: String,
    /// Radioligand concentration [L], nM (for uptake: the substrate concentration [S]; NaN
    /// where the assay has none: saturation, GTPγS).
    pub radioligand_nm: f64,
    /// Radioligand Kd, nM (for uptake: the substrate's Km). NaN until resolved when it comes
    /// from a saturation fit (`kd_from`), or where the assay has none.
    pub kd_nm: f64,
    /// The saturation target whose fitted Kd this target uses.
    pub kd_from: Option<String>,
    /// The assay run on this target.
    pub assay: Assay,
    /// Counts-to-amounts conversion (efficiency, decay-corrected specific activity, volume,
    /// protein, cells), when the specific activity and efficiency are given.
    pub counting: Option<Counting>,
    /// Decay correction applied: isotope, days from calibration to assay, fraction remaining.
    pub decay: Option<(Isotope, f64, f64)>,
}

/// The assay run on a target, with its options.
#[derive(Debug, Clone, PartialEq)]
pub enum Assay {
    /// Competition binding: % specific binding, IC50, Ki by Cheng-Prusoff.
    Competition,
    /// Saturation binding: Kd and Bmax from total and NSB series.
    Saturation(SaturationSpec),
    /// [35S]GTPγS functional assay: % stimulation over basal.
    Gtpgs(GtpgsSpec),
    /// Uptake inhibition: % of control uptake, IC50, Ki from [S] and Km.
    Uptake,
}

impl Assay {
    /// The config name: `competition`, `saturation`, `gtpgs`, `uptake`.
    #[must_use]
    pub fn name(&self) -> &'static str {
        match self {
            Assay::Competition => "competition",
            Assay::Saturation(_) => "saturation",
            Assay::Gtpgs(_) => "gtpgs",
            Assay::Uptake => "uptake",
        }
    }
}

/// Saturation-fit options of a target.
#[derive(Debug, Clone, PartialEq)]
pub struct SaturationSpec {
    /// Global total + NSB fit (true, default) or specific binding alone.
    pub global: bool,
    /// Hill slope free (true) or fixed at 1.
    pub free_hill: bool,
    /// Fit against free [L] = added - bound.
    pub correct_depletion: bool,
}

/// [35S]GTPγS options of a target.
#[derive(Debug, Clone, PartialEq)]
pub struct GtpgsSpec {
    /// Reference full agonist.
    pub reference_agonist: Option<String>,
    /// Compounds run as antagonists against a fixed agonist concentration.
    pub antagonists: Vec<String>,
    /// Agonist concentration in the antagonist wells, nM.
    pub agonist_nm: Option<f64>,
    /// EC50 of that agonist, nM (default: the reference agonist's fitted EC50).
    pub agonist_ec50_nm: Option<f64>,
    /// Relative efficacy below which an agonist is partial.
    pub partial_below: f64,
}

/// A layout template.
#[derive(Debug, Clone)]
pub struct Layout {
    /// Template name.
    pub name: String,
    /// Expected geometry, if stated.
    pub geometry: Option<Geometry>,
    /// Total-binding wells.
    pub total: Option<WellSet>,
    /// NSB wells.
    pub nsb: Option<WellSet>,
    /// Basal wells ([35S]GTPγS).
    pub basal: Option<WellSet>,
    /// Blank wells.
    pub blank: Option<WellSet>,
    /// Vehicle wells.
    pub vehicle: Option<WellSet>,
    /// The dilution series.
    pub series: Series,
}

/// Which way a dilution series runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// One concentration per column; compounds are assigned to rows.
    Columns,
    /// One concentration per row; compounds are assigned to columns.
    Rows,
}

/// A dilution series: lanes (0-based columns or rows, inclusive) and concentrations.
#[derive(Debug, Clone)]
pub struct Series {
    /// Along columns or rows.
    pub axis: Axis,
    /// First and last lane, 0-based inclusive.
    pub lanes: (u16, u16),
    /// True when the first lane holds the highest concentration.
    pub high_to_low: bool,
    /// Default concentrations (a compound may override them).
    pub conc: Option<ConcSpec>,
}

impl Series {
    /// Number of concentrations in the series.
    #[must_use]
    pub fn len(&self) -> usize {
        usize::from(self.lanes.1 - self.lanes.0) + 1
    }

    /// True for an empty series (never after validation).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// How the concentrations of a series are given.
#[derive(Debug, Clone, PartialEq)]
pub enum ConcSpec {
    /// Highest concentration (nM) and the dilution factor between neighbours.
    Dilution {
        /// Highest concentration, nM.
        top_nm: f64,
        /// Dilution factor (> 1).
        factor: f64,
    },
    /// Explicit concentrations in nM, highest first after resolution.
    List(Vec<f64>),
}

impl ConcSpec {
    /// The `n` concentrations in nM, highest first: `top / factor^k` for k = 0..n.
    #[must_use]
    pub fn values_high_to_low(&self, n: usize) -> Vec<f64> {
        match self {
            ConcSpec::Dilution { top_nm, factor } => {
                (0..n).map(|k| top_nm / factor.powi(i32::try_from(k).unwrap_or(0))).collect()
            }
            ConcSpec::List(v) => {
                let mut v = v.clone();
                v.sort_by(|a, b| b.total_cmp(a));
                v
            }
        }
    }
}

/// One `plates:` entry, resolved.
#[derive(Debug, Clone)]
pub struct PlateSpec {
    /// Index in the config's `plates` list (for messages: `plates[i]`).
    pub entry: usize,
    /// Plate numbers (1-based), over all inputs or within `file`.
    pub numbers: Vec<u32>,
    /// File-name glob restricting the plates.
    pub file: Option<glob::Pattern>,
    /// Select by barcode/label instead of number.
    pub barcode: Option<String>,
    /// Global number of the plate whose total/NSB wells normalise this one.
    pub controls_from: Option<u32>,
    /// Target name (exists in `targets`).
    pub target: String,
    /// Layout name (exists in `layouts`; `plate map <path>` for plate-map entries).
    pub layout: String,
    /// The plate map giving every well's role, compound and concentration, instead of the
    /// layout's wells and `compounds`.
    pub plate_map: Option<PlateMapSpec>,
    /// Compounds and the lanes they occupy.
    pub compounds: Vec<CompoundBlock>,
    /// Turn the plate back by 180 degrees.
    pub rotated: bool,
}

/// A compound on a block of lanes across the series (rows when the series runs along columns).
#[derive(Debug, Clone)]
pub struct CompoundBlock {
    /// Compound name.
    pub name: String,
    /// First and last lane (0-based, inclusive): each lane is one replicate.
    pub lanes: (u16, u16),
    /// Concentrations if the compound has its own; otherwise the series'.
    pub conc: Option<ConcSpec>,
}

/// The curve model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Four-parameter logistic, variable Hill slope.
    FourParameter,
    /// Hill slope fixed at -1.
    OneSite,
    /// Prism's "One site -- Fit Ki": LogKi fitted directly with the target's [L] and Kd.
    FitKi,
    /// Prism's "Two sites -- Fit logIC50".
    TwoSite,
    /// Rising 4PL ("log(agonist) vs. response -- variable slope"): EC50, no Ki.
    Agonist,
}

impl ModelKind {
    /// Name as written in the config and the outputs.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ModelKind::FourParameter => "four_parameter",
            ModelKind::OneSite => "one_site",
            ModelKind::FitKi => "fit_ki",
            ModelKind::TwoSite => "two_site",
            ModelKind::Agonist => "agonist",
        }
    }
}

/// Fit settings.
#[derive(Debug, Clone)]
pub struct FitSettings {
    /// Model.
    pub model: ModelKind,
    /// Fixed values for [top, bottom, hill_slope, log_ic50]; `None` = free.
    pub fixed: [Option<f64>; 4],
    /// Box constraints `(low, high)` for [top, bottom, hill_slope, log_ic50]; `None` = no
    /// constraint beyond radbind's own (`fit.bounds`).
    pub bounds: [Option<(f64, f64)>; 4],
    /// ROUT coefficient Q as a fraction (0.01 = 1%); `None` = no outlier removal.
    pub rout_q: Option<f64>,
    /// Model comparison; `None` = none.
    pub compare: Option<CompareSettings>,
    /// Per target: ([L] nM, Kd nM), for `fit_ki`.
    pub ligand: BTreeMap<String, (f64, f64)>,
    /// Weighting of the 4PL fits (`fit.weighting`).
    pub weighting: WeightingKind,
    /// Counting minutes for Poisson weights when the plate metadata lack them.
    pub counting_minutes: f64,
    /// Profile-likelihood CI of LogIC50 (`fit.ci: profile`) instead of the asymptotic one.
    pub profile_ci: bool,
    /// Parameters `[top, bottom, hill_slope, log_ic50]` shared by the curves of one target in
    /// a global fit (`fit.share`); all false = separate fits.
    pub share: [bool; 4],
}

/// Weighting of the 4PL fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightingKind {
    /// Unweighted.
    None,
    /// `w = 1 / Yfit`.
    InverseY,
    /// `w = 1 / Yfit^2`.
    InverseY2,
    /// Counting statistics of the counts behind each % specific binding value.
    Poisson,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            model: ModelKind::FourParameter,
            fixed: [None; 4],
            bounds: [None; 4],
            rout_q: None,
            compare: None,
            ligand: BTreeMap::new(),
            weighting: WeightingKind::None,
            counting_minutes: 1.0,
            profile_ci: false,
            share: [false; 4],
        }
    }
}

/// One model comparison (`fit.compare.models`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareKind {
    /// One site (slope -1) vs two sites.
    OneVsTwoSites,
    /// Hill slope -1 vs variable.
    Slope,
}

impl CompareKind {
    /// Name as in the config and the `compare` column.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            CompareKind::OneVsTwoSites => "one_vs_two_sites",
            CompareKind::Slope => "slope",
        }
    }
}

/// How a comparison decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareMethod {
    /// Extra-sum-of-squares F test at `alpha`.
    FTest,
    /// AICc (the complex model when its AICc is lower).
    Aicc,
}

/// Model comparison settings.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareSettings {
    /// Comparisons in order; the first that prefers its complex model decides.
    pub models: Vec<CompareKind>,
    /// F test or AICc.
    pub method: CompareMethod,
    /// F test significance level.
    pub alpha: f64,
}

/// Wells masked by the user.
#[derive(Debug, Clone)]
pub struct Exclusion {
    /// Index in the config's `exclude` list.
    pub entry: usize,
    /// Plate numbers (global, 1-based).
    pub plates: Vec<u32>,
    /// Wells.
    pub wells: WellSet,
    /// Why.
    pub reason: String,
}

/// One problem in a config: the key, its line when found, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted key path, e.g. `plates[2].target`.
    pub key: String,
    /// 1-based line in the config file, when it could be located.
    pub line: Option<usize>,
    /// What is wrong and what to do.
    pub message: String,
}

/// A config that cannot be used. Lists every problem found.
#[derive(Debug, thiserror::Error)]
pub struct ConfigError {
    /// The config file.
    pub path: PathBuf,
    /// Every problem found.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.problems.len();
        write!(f, "{} has {n} problem{}:", self.path.display(), if n == 1 { "" } else { "s" })?;
        for p in &self.problems {
            write!(f, "\n  {}", self.format_problem(p))?;
        }
        Ok(())
    }
}

impl ConfigError {
    fn single(path: &Path, key: &str, line: Option<usize>, message: String) -> ConfigError {
        ConfigError {
            path: path.to_path_buf(),
            problems: vec![ConfigProblem { key: key.to_string(), line, message }],
        }
    }

    /// One problem as `file:line: key: message`.
    #[must_use]
    pub fn format_problem(&self, p: &ConfigProblem) -> String {
        let loc = match p.line {
            Some(l) => format!("{}:{l}", self.path.display()),
            None => self.path.display().to_string(),
        };
        if p.key.is_empty() {
            format!("{loc}: {}", p.message)
        } else {
            format!("{loc}: `{}`: {}", p.key, p.message)
        }
    }
}

/// Reads and resolves a config file.
///
/// # Errors
/// [`ConfigError`] listing every problem found, each with its key and line.
pub fn load(path: &Path) -> Result<Settings, ConfigError> {
    let fail = |message: String| ConfigError::single(path, "", None, message);
    // At most MAX_CONFIG_BYTES + 1 bytes are read, whatever the path is (a pipe, a device).
    let bytes = crate::ingest::file::read_limited(path, MAX_CONFIG_BYTES)
        .map_err(|e| fail(format!("cannot read the config file: {e}")))?
        .map_err(|size| {
            if size > MAX_CONFIG_BYTES + 1 {
                fail(format!("config file is {size} bytes; radbind reads configs up to 16 MiB"))
            } else {
                fail("config is more than 16 MiB; radbind reads configs up to 16 MiB".to_string())
            }
        })?;
    let text = String::from_utf8(bytes).map_err(|_| {
        fail(
            "cannot read the config file: stream did not contain valid UTF-8 (a config is UTF-8 \
             text)"
                .to_string(),
        )
    })?;
    if text.is_empty() && crate::ingest::file::not_a_file(path).is_some() {
        return Err(fail(
            "nothing to read: the config is a pipe or device that gave no text".to_string(),
        ));
    }
    // A UTF-8 byte-order mark (Windows editors) is not part of the YAML.
    let yaml = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let options: Options = serde_yaml::from_str(yaml).map_err(|e| {
        let line = e.location().map(|l| l.line());
        ConfigError::single(path, "", line, yaml_message(&e))
    })?;
    resolve(path, text, options)
}

/// serde's message, with the location moved into our `file:line:` prefix and a hint for
/// unknown keys.
fn yaml_message(e: &serde_yaml::Error) -> String {
    let msg = e.to_string();
    let msg = match msg.find(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg,
    };
    let msg = msg
        .replace("expected f64", "expected a number")
        .replace("expected u32", "expected a whole number")
        .replace(
            "expected struct Options",
            "expected a mapping of config keys (experiment, inputs, targets, layouts, plates)",
        );
    if msg.contains("unknown field") {
        format!("{msg} (keys are case-sensitive; see the config reference in the README)")
    } else {
        msg
    }
}

/// Resolves parsed options; `text` is the config source used to locate keys.
///
/// # Errors
/// Every problem found.
pub fn resolve(path: &Path, text: String, o: Options) -> Result<Settings, ConfigError> {
    let mut r = Resolver { text: &text, problems: Vec::new() };
    let base = path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let base = clean_path(&base);

    if o.experiment.trim().is_empty() {
        r.problem(&["experiment"], "experiment name is empty".into());
    }
    let output_dir = match &o.output {
        Some(out) => clean_path(&base.join(out)),
        None => PathBuf::from("outputs").join(crate::report::safe_name(&o.experiment)),
    };
    let inputs = r.inputs(&base, &o.inputs);
    let format = r.format(o.format.as_deref());
    let assay_date = o.assay_date.as_ref().and_then(|d| {
        crate::radioactivity::day_number(d).map_err(|e| r.problem(&["assay_date"], e)).ok()
    });
    let columns = r.columns(o.columns.as_ref(), format);
    let keep_negative_counts = match o.negative_counts.as_deref() {
        None | Some("exclude") => false,
        Some("keep") => true,
        Some(other) => {
            r.problem(
                &["negative_counts"],
                format!("unknown negative_counts `{other}`: use exclude or keep"),
            );
            false
        }
    };
    let targets = o
        .targets
        .iter()
        .filter_map(|(name, t)| r.target(name, t, assay_date).map(|t| (name.clone(), t)))
        .collect::<BTreeMap<_, _>>();
    r.kd_sources(&targets);
    if o.targets.is_empty() {
        r.problem(&["targets"], "no targets: add at least one target with its radioligand".into());
    }
    let mut layouts = o
        .layouts
        .iter()
        .filter_map(|(name, l)| r.layout(name, l).map(|l| (name.clone(), l)))
        .collect::<BTreeMap<_, _>>();
    let plates = o
        .plates
        .iter()
        .enumerate()
        .filter_map(|(i, p)| r.plate(i, p, &o, &layouts, &targets, &base))
        .collect::<Vec<_>>();
    for spec in plates.iter().filter(|s| s.plate_map.is_some()) {
        layouts.entry(spec.layout.clone()).or_insert_with(|| placeholder_layout(&spec.layout));
    }
    if o.plates.is_empty() {
        r.problem(&["plates"], "no plates: say which plates hold which target".into());
    }
    let fit = r.fit(&o, &targets);
    let exclusions =
        o.exclude.iter().flatten().enumerate().filter_map(|(i, e)| r.exclusion(i, e)).collect();
    let min_z_prime = o.qc.as_ref().and_then(|q| q.min_z_prime).unwrap_or(0.5);
    let qc_value =
        |r: &mut Resolver<'_>, k: &'static str, v: Option<f64>, default: f64, max: f64| {
            let v = v.unwrap_or(default);
            if !(v.is_finite() && v >= 0.0 && v <= max) {
                r.problem(&["qc", k], format!("{k} must be a number from 0 to {max}, got {v}"));
            }
            v
        };
    let qc = o.qc.clone().unwrap_or_default();
    let min_signal_to_background =
        qc_value(&mut r, "min_signal_to_background", qc.min_signal_to_background, 3.0, 1e6);
    let max_fraction_bound_pct =
        qc_value(&mut r, "max_fraction_bound_pct", qc.max_fraction_bound_pct, 10.0, 100.0);
    let min_specific_at_kd_pct =
        qc_value(&mut r, "min_specific_at_kd_pct", qc.min_specific_at_kd_pct, 80.0, 100.0);
    let png_scale = o.report.as_ref().and_then(|r| r.png_scale).unwrap_or(1.0);
    if !(0.25..=8.0).contains(&png_scale) {
        r.problem(
            &["report", "png_scale"],
            format!("png_scale must be 0.25 to 8, got {png_scale}"),
        );
    }
    let error_bars = match o.report.as_ref().and_then(|r| r.error_bars.as_deref()) {
        None | Some("sd") => crate::report::plots::ErrorBars::Sd,
        Some("sem") => crate::report::plots::ErrorBars::Sem,
        Some("none") => crate::report::plots::ErrorBars::None,
        Some(other) => {
            r.problem(
                &["report", "error_bars"],
                format!("unknown error bars `{other}`: use sd, sem or none"),
            );
            crate::report::plots::ErrorBars::Sd
        }
    };
    let figures = match o.report.as_ref().and_then(|r| r.figures.as_deref()) {
        None | Some("svg+png") => Figures::SvgPng,
        Some("svg") => Figures::Svg,
        Some("none") => Figures::None,
        Some(other) => {
            r.problem(
                &["report", "figures"],
                format!("unknown figures setting `{other}`: use svg+png, svg or none"),
            );
            Figures::SvgPng
        }
    };
    let primary_target = o.report.as_ref().and_then(|r| r.primary_target.clone());
    if let Some(t) = primary_target.as_ref().filter(|t| !o.targets.contains_key(*t)) {
        let known: Vec<&str> = o.targets.keys().map(String::as_str).collect();
        r.problem(
            &["report", "primary_target"],
            format!("unknown target `{t}`; targets are: {}", known.join(", ")),
        );
    }

    if !r.problems.is_empty() {
        return Err(ConfigError { path: path.to_path_buf(), problems: r.problems });
    }
    Ok(Settings {
        experiment: o.experiment.clone(),
        config_path: path.to_path_buf(),
        config_text: text,
        output_dir,
        inputs,
        format,
        signal: o.signal.clone(),
        columns,
        keep_negative_counts,
        targets,
        layouts,
        plates,
        fit,
        exclusions,
        min_z_prime,
        min_signal_to_background,
        max_fraction_bound_pct,
        min_specific_at_kd_pct,
        figures,
        png_scale,
        error_bars,
        primary_target,
        options: o,
    })
}

/// The ways a series' concentrations can be written, as found in one YAML mapping.
#[derive(Clone, Copy)]
struct ConcFields<'a> {
    top_nm: Option<f64>,
    top: Option<&'a String>,
    dilution: Option<f64>,
    nm: Option<&'a Vec<f64>>,
    units: Option<&'a Vec<String>>,
}

struct Resolver<'a> {
    text: &'a str,
    problems: Vec<ConfigProblem>,
}

impl Resolver<'_> {
    fn problem(&mut self, key: &[&str], message: String) {
        let line = locate(self.text, key);
        self.problems.push(ConfigProblem { key: key_string(key), line, message });
    }

    fn inputs(&mut self, base: &Path, patterns: &[String]) -> Vec<PathBuf> {
        let mut out = Vec::new();
        if patterns.is_empty() {
            self.problem(&["inputs"], "no input files: list export files or globs".into());
        }
        for (i, pat) in patterns.iter().enumerate() {
            let idx = i.to_string();
            let full = clean_path(&base.join(pat));
            let full_str = full.to_string_lossy().to_string();
            if pat.contains(['*', '?', '[']) {
                match glob::glob(&full_str) {
                    Ok(paths) => {
                        let mut found: Vec<PathBuf> =
                            paths.filter_map(Result::ok).filter(|p| p.is_file()).collect();
                        found.sort();
                        if found.is_empty() {
                            self.problem(
                                &["inputs", &idx],
                                format!(
                                    "`{pat}` matches no file (looked for {full_str}; paths are \
                                     relative to the config file)"
                                ),
                            );
                        }
                        out.extend(found);
                    }
                    Err(e) => self.problem(&["inputs", &idx], format!("bad glob `{pat}`: {e}")),
                }
            } else if full.is_file() {
                out.push(full);
            } else if full.is_dir() {
                self.problem(
                    &["inputs", &idx],
                    format!("{full_str} is a folder: name the export files, e.g. `{pat}/*.txt`"),
                );
            } else if let Some(kind) = crate::ingest::file::not_a_file(&full) {
                self.problem(
                    &["inputs", &idx],
                    format!("input {full_str} {kind}; list plate-reader export files"),
                );
            } else {
                self.problem(
                    &["inputs", &idx],
                    format!(
                        "input file {full_str} does not exist (paths are relative to the config \
                         file)"
                    ),
                );
            }
        }
        let mut seen = std::collections::HashSet::new();
        out.retain(|p| seen.insert(p.clone()));
        out
    }

    fn format(&mut self, f: Option<&str>) -> Option<Format> {
        match f {
            None | Some("auto") => None,
            Some(name) => Format::from_name(name).or_else(|| {
                self.problem(
                    &["format"],
                    format!(
                        "unknown format `{name}`: use auto, microbeta, long_csv, grid_csv, \
                         count_table, hidex or xlsx"
                    ),
                );
                None
            }),
        }
    }

    fn conc(&mut self, key: &[&str], nm: Option<f64>, text: Option<&String>) -> Option<f64> {
        let base = key.last().copied().unwrap_or_default();
        let v = match (nm, text) {
            (Some(_), Some(_)) => {
                self.problem(key, format!("give `{base}_nM` or `{base}`, not both"));
                return None;
            }
            (Some(v), None) => v,
            (None, Some(t)) => {
                if let Some(v) = parse_conc_nm(t) {
                    v
                } else {
                    self.problem(
                        key,
                        format!(
                            "cannot read concentration `{t}`: write e.g. \"10 µM\" or \"2.5 nM\""
                        ),
                    );
                    return None;
                }
            }
            (None, None) => return None,
        };
        if !(v.is_finite() && v > 0.0) {
            self.problem(key, format!("concentration must be positive, got {v} nM"));
            return None;
        }
        Some(v)
    }

    #[allow(clippy::too_many_lines)]
    fn target(&mut self, name: &str, t: &TargetOptions, assay_date: Option<i64>) -> Option<Target> {
        let key = |k: &'static str| ["targets", name, k];
        let assay = match t.assay.as_deref() {
            None | Some("competition") => Assay::Competition,
            Some("uptake") => Assay::Uptake,
            Some("saturation") => {
                let o = t.saturation.clone().unwrap_or_default();
                let global = match o.model.as_deref() {
                    None | Some("global") => true,
                    Some("specific") => false,
                    Some(other) => {
                        self.problem(
                            &["targets", name, "saturation", "model"],
                            format!("unknown saturation model `{other}`: use global or specific"),
                        );
                        true
                    }
                };
                let free_hill = match o.hill_slope.as_deref() {
                    None | Some("fixed") => false,
                    Some("free") => true,
                    Some(other) => {
                        self.problem(
                            &["targets", name, "saturation", "hill_slope"],
                            format!("unknown hill_slope `{other}`: use fixed or free"),
                        );
                        false
                    }
                };
                let correct_depletion = match o.depletion.as_deref() {
                    None | Some("flag") => false,
                    Some("correct") => true,
                    Some(other) => {
                        self.problem(
                            &["targets", name, "saturation", "depletion"],
                            format!("unknown depletion `{other}`: use flag or correct"),
                        );
                        false
                    }
                };
                Assay::Saturation(SaturationSpec { global, free_hill, correct_depletion })
            }
            Some("gtpgs") => {
                let o = t.gtpgs.clone().unwrap_or_default();
                let partial_below = o.partial_below.unwrap_or(0.8);
                if !(partial_below > 0.0 && partial_below <= 1.0) {
                    self.problem(
                        &["targets", name, "gtpgs", "partial_below"],
                        format!("partial_below must be in (0, 1], got {partial_below}"),
                    );
                }
                for (k, v) in [("agonist_nM", o.agonist_nm), ("agonist_ec50_nM", o.agonist_ec50_nm)]
                {
                    if v.is_some_and(|v| !(v.is_finite() && v > 0.0)) {
                        self.problem(
                            &["targets", name, "gtpgs", k],
                            format!("{k} must be a positive number (nM)"),
                        );
                    }
                }
                Assay::Gtpgs(GtpgsSpec {
                    reference_agonist: o.reference_agonist.clone(),
                    antagonists: o.antagonists.clone().unwrap_or_default(),
                    agonist_nm: o.agonist_nm,
                    agonist_ec50_nm: o.agonist_ec50_nm,
                    partial_below,
                })
            }
            Some(other) => {
                self.problem(
                    &key("assay"),
                    format!(
                        "unknown assay `{other}`: use competition, saturation, gtpgs or uptake"
                    ),
                );
                Assay::Competition
            }
        };
        if t.saturation.is_some() && !matches!(assay, Assay::Saturation(_)) {
            self.problem(
                &key("saturation"),
                "`saturation` options need `assay: saturation`".into(),
            );
        }
        if t.gtpgs.is_some() && !matches!(assay, Assay::Gtpgs(_)) {
            self.problem(&key("gtpgs"), "`gtpgs` options need `assay: gtpgs`".into());
        }
        let uptake = assay == Assay::Uptake;
        if !uptake && (t.substrate_nm.is_some() || t.km_nm.is_some()) {
            self.problem(
                &key(if t.km_nm.is_some() { "km_nM" } else { "substrate_nM" }),
                "`substrate_nM` and `km_nM` are for `assay: uptake`; binding assays give \
                 `radioligand_nM` and `kd_nM`"
                    .into(),
            );
        }
        let (l_key, l_given) = if t.substrate_nm.is_some() {
            ("substrate_nM", t.substrate_nm)
        } else {
            ("radioligand_nM", t.radioligand_nm)
        };
        let (kd_key, kd_given) =
            if t.km_nm.is_some() { ("km_nM", t.km_nm) } else { ("kd_nM", t.kd_nm) };
        if t.substrate_nm.is_some() && (t.radioligand_nm.is_some() || t.radioligand_conc.is_some())
        {
            self.problem(
                &key("substrate_nM"),
                "give `substrate_nM` or `radioligand_nM`, not both".into(),
            );
        }
        if t.km_nm.is_some() && (t.kd_nm.is_some() || t.kd.is_some()) {
            self.problem(&key("km_nM"), "give `km_nM` or `kd_nM`, not both".into());
        }
        let l = self.conc(&["targets", name, l_key], l_given, t.radioligand_conc.as_ref());
        let kd = self.conc(&["targets", name, kd_key], kd_given, t.kd.as_ref());
        let needs_ki = matches!(assay, Assay::Competition | Assay::Uptake);
        let (what_l, what_kd) = if uptake {
            ("`substrate_nM`: the substrate concentration [S]", "`km_nM`: the substrate's Km")
        } else {
            ("`radioligand_nM`: the radioligand concentration [L]", "`kd_nM`: the radioligand's Kd")
        };
        if needs_ki && l.is_none() && l_given.is_none() && t.radioligand_conc.is_none() {
            self.problem(&["targets", name], format!("missing {what_l} is needed for Ki"));
        }
        let kd_text_given = kd_given.is_some() || t.kd.is_some();
        if t.kd_from.is_some() && kd_text_given {
            self.problem(&key("kd_from"), "give `kd_from` or `kd_nM`, not both".into());
        }
        if t.kd_from.is_some() && !needs_ki {
            self.problem(
                &key("kd_from"),
                format!("`kd_from` is for competition targets; this one is `{}`", assay.name()),
            );
        }
        if needs_ki && kd.is_none() && !kd_text_given && t.kd_from.is_none() {
            self.problem(
                &["targets", name],
                format!(
                    "missing {what_kd} is needed for Ki (Cheng-Prusoff){}",
                    if uptake { "" } else { "; or take it from a saturation target: `kd_from`" }
                ),
            );
        }
        let (counting, decay) = self.counting(name, t, assay_date);
        if let Assay::Saturation(sp) = &assay {
            if sp.correct_depletion && counting.is_none_or(|c| c.volume_ul.is_none()) {
                self.problem(
                    &["targets", name, "saturation", "depletion"],
                    "depletion correction needs `specific_activity_Ci_per_mmol`, \
                     `counting_efficiency` and `volume_uL` on the target"
                        .into(),
                );
            }
        }
        let l = if needs_ki { l? } else { l.unwrap_or(f64::NAN) };
        let kd = if needs_ki && t.kd_from.is_none() { kd? } else { kd.unwrap_or(f64::NAN) };
        Some(Target {
            name: name.to_string(),
            radioligand: t.radioligand.clone(),
            radioligand_nm: l,
            kd_nm: kd,
            kd_from: t.kd_from.clone(),
            assay,
            counting,
            decay,
        })
    }

    /// The counting section of a target: efficiency and specific activity (decay-corrected to
    /// `assay_date` when both dates are given), volume, protein and cells.
    fn counting(
        &mut self,
        name: &str,
        t: &TargetOptions,
        assay_date: Option<i64>,
    ) -> (Option<Counting>, Option<(Isotope, f64, f64)>) {
        let positive = |r: &mut Self, k: &'static str, v: Option<f64>| -> Option<f64> {
            match v {
                Some(x) if x.is_finite() && x > 0.0 => Some(x),
                Some(x) => {
                    r.problem(
                        &["targets", name, k],
                        format!("{k} must be a positive number, got {x}"),
                    );
                    None
                }
                None => None,
            }
        };
        let sa = positive(self, "specific_activity_Ci_per_mmol", t.specific_activity);
        let eff = positive(self, "counting_efficiency", t.counting_efficiency);
        if eff.is_some_and(|e| e > 1.0) {
            self.problem(
                &["targets", name, "counting_efficiency"],
                "counting_efficiency is CPM/DPM, at most 1 (write 0.4 for 40%)".into(),
            );
        }
        let volume_ul = positive(self, "volume_uL", t.volume_ul);
        let protein_mg = positive(self, "protein_mg_per_well", t.protein_mg_per_well);
        let cells = positive(self, "cells_per_well", t.cells_per_well);
        let isotope = match &t.isotope {
            Some(i) => {
                let parsed = Isotope::parse(i);
                if parsed.is_none() {
                    self.problem(
                        &["targets", name, "isotope"],
                        format!("unknown isotope `{i}`: use 3H, 125I, 35S, 33P or 32P"),
                    );
                }
                parsed
            }
            None => Isotope::from_radioligand(&t.radioligand),
        };
        let calibration = t.calibration_date.as_ref().and_then(|d| {
            crate::radioactivity::day_number(d)
                .map_err(|e| self.problem(&["targets", name, "calibration_date"], e))
                .ok()
        });
        let any_amount = volume_ul.is_some() || protein_mg.is_some() || cells.is_some();
        let (Some(sa), Some(eff)) = (sa, eff) else {
            if (sa.is_some() || any_amount || t.calibration_date.is_some())
                && eff.is_none()
                && t.counting_efficiency.is_none()
            {
                self.problem(
                    &["targets", name],
                    "counts convert to DPM and fmol only with `counting_efficiency` (CPM/DPM) \
                     and `specific_activity_Ci_per_mmol`"
                        .into(),
                );
            } else if eff.is_some() && t.specific_activity.is_none() {
                self.problem(
                    &["targets", name],
                    "`counting_efficiency` needs `specific_activity_Ci_per_mmol` to give fmol"
                        .into(),
                );
            }
            return (None, None);
        };
        let mut decay = None;
        let mut specific_activity = sa;
        if let (Some(cal), Some(day)) = (calibration, assay_date) {
            match isotope {
                Some(iso) => {
                    let days = (day - cal) as f64;
                    let f = crate::radioactivity::decay_fraction(iso, days);
                    specific_activity = sa * f;
                    decay = Some((iso, days, f));
                }
                None => self.problem(
                    &["targets", name, "isotope"],
                    format!(
                        "decay correction needs the isotope: add `isotope: 3H` (or 125I, 35S, \
                         33P, 32P); `{}` does not name one in brackets",
                        t.radioligand
                    ),
                ),
            }
        } else if calibration.is_some() {
            self.problem(
                &["targets", name, "calibration_date"],
                "decay correction needs the top-level `assay_date: YYYY-MM-DD` as well".into(),
            );
        }
        (Some(Counting { efficiency: eff, specific_activity, volume_ul, protein_mg, cells }), decay)
    }

    /// Every `kd_from` names a saturation target of the config.
    fn kd_sources(&mut self, targets: &BTreeMap<String, Target>) {
        for t in targets.values() {
            let Some(from) = &t.kd_from else { continue };
            match targets.get(from) {
                Some(s) if matches!(s.assay, Assay::Saturation(_)) => {}
                Some(s) => self.problem(
                    &["targets", &t.name, "kd_from"],
                    format!(
                        "`{from}` is a {} target; kd_from names a saturation target",
                        s.assay.name()
                    ),
                ),
                None => {
                    let sat: Vec<&str> = targets
                        .values()
                        .filter(|s| matches!(s.assay, Assay::Saturation(_)))
                        .map(|s| s.name.as_str())
                        .collect();
                    self.problem(
                        &["targets", &t.name, "kd_from"],
                        format!(
                            "unknown target `{from}`; saturation targets are: {}",
                            if sat.is_empty() { "none".to_string() } else { sat.join(", ") }
                        ),
                    );
                }
            }
        }
    }

    /// Concentrations (nM) from the radioligand DPM added per well:
    /// `[L] = DPM / (S x 2.22) / V` with the target's specific activity and volume.
    fn dpm_conc(
        &mut self,
        key: &[&str],
        dpm: &[f64],
        target: Option<&Target>,
        n: usize,
    ) -> Option<ConcSpec> {
        if dpm.len() != n {
            self.problem(key, format!("{} values given for a series of {n} wells", dpm.len()));
            return None;
        }
        if dpm.iter().any(|v| !(v.is_finite() && *v > 0.0)) {
            self.problem(key, "added DPM must be positive numbers".into());
            return None;
        }
        let t = target?;
        let Some(c) = t.counting.filter(|c| c.volume_ul.is_some()) else {
            self.problem(
                key,
                format!(
                    "added DPM convert to nM only with the target's \
                     `specific_activity_Ci_per_mmol`, `counting_efficiency` and `volume_uL` \
                     (target `{}`)",
                    t.name
                ),
            );
            return None;
        };
        Some(ConcSpec::List(dpm.iter().map(|d| c.conc_nm_from_dpm(*d)).collect()))
    }

    fn wellset(&mut self, key: &[&str], expr: Option<&String>) -> Option<WellSet> {
        let expr = expr?;
        match WellSet::parse(expr) {
            Ok(w) => Some(w),
            Err(e) => {
                self.problem(key, e);
                None
            }
        }
    }

    fn series_conc(
        &mut self,
        key: &[&str],
        c: &ConcFields<'_>,
        n: Option<usize>,
    ) -> Option<ConcSpec> {
        let ConcFields { top_nm, top, dilution, nm: list, units: list_units } = *c;
        let converted;
        let list = match (list, list_units) {
            (Some(_), Some(_)) => {
                self.problem(key, "give `concentrations_nM` or `concentrations`, not both".into());
                return None;
            }
            (None, Some(texts)) => {
                let mut k = key.to_vec();
                k.push("concentrations");
                let mut v = Vec::with_capacity(texts.len());
                for t in texts {
                    let Some(c) = parse_conc_nm(t) else {
                        self.problem(
                            &k,
                            format!("cannot read concentration `{t}`: write e.g. \"10 µM\""),
                        );
                        return None;
                    };
                    v.push(c);
                }
                converted = v;
                Some(&converted)
            }
            (l, None) => l,
        };
        let mut topkey = key.to_vec();
        topkey.push("top");
        let given = top_nm.is_some() || top.is_some();
        let top = self.conc(&topkey, top_nm, top);
        if given && top.is_none() {
            // Already reported; a follow-up "dilution needs top" would only confuse.
            return None;
        }
        match (top, dilution, list) {
            (None, None, None) => None,
            (Some(t), Some(f), None) => {
                if f.is_finite() && f > 1.0 {
                    Some(ConcSpec::Dilution { top_nm: t, factor: f })
                } else {
                    let mut k = key.to_vec();
                    k.push("dilution");
                    self.problem(&k, format!("dilution factor must be above 1, got {f}"));
                    None
                }
            }
            (None, None, Some(v)) => {
                let mut k = key.to_vec();
                k.push("concentrations_nM");
                if v.iter().any(|c| !(c.is_finite() && *c > 0.0)) {
                    self.problem(&k, "concentrations must be positive numbers (nM)".into());
                    return None;
                }
                if let Some(n) = n.filter(|&n| n != v.len()) {
                    self.problem(
                        &k,
                        format!("{} concentrations given for a series of {n} wells", v.len()),
                    );
                    return None;
                }
                Some(ConcSpec::List(v.clone()))
            }
            (Some(_), None, None) => {
                self.problem(key, "`top` needs `dilution` (or give `concentrations_nM`)".into());
                None
            }
            (None, Some(_), None) => {
                self.problem(key, "`dilution` needs `top_nM` or `top`".into());
                None
            }
            _ => {
                self.problem(
                    key,
                    "give either top + dilution or concentrations_nM, not both".into(),
                );
                None
            }
        }
    }

    fn layout(&mut self, name: &str, l: &LayoutOptions) -> Option<Layout> {
        let geometry = match l.wells {
            None => None,
            Some(n) => {
                let g = Geometry::from_well_count(n as usize);
                if g.is_none() {
                    self.problem(
                        &["layouts", name, "wells"],
                        format!("{n} wells is not a plate size radbind knows (24, 96, 384, 1536)"),
                    );
                }
                g
            }
        };
        let total = self.wellset(&["layouts", name, "total"], l.total.as_ref());
        let nsb = self.wellset(&["layouts", name, "nsb"], l.nsb.as_ref());
        let blank = self.wellset(&["layouts", name, "blank"], l.blank.as_ref());
        let vehicle = self.wellset(&["layouts", name, "vehicle"], l.vehicle.as_ref());
        let basal = self.wellset(&["layouts", name, "basal"], l.basal.as_ref());
        if l.total.is_none() != l.nsb.is_none() && l.basal.is_none() {
            self.problem(
                &["layouts", name],
                "a layout needs both `total` and `nsb` wells to normalise to % specific binding \
                 (or neither, with `controls_from` on its plates)"
                    .into(),
            );
        }
        let series = self.series(name, &l.series)?;
        Some(Layout { name: name.to_string(), geometry, total, nsb, basal, blank, vehicle, series })
    }

    fn series(&mut self, name: &str, s: &SeriesOptions) -> Option<Series> {
        let key = ["layouts", name, "series"];
        let (axis, lanes) = match (&s.columns, &s.rows) {
            (Some(c), None) => match parse_number_range(c) {
                Some((a, b)) => (Axis::Columns, (a - 1, b - 1)),
                None => {
                    self.problem(
                        &["layouts", name, "series", "columns"],
                        format!("cannot read column range `{c}`: write e.g. 2-11"),
                    );
                    return None;
                }
            },
            (None, Some(r)) => match parse_row_range(r) {
                Some(lanes) => (Axis::Rows, lanes),
                None => {
                    self.problem(
                        &["layouts", name, "series", "rows"],
                        format!("cannot read row range `{r}`: write e.g. A-H"),
                    );
                    return None;
                }
            },
            _ => {
                self.problem(
                    &key,
                    "give the series either `columns` (e.g. 2-11) or `rows` (e.g. A-H)".into(),
                );
                return None;
            }
        };
        let n = usize::from(lanes.1 - lanes.0) + 1;
        let high_to_low = match s.direction.as_deref() {
            None | Some("high_to_low") => true,
            Some("low_to_high") => false,
            Some(other) => {
                self.problem(
                    &["layouts", name, "series", "direction"],
                    format!("unknown direction `{other}`: use high_to_low or low_to_high"),
                );
                true
            }
        };
        let fields = ConcFields {
            top_nm: s.top_nm,
            top: s.top.as_ref(),
            dilution: s.dilution,
            nm: s.concentrations_nm.as_ref(),
            units: s.concentrations.as_ref(),
        };
        let conc = self.series_conc(&key, &fields, Some(n));
        Some(Series { axis, lanes, high_to_low, conc })
    }

    fn selector(&mut self, key: &[&str], sel: &PlateSelector) -> Vec<u32> {
        let v = match sel {
            PlateSelector::One(n) => vec![*n],
            PlateSelector::List(v) => v.clone(),
            PlateSelector::Range(s) => {
                let parsed = s.split_once('-').and_then(|(a, b)| {
                    let a: u32 = a.trim().parse().ok()?;
                    let b: u32 = b.trim().parse().ok()?;
                    (b >= a).then(|| (a..=b).collect::<Vec<_>>())
                });
                parsed.or_else(|| s.trim().parse().ok().map(|n| vec![n])).unwrap_or_default()
            }
        };
        if v.is_empty() || v.contains(&0) {
            self.problem(key, "plate numbers start at 1: write `3`, `\"2-4\"` or `[1, 5]`".into());
        }
        v
    }

    fn plate(
        &mut self,
        i: usize,
        p: &PlateOptions,
        o: &Options,
        layouts: &BTreeMap<String, Layout>,
        targets: &BTreeMap<String, Target>,
        base: &Path,
    ) -> Option<PlateSpec> {
        let idx = i.to_string();
        let target = targets.get(&p.target);
        let saturation = target.is_some_and(|t| matches!(t.assay, Assay::Saturation(_)));
        let gtpgs = target.is_some_and(|t| matches!(t.assay, Assay::Gtpgs(_)));
        let numbers = match (&p.plate, &p.barcode) {
            (Some(sel), None) => self.selector(&["plates", &idx, "plate"], sel),
            (None, Some(_)) => Vec::new(),
            (Some(_), Some(_)) => {
                self.problem(&["plates", &idx], "give `plate` or `barcode`, not both".into());
                Vec::new()
            }
            (None, None) => {
                self.problem(
                    &["plates", &idx],
                    "say which plate: `plate: 3` (its number) or `barcode: ABC123`".into(),
                );
                Vec::new()
            }
        };
        if !o.targets.contains_key(&p.target) {
            let known: Vec<&str> = o.targets.keys().map(String::as_str).collect();
            self.problem(
                &["plates", &idx, "target"],
                format!("unknown target `{}`; targets are: {}", p.target, known.join(", ")),
            );
        }
        let file = p.file.as_ref().and_then(|f| match glob::Pattern::new(f) {
            Ok(pat) => Some(pat),
            Err(e) => {
                self.problem(&["plates", &idx, "file"], format!("bad file pattern `{f}`: {e}"));
                None
            }
        });
        if p.plate_map.is_some() {
            return self.map_plate(i, p, numbers, file, base);
        }
        let Some(layout_name) = &p.layout else {
            self.problem(
                &["plates", &idx],
                "say how the plate is laid out: `layout: <a key of layouts>` (with `rows` or \
                 `columns`) or `plate_map: <file.csv>`"
                    .into(),
            );
            return None;
        };
        let Some(layout) = layouts.get(layout_name) else {
            if !o.layouts.contains_key(layout_name) {
                let known: Vec<&str> = o.layouts.keys().map(String::as_str).collect();
                self.problem(
                    &["plates", &idx, "layout"],
                    format!("unknown layout `{layout_name}`; layouts are: {}", known.join(", ")),
                );
            }
            return None;
        };
        let (map, map_key) = match layout.series.axis {
            Axis::Columns => (&p.rows, "rows"),
            Axis::Rows => (&p.columns, "columns"),
        };
        let wrong = match layout.series.axis {
            Axis::Columns => p.columns.is_some().then_some("columns"),
            Axis::Rows => p.rows.is_some().then_some("rows"),
        };
        if let Some(w) = wrong {
            self.problem(
                &["plates", &idx, w],
                format!(
                    "layout `{}` runs its series along {}, so compounds go by `{map_key}`",
                    layout.name,
                    if map_key == "rows" { "columns" } else { "rows" }
                ),
            );
        }
        let Some(map) = map else {
            self.problem(
                &["plates", &idx],
                format!(
                    "say which compound is on which {map_key}, e.g. {map_key}: {{A-B: mianserin}}"
                ),
            );
            return None;
        };
        let mut compounds = Vec::new();
        for (lanes_text, c) in map {
            let lanes = match layout.series.axis {
                Axis::Columns => parse_row_range(lanes_text),
                Axis::Rows => parse_number_range(lanes_text).map(|(a, b)| (a - 1, b - 1)),
            };
            let Some(lanes) = lanes else {
                self.problem(
                    &["plates", &idx, map_key, lanes_text],
                    format!("cannot read {map_key} `{lanes_text}`: write e.g. A-B (rows) or 1-3 (columns)"),
                );
                continue;
            };
            let series_dpm = o.layouts.get(layout_name).and_then(|l| l.series.added_dpm.as_ref());
            let (name, conc) = match c {
                CompoundOptions::Name(n) => {
                    let conc = series_dpm.and_then(|dpm| {
                        self.dpm_conc(
                            &["layouts", layout_name, "series", "added_dpm"],
                            dpm,
                            target,
                            layout.series.len(),
                        )
                    });
                    (n.clone(), conc)
                }
                CompoundOptions::Detailed(d) if d.added_dpm.is_some() => {
                    let k = ["plates", &idx, map_key, lanes_text, "added_dpm"];
                    let conc = d
                        .added_dpm
                        .as_ref()
                        .and_then(|dpm| self.dpm_conc(&k, dpm, target, layout.series.len()));
                    (d.compound.clone(), conc)
                }
                CompoundOptions::Detailed(d) => {
                    let fields = ConcFields {
                        top_nm: d.top_nm,
                        top: d.top.as_ref(),
                        dilution: d.dilution,
                        nm: d.concentrations_nm.as_ref(),
                        units: d.concentrations.as_ref(),
                    };
                    let conc = self.series_conc(
                        &["plates", &idx, map_key, lanes_text],
                        &fields,
                        Some(layout.series.len()),
                    );
                    (d.compound.clone(), conc)
                }
            };
            if name.trim().is_empty() {
                self.problem(&["plates", &idx, map_key, lanes_text], "empty compound name".into());
                continue;
            }
            if saturation && !matches!(name.as_str(), "total" | "nsb") {
                self.problem(
                    &["plates", &idx, map_key, lanes_text],
                    format!(
                        "`{name}` on a saturation plate: its {map_key} are `total` or `nsb` \
                         series of the radioligand, e.g. {map_key}: {{A-C: total, D-F: nsb}}"
                    ),
                );
                continue;
            }
            let series_given = o.layouts.get(layout_name).is_some_and(|l| {
                let s = &l.series;
                s.added_dpm.is_some()
                    || s.top.is_some()
                    || s.top_nm.is_some()
                    || s.dilution.is_some()
                    || s.concentrations_nm.is_some()
                    || s.concentrations.is_some()
            });
            let own_given = matches!(c, CompoundOptions::Detailed(d) if d.added_dpm.is_some() || d.top.is_some() || d.top_nm.is_some() || d.dilution.is_some() || d.concentrations_nm.is_some() || d.concentrations.is_some());
            // When concentrations were given but are invalid, that problem is already listed.
            if conc.is_none() && layout.series.conc.is_none() && !series_given && !own_given {
                self.problem(
                    &["plates", &idx, map_key, lanes_text],
                    format!(
                        "compound `{name}` has no concentrations: give the layout's series a \
                         top + dilution, or give the compound its own"
                    ),
                );
            }
            compounds.push(CompoundBlock { name, lanes, conc });
        }
        // Two compounds on one lane would give one well two roles.
        for (a, ca) in compounds.iter().enumerate() {
            for cb in &compounds[a + 1..] {
                if ca.lanes.0 <= cb.lanes.1 && cb.lanes.0 <= ca.lanes.1 {
                    self.problem(
                        &["plates", &idx, map_key],
                        format!("`{}` and `{}` overlap on the same {map_key}", ca.name, cb.name),
                    );
                }
            }
        }
        if gtpgs && layout.basal.is_none() && p.controls_from.is_none() {
            self.problem(
                &["plates", &idx, "layout"],
                format!(
                    "a [35S]GTPγS plate needs basal wells: give layout `{}` a `basal` well set",
                    layout.name
                ),
            );
        }
        if !saturation
            && !gtpgs
            && layout.total.is_none()
            && layout.nsb.is_none()
            && p.controls_from.is_none()
        {
            self.problem(
                &["plates", &idx],
                format!(
                    "layout `{}` has no total/NSB wells: give `controls_from: <plate number>` \
                     to take them from a control plate",
                    layout.name
                ),
            );
        }
        if p.controls_from == Some(0) {
            self.problem(&["plates", &idx, "controls_from"], "plate numbers start at 1".into());
        }
        Some(PlateSpec {
            entry: i,
            numbers,
            barcode: p.barcode.clone(),
            controls_from: p.controls_from,
            file,
            target: p.target.clone(),
            layout: layout_name.clone(),
            plate_map: None,
            compounds,
            rotated: p.rotated.unwrap_or(false),
        })
    }

    fn fit(&mut self, o: &Options, targets: &BTreeMap<String, Target>) -> FitSettings {
        let f = o.fit.clone().unwrap_or_default();
        let model = match f.model.as_deref() {
            None | Some("four_parameter") => ModelKind::FourParameter,
            Some("one_site") => ModelKind::OneSite,
            Some("fit_ki") => ModelKind::FitKi,
            Some("two_site") => ModelKind::TwoSite,
            Some("agonist") => ModelKind::Agonist,
            Some(other) => {
                self.problem(
                    &["fit", "model"],
                    format!(
                        "unknown model `{other}`: use four_parameter, one_site, fit_ki, two_site \
                         or agonist"
                    ),
                );
                ModelKind::FourParameter
            }
        };
        let fix = f.fix.unwrap_or_default();
        let mut fixed = [fix.top, fix.bottom, fix.hill_slope, None];
        if matches!(model, ModelKind::OneSite | ModelKind::FitKi | ModelKind::TwoSite) {
            if fix.hill_slope.is_some_and(|h| h != -1.0) {
                self.problem(
                    &["fit", "fix", "hill_slope"],
                    format!("model {} fixes the Hill slope at -1", model.name()),
                );
            }
            fixed[2] = Some(-1.0);
        }
        for (k, v) in ["top", "bottom", "hill_slope"].iter().zip(fixed) {
            if v.is_some_and(|v| !v.is_finite()) {
                self.problem(&["fit", "fix", k], "fixed values must be finite numbers".into());
            }
        }
        let b = f.bounds.unwrap_or_default();
        let mut bounds = [None; 4];
        for (k, (name, v)) in [
            ("top", b.top),
            ("bottom", b.bottom),
            ("hill_slope", b.hill_slope),
            ("log_ic50", b.log_ic50),
        ]
        .into_iter()
        .enumerate()
        {
            let Some([lo, hi]) = v else { continue };
            if lo.is_nan() || hi.is_nan() || lo > hi {
                self.problem(
                    &["fit", "bounds", name],
                    format!("bounds must be [low, high] with low <= high, got [{lo}, {hi}]"),
                );
                continue;
            }
            if matches!(model, ModelKind::FitKi | ModelKind::TwoSite) {
                self.problem(
                    &["fit", "bounds", name],
                    format!(
                        "bounds apply to the 4PL models (four_parameter, one_site, agonist), not \
                         to {}",
                        model.name()
                    ),
                );
                continue;
            }
            if let Some(x) = fixed[k].filter(|x| !(lo..=hi).contains(x)) {
                self.problem(
                    &["fit", "bounds", name],
                    format!("the fixed value {x} lies outside the bounds [{lo}, {hi}]"),
                );
            }
            bounds[k] = Some((lo, hi));
        }
        let rout_q = f.outliers.as_ref().and_then(|out| {
            match out.method.as_deref() {
                None | Some("rout") => {}
                Some("none") => return None,
                Some(other) => {
                    self.problem(
                        &["fit", "outliers", "method"],
                        format!("unknown outlier method `{other}`: use rout or none"),
                    );
                    return None;
                }
            }
            let q = out.q_pct.unwrap_or(1.0);
            if !(q > 0.0 && q <= 10.0) {
                self.problem(
                    &["fit", "outliers", "q_pct"],
                    format!("Q must be a percentage in (0, 10] (Prism's default is 1), got {q}"),
                );
                return None;
            }
            Some(q / 100.0)
        });
        let compare = f.compare.as_ref().and_then(|c| {
            let mut models = Vec::new();
            for (i, m) in c.models.iter().enumerate() {
                match m.as_str() {
                    "one_vs_two_sites" => models.push(CompareKind::OneVsTwoSites),
                    "slope" => models.push(CompareKind::Slope),
                    other => self.problem(
                        &["fit", "compare", "models", &i.to_string()],
                        format!("unknown comparison `{other}`: use one_vs_two_sites or slope"),
                    ),
                }
            }
            if c.models.is_empty() {
                self.problem(
                    &["fit", "compare", "models"],
                    "list at least one comparison: one_vs_two_sites, slope".into(),
                );
            }
            let method = match c.method.as_deref() {
                None | Some("f_test") => CompareMethod::FTest,
                Some("aicc") => CompareMethod::Aicc,
                Some(other) => {
                    self.problem(
                        &["fit", "compare", "method"],
                        format!("unknown comparison method `{other}`: use f_test or aicc"),
                    );
                    CompareMethod::FTest
                }
            };
            let alpha = c.alpha.unwrap_or(0.05);
            if !(alpha > 0.0 && alpha < 1.0) {
                self.problem(
                    &["fit", "compare", "alpha"],
                    format!("alpha must lie between 0 and 1 (e.g. 0.05), got {alpha}"),
                );
            }
            if model != ModelKind::FourParameter && model != ModelKind::OneSite {
                self.problem(
                    &["fit", "compare"],
                    format!(
                        "comparisons start from one site: use model four_parameter or one_site, \
                         not {}",
                        model.name()
                    ),
                );
            }
            (!models.is_empty()).then_some(CompareSettings { models, method, alpha })
        });
        let ligand =
            targets.iter().map(|(k, t)| (k.clone(), (t.radioligand_nm, t.kd_nm))).collect();
        let weighting = match f.weighting.as_deref() {
            None | Some("none") => WeightingKind::None,
            Some("1/y" | "1/Y") => WeightingKind::InverseY,
            Some("1/y2" | "1/Y2" | "1/y^2" | "1/Y^2") => WeightingKind::InverseY2,
            Some("poisson") => WeightingKind::Poisson,
            Some(other) => {
                self.problem(
                    &["fit", "weighting"],
                    format!("unknown weighting `{other}`: use none, 1/y, 1/y2 or poisson"),
                );
                WeightingKind::None
            }
        };
        let counting_minutes = f.counting_minutes.unwrap_or(1.0);
        if !(counting_minutes > 0.0 && counting_minutes.is_finite()) {
            self.problem(
                &["fit", "counting_minutes"],
                format!(
                    "counting time must be a positive number of minutes, got {counting_minutes}"
                ),
            );
        }
        let profile_ci = match f.ci.as_deref() {
            None | Some("asymptotic") => false,
            Some("profile") => true,
            Some(other) => {
                self.problem(
                    &["fit", "ci"],
                    format!("unknown confidence interval `{other}`: use asymptotic or profile"),
                );
                false
            }
        };
        let mut share = [false; 4];
        for (i, name) in f.share.iter().flatten().enumerate() {
            match ["top", "bottom", "hill_slope"].iter().position(|k| k == name) {
                Some(k) => share[k] = true,
                None => self.problem(
                    &["fit", "share", &i.to_string()],
                    format!("cannot share `{name}`: use top, bottom or hill_slope"),
                ),
            }
        }
        if share.iter().any(|s| *s) {
            let clash = [
                (!matches!(model, ModelKind::FourParameter | ModelKind::OneSite), "fit.model"),
                (compare.is_some(), "fit.compare"),
                (bounds.iter().any(Option::is_some), "fit.bounds"),
                (weighting != WeightingKind::None, "fit.weighting"),
                (profile_ci, "fit.ci: profile"),
            ];
            for (bad, what) in clash {
                if bad {
                    self.problem(
                        &["fit", "share"],
                        format!(
                            "fit.share (a global fit) works with model four_parameter or one_site \
                             and without {what} for now"
                        ),
                    );
                }
            }
        }
        FitSettings {
            model,
            fixed,
            bounds,
            rout_q,
            compare,
            ligand,
            weighting,
            counting_minutes,
            profile_ci,
            share,
        }
    }

    fn exclusion(&mut self, i: usize, e: &ExcludeOptions) -> Option<Exclusion> {
        let idx = i.to_string();
        let plates = self.selector(&["exclude", &idx, "plate"], &e.plate);
        let wells = self.wellset(&["exclude", &idx, "wells"], Some(&e.wells))?;
        if e.reason.trim().is_empty() {
            self.problem(&["exclude", &idx, "reason"], "say why the wells are excluded".into());
        }
        Some(Exclusion { entry: i, plates, wells, reason: e.reason.clone() })
    }
}

/// Removes `.` and `dir/..` pairs lexically (`configs/../data` -> `data`), so messages and
/// manifests show the paths a user would write. Leading `..` are kept.
#[must_use]
pub fn clean_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                Some(Component::RootDir | Component::Prefix(_)) => {}
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    if out.is_empty() {
        return PathBuf::from(".");
    }
    out.iter().collect()
}

/// `["plates", "2", "target"]` -> `plates[2].target`.
fn key_string(key: &[&str]) -> String {
    let mut s = String::new();
    for k in key {
        if k.parse::<usize>().is_ok() {
            s.push_str(&format!("[{k}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(k);
        }
    }
    s
}

/// Finds the 1-based line of a key path in YAML text (best effort: block and flow style).
///
/// Walks the path: a map key is the next `key:` after the current position at a deeper
/// indentation or inside the same flow mapping; a list index is the n-th `- ` item.
fn locate(text: &str, key: &[&str]) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut line = 0usize;
    let mut found_any = false;
    let mut parent_indent: Option<usize> = None;
    for seg in key {
        if let Ok(n) = seg.parse::<usize>() {
            // n-th list item after `line`, at the first item indentation found.
            let mut count = 0;
            let mut item_indent = None;
            let mut hit = None;
            for (i, l) in lines.iter().enumerate().skip(line + usize::from(found_any)) {
                let t = l.trim_start();
                let ind = l.len() - t.len();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                if parent_indent.is_some_and(|p| ind <= p) && !t.starts_with("- ") {
                    break;
                }
                if t.starts_with("- ") || t == "-" {
                    let ii = *item_indent.get_or_insert(ind);
                    if ind == ii {
                        if count == n {
                            hit = Some((i, ind));
                            break;
                        }
                        count += 1;
                    }
                }
            }
            let Some((i, ind)) = hit else { break };
            line = i;
            parent_indent = Some(ind);
            found_any = true;
        } else {
            let mut hit = None;
            for (i, l) in lines.iter().enumerate().skip(line) {
                let t = l.trim_start();
                let ind = l.len() - t.len();
                if found_any && i > line && parent_indent.is_some_and(|p| ind <= p) && !t.is_empty()
                {
                    break;
                }
                if contains_key(l, seg) {
                    hit = Some((i, ind));
                    break;
                }
            }
            match hit {
                Some((i, ind)) => {
                    line = i;
                    parent_indent = Some(ind);
                    found_any = true;
                }
                None => break,
            }
        }
    }
    found_any.then_some(line + 1)
}

/// True when `line` has `key:` as a mapping key (block or flow style, optionally quoted).
fn contains_key(line: &str, key: &str) -> bool {
    let code = line.split(" #").next().unwrap_or(line);
    for pat in [format!("{key}:"), format!("\"{key}\":"), format!("'{key}':")] {
        let mut from = 0;
        while let Some(pos) = code[from..].find(&pat) {
            let at = from + pos;
            let before = code[..at].chars().next_back();
            if before.is_none_or(|c| c.is_whitespace() || c == '{' || c == ',' || c == '-') {
                return true;
            }
            from = at + 1;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"experiment: test
inputs: [data/*.txt]
targets:
  5-HT2A: {radioligand: "[3H]ketanserin", radioligand_nM: 1.0, kd_nM: 0.4}
  H1:
    radioligand: "[3H]pyrilamine"
    radioligand_conc: 1.5 nM
    kd: 1.2 nM
layouts:
  standard96:
    total: column 1
    nsb: column 12
    series: {columns: 2-11, top: 10 µM, dilution: 3.162}
plates:
  - {plate: 1, target: 5-HT2A, layout: standard96, rows: {A-B: mianserin, C-D: ketanserin}}
  - plate: 2-3
    target: H1
    layout: standard96
    rows: {A-C: mianserin}
"#;

    fn resolve_text(text: &str) -> Result<Settings, ConfigError> {
        let o: Options = serde_yaml::from_str(text).map_err(|e| {
            ConfigError::single(
                Path::new("t.yaml"),
                "",
                e.location().map(|l| l.line()),
                yaml_message(&e),
            )
        })?;
        resolve(Path::new("/nonexistent/t.yaml"), text.to_string(), o)
    }

    #[test]
    fn resolves_units_and_ranges() {
        let err = resolve_text(GOOD).unwrap_err();
        // Only the glob fails (no data next to this test config).
        assert_eq!(err.problems.len(), 1, "{err}");
        assert_eq!(err.problems[0].key, "inputs[0]");
        assert_eq!(err.problems[0].line, Some(2));
    }

    #[test]
    fn unknown_key_names_line() {
        let bad = GOOD.replace("kd_nM: 0.4", "kd_nm: 0.4");
        let err = resolve_text(&bad).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("unknown field `kd_nm`"), "{msg}");
        assert_eq!(err.problems[0].line, Some(4), "{msg}");
    }

    #[test]
    fn semantic_errors_all_listed_with_lines() {
        let bad =
            GOOD.replace("target: H1", "target: H2").replace("dilution: 3.162", "dilution: 0.5");
        let err = resolve_text(&bad).unwrap_err();
        let keys: Vec<(&str, Option<usize>)> =
            err.problems.iter().map(|p| (p.key.as_str(), p.line)).collect();
        assert!(keys.contains(&("plates[1].target", Some(17))), "{keys:?}");
        assert!(keys.contains(&("layouts.standard96.series.dilution", Some(13))), "{keys:?}");
    }

    #[test]
    fn paths_are_cleaned() {
        assert_eq!(
            clean_path(Path::new("configs/../sample_data/x")),
            PathBuf::from("sample_data/x")
        );
        assert_eq!(clean_path(Path::new("../a/./b")), PathBuf::from("../a/b"));
        assert_eq!(clean_path(Path::new("/a/../../b")), PathBuf::from("/b"));
    }

    #[test]
    fn dilution_series_values() {
        let c = ConcSpec::Dilution { top_nm: 10_000.0, factor: 10.0 };
        assert_eq!(c.values_high_to_low(3), vec![10_000.0, 1000.0, 100.0]);
    }

    #[test]
    fn primary_target_must_name_a_target() {
        let ok = format!("{GOOD}report: {{primary_target: H1}}\n");
        let err = resolve_text(&ok).unwrap_err();
        // Only the glob fails.
        assert_eq!(err.problems.len(), 1, "{err}");
        let bad = format!("{GOOD}report:\n  figures: svg\n  primary_target: H2\n");
        let err = resolve_text(&bad).unwrap_err();
        let p = err
            .problems
            .iter()
            .find(|p| p.key == "report.primary_target")
            .unwrap_or_else(|| panic!("no primary_target problem: {err}"));
        assert_eq!(p.line, Some(GOOD.lines().count() + 3), "{err}");
        assert_eq!(p.message, "unknown target `H2`; targets are: 5-HT2A, H1");
    }

    #[test]
    fn locate_finds_nested_keys() {
        assert_eq!(locate(GOOD, &["layouts", "standard96", "nsb"]), Some(12));
        assert_eq!(locate(GOOD, &["targets", "H1", "kd"]), Some(8));
        assert_eq!(locate(GOOD, &["plates", "1", "layout"]), Some(18));
        assert_eq!(locate(GOOD, &["plates", "0", "rows"]), Some(15));
    }
}

/// A plate map CSV named by a `plates:` entry, read at config time.
#[derive(Debug, Clone)]
pub struct PlateMapSpec {
    /// The file as found (relative to the working directory), for messages.
    pub path: PathBuf,
    /// What each listed well holds, with its line in the file.
    pub map: PlateMap,
}

/// The placeholder layout of plate-map entries: no wells, an empty one-lane series.
fn placeholder_layout(name: &str) -> Layout {
    Layout {
        name: name.to_string(),
        geometry: None,
        total: None,
        nsb: None,
        basal: None,
        blank: None,
        vehicle: None,
        series: Series { axis: Axis::Columns, lanes: (0, 0), high_to_low: true, conc: None },
    }
}

/// Ingest-related resolution: the column map and plate-map entries.
impl Resolver<'_> {
    fn columns(&mut self, c: Option<&ColumnsOptions>, format: Option<Format>) -> Option<ColumnMap> {
        let c = c?;
        if let Some(f) = format.filter(|f| !matches!(f, Format::CountTable | Format::Xlsx)) {
            self.problem(
                &["columns"],
                format!(
                    "a column map is for count_table and xlsx inputs, not format `{}`: remove \
                     `columns` or set `format: count_table`",
                    f.name()
                ),
            );
        }
        for (k, v) in
            [("plate", &c.plate), ("well", &c.well), ("value", &c.value), ("time", &c.time)]
        {
            if v.as_ref().is_some_and(|v| v.trim().is_empty()) {
                self.problem(
                    &["columns", k],
                    "empty column name: give the header text, or leave the key out to try the \
                     usual names"
                        .into(),
                );
            }
        }
        Some(ColumnMap {
            plate: c.plate.clone().unwrap_or_default(),
            well: c.well.clone().unwrap_or_default(),
            value: c.value.clone().unwrap_or_default(),
            time: c.time.clone(),
            skip_lines: c.skip_lines.unwrap_or(0),
        })
    }

    /// A `plates:` entry with `plate_map`: reads the map (through ingest) and checks that the
    /// keys that only make sense with a layout template are absent.
    fn map_plate(
        &mut self,
        i: usize,
        p: &PlateOptions,
        numbers: Vec<u32>,
        file: Option<glob::Pattern>,
        base: &Path,
    ) -> Option<PlateSpec> {
        let idx = i.to_string();
        let written = p.plate_map.clone().unwrap_or_default();
        if p.layout.is_some() {
            self.problem(
                &["plates", &idx, "layout"],
                "give `layout` or `plate_map`, not both: the plate map already says what each \
                 well holds"
                    .into(),
            );
        }
        for (key, given) in [("rows", p.rows.is_some()), ("columns", p.columns.is_some())] {
            if given {
                self.problem(
                    &["plates", &idx, key],
                    format!(
                        "`{key}` is not used with `plate_map`: the map names each well's \
                         compound and concentration"
                    ),
                );
            }
        }
        if p.controls_from == Some(0) {
            self.problem(&["plates", &idx, "controls_from"], "plate numbers start at 1".into());
        }
        if written.trim().is_empty() {
            self.problem(&["plates", &idx, "plate_map"], "empty plate map path".into());
            return None;
        }
        let path = clean_path(&base.join(&written));
        let map = match crate::ingest::read_plate_map(&path) {
            Ok(m) => m,
            Err(crate::ingest::IngestError::Io { path, source }) => {
                self.problem(
                    &["plates", &idx, "plate_map"],
                    format!(
                        "cannot read plate map {}: {source} (paths are relative to the config \
                         file)",
                        path.display()
                    ),
                );
                return None;
            }
            Err(e) => {
                self.problem(&["plates", &idx, "plate_map"], format!("plate map {e}"));
                return None;
            }
        };
        let has = |role: &str| map.entries.iter().any(|e| e.role == role);
        match (has("total"), has("nsb")) {
            (true, true) => {}
            (false, false) if p.controls_from.is_some() => {}
            (false, false) => self.problem(
                &["plates", &idx, "plate_map"],
                format!(
                    "plate map {} has no total/NSB wells: mark them in the map (role total, \
                     nsb), or give `controls_from: <plate number>` to take them from a control \
                     plate",
                    path.display()
                ),
            ),
            (t, _) => self.problem(
                &["plates", &idx, "plate_map"],
                format!(
                    "plate map {} has {} wells but no {} wells: both are needed to normalise \
                     to % specific binding",
                    path.display(),
                    if t { "total" } else { "nsb" },
                    if t { "nsb" } else { "total" }
                ),
            ),
        }
        Some(PlateSpec {
            entry: i,
            numbers,
            file,
            barcode: p.barcode.clone(),
            controls_from: p.controls_from,
            target: p.target.clone(),
            layout: format!("plate map {written}"),
            plate_map: Some(PlateMapSpec { path, map }),
            compounds: Vec::new(),
            rotated: p.rotated.unwrap_or(false),
        })
    }
}
