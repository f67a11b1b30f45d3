//! The raw YAML schema: exactly what a user writes, nothing resolved.
//!
//! Every struct denies unknown keys so a typo fails loudly, with serde's line and column.
//! A key that takes one word from a fixed set (`model: fit_ki`, `error_bars: sem`) is a
//! [`Choice`] of a serde enum below: an unknown word is reported by the resolver with its key
//! and line, among every other problem, rather than stopping the parse. Defaults, unit
//! conversion and cross-field checks happen in `resolve/`, not here.
//! The README's config reference documents every key below; keep them in step. Duplicate
//! keys, control characters and merge keys are handled before serde sees the text
//! (`scan.rs`, `resolve::load`).

use std::collections::BTreeMap;

use serde::de::{DeserializeOwned, Deserializer, IntoDeserializer};
use serde::{Deserialize, Serialize, Serializer};

/// Top level of an analysis config.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Options {
    /// Experiment name; appears in every table and report. Required.
    pub experiment: String,
    /// Default output directory (relative to the config file). Default: `outputs/<experiment>`
    /// relative to the working directory.
    pub output: Option<String>,
    /// Input files: paths or glob patterns, relative to the config file, in order; a glob's
    /// files in natural order (`run2` before `run10`). Required.
    pub inputs: Vec<String>,
    /// Input format: `auto` (default, detected from content), `microbeta`, `long_csv`,
    /// `grid_csv`, `count_table` (TopCount/MicroBeta2 tables), `hidex`, `xlsx` or
    /// `concentration_table` (concentration and response columns, no wells; CSV/TSV or XLSX).
    pub format: Option<String>,
    /// Which instrument column is the signal (e.g. `CCPM1`, `DPM1`). Default: the first CPM column.
    pub signal: Option<String>,
    /// Column map for count tables and XLSX long sheets: which header names hold the plate,
    /// well, value and counting time, and how many preamble lines to skip. Giving it makes
    /// text inputs read as `count_table` unless `format` says otherwise.
    pub columns: Option<ColumnsOptions>,
    /// Negative counts: `exclude` (default: the well is left out, with the reason) or `keep`
    /// (background-subtracted exports write counts below zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub negative_counts: Option<Choice<NegativeCounts>>,
    /// Targets by name: radioligand, its concentration and Kd.
    pub targets: BTreeMap<String, TargetOptions>,
    /// Plate layout templates by name (not needed when every plate has a `plate_map`, nor for
    /// concentration tables).
    #[serde(default)]
    pub layouts: BTreeMap<String, LayoutOptions>,
    /// Which plates hold which target and compounds. Not needed for concentration tables
    /// (their plates are laid out from the table).
    #[serde(default)]
    pub plates: Vec<PlateOptions>,
    /// Curve-fitting options.
    pub fit: Option<FitOptions>,
    /// Wells to leave out, each with a reason.
    pub exclude: Option<Vec<ExcludeOptions>>,
    /// Plate QC thresholds.
    pub qc: Option<QcOptions>,
    /// Date of the assay, `YYYY-MM-DD`: specific activities are decay-corrected from each
    /// target's `calibration_date` to this day.
    pub assay_date: Option<String>,
    /// Which independent experiment this run is, e.g. `exp-2026-11-21` or `"3"`: `radbind
    /// summarize` pools one value per experiment. Default: each run is its own experiment,
    /// named by its run directory. Plates of one run can be split with `plates[].experiment`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment_id: Option<String>,
    /// What the report writes.
    pub report: Option<ReportOptions>,
    /// Primary-screen hit calling and replicate checks (plates with `primary` wells).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub screen: Option<ScreenOptions>,
}

/// Report options.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportOptions {
    /// Curve figures: `svg+png` (default), `svg` (faster on large runs) or `none`.
    pub figures: Option<Choice<Figures>>,
    /// Which curves (and plates) get a figure: `auto` (default: `all` up to
    /// 5,000 curves, `flagged` above), `all`, `flagged` (flagged or failed curves, plates
    /// with QC flags) or `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curve_figures: Option<Choice<CurveFigures>>,
    /// PNG size factor: 1 (default) = 800 x 600 px; 3 for print (about 300 dpi at 8 x 6 in).
    pub png_scale: Option<f64>,
    /// Error bars on the curve figures' means: `sd` (default), `sem` or `none`.
    pub error_bars: Option<Choice<ErrorBars>>,
    /// Primary target of the selectivity panel: every compound's Ki ratios are taken against
    /// its Ki there, e.g. `primary_target: H1`. Must name a target. Default: per compound,
    /// the target where it has its lowest exact (uncensored) Ki.
    pub primary_target: Option<String>,
}

/// A target (receptor) and its radioligand.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct TargetOptions {
    /// Radioligand name, e.g. `[3H]ketanserin`. Optional (shown in tables and reports).
    pub radioligand: Option<String>,
    /// Radioligand concentration [L] in nM (or use `radioligand_conc: "1 nM"`).
    #[serde(rename = "radioligand_nM")]
    pub radioligand_nm: Option<f64>,
    /// Radioligand concentration with a unit, e.g. `"1.5 nM"`.
    pub radioligand_conc: Option<String>,
    /// Radioligand Kd in nM (or use `kd: "0.4 nM"`).
    #[serde(rename = "kd_nM")]
    pub kd_nm: Option<f64>,
    /// Radioligand Kd with a unit.
    pub kd: Option<String>,
    /// Take the Kd from the saturation experiment of this (saturation) target in the same run,
    /// instead of `kd_nM`. Example: `kd_from: 5-HT2A-saturation`.
    pub kd_from: Option<String>,
    /// The assay: `competition` (default), `saturation` (Kd and Bmax from total and NSB wells over
    /// a radioligand series), `gtpgs` ([35S]GTPγS functional assay: agonist EC50/Emax, relative
    /// efficacy, antagonist IC50/Kb) or `uptake` (uptake inhibition, % of control uptake).
    pub assay: Option<Choice<AssayName>>,
    /// Uptake assays: substrate concentration [S] in nM (instead of `radioligand_nM`).
    #[serde(rename = "substrate_nM")]
    pub substrate_nm: Option<f64>,
    /// Uptake assays: the substrate's Km in nM (instead of `kd_nM`): Ki = IC50 / (1 + [S]/Km).
    #[serde(rename = "km_nM")]
    pub km_nm: Option<f64>,
    /// Saturation options (`assay: saturation`).
    pub saturation: Option<SaturationOptions>,
    /// [35S]GTPγS options (`assay: gtpgs`).
    pub gtpgs: Option<GtpgsOptions>,
    /// Isotope: `3H`, `125I`, `35S`, `33P` or `32P`. Default: from the radioligand name
    /// (`[3H]ketanserin` → 3H).
    pub isotope: Option<String>,
    /// Specific activity on the calibration date, Ci/mmol (from the vial's data sheet).
    #[serde(rename = "specific_activity_Ci_per_mmol")]
    pub specific_activity: Option<f64>,
    /// Date the specific activity refers to, `YYYY-MM-DD`; with the top-level `assay_date`
    /// the specific activity is decay-corrected: `S = S0 2^(-days / half-life)`.
    pub calibration_date: Option<String>,
    /// Counting efficiency, CPM/DPM, in (0, 1] (tritium on filter mats: typically 0.3-0.5).
    pub counting_efficiency: Option<f64>,
    /// Assay volume per well, µL.
    #[serde(rename = "volume_uL")]
    pub volume_ul: Option<f64>,
    /// Membrane protein per well, mg (for fmol/mg).
    pub protein_mg_per_well: Option<f64>,
    /// Cells per well (for sites per cell).
    pub cells_per_well: Option<f64>,
    /// The target's reference compound and its accepted pKi (pIC50 on IC50-only targets):
    /// a run whose reference falls outside is flagged `reference_out_of_range` on every curve
    /// of the target. Example: `reference: {compound: ketanserin, pki: 9.3, limit: 0.5}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<ReferenceOptions>,
}

/// A target's reference compound (`targets.<name>.reference`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReferenceOptions {
    /// The reference compound (a compound on the target's plates). Required.
    pub compound: String,
    /// Expected pKi (pIC50 on an IC50-only target, pEC50 for an agonist). Without it the run
    /// only records the reference; `radbind summarize` learns the range from history.
    pub pki: Option<f64>,
    /// Accepted distance from `pki`, log units (e.g. 0.5: within a factor 3.2). Default:
    /// 3 x `sd` when `sd` is given, else 0.5.
    pub limit: Option<f64>,
    /// The assay's historical SD of the reference's pKi between runs, log units.
    pub sd: Option<f64>,
}

/// Saturation-binding options of a target.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SaturationOptions {
    /// `global` (default): total and NSB fitted together, NSB linear in [L] with shared slope and
    /// background (Prism's "One site -- Total and nonspecific binding"); `specific`: specific
    /// binding (total - mean NSB at each [L]) fitted alone ("One site -- Specific binding").
    pub model: Option<Choice<SaturationModelName>>,
    /// Hill slope of the specific binding: `fixed` (default, 1) or `free`.
    pub hill_slope: Option<Choice<HillSlopeMode>>,
    /// Ligand depletion: `flag` (default: flag when more than 10% of the added radioligand is
    /// bound) or `correct` (fit against free [L] = added - bound; needs `specific_activity_Ci_per_mmol`,
    /// `counting_efficiency` and `volume_uL`).
    pub depletion: Option<Choice<DepletionMode>>,
}

/// [35S]GTPγS functional-assay options of a target.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct GtpgsOptions {
    /// Reference full agonist (a compound on the plates): relative efficacy = Emax / its Emax.
    pub reference_agonist: Option<String>,
    /// Compounds tested as antagonists against a fixed agonist concentration (falling curves,
    /// IC50 and Kb); every other compound is fitted as an agonist (rising curve, EC50, Emax).
    pub antagonists: Option<Vec<String>>,
    /// Agonist concentration in the antagonist wells, nM (for Kb).
    #[serde(rename = "agonist_nM")]
    pub agonist_nm: Option<f64>,
    /// EC50 of that agonist, nM. Default: the fitted EC50 of `reference_agonist` in this run.
    #[serde(rename = "agonist_ec50_nM")]
    pub agonist_ec50_nm: Option<f64>,
    /// Relative efficacy below which an agonist is reported as partial. Default 0.8.
    pub partial_below: Option<f64>,
}

/// A plate layout template: which wells are controls and where the dilution series runs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LayoutOptions {
    /// Expected plate size: 24, 96, 384 or 1536 wells. Checked against the plates read.
    pub wells: Option<u32>,
    /// Total-binding wells (well set, e.g. `column 1`, `A1-H1`, `A1, B1`).
    pub total: Option<String>,
    /// Non-specific-binding wells.
    pub nsb: Option<String>,
    /// Basal wells of a [35S]GTPγS assay (no agonist): the 0% of "% stimulation over basal".
    pub basal: Option<String>,
    /// Blank/background wells (no membranes); reported, not used in fits.
    pub blank: Option<String>,
    /// Vehicle wells (zero competitor); reported, not used in fits.
    pub vehicle: Option<String>,
    /// Where the competitor dilution series runs. Optional for a controls-only layout (a
    /// control plate other plates take their total/NSB from with `controls_from`).
    pub series: Option<SeriesOptions>,
    /// Use the series' own wells as the 100 % control as well: `lowest_concentration` (each
    /// compound's lowest-concentration wells are also total-binding wells) or
    /// `highest_concentration` (agonist curves). The wells stay series points.
    pub top_from: Option<Choice<SeriesEnd>>,
    /// Use the series' own wells as the 0 % control as well: `highest_concentration` (each
    /// compound's highest-concentration wells are also NSB wells) or `lowest_concentration`.
    pub bottom_from: Option<Choice<SeriesEnd>>,
    /// With `bottom_from: highest_concentration`: take the 0 % control from this reference
    /// compound only (its saturating top concentration defines NSB for every compound on the
    /// plate), e.g. `bottom_compound: haloperidol`.
    pub bottom_compound: Option<String>,
    /// Single-concentration (primary screen) wells instead of a `series`: blocks of
    /// replicate wells, one compound per block, named per plate by `compounds` or
    /// `compound_list`. Example:
    /// `{wells: columns 2-11, block: 4x1, order: down_then_across, concentration: "10 µM"}`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<PrimaryOptions>,
}

/// `layouts.<name>.primary`: where a primary screen's compounds sit, one block of replicate
/// wells per compound, all at one concentration.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PrimaryOptions {
    /// The rectangle the blocks tile (a well set that is one rectangle), e.g. `columns 2-11`
    /// or `B2-G11`. Required.
    pub wells: String,
    /// Block of replicate wells per compound, `<rows>x<columns>`: `4x1` (four wells down a
    /// column, default), `1x3` (three wells along a row), `2x2`.
    pub block: Option<String>,
    /// Order the blocks take the compounds in: `down_then_across` (default: down the first
    /// block column, then the next) or `across_then_down`.
    pub order: Option<Choice<BlockOrder>>,
    /// The one concentration with a unit, e.g. `"10 µM"`. Give this or `concentration_nM`.
    pub concentration: Option<String>,
    /// The one concentration in nM, e.g. `10000`.
    #[serde(rename = "concentration_nM")]
    pub concentration_nm: Option<f64>,
}

/// `layouts.<name>.primary.order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockOrder {
    /// `down_then_across`: A1-D1 is the first block, E1-H1 the second, then column 2.
    DownThenAcross,
    /// `across_then_down`: blocks along the first block row, then the next.
    AcrossThenDown,
}

/// `screen`: hit calling and replicate checks of primary-screen plates.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScreenOptions {
    /// Hit rule: `inhibition` (default: % inhibition >= `min_inhibition_pct`), `robust_z`
    /// (robust z-score >= `min_robust_z`) or `both`.
    pub hit: Option<Choice<HitRule>>,
    /// % inhibition at or above which a compound is a hit. Default 50.
    pub min_inhibition_pct: Option<f64>,
    /// Robust z-score (against the plate's compounds) at or above which a compound is a
    /// hit with `hit: robust_z` or `both`. Default 3.
    pub min_robust_z: Option<f64>,
    /// Compounds whose replicate counts have a CV above this % are flagged `high_cv`.
    /// Default 20.
    pub max_cv_pct: Option<f64>,
    /// A replicate more than this many % specific binding points from the median of the
    /// other replicates is flagged `replicate_outlier` (still averaged). Default 20.
    pub outlier_pct: Option<f64>,
}

/// `screen.hit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HitRule {
    /// `inhibition`: % inhibition >= `min_inhibition_pct`.
    Inhibition,
    /// `robust_z`: robust z-score >= `min_robust_z`.
    RobustZ,
    /// `both`: both of the above.
    Both,
}

/// `layouts.<name>.top_from` / `bottom_from`: which end of each compound's series.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesEnd {
    /// `lowest_concentration`
    LowestConcentration,
    /// `highest_concentration`
    HighestConcentration,
}

/// A dilution series along columns (compounds by rows) or along rows (compounds by columns).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SeriesOptions {
    /// Columns holding the series, e.g. `2-11`: one concentration per column.
    pub columns: Option<String>,
    /// Rows holding the series, e.g. `A-H`: one concentration per row.
    pub rows: Option<String>,
    /// Highest concentration in nM.
    #[serde(rename = "top_nM")]
    pub top_nm: Option<f64>,
    /// Highest concentration with a unit, e.g. `"10 µM"`.
    pub top: Option<String>,
    /// Dilution factor between neighbouring wells (e.g. `3.162` for half-log steps).
    pub dilution: Option<f64>,
    /// Explicit concentrations in nM (instead of top + dilution), highest first or lowest
    /// first: never re-sorted, a list in no order is refused.
    #[serde(rename = "concentrations_nM")]
    pub concentrations_nm: Option<Vec<f64>>,
    /// Explicit concentrations with units, e.g. `["10 µM", "1 µM", "100 nM"]`.
    pub concentrations: Option<Vec<String>>,
    /// Radioligand added per well in DPM, in series order (saturation): converted to nM with the
    /// target's specific activity and `volume_uL`.
    pub added_dpm: Option<Vec<f64>>,
    /// `high_to_low` (default: the first column/row of the range holds the top concentration)
    /// or `low_to_high`.
    pub direction: Option<Choice<SeriesDirection>>,
}

/// One plate, or a group of plates, of the experiment.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PlateOptions {
    /// Plate number(s): `3`, `"2-4"` or `[1, 5]`. Counted over all inputs in order, or within
    /// `file` when that is given. Give `plate` or `barcode`.
    pub plate: Option<PlateSelector>,
    /// Select the plate by its barcode / label in the export instead of its number.
    pub barcode: Option<String>,
    /// Take total and NSB from another plate (its number): for layouts whose controls sit on a
    /// separate control plate.
    pub controls_from: Option<u32>,
    /// Only plates from files whose name matches this glob (e.g. `"*_run2.txt"`).
    pub file: Option<String>,
    /// Target assayed on the plate (a key of `targets`).
    pub target: String,
    /// Layout template (a key of `layouts`). Give `layout` or `plate_map`.
    pub layout: Option<String>,
    /// Plate map CSV (relative to the config file) saying what each well holds (role,
    /// compound, concentration), instead of a `layout` template with `rows`/`columns`.
    pub plate_map: Option<String>,
    /// Compounds by rows when the series runs along columns: `{A-B: mianserin, C-D: ...}`;
    /// or the row blocks alone, `[A-B, C-D]`, filled in order from `compounds` or
    /// `compound_list`.
    pub rows: Option<Lanes>,
    /// Compounds by columns when the series runs along rows: `{1-3: mianserin}`; or the
    /// column blocks alone, `["1-3", "4-6"]`.
    pub columns: Option<Lanes>,
    /// The plate was counted turned by 180 degrees (A1 read where H12 is): turn it back.
    pub rotated: Option<bool>,
    /// The independent experiment the plate belongs to (overrides the top-level
    /// `experiment_id`): plates of different experiments are fitted as separate curves.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// Primary-screen compounds, in block order (layouts with `primary`), e.g.
    /// `[RB-0001, RB-0002]`. Give this or `compound_list`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compounds: Option<Vec<String>>,
    /// A compound list file (relative to the config file), one name per line in block order;
    /// or `plate,compound` lines (plate number or barcode) naming each plate's compounds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub compound_list: Option<String>,
    /// With `plate_map`: the map's `sample` wells are single-concentration primary-screen
    /// wells (as role `primary` in the map says), not a dilution series.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub primary: Option<bool>,
}

/// A plate selector: one number, a range string or a list.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum PlateSelector {
    /// `plate: 3`
    One(u32),
    /// `plate: "2-4"`
    Range(String),
    /// `plate: [1, 5]`
    List(Vec<u32>),
}

/// The compounds of a plate entry's lanes (`rows:` or `columns:`).
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Lanes {
    /// Each block of lanes with its compound: `{A-B: mianserin, C-D: ketanserin}`.
    Named(BTreeMap<String, CompoundOptions>),
    /// The blocks alone, in the order they take the entry's `compounds` or each plate's
    /// names from its `compound_list`: `[A-B, C-D]`.
    Blocks(Vec<String>),
}

/// A mapping is [`Lanes::Named`], a sequence [`Lanes::Blocks`]; each is deserialised as
/// itself, so a problem inside keeps serde's own message and line (an untagged enum would
/// only say that nothing matched).
impl<'de> Deserialize<'de> for Lanes {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Lanes;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("compounds by lanes, `{A-B: mianserin}`, or a list of lane blocks, `[A-B, C-D]`")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Lanes, A::Error> {
                BTreeMap::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(Lanes::Named)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(self, seq: A) -> Result<Lanes, A::Error> {
                Vec::<LaneBlock>::deserialize(serde::de::value::SeqAccessDeserializer::new(seq))
                    .map(|v| Lanes::Blocks(v.into_iter().map(|b| b.0).collect()))
            }
        }
        d.deserialize_any(V)
    }
}

/// One block of a [`Lanes::Blocks`] list: rows `A-B`, or columns written as a number or a
/// range (`3`, `"1-3"`).
struct LaneBlock(String);

impl<'de> Deserialize<'de> for LaneBlock {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = LaneBlock;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a block of rows or columns, e.g. A-B or 1-3")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<LaneBlock, E> {
                Ok(LaneBlock(v.to_string()))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<LaneBlock, E> {
                Ok(LaneBlock(v.to_string()))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<LaneBlock, E> {
                Ok(LaneBlock(v.to_string()))
            }
        }
        d.deserialize_any(V)
    }
}

/// A compound on a block of rows/columns: a name, or a name with its own concentrations.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(untagged)]
pub enum CompoundOptions {
    /// Just the name: concentrations from the layout's series.
    Name(String),
    /// A name with its own top/dilution/concentrations.
    Detailed(CompoundDetail),
}

/// A compound with its own concentrations.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompoundDetail {
    /// Compound name.
    pub compound: String,
    /// Highest concentration, nM.
    #[serde(rename = "top_nM")]
    pub top_nm: Option<f64>,
    /// Highest concentration with a unit.
    pub top: Option<String>,
    /// Dilution factor.
    pub dilution: Option<f64>,
    /// Explicit concentrations, nM, in series order.
    #[serde(rename = "concentrations_nM")]
    pub concentrations_nm: Option<Vec<f64>>,
    /// Explicit concentrations with units.
    pub concentrations: Option<Vec<String>>,
    /// Radioligand added per well in DPM (saturation), as in the layout's series.
    pub added_dpm: Option<Vec<f64>>,
}

/// Fit options (Prism's fit dialog).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FitOptions {
    /// The curve model. Default `four_parameter`.
    ///
    /// - `four_parameter`: variable Hill slope ("log(inhibitor) vs. response -- variable slope").
    /// - `one_site`: Hill slope fixed at -1 ("One site -- Fit logIC50").
    /// - `fit_ki`: "One site -- Fit Ki": LogKi fitted directly with the target's [L] and Kd.
    /// - `two_site`: "Two sites -- Fit logIC50"; the main IC50/Ki columns hold the high-affinity
    ///   site, `fraction_hi`, `log_ic50_hi/lo`, `ki_hi/lo_nM` both sites.
    /// - `agonist`: rising 4PL ("log(agonist) vs. response"); EC50 in the IC50 columns, no Ki.
    ///
    /// Example: `model: fit_ki`.
    pub model: Option<Choice<ModelKind>>,
    /// Parameters held constant: any of `top`, `bottom`, `hill_slope` (in % specific binding).
    pub fix: Option<FixOptions>,
    /// Box constraints `[low, high]` on the 4PL parameters (`four_parameter`, `one_site`,
    /// `agonist`). Default: none (LogIC50 within the tested range +- 3 log units, |slope| <= 10).
    /// Example: `bounds: {bottom: [-10, 10], hill_slope: [-2, -0.5]}`.
    pub bounds: Option<BoundsOptions>,
    /// Outlier removal. Default: none. Example: `outliers: {method: rout, q_pct: 1}`.
    pub outliers: Option<OutlierOptions>,
    /// Model comparison. Default: none.
    /// Example: `compare: {models: [one_vs_two_sites, slope], method: f_test, alpha: 0.05}`.
    pub compare: Option<CompareOptions>,
    /// Weighting of the 4PL fits (`four_parameter`, `one_site`, `agonist`): `none` (default),
    /// `1/y`, `1/y2` (Prism's relative weights from the fitted curve) or `poisson` (counting
    /// statistics of the counts behind each % specific binding value). Example: `poisson`.
    pub weighting: Option<Choice<WeightingName>>,
    /// Counting time per well in minutes for `weighting: poisson` when the export does not say
    /// (default 1). Example: `counting_minutes: 2`.
    pub counting_minutes: Option<f64>,
    /// Pipetting CV in % of the variance model of a plate with too few replicate wells to
    /// estimate it (`weighting: auto`, ROUT); default 5. Example: `pipetting_cv_pct: 4`.
    pub pipetting_cv_pct: Option<f64>,
    /// Confidence intervals of LogIC50: `asymptotic` (default; Wald, `+- t SE`) or `profile`
    /// (profile likelihood, for the 4PL models; columns `log_ic50_profile_low/high`).
    pub ci: Option<Choice<CiMethod>>,
    /// Parameters shared by all compounds of a target in one global fit (Prism's "shared"
    /// constraint): any of `top`, `bottom`, `hill_slope`. Default: none (each curve alone).
    /// Example: `share: [top, bottom]`.
    pub share: Option<Vec<Choice<SharedParameter>>>,
}
/// Fixed parameter values.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FixOptions {
    /// Fixed top plateau (% specific binding), e.g. 100.
    pub top: Option<f64>,
    /// Fixed bottom plateau (% specific binding), e.g. 0.
    pub bottom: Option<f64>,
    /// Fixed Hill slope, e.g. -1.
    pub hill_slope: Option<f64>,
    /// Fixed top plateau of curves on plates without controls, in the signal's units (CPM
    /// for counts), e.g. 5200.
    pub top_cpm: Option<f64>,
    /// Fixed bottom plateau of curves on plates without controls, in the signal's units,
    /// e.g. `bottom_cpm: 180` (the NSB level measured elsewhere).
    pub bottom_cpm: Option<f64>,
}

/// Wells to leave out of QC and fits.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExcludeOptions {
    /// Plate number(s), as in `plates`.
    pub plate: PlateSelector,
    /// Well set, e.g. `"B05, C07"`.
    pub wells: String,
    /// Why (shown in wells.csv and the report). Required.
    pub reason: String,
}

/// Plate QC thresholds.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QcOptions {
    /// Plates with Z' below this are flagged (still fitted). Default 0.5.
    pub min_z_prime: Option<f64>,
    /// Plates with signal/background (mean total / mean NSB) below this are flagged. Default 3.
    pub min_signal_to_background: Option<f64>,
    /// Saturation and competition plates where more than this % of the added radioligand is
    /// bound are flagged `ligand_depletion` (needs specific activity, efficiency and volume).
    /// Default 10.
    pub max_fraction_bound_pct: Option<f64>,
    /// Saturation fits whose specific binding at [L] = Kd is below this % of total are flagged.
    /// Default 80 (DOMAIN.md §6).
    pub min_specific_at_kd_pct: Option<f64>,
    /// A plate whose wells nearly all count below this many CPM (95th percentile) is a
    /// background plate (an empty or blank plate in the export): reported, not fitted.
    /// Default 20; 0 fits every plate.
    pub background_cpm: Option<f64>,
}

/// Box constraints on the 4PL parameters, each `[low, high]` (`fit.bounds`). Units: % specific
/// binding for `top`/`bottom`, Prism's sign for `hill_slope`, log10 molar for `log_ic50`.
/// Example: `{top: [90, 110], log_ic50: [-10, -5]}`. Default: unbounded (within radbind's own
/// limits).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BoundsOptions {
    /// Top plateau bounds, e.g. `[80, 120]`.
    pub top: Option<[f64; 2]>,
    /// Bottom plateau bounds, e.g. `[-10, 10]`.
    pub bottom: Option<[f64; 2]>,
    /// Hill slope bounds, e.g. `[-2, -0.5]`.
    pub hill_slope: Option<[f64; 2]>,
    /// LogIC50 bounds (log10 molar), e.g. `[-11, -4]`.
    pub log_ic50: Option<[f64; 2]>,
}

/// Outlier removal (`fit.outliers`). Example: `{method: rout, q_pct: 1}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OutlierOptions {
    /// `rout` (Motulsky & Brown 2006, as in Prism) or `none`. Default `rout` when the section
    /// is given.
    pub method: Option<Choice<OutlierMethod>>,
    /// ROUT coefficient Q in percent (maximum false discovery rate), in (0, 10]. Default 1.
    pub q_pct: Option<f64>,
}

/// Model comparison (`fit.compare`). Example:
/// `{models: [one_vs_two_sites, slope], method: f_test, alpha: 0.05}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CompareOptions {
    /// Comparisons, in order: `one_vs_two_sites` (one site vs two sites), `slope` (Hill slope
    /// -1 vs variable). Required, at least one.
    pub models: Vec<Choice<CompareName>>,
    /// `f_test` (extra-sum-of-squares F test, default) or `aicc`.
    pub method: Option<Choice<CompareMethodName>>,
    /// Significance level of the F test, in (0, 1). Default 0.05.
    pub alpha: Option<f64>,
}

/// The top-level `columns:` key: which columns of a count table (TopCount/MicroBeta2 export,
/// XLSX long sheet) hold what. Header names match case-insensitively; a key left out means
/// "try the usual names" (`Plate`/`Barcode`, `Well`/`Pos`, `CPM`/`CCPM1`, `Time`).
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnsOptions {
    /// Header of the plate id / barcode column, e.g. `Barcode`.
    pub plate: Option<String>,
    /// Header of the well position column, e.g. `Well`.
    pub well: Option<String>,
    /// Header of the count column used as the signal, e.g. `CPM` or `DPM`.
    pub value: Option<String>,
    /// Header of the counting-time column, e.g. `"Time (s)"` (seconds when the header says
    /// so, minutes otherwise).
    pub time: Option<String>,
    /// Preamble lines before the header to skip. Default 0: the header is found automatically.
    pub skip_lines: Option<usize>,
    /// Concentration tables: header of the concentration column, e.g. `"Concentration (uM)"`
    /// (the unit may be left out: `Concentration`).
    pub concentration: Option<String>,
    /// Concentration tables: unit of the concentration column when the header does not say it
    /// (or to override it): `M`, `mM`, `uM`, `nM`, `pM`, `fM` or `log M`.
    pub concentration_unit: Option<String>,
    /// Concentration tables: header of the response column (CPM or any signal).
    pub response: Option<String>,
    /// Concentration tables: header of the compound column.
    pub compound: Option<String>,
    /// Concentration tables: header of the target column (values are keys of `targets`).
    pub target: Option<String>,
    /// Concentration tables: header of the replicate column.
    pub replicate: Option<String>,
    /// Concentration tables: header of the role column (`total`, `nsb`, `sample`, ...).
    pub role: Option<String>,
}

impl ColumnsOptions {
    /// The keys only concentration tables have, with their values.
    #[must_use]
    pub fn table_only(&self) -> [(&'static str, &Option<String>); 7] {
        [
            ("concentration", &self.concentration),
            ("concentration_unit", &self.concentration_unit),
            ("response", &self.response),
            ("compound", &self.compound),
            ("target", &self.target),
            ("replicate", &self.replicate),
            ("role", &self.role),
        ]
    }

    /// True when a key only concentration tables have is given.
    #[must_use]
    pub fn names_table_columns(&self) -> bool {
        self.table_only().iter().any(|(_, v)| v.is_some())
    }
}

/// A config word from a fixed set `T` (one of the serde enums below), kept with the text as
/// written.
///
/// Parsing never fails on the word itself: `value` is `None` for a word that is not one of
/// `T`'s spellings, and the resolver reports it with its key and line. A value that is not
/// text at all fails as a plain `String` key would. Serialises back as written, so the
/// manifest's copy of the config keeps the user's spelling (`1/Y`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Choice<T> {
    /// The text as written.
    pub text: String,
    /// The word, when the text is one of its spellings.
    pub value: Option<T>,
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Choice<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        let word: serde::de::value::StrDeserializer<'_, serde::de::value::Error> =
            text.as_str().into_deserializer();
        let value = T::deserialize(word).ok();
        Ok(Choice { text, value })
    }
}

impl<T> Serialize for Choice<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// Which curve figures a run writes (`report.figures`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Figures {
    /// No curve figures (`none`).
    #[serde(rename = "none")]
    None,
    /// SVG only (`svg`).
    #[serde(rename = "svg")]
    Svg,
    /// SVG and PNG (`svg+png`, default).
    #[serde(rename = "svg+png")]
    SvgPng,
}

/// Which curves and plates get a figure (`report.curve_figures`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurveFigures {
    /// `all` up to [`CurveFigures::AUTO_ALL_LIMIT`] curves, `flagged` above (default).
    #[default]
    Auto,
    /// Every curve and plate.
    All,
    /// Flagged or failed curves, plates with QC flags.
    Flagged,
    /// No curve figures or plate heat maps (overlays and maps of the whole run are still
    /// drawn).
    None,
}

impl CurveFigures {
    /// Above this many curves `auto` draws only the flagged ones.
    pub const AUTO_ALL_LIMIT: usize = 5_000;

    /// The choice for a run of `curves` curves: `auto` resolved.
    #[must_use]
    pub fn for_curves(self, curves: usize) -> CurveFigures {
        match self {
            CurveFigures::Auto if curves > Self::AUTO_ALL_LIMIT => CurveFigures::Flagged,
            CurveFigures::Auto => CurveFigures::All,
            other => other,
        }
    }

    /// The config word.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            CurveFigures::Auto => "auto",
            CurveFigures::All => "all",
            CurveFigures::Flagged => "flagged",
            CurveFigures::None => "none",
        }
    }
}

/// Which error bars the mean points of the curve figures carry (`report.error_bars`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorBars {
    /// Sample standard deviation of the replicates (n - 1) (`sd`).
    #[default]
    Sd,
    /// Standard error of the mean, SD / sqrt(n) (`sem`).
    Sem,
    /// No error bars (`none`).
    None,
}

/// `negative_counts`: what a count below zero means.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NegativeCounts {
    /// `exclude` (default): the well is left out, with the reason.
    Exclude,
    /// `keep`: background-subtracted exports write counts below zero; keep them as counts.
    Keep,
}

/// `targets.<name>.assay`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssayName {
    /// `competition`
    Competition,
    /// `saturation`
    Saturation,
    /// `gtpgs`
    Gtpgs,
    /// `uptake`
    Uptake,
}

/// `targets.<name>.saturation.model`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SaturationModelName {
    /// `global`: total and NSB fitted together.
    Global,
    /// `specific`: specific binding alone.
    Specific,
}

/// `targets.<name>.saturation.hill_slope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HillSlopeMode {
    /// `fixed` at 1.
    Fixed,
    /// `free`.
    Free,
}

/// `targets.<name>.saturation.depletion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DepletionMode {
    /// `flag` fits where much of the radioligand is bound.
    Flag,
    /// `correct`: fit against free [L].
    Correct,
}

/// `layouts.<name>.series.direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SeriesDirection {
    /// `high_to_low`: the first lane holds the top concentration.
    HighToLow,
    /// `low_to_high`.
    LowToHigh,
}

/// The curve model (`fit.model`); [`ModelKind::name`] is its config spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
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
    /// Every model, in the order the config reference lists them.
    pub const ALL: [ModelKind; 5] = [
        ModelKind::FourParameter,
        ModelKind::OneSite,
        ModelKind::FitKi,
        ModelKind::TwoSite,
        ModelKind::Agonist,
    ];

    /// The accepted spellings for messages: `four_parameter, one_site, … or agonist`.
    #[must_use]
    pub fn spellings() -> String {
        let names: Vec<&str> = Self::ALL.iter().map(|m| m.name()).collect();
        match names.split_last() {
            Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
            _ => names.join(""),
        }
    }

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

/// `fit.outliers.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutlierMethod {
    /// `rout`
    Rout,
    /// `none`
    None,
}

/// `fit.compare.models[i]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareName {
    /// `one_vs_two_sites`
    OneVsTwoSites,
    /// `slope`
    Slope,
}

/// `fit.compare.method`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareMethodName {
    /// `f_test`
    FTest,
    /// `aicc`
    Aicc,
}

/// `fit.weighting`; the `Y` may be capital, `y2` may be written `y^2`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum WeightingName {
    /// `none`
    #[serde(rename = "none")]
    None,
    /// `1/y`
    #[serde(rename = "1/y", alias = "1/Y")]
    InverseY,
    /// `1/y2`
    #[serde(rename = "1/y2", alias = "1/Y2", alias = "1/y^2", alias = "1/Y^2")]
    InverseY2,
    /// `poisson`
    #[serde(rename = "poisson")]
    Poisson,
    /// `auto`: the plate's variance model of counts.
    #[serde(rename = "auto")]
    Auto,
}

/// `fit.ci`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CiMethod {
    /// `asymptotic`
    Asymptotic,
    /// `profile`
    Profile,
}

/// `fit.share[i]`: a 4PL parameter shared in a global fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SharedParameter {
    /// `top`
    Top,
    /// `bottom`
    Bottom,
    /// `hill_slope`
    HillSlope,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn word<T: DeserializeOwned>(yaml: &str) -> Choice<T> {
        serde_yaml::from_str(yaml).expect("text")
    }

    #[test]
    fn choices_keep_the_text_and_know_their_words() {
        let w: Choice<WeightingName> = word("1/Y^2");
        assert_eq!(w.value, Some(WeightingName::InverseY2));
        assert_eq!(w.text, "1/Y^2");
        assert_eq!(serde_yaml::to_string(&w).expect("yaml").trim(), "1/Y^2");
        assert_eq!(word::<ModelKind>("fit_ki").value, Some(ModelKind::FitKi));
        assert_eq!(word::<CompareMethodName>("f_test").value, Some(CompareMethodName::FTest));
        assert_eq!(word::<AssayName>("gtpgs").value, Some(AssayName::Gtpgs));
        assert_eq!(word::<Figures>("svg+png").value, Some(Figures::SvgPng));
        assert_eq!(word::<ErrorBars>("sem").value, Some(ErrorBars::Sem));
        let unknown: Choice<ModelKind> = word("five_parameter");
        assert_eq!((unknown.value, unknown.text.as_str()), (None, "five_parameter"));
        // Words are case-sensitive, as before.
        assert_eq!(word::<ModelKind>("One_Site").value, None);
    }

    #[test]
    fn a_choice_is_text() {
        assert!(serde_yaml::from_str::<Choice<ModelKind>>("[a, b]").is_err());
    }
}
