//! The derive stage's output rows: one type per table, written by `report` (which imports
//! them from here; no stage below derive builds them). [`RunResults`] holds a whole run.
//!
//! Owns the row types and their projections from the stages below (plates, wells, targets);
//! the per-curve numbers are computed in [`super::derive`], written by `report::tables`.
//! [`InputFile`] is ingest's (it reads and hashes the files).

use std::fmt;

use crate::config::{Assay, Target};
use crate::fit::engine::Model;
use crate::fit::maths::four_pl::FourPl;
use crate::fit::status::CurveStatus;
use crate::ingest::inputs::InputFile;
use crate::normalise::NormalisedPlate;
use crate::normalise::variance::VarianceSource;
use crate::saturation::SaturationRow;

/// A word of a small closed set held as `&'static str` (a well's role, a plate's
/// normalisation, a curve's response label); read back from serialised rows by
/// `static_text` (the alias keeps serde from taking the field for text borrowed from the
/// input).
pub type Word = &'static str;

/// Everything a run produced, in report order (sorted by target, then compound).
/// The single source the tables, figures and reports are built from.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
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
    /// One row per saturation target (not serialised: a run with saturation targets is not
    /// sharded, `crate::shard`).
    #[serde(skip)]
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
    /// Primary screens: one row per compound and plate of the plates with primary wells.
    pub primary: super::primary::PrimaryResults,
    /// Files, plates or controls that could not be used (the run went on without them).
    pub problems: Vec<String>,
    /// Start of the run, RFC 3339 UTC.
    pub started: String,
    /// End of the run, RFC 3339 UTC.
    pub finished: String,
    /// What the assay history needs of the run: experiment id, assay date and the
    /// reference compounds' verdicts (`radbind summarize` reads them from run.json).
    pub history: RunHistory,
    /// A run too large to hold every curve row (`crate::stream`): what it keeps of all of
    /// them. `None`: `curves` and `plates` hold every row.
    pub large: Option<LargeRun>,
}

/// What a run too large to hold keeps of all its curves and plates; `RunResults::curves` then
/// holds only the flagged and failed curves (at most [`LargeRun::SHOWN_LIMIT`]) and
/// `RunResults::plates` only the plates with flags. The tables hold every row.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LargeRun {
    /// Curves in the run (rows of `fits.csv`).
    pub curves: usize,
    /// Curves by status.
    pub counts: StatusCounts,
    /// Per target: its name, its curves and their counts by status.
    pub targets: Vec<(String, usize, StatusCounts)>,
    /// Every failed curve, `target / compound: status`.
    pub failures: Vec<String>,
    /// Plates analysed (rows of `plates.csv`).
    pub plates: usize,
    /// Flagged and failed curves left out of `RunResults::curves` past the limit.
    pub not_shown: usize,
}

impl LargeRun {
    /// Flagged and failed curves a large run's report lists at most.
    pub const SHOWN_LIMIT: usize = 2_000;

    /// Counts one curve row.
    pub fn count(&mut self, c: &CurveRow) {
        self.curves += 1;
        let at = match self.targets.iter().position(|(t, ..)| *t == c.target) {
            Some(i) => i,
            None => {
                self.targets.push((c.target.clone(), 0, StatusCounts::default()));
                self.targets.len() - 1
            }
        };
        let (_, n, counts) = &mut self.targets[at];
        *n += 1;
        for k in [&mut self.counts, counts] {
            if c.status.is_ok() {
                k.ok += 1;
            } else if c.status.is_flagged() {
                k.flagged += 1;
            } else if c.status.is_failed() {
                k.failed += 1;
            }
        }
        if c.status.is_failed() {
            self.failures.push(format!("{} / {}: {}", c.target, c.compound, c.status));
        }
    }
}

impl RunResults {
    /// Curves by status (`failed` counts `not_converged` too), for the run summary and
    /// `run.json`.
    #[must_use]
    pub fn status_counts(&self) -> StatusCounts {
        if let Some(l) = &self.large {
            return l.counts;
        }
        let count =
            |p: fn(&CurveStatus) -> bool| self.curves.iter().filter(|c| p(&c.status)).count();
        StatusCounts {
            ok: count(CurveStatus::is_ok),
            flagged: count(CurveStatus::is_flagged),
            failed: count(CurveStatus::is_failed),
        }
    }

    /// Curves in the run (all of them for a large run, not only the rows kept).
    #[must_use]
    pub fn curve_count(&self) -> usize {
        self.large.as_ref().map_or(self.curves.len(), |l| l.curves)
    }

    /// Plates in the run (all of them for a large run, not only the rows kept).
    #[must_use]
    pub fn plate_count(&self) -> usize {
        self.large.as_ref().map_or(self.plates.len(), |l| l.plates)
    }

    /// The curves that failed or did not converge, as `target / compound: status`.
    #[must_use]
    pub fn failures(&self) -> Vec<String> {
        if let Some(l) = &self.large {
            return l.failures.clone();
        }
        self.curves
            .iter()
            .filter(|c| c.status.is_failed())
            .map(|c| format!("{} / {}: {}", c.target, c.compound, c.status))
            .collect()
    }
}

/// Number of curves by status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StatusCounts {
    /// Status `ok`.
    pub ok: usize,
    /// Status `flagged`.
    pub flagged: usize,
    /// Status `failed` or `not_converged`: no usable fit.
    pub failed: usize,
}

/// A target (receptor) and the radioligand used on it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

impl TargetRow {
    /// The row of a configured target (its Kd resolved: a `kd_from` target holds the
    /// saturation Kd).
    #[must_use]
    pub fn of(t: &Target) -> TargetRow {
        TargetRow {
            target: t.name.clone(),
            radioligand: t.radioligand.clone(),
            radioligand_nm: t.radioligand_nm,
            kd_nm: t.kd_nm,
            assay: t.assay.name().to_string(),
            kd_source: kd_source(t),
        }
    }
}

/// Where a target's Kd comes from: `saturation <target>` for `kd_from`, `config` for a
/// competition or uptake target that gives it, empty for an assay that uses none
/// (saturation, [35S]GTPγS).
fn kd_source(t: &Target) -> String {
    match (&t.kd_from, &t.assay) {
        (Some(from), _) => format!("saturation {from}"),
        (None, Assay::Competition | Assay::Uptake) => "config".to_string(),
        _ => String::new(),
    }
}

/// Plate QC, one row per plate. Means and SDs are in CPM; SD is the sample SD (n-1).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// `controls` (% of its controls or another plate's), `raw_signal` (a plate without
    /// controls: curves fitted on CPM, shown in % of the fitted span), `counts` (saturation:
    /// fitted on counts) or `background` (not fitted).
    #[serde(deserialize_with = "static_text")]
    pub normalisation: Word,
    /// The plate's variance model of counts, `var(CPM) = a + CPM / t + (cv CPM)^2`
    /// ([`crate::normalise::variance`]): pipetting CV `cv`, %.
    pub pipetting_cv_pct: f64,
    /// Counting time `t` of the Poisson term `CPM / t`, minutes.
    pub counting_minutes: f64,
    /// Background SD `sqrt(a)`, CPM.
    pub background_sd_cpm: f64,
    /// Replicate deviations the model was estimated from; 0 = too few, the fallback
    /// (Poisson + `fit.pipetting_cv_pct`).
    pub variance_wells: usize,
}

impl PlateRow {
    /// The QC row of a normalised plate; `instrument` joins the export's protocol, count date
    /// and warnings.
    #[must_use]
    pub fn of(np: &NormalisedPlate) -> PlateRow {
        let p = &np.plate;
        let q = &np.qc;
        let mut instrument = Vec::new();
        if let Some(proto) = &p.meta.protocol {
            instrument.push(proto.clone());
        }
        if let Some(at) = &p.meta.counted_at {
            instrument.push(at.clone());
        }
        instrument.extend(p.meta.warnings.iter().cloned());
        PlateRow {
            plate: p.id.clone(),
            source: p.source.display().to_string(),
            index_in_file: p.index_in_file,
            target: p.target.clone(),
            layout: p.layout.clone(),
            rotated: p.rotated,
            n_total: q.n_total,
            total_mean: q.total_mean,
            total_sd: q.total_sd,
            total_cv_pct: q.total_cv_pct(),
            n_nsb: q.n_nsb,
            nsb_mean: q.nsb_mean,
            nsb_sd: q.nsb_sd,
            nsb_cv_pct: q.nsb_cv_pct(),
            z_prime: q.z_prime,
            signal_to_background: q.signal_to_background(),
            nsb_pct_of_total: q.nsb_pct_of_total(),
            n_basal: q.n_basal,
            basal_mean: q.basal_mean,
            basal_cv_pct: q.basal_cv_pct(),
            fraction_bound_pct: q.fraction_bound_pct,
            flags: q.flags.clone(),
            instrument: instrument.join("; "),
            normalisation: if q.background_p95.is_some() {
                "background"
            } else {
                q.normalisation.name()
            },
            pipetting_cv_pct: np.variance.cv_pct(),
            counting_minutes: np.variance.counting_minutes,
            background_sd_cpm: np.variance.background_sd(),
            variance_wells: match np.variance.source {
                VarianceSource::Estimated(n) => n,
                VarianceSource::Fallback => 0,
            },
        }
    }
}

/// One well of one plate, after layout and normalisation.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WellRow {
    /// Plate id (as in [`PlateRow::plate`]).
    pub plate: String,
    /// Well label, e.g. `B05` (after undoing a rotation).
    pub well: String,
    /// `total`, `nsb`, `blank`, `vehicle`, `sample` or `unused`.
    #[serde(deserialize_with = "static_text")]
    pub role: Word,
    /// Compound in the well (sample wells only).
    pub compound: Option<String>,
    /// Competitor concentration, nM (sample wells only; 0 for vehicle).
    pub conc_nm: Option<f64>,
    /// Counts as read (CPM); `None` = not counted.
    pub cpm: Option<f64>,
    /// CPM minus mean NSB of the plate.
    pub specific: Option<f64>,
    /// 100 * (CPM - mean NSB) / (mean total - mean NSB); on a plate without controls, the
    /// point's % of its curve's fitted span.
    pub pct_specific: Option<f64>,
    /// Why the well was left out of fits and QC, if it was.
    pub excluded: Option<String>,
    /// The concentration-table line the well holds (`ria.csv:5, replicate 2`); empty for
    /// plate-reader wells.
    pub source: Option<String>,
}

impl WellRow {
    /// The rows of every well of a normalised plate, in well order.
    #[must_use]
    pub fn of_plate(np: &NormalisedPlate) -> Vec<WellRow> {
        let p = &np.plate;
        p.wells
            .iter()
            .enumerate()
            .map(|(i, w)| WellRow {
                plate: p.id.clone(),
                well: w.pos.label(),
                role: w.role.name(),
                compound: w.compound.clone(),
                conc_nm: w.conc_nm,
                cpm: w.cpm,
                specific: np.specific[i],
                pct_specific: np.pct_specific[i],
                excluded: w.excluded.clone(),
                source: w.source.clone(),
            })
            .collect()
    }
}

/// One curve: a compound at a target (replicate plates pooled). Concentrations in nM.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CurveRow {
    /// Experiment name.
    pub experiment: String,
    /// Target.
    /// The independent experiment of the curve's plates (`plates[].experiment` or the
    /// top-level `experiment_id`); empty: the run is the experiment.
    pub experiment_id: String,
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
    pub status: CurveStatus,
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
    #[serde(deserialize_with = "static_text")]
    pub response_label: Word,
}

impl CurveRow {
    /// `true` when no usable fit exists (no parameters, or a `failed` / `not_converged`
    /// status).
    #[must_use]
    pub fn is_failed(&self) -> bool {
        self.fit.is_none() || self.status.is_failed()
    }

    /// `true` when the curve was fitted but carries flags.
    #[must_use]
    pub fn is_flagged(&self) -> bool {
        !self.is_failed() && (!self.flags.is_empty() || self.status.is_flagged())
    }
}

/// A [35S]GTPγS curve's functional numbers. Responses in % stimulation over basal.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FunctionalNumbers {
    /// `agonist` (rising curve, EC50 in the IC50 columns) or `antagonist` (falling, IC50).
    pub role: FunctionalRole,
    /// Emax: the fitted top, % stimulation over basal (agonists; NaN for antagonists).
    pub emax_pct: f64,
    /// Standard error of Emax.
    pub emax_se: f64,
    /// Emax / Emax of the reference agonist (NaN without one).
    pub relative_efficacy: f64,
    /// `full` or `partial`; `None` (an empty cell) without a reference or with a censored
    /// EC50.
    pub efficacy: Option<Efficacy>,
    /// Antagonist Kb by Leff-Dougall / Cheng-Prusoff, nM (NaN when not computable).
    pub kb_nm: f64,
    /// 95% CI of Kb, nM.
    pub kb_ci_nm: (f64, f64),
}

/// What a [35S]GTPγS curve is: `Display` gives the `functional_role` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum FunctionalRole {
    /// A rising curve: an agonist's EC50 and Emax.
    Agonist,
    /// A falling curve against a fixed agonist concentration: IC50 and Kb.
    Antagonist,
}

impl std::fmt::Display for FunctionalRole {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FunctionalRole::Agonist => "agonist",
            FunctionalRole::Antagonist => "antagonist",
        })
    }
}

/// An agonist's efficacy relative to the reference agonist: `Display` gives the `efficacy`
/// column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Efficacy {
    /// Relative efficacy at or above `partial_below`.
    Full,
    /// Relative efficacy below `partial_below` (flagged `partial_agonist`).
    Partial,
}

impl std::fmt::Display for Efficacy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Efficacy::Full => "full",
            Efficacy::Partial => "partial",
        })
    }
}

/// A model comparison's outcome for one curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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
    /// [`Censor::Above`] (`>`) when the IC50 lies above the top tested concentration,
    /// [`Censor::Below`] (`<`) below the lowest, [`Censor::Exact`] inside the tested range.
    pub censor: Censor,
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
    /// A curve fitted on the raw signal (plates without controls): its plateaus in signal
    /// units (CPM); `top`/`bottom` above are then in % of the fitted span (100 and 0).
    pub signal_plateaus: Option<crate::fit::SignalPlateaus>,
}

impl FitNumbers {
    /// The fitted response at `X = log10 M` (`-inf`: zero concentration): [`Self::curve`] when
    /// known, else the 4PL ([`FourPl`]) of `top`, `bottom`, `hill_slope`, `log_ic50`.
    #[must_use]
    pub fn value(&self, x: f64) -> f64 {
        match &self.curve {
            Some(c) => c.value(x),
            None => FourPl.value(x, &[self.top, self.bottom, self.hill_slope, self.log_ic50]),
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

/// Which side of a value the truth lies on: the value itself, above it or below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum Censor {
    /// A measured value (inside the tested range).
    #[default]
    Exact,
    /// The true value lies above the bound given (`>`).
    Above,
    /// The true value lies below the bound given (`<`).
    Below,
}

impl Censor {
    /// From the qualifier used in the tables (`ic50_qualifier`, `ki_qualifier`): `""`, `">"`,
    /// `"<"`; `None` for anything else.
    #[must_use]
    pub fn from_mark(mark: &str) -> Option<Censor> {
        match mark.trim() {
            "" => Some(Censor::Exact),
            ">" => Some(Censor::Above),
            "<" => Some(Censor::Below),
            _ => None,
        }
    }

    /// `true` for a measured value (no qualifier).
    #[must_use]
    pub fn is_exact(self) -> bool {
        self == Censor::Exact
    }

    /// The qualifier: `""`, `">"` or `"<"`.
    #[must_use]
    pub fn mark(self) -> &'static str {
        match self {
            Censor::Exact => "",
            Censor::Above => ">",
            Censor::Below => "<",
        }
    }
}

/// The qualifier, as in the tables: `""`, `">"` or `"<"`.
impl std::fmt::Display for Censor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.mark())
    }
}

/// One data point of a curve.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
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

// The reference-compound rows of a run (computed by `super::reference`).

/// What `radbind summarize` needs of a run besides its tables.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunHistory {
    /// The run's experiment (`experiment_id`); `None`: the run is its own experiment.
    pub experiment_id: Option<String>,
    /// Assay date as configured (`assay_date`, `YYYY-MM-DD`).
    pub assay_date: Option<String>,
    /// One row per target with a reference compound (per experiment of the run).
    pub references: Vec<ReferenceRow>,
}

/// The potency a curve reports, in log units: pKi where the target gives Ki, else pEC50
/// (agonists) or pIC50. Potency words follow the curve, as in the tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Measure {
    /// `pKi`
    PKi,
    /// `pIC50`
    PIc50,
    /// `pEC50`
    PEc50,
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Measure::PKi => "pKi",
            Measure::PIc50 => "pIC50",
            Measure::PEc50 => "pEC50",
        })
    }
}

impl Measure {
    /// The measure of a row given its pKi (NaN when the target gives no Ki) and whether the
    /// curve is an agonist's: the one rule `run` and `summarize` share.
    #[must_use]
    pub fn of(pki: f64, agonist: bool) -> Measure {
        if pki.is_finite() {
            Measure::PKi
        } else if agonist {
            Measure::PEc50
        } else {
            Measure::PIc50
        }
    }
}

/// The verdict on a run's reference compound at one target.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Verdict {
    /// Within `expected ± limit`.
    InRange,
    /// Outside `expected ± limit`.
    OutOfRange,
    /// Not measured: absent from the plates, no usable fit, or censored (the text says).
    NotMeasured(String),
    /// Recorded only: the config gives no expected value.
    Recorded,
}

impl Verdict {
    /// `true` when the run's curves of the target get [`REFERENCE_OUT_OF_RANGE`].
    #[must_use]
    pub fn fails(&self) -> bool {
        matches!(self, Verdict::OutOfRange | Verdict::NotMeasured(_))
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::InRange => f.write_str("in_range"),
            Verdict::OutOfRange => f.write_str("out_of_range"),
            Verdict::NotMeasured(why) => write!(f, "not_measured: {why}"),
            Verdict::Recorded => f.write_str("recorded"),
        }
    }
}

/// A target's reference compound in one run.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ReferenceRow {
    /// Target.
    pub target: String,
    /// Reference compound.
    pub compound: String,
    /// The curve's experiment (`CurveRow::experiment_id`; empty: the run's).
    pub experiment_id: String,
    /// pKi, or pIC50/pEC50 where the target gives no Ki.
    pub measure: Measure,
    /// The measured value, log units (NaN when not measured; the bound when censored).
    pub value: f64,
    /// Expected value and accepted distance, log units (from the config).
    pub expected: Option<(f64, f64)>,
    /// The verdict.
    pub verdict: Verdict,
}

impl ReferenceRow {
    /// One line for the run summary and reports, e.g.
    /// `5-HT2A: ketanserin pKi 8.41, expected 9.30 ± 0.50: out_of_range`.
    #[must_use]
    pub fn line(&self) -> String {
        let exp = if self.experiment_id.is_empty() {
            String::new()
        } else {
            format!(" (experiment {})", self.experiment_id)
        };
        let value =
            if self.value.is_finite() { format!(" {:.2}", self.value) } else { String::new() };
        let range =
            self.expected.map_or(String::new(), |(e, l)| format!(", expected {e:.2} ± {l:.2}"));
        format!(
            "{}{exp}: {} {}{value}{range}: {}",
            self.target, self.compound, self.measure, self.verdict
        )
    }
}

/// Reads back a text the rows hold as `&'static str` (a word of a small closed set: a well's
/// role, a plate's normalisation, a curve's response label) from serialised rows
/// (`crate::shard`): each distinct text is kept once for the life of the process, and a file
/// with more distinct texts than such sets hold is refused.
fn static_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<&'static str, D::Error> {
    use std::collections::HashSet;
    use std::sync::{Mutex, OnceLock, PoisonError};
    /// Far more than the roles, normalisations and response labels together.
    const MAX_TEXTS: usize = 256;
    static TEXTS: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let s = <String as serde::Deserialize>::deserialize(d)?;
    let mut texts =
        TEXTS.get_or_init(Mutex::default).lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(t) = texts.get(s.as_str()) {
        return Ok(t);
    }
    if texts.len() >= MAX_TEXTS {
        return Err(serde::de::Error::custom(format!("unexpected text `{s}` in a row")));
    }
    let t: &'static str = Box::leak(s.into_boxed_str());
    texts.insert(t);
    Ok(t)
}
