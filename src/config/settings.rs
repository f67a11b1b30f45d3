//! Resolved, validated settings: the only view of the config that later stages see.
//!
//! Plain types: units converted to nM, well sets parsed, names cross-checked. They are built
//! from the YAML schema ([`super::options`]) by [`super::resolve`]; nothing here reads text.
//!
//! Precedence: command-line flags (applied by the caller) over the YAML over the defaults
//! written in the resolver.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::options::{
    BlockOrder, CurveFigures, ErrorBars, Figures, HitRule, ModelKind, Options, SeriesEnd,
};
use super::wellset::WellSet;
use crate::ingest::{ColumnMap, Format, PlateMap, TableColumns};
use crate::radioactivity::{Counting, Isotope};
use crate::types::Geometry;

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
    /// Input files after glob expansion, in config order (each glob in natural order: `run2`
    /// before `run10`).
    pub inputs: Vec<PathBuf>,
    /// Forced input format, if any.
    pub format: Option<Format>,
    /// Chosen signal column, if any.
    pub signal: Option<String>,
    /// Column map for count tables and XLSX long sheets (the `columns:` key), if given.
    pub columns: Option<ColumnMap>,
    /// Column map for concentration tables (`format: concentration_table`; the `columns:`
    /// key's concentration-table names).
    pub table: Option<TableColumns>,
    /// Keep negative counts as counts (`negative_counts: keep`) instead of leaving the wells out.
    pub keep_negative_counts: bool,
    /// Targets by name.
    pub targets: BTreeMap<String, Target>,
    /// The target names in the order the config text lists them (`targets` is sorted by
    /// name); tables and reports list targets in this order.
    pub target_order: Vec<String>,
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
    /// Plates whose 95th-percentile count is below this (CPM) are background plates, not
    /// fitted; 0 = never.
    pub background_cpm: f64,
    /// Which curve figures to write.
    pub figures: Figures,
    /// Which curves and plates get a figure (`report.curve_figures`).
    pub curve_figures: CurveFigures,
    /// PNG size factor (1 = 800 x 600 px).
    pub png_scale: f64,
    /// Error bars on curve figures.
    pub error_bars: ErrorBars,
    /// Primary target of the selectivity panel (a known target); `None`: per compound, its
    /// lowest exact Ki.
    pub primary_target: Option<String>,
    /// Primary-screen hit calling and replicate checks (`screen`).
    pub screen: ScreenSettings,
    /// The options as parsed (for the manifest's resolved config).
    pub options: Options,
    /// Which independent experiment the run is (`experiment_id`); `None`: the run is its own
    /// experiment, named by its run directory.
    pub experiment_id: Option<String>,
    /// Date of the assay as written (`assay_date`, `YYYY-MM-DD`), for control charts.
    pub assay_date: Option<String>,
    /// Reference compound per target name (`targets.<name>.reference`).
    pub references: BTreeMap<String, Reference>,
}

/// A target's reference compound and its acceptance range.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// The reference compound.
    pub compound: String,
    /// Expected pKi (pIC50/pEC50 where the target reports no Ki), with the accepted distance
    /// from it in log units: in range when `|p - expected| <= limit`. `None`: recorded only.
    pub expected: Option<(f64, f64)>,
}

impl Settings {
    /// How ingest reads the input files: the format, signal column, column map and negative
    /// counts this config asks for.
    #[must_use]
    pub fn read_options(&self) -> crate::ingest::ReadOptions {
        crate::ingest::ReadOptions {
            format: self.format,
            signal: self.signal.clone(),
            columns: self.columns.clone(),
            keep_negative: self.keep_negative_counts,
            table: self.table.clone(),
        }
    }
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

impl Target {
    /// True when the target reports a Ki: a competition or uptake assay with [L] (or [S])
    /// and Kd (or Km, or a Kd from a saturation target). Without both it is an IC50-only
    /// target: IC50 and pIC50, and no Ki column, figure label or table mentions Ki.
    #[must_use]
    pub fn reports_ki(&self) -> bool {
        matches!(self.assay, Assay::Competition | Assay::Uptake)
            && self.radioligand_nm.is_finite()
            && (self.kd_nm.is_finite() || self.kd_from.is_some())
    }
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
    /// The dilution series; `None` for a controls-only layout.
    pub series: Option<Series>,
    /// The series end whose wells also serve as the 100 % control (`top_from`).
    pub top_from: Option<SeriesEnd>,
    /// The series end whose wells also serve as the 0 % control (`bottom_from`).
    pub bottom_from: Option<SeriesEnd>,
    /// Single-concentration blocks of a primary screen (`primary`), instead of a series.
    pub primary: Option<PrimaryLayout>,
    /// The reference compound whose `bottom_from` wells are the 0 % control of every
    /// compound on the plate (`bottom_compound`); `None`: each compound's own.
    pub bottom_compound: Option<String>,
}

impl Layout {
    /// True when the layout has neither total nor NSB wells, nor series wells standing in
    /// for them: its curves are fitted on the raw signal with free plateaus (curve-only).
    #[must_use]
    pub fn curve_only(&self) -> bool {
        self.total.is_none()
            && self.nsb.is_none()
            && self.basal.is_none()
            && self.top_from.is_none()
            && self.bottom_from.is_none()
    }
}

/// Where a primary screen's compounds sit: a rectangle tiled by blocks of replicate wells,
/// one compound per block, every well at one concentration.
#[derive(Debug, Clone, PartialEq)]
pub struct PrimaryLayout {
    /// The rectangle the blocks tile (resolved against the plate's geometry).
    pub wells: WellSet,
    /// Block size `(rows, columns)`, each at least 1.
    pub block: (u16, u16),
    /// The order the blocks take the compounds in.
    pub order: BlockOrder,
    /// The concentration of every primary well, nM.
    pub conc_nm: f64,
}

/// Hit calling and replicate checks of primary-screen plates (`screen`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScreenSettings {
    /// Which numbers call a hit.
    pub rule: HitRule,
    /// Hit at % inhibition >= this (`inhibition`, `both`).
    pub min_inhibition_pct: f64,
    /// Hit at robust z >= this (`robust_z`, `both`).
    pub min_robust_z: f64,
    /// Flag `high_cv` above this CV% of the replicate counts.
    pub max_cv_pct: f64,
    /// Flag `replicate_outlier` when a replicate lies more than this many %SB points from
    /// the median of the others.
    pub outlier_pct: f64,
}

impl Default for ScreenSettings {
    fn default() -> Self {
        ScreenSettings {
            rule: HitRule::Inhibition,
            min_inhibition_pct: 50.0,
            min_robust_z: 3.0,
            max_cv_pct: 20.0,
            outlier_pct: 20.0,
        }
    }
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
    /// Explicit concentrations in nM as written: highest first or lowest first (the resolver
    /// refuses a list in no order, so ordering it is never a re-sort).
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
    /// The independent experiment of the plate (`plates[].experiment`, else the top-level
    /// `experiment_id`); `None`: the run's.
    pub experiment: Option<String>,
    /// Compounds named apart from the lanes, in block order: a primary-screen entry's
    /// (layouts with `primary`), or those of an entry that lists its lanes as blocks
    /// (`rows: [A-B, C-D]`) with a `plate,compound` list naming each plate's compounds
    /// (then [`CompoundBlock::name`] is empty; see [`PlateSpec::named_blocks`]).
    pub names: Option<CompoundNames>,
    /// A plate map's `sample` wells are primary-screen wells (`primary: true`).
    pub map_primary: bool,
}

impl PlateSpec {
    /// The compound blocks of the plate with this global number and label, each with its
    /// compound's name: the entry's own names, or the plate's from the entry's `plate,compound`
    /// list (a name `-` leaves its block empty).
    ///
    /// # Errors
    /// The list names no compounds for the plate, or more compounds than the entry has blocks.
    pub fn named_blocks(
        &self,
        number: Option<u32>,
        label: &str,
    ) -> Result<Vec<(&str, &CompoundBlock)>, String> {
        let Some(names) = self.names.as_ref().filter(|_| !self.compounds.is_empty()) else {
            return Ok(self.compounds.iter().map(|b| (b.name.as_str(), b)).collect());
        };
        let listed = names.for_plate(number, label).ok_or_else(|| {
            format!(
                "{} names no compounds for plate {}{}: list them under its number or barcode",
                names.source,
                number.map_or_else(|| "?".to_string(), |n| n.to_string()),
                if label.trim().is_empty() {
                    String::new()
                } else {
                    format!(" (barcode `{}`)", label.trim())
                },
            )
        })?;
        if listed.len() > self.compounds.len() {
            return Err(format!(
                "{} names {} compounds for plate {} but the entry (plates[{}]) has {} blocks",
                names.source,
                listed.len(),
                number.map_or_else(|| label.trim().to_string(), |n| n.to_string()),
                self.entry,
                self.compounds.len()
            ));
        }
        Ok(listed
            .iter()
            .zip(&self.compounds)
            .filter(|(n, _)| n.as_str() != "-")
            .map(|(n, b)| (n.as_str(), b))
            .collect())
    }
}

/// The compounds of a primary-screen entry, in block order: one list for every plate of the
/// entry, or one per plate (by number or barcode) from a `plate,compound` list file.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompoundNames {
    /// Where the names come from, for messages: `compounds` or the list file's path.
    pub source: String,
    /// Names for every plate of the entry (a plain list).
    pub shared: Vec<String>,
    /// Names by plate number or barcode (a `plate,compound` list).
    pub by_plate: BTreeMap<String, Vec<String>>,
}

impl CompoundNames {
    /// The names of the plate with this global number and label, if the source has them.
    #[must_use]
    pub fn for_plate(&self, number: Option<u32>, label: &str) -> Option<&[String]> {
        if self.by_plate.is_empty() {
            return Some(&self.shared);
        }
        number
            .and_then(|n| self.by_plate.get(&n.to_string()))
            .or_else(|| self.by_plate.get(label.trim()))
            .map(Vec::as_slice)
    }
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

/// Fit settings.
#[derive(Debug, Clone)]
pub struct FitSettings {
    /// Model.
    pub model: ModelKind,
    /// Fixed values for [top, bottom, hill_slope, log_ic50]; `None` = free. Top and bottom in
    /// % of the controls.
    pub fixed: [Option<f64>; 4],
    /// Fixed [top, bottom] of curves fitted on the raw signal (plates without controls), in
    /// the signal's units (`fit.fix.top_cpm`, `bottom_cpm`).
    pub fixed_signal: [Option<f64>; 2],
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
    /// Pipetting CV (fraction) of the variance model of a plate with too few replicates
    /// (`fit.pipetting_cv_pct` / 100).
    pub pipetting_cv: f64,
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
    /// The plate's variance model of counts (`a + CPM/t + (cv CPM)^2`), estimated from its
    /// replicate wells.
    Auto,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings {
            model: ModelKind::FourParameter,
            fixed: [None; 4],
            fixed_signal: [None; 2],
            bounds: [None; 4],
            rout_q: None,
            compare: None,
            ligand: BTreeMap::new(),
            weighting: WeightingKind::None,
            counting_minutes: 1.0,
            pipetting_cv: 0.05,
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

/// A plate map CSV named by a `plates:` entry, read at config time.
#[derive(Debug, Clone)]
pub struct PlateMapSpec {
    /// The file as found (relative to the working directory), for messages.
    pub path: PathBuf,
    /// What each listed well holds, with its line in the file.
    pub map: PlateMap,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dilution_series_values() {
        let c = ConcSpec::Dilution { top_nm: 10_000.0, factor: 10.0 };
        assert_eq!(c.values_high_to_low(3), vec![10_000.0, 1000.0, 100.0]);
    }
}
