//! The saturation stage: per saturation target, the total and NSB wells of its plates become
//! one saturation fit (`fit::saturation`), and the fitted Bmax is converted to DPM, fmol,
//! fmol/mg protein and sites per cell (`radioactivity`). The fitted Kd then feeds the
//! competition targets that name this target in `kd_from`.
//!
//! Flags (each explained in the README and the report):
//! - `not_converged`: no least-squares optimum;
//! - `low_specific_at_kd`: specific binding at [L] = Kd below `qc.min_specific_at_kd_pct` of
//!   total (DOMAIN.md §6: at Kd more than 80% of total binding should be specific);
//! - `ligand_depletion`: more than `qc.max_fraction_bound_pct` of the added radioligand bound
//!   in a total well, `100 CPM / ([L] x CPM per nM)` (DOMAIN.md §4);
//! - `range_below_5x_kd`: the highest concentration is below 5 x Kd, so the plateau (Bmax) is
//!   extrapolated (Motulsky & Christopoulos 2004, ch. 43);
//! - `few_concentrations`: fewer than 6 radioligand concentrations (DOMAIN.md §4: 6-12);
//! - `ambiguous`: the CI of Kd or Bmax is not finite.
//!
//! Owns its output rows, [`SaturationRow`] and [`SaturationWell`].

use std::collections::BTreeMap;

use crate::config::{Assay, FitSettings, Settings, Target};
use crate::fit::models::saturation::{self, SaturationModel, SaturationOptions, SaturationPoint};
use crate::fit::status::CurveStatus;
use crate::layout::Role;
use crate::normalise::NormalisedPlate;

/// Fewer radioligand concentrations than this are flagged.
const MIN_CONCENTRATIONS: usize = 6;
/// A highest concentration below this multiple of Kd is flagged.
const MIN_RANGE_OVER_KD: f64 = 5.0;

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
    pub status: CurveStatus,
    /// Flags (see the README).
    pub flags: Vec<String>,
    /// Every total and NSB well offered to the fit.
    pub wells: Vec<SaturationWell>,
    /// The fit: Kd, Bmax (CPM), Hill slope, NSB line, R², Sy.x, % specific at Kd, notes;
    /// `None` when nothing could be fitted.
    pub fit: Option<crate::fit::models::saturation::SaturationFit>,
}

impl SaturationRow {
    /// A row with every number NaN, no wells and the status `failed: not fitted`.
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
            status: CurveStatus::Failed("not fitted".into()),
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

/// Fits every saturation target of `settings` from its plates. Rows in target order.
#[must_use]
pub fn fit_all(plates: &[NormalisedPlate], settings: &Settings) -> Vec<SaturationRow> {
    settings
        .targets
        .values()
        .filter_map(|t| match &t.assay {
            Assay::Saturation(spec) => Some(fit_target(plates, settings, t, spec)),
            _ => None,
        })
        .collect()
}

fn fit_target(
    plates: &[NormalisedPlate],
    settings: &Settings,
    t: &Target,
    spec: &crate::config::SaturationSpec,
) -> SaturationRow {
    let mut wells = Vec::new();
    let mut plate_ids = Vec::new();
    let mut flags: Vec<String> = Vec::new();
    for np in plates.iter().filter(|p| p.plate.target == t.name) {
        let p = &np.plate;
        plate_ids.push(p.id.clone());
        for f in &np.qc.flags {
            let f = format!("plate_{f}");
            if !flags.contains(&f) {
                flags.push(f);
            }
        }
        for w in &p.wells {
            let (Role::Sample, Some(c), Some(l)) = (w.role, &w.compound, w.conc_nm) else {
                continue;
            };
            let Some(cpm) = w.cpm else { continue };
            wells.push(SaturationWell {
                plate: p.id.clone(),
                well: w.pos.to_string(),
                l_nm: l,
                cpm,
                total: c == "total",
                excluded: w.excluded.clone(),
            });
        }
    }
    let counting = t.counting;
    let cpm_per_nm = counting.map_or(f64::NAN, |c| c.cpm_per_nm());
    let mut row = SaturationRow {
        experiment: settings.experiment.clone(),
        target: t.name.clone(),
        radioligand: t.radioligand.clone(),
        plates: plate_ids,
        model: format!(
            "{}{}",
            if spec.global { "total_and_nsb" } else { "specific" },
            if spec.free_hill { " (Hill slope free)" } else { "" }
        ),
        depletion_corrected: spec.correct_depletion,
        wells,
        ..SaturationRow::empty()
    };
    let points: Vec<SaturationPoint> = row
        .wells
        .iter()
        .filter(|w| w.excluded.is_none() && w.cpm.is_finite())
        .map(|w| SaturationPoint { l_nm: w.l_nm, y: w.cpm, total: w.total })
        .collect();
    let mut concs: Vec<f64> = points.iter().filter(|p| p.total).map(|p| p.l_nm).collect();
    concs.sort_by(f64::total_cmp);
    concs.dedup();
    if concs.len() < MIN_CONCENTRATIONS {
        flags.push("few_concentrations".into());
    }
    // Fraction of the added radioligand bound in each total well.
    let max_bound = points
        .iter()
        .filter(|p| p.total && p.l_nm > 0.0)
        .map(|p| 100.0 * p.y / (p.l_nm * cpm_per_nm))
        .fold(f64::NAN, f64::max);
    row.max_fraction_bound_pct = max_bound;
    if max_bound > settings.max_fraction_bound_pct {
        flags.push("ligand_depletion".into());
    }
    let opts = SaturationOptions {
        model: if spec.global { SaturationModel::Global } else { SaturationModel::Specific },
        free_hill: spec.free_hill,
        depletion: spec.correct_depletion.then_some(cpm_per_nm).filter(|v| v.is_finite()),
    };
    let fit = match saturation::fit_saturation(&points, &opts) {
        Ok(f) => f,
        Err(e) => {
            row.status = CurveStatus::Failed(e.to_string());
            row.flags = flags;
            return row;
        }
    };
    if let Some(c) = counting {
        row.specific_activity_ci_per_mmol = c.specific_activity;
        row.bmax_dpm = c.dpm(fit.bmax);
        row.bmax_fmol = c.fmol(fit.bmax);
        row.bmax_fmol_per_mg = c.fmol_per_mg(fit.bmax);
        row.bmax_fmol_per_mg_ci = (c.fmol_per_mg(fit.bmax_ci.0), c.fmol_per_mg(fit.bmax_ci.1));
        row.sites_per_cell = c.sites_per_cell(fit.bmax);
    }
    row.decay_fraction = t.decay.map_or(f64::NAN, |d| d.2);
    if !fit.converged {
        flags.push("not_converged".into());
    }
    if fit.pct_specific_at_kd < settings.min_specific_at_kd_pct {
        flags.push("low_specific_at_kd".into());
    }
    if fit.highest_l_over_kd < MIN_RANGE_OVER_KD {
        flags.push("range_below_5x_kd".into());
    }
    let finite = |c: (f64, f64)| c.0.is_finite() && c.1.is_finite();
    if fit.converged && !(finite(fit.kd_ci_nm) && finite(fit.bmax_ci)) {
        flags.push("ambiguous".into());
    }
    row.status = CurveStatus::of_fit((!fit.converged).then(|| fit.termination.to_string()), &flags);
    row.fit = Some(fit);
    row.flags = flags;
    row
}

/// The targets and fit settings with the saturation Kd of every `kd_from` target applied.
#[derive(Debug, Clone)]
pub struct ResolvedKd {
    /// Every target; a `kd_from` target holds the Kd of its saturation fit (unchanged when
    /// there is none).
    pub targets: BTreeMap<String, Target>,
    /// The fit settings, with the radioligand ([L], Kd) of each `kd_from` target for the
    /// models that use it (`fit_ki`).
    pub fit: FitSettings,
    /// A saturation target without a usable Kd (that target's Ki stays empty).
    pub problems: Vec<String>,
}

/// Gives each competition target with `kd_from` the Kd of its saturation fit, in the targets
/// and in the fit settings (the saturation stage runs first so that its Kd can feed them).
#[must_use]
pub fn resolve_kd(settings: &Settings, rows: &[SaturationRow]) -> ResolvedKd {
    let mut targets = settings.targets.clone();
    let mut problems = Vec::new();
    for t in targets.values_mut() {
        let Some(from) = &t.kd_from else { continue };
        let kd = rows
            .iter()
            .find(|r| &r.target == from)
            .filter(|r| !r.status.is_failed())
            .and_then(|r| r.fit.as_ref())
            .map(|f| f.kd_nm)
            .filter(|k| k.is_finite() && *k > 0.0);
        match kd {
            Some(k) => t.kd_nm = k,
            None => problems.push(format!(
                "target {}: kd_from `{from}` has no usable saturation Kd; its Ki values are empty",
                t.name
            )),
        }
    }
    let mut fit = settings.fit.clone();
    for t in targets.values().filter(|t| t.kd_from.is_some()) {
        fit.ligand.insert(t.name.clone(), (t.radioligand_nm, t.kd_nm));
    }
    ResolvedKd { targets, fit, problems }
}
