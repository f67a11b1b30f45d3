//! Normalise: per plate, the control statistics, plate QC and each well's specific binding.
//!
//! - Specific binding `SB = CPM - mean(NSB)` (CPM).
//! - Percent specific binding `%SB = 100 (CPM - mean(NSB)) / (mean(Total) - mean(NSB))`.
//! - Z' = 1 - 3 (SD_total + SD_NSB) / |mean_total - mean_NSB| (Zhang, Chung & Oldenburg 1999,
//!   J Biomol Screen 4:67); S/B = mean_total / mean_NSB; CV% = 100 SD / mean; SD with n-1.
//!
//! - Uptake plates are normalised the same way: total = control uptake, NSB = non-specific
//!   uptake, so the response is % of control (specific) uptake.
//! - [35S]GTPγS plates: `% stimulation = 100 (CPM - mean(basal)) / (mean(basal) - mean(NSB))`,
//!   with mean(NSB) = 0 when the plate has no NSB wells (then it is DOMAIN.md §7's
//!   `100 (CPM - basal) / basal`). Z' is computed between total (maximal stimulation) and
//!   basal wells when the layout has total wells.
//! - Saturation plates are not normalised: the saturation fit uses the counts.
//! - Fraction of added radioligand bound (DOMAIN.md §6): `100 mean(Total) / ([L] x CPM per nM)`
//!   with `CPM per nM = E x S x 2.22 x V` (see `radioactivity::Counting::cpm_per_nm`), when the
//!   target gives specific activity, efficiency and volume.
//!
//! A plate below the Z' or S/B threshold is flagged and still used. A plate without usable total
//! or NSB wells, or whose total does not exceed its NSB, cannot be normalised: its wells get no
//! %SB and its curves fail with that reason (with a hint when the counts look like a plate
//! counted turned by 180°).
//!
//! - A layout may let the series' own wells stand in for a control (`top_from`,
//!   `bottom_from`): each compound's lowest (or highest) concentration wells are then also
//!   total (or NSB) wells.
//! - A plate with no control wells at all by design (no total, NSB or basal wells, no
//!   `controls_from`) is a curve-only plate ([`Normalisation::Signal`]): its response is the
//!   raw signal (CPM) and the fit stage fits its curves with free plateaus.
//! - A background plate (95th percentile of its counts below `qc.background_cpm`: an empty
//!   or blank plate in the export) is flagged `background_plate` and its curves are not fitted.
//!   Plates read from concentration tables never are (their response may be any signal).

pub mod variance;

use crate::config::{Assay, SeriesEnd, Settings, Target};
use crate::layout::{Plate, Role};
use variance::VarianceModel;

/// QC thresholds (config `qc`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QcRules {
    /// Flag Z' below this.
    pub min_z_prime: f64,
    /// Flag S/B below this.
    pub min_signal_to_background: f64,
    /// Flag more than this % of the added radioligand bound.
    pub max_fraction_bound_pct: f64,
    /// A plate whose 95th-percentile count is below this (CPM) is a background plate; 0 = never.
    pub background_cpm: f64,
    /// Counting minutes per well when the export does not say (`fit.counting_minutes`).
    pub counting_minutes: f64,
    /// Pipetting CV (fraction) of the variance model of a plate with too few replicates
    /// (`fit.pipetting_cv_pct`).
    pub fallback_cv: f64,
}

impl QcRules {
    /// The thresholds of a config (`qc`).
    #[must_use]
    pub fn of(settings: &Settings) -> QcRules {
        QcRules {
            min_z_prime: settings.min_z_prime,
            min_signal_to_background: settings.min_signal_to_background,
            max_fraction_bound_pct: settings.max_fraction_bound_pct,
            background_cpm: settings.background_cpm,
            counting_minutes: settings.fit.counting_minutes,
            fallback_cv: settings.fit.pipetting_cv,
        }
    }
}

impl Default for QcRules {
    fn default() -> Self {
        QcRules {
            min_z_prime: 0.5,
            min_signal_to_background: 0.0,
            max_fraction_bound_pct: 100.0,
            background_cpm: 0.0,
            counting_minutes: 1.0,
            fallback_cv: 0.05,
        }
    }
}

/// Control statistics and QC of one plate.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateQc {
    /// Total-binding wells used.
    pub n_total: usize,
    /// Mean total binding, CPM.
    pub total_mean: f64,
    /// SD of total binding, CPM.
    pub total_sd: f64,
    /// Number of NSB wells used.
    pub n_nsb: usize,
    /// Mean NSB, CPM.
    pub nsb_mean: f64,
    /// SD of NSB, CPM.
    pub nsb_sd: f64,
    /// Z' factor.
    pub z_prime: f64,
    /// Basal wells used ([35S]GTPγS).
    pub n_basal: usize,
    /// Mean basal, CPM.
    pub basal_mean: f64,
    /// SD of basal, CPM.
    pub basal_sd: f64,
    /// % of the added radioligand bound in the total wells (NaN without counting details).
    pub fraction_bound_pct: f64,
    /// A [35S]GTPγS plate: responses are relative to basal, not to the total-NSB window.
    pub functional: bool,
    /// How the plate's responses are expressed.
    pub normalisation: Normalisation,
    /// 95th percentile of the plate's counts, CPM, when it marks a background plate (below
    /// `qc.background_cpm`).
    pub background_p95: Option<f64>,
    /// With the window unusable: the plate's controls read the right way round when the
    /// plate is taken as counted turned by 180° (the hint for `rotated`).
    pub looks_rotated: bool,
    /// QC flags.
    pub flags: Vec<String>,
}

/// How a plate's responses are expressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normalisation {
    /// % of the plate's controls (its own, its series' ends, or another plate's).
    Controls,
    /// No controls by design (a curve-only plate): the response is the raw signal, CPM.
    Signal,
    /// A saturation plate: fitted on its counts, no response scale.
    Counts,
}

impl Normalisation {
    /// Name in `plates.csv`: `controls`, `raw_signal`, `counts`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Normalisation::Controls => "controls",
            Normalisation::Signal => "raw_signal",
            Normalisation::Counts => "counts",
        }
    }
}

impl PlateQc {
    /// CV% of total binding.
    #[must_use]
    pub fn total_cv_pct(&self) -> f64 {
        100.0 * self.total_sd / self.total_mean
    }
    /// CV% of NSB.
    #[must_use]
    pub fn nsb_cv_pct(&self) -> f64 {
        100.0 * self.nsb_sd / self.nsb_mean
    }
    /// Signal to background, mean total / mean NSB.
    #[must_use]
    pub fn signal_to_background(&self) -> f64 {
        self.total_mean / self.nsb_mean
    }
    /// NSB as % of total binding.
    #[must_use]
    pub fn nsb_pct_of_total(&self) -> f64 {
        100.0 * self.nsb_mean / self.total_mean
    }
    /// True when %SB can be computed (usable controls with a positive window).
    #[must_use]
    pub fn normalisable(&self) -> bool {
        self.n_total > 0 && self.n_nsb > 0 && self.total_mean > self.nsb_mean
    }
    /// The response scale `(offset, window)` in CPM, with `response = 100 (CPM - offset) /
    /// window`: `(mean NSB, mean total - mean NSB)` for binding and uptake plates,
    /// `(mean basal, mean basal - mean NSB)` for [35S]GTPγS plates (NSB 0 without NSB wells).
    /// `None` when the controls give no usable (positive) window.
    #[must_use]
    pub fn response_scale(&self) -> Option<(f64, f64)> {
        if self.functional {
            let nsb = if self.n_nsb > 0 { self.nsb_mean } else { 0.0 };
            let low = self.basal_mean - nsb;
            (self.n_basal > 0 && low > 0.0).then_some((self.basal_mean, low))
        } else {
            self.normalisable().then_some((self.nsb_mean, self.total_mean - self.nsb_mean))
        }
    }

    /// CV% of basal.
    #[must_use]
    pub fn basal_cv_pct(&self) -> f64 {
        100.0 * self.basal_sd / self.basal_mean
    }

    /// What a background plate is, for messages: `None` for an assay plate.
    #[must_use]
    pub fn background_text(&self, plate: &str) -> Option<String> {
        self.background_p95.map(|p95| {
            format!(
                "plate {plate} is a background plate (95% of its wells count {p95:.0} CPM or \
                 less, below `qc.background_cpm`): not fitted; set `qc.background_cpm: 0` to \
                 fit it anyway"
            )
        })
    }

    /// Why the plate's curves cannot be fitted, if they cannot: controls without a usable
    /// window (with the rotation hint when it applies).
    #[must_use]
    pub fn unusable(&self, plate: &str) -> Option<String> {
        if self.normalisation == Normalisation::Signal || self.response_scale().is_some() {
            return None;
        }
        let what = if self.functional { "basal" } else { "total/NSB" };
        let mut why =
            format!("plate {plate} has no usable {what} window ({})", self.flags.join(", "));
        if self.looks_rotated {
            why.push_str(
                "; its counts read the right way round turned by 180°: if the plate was counted \
                 rotated, set `rotated: true` on its `plates:` entry (or remove it if set)",
            );
        }
        Some(why)
    }
}

/// A plate with its QC and per-well specific binding (same order as `plate.wells`).
#[derive(Debug, Clone)]
pub struct NormalisedPlate {
    /// The laid-out plate.
    pub plate: Plate,
    /// Its QC.
    pub qc: PlateQc,
    /// CPM - mean NSB per well.
    pub specific: Vec<Option<f64>>,
    /// % specific binding per well.
    pub pct_specific: Vec<Option<f64>>,
    /// The plate's variance model of counts ([`variance`]).
    pub variance: VarianceModel,
}

/// Mean and sample SD (n - 1); SD is 0 for one value, NaN for none.
#[must_use]
pub fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    if v.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let mean = v.iter().sum::<f64>() / n;
    if v.len() < 2 {
        return (mean, 0.0);
    }
    let ss = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>();
    (mean, (ss / (n - 1.0)).sqrt())
}

/// Normalises every plate with the QC rules and each plate's target (assay, counting), the
/// plates in parallel on the current rayon pool;
/// plates with `controls_from` use the control statistics of that plate (which must be among
/// `plates`), and get the flag `controls_from_P<n>`.
#[must_use]
pub fn normalise_all(
    plates: Vec<Plate>,
    rules: &QcRules,
    targets: &std::collections::BTreeMap<String, Target>,
) -> (Vec<NormalisedPlate>, Vec<String>) {
    use rayon::prelude::*;
    // Each plate on its own (on the current rayon pool's threads), in plate order.
    let mut out: Vec<NormalisedPlate> = plates
        .into_par_iter()
        .map(|p| {
            let t = targets.get(&p.target);
            normalise_with(p, rules, t)
        })
        .collect();
    let mut problems = Vec::new();
    for i in 0..out.len() {
        let Some(n) = out[i].plate.controls_from else { continue };
        let Some(src) =
            out.iter().find(|c| c.plate.number == Some(n) && c.plate.controls_from.is_none())
        else {
            problems.push(format!(
                "{}: controls_from plate {n} is not a laid-out plate with its own controls",
                out[i].plate.id
            ));
            out[i].qc = PlateQc { flags: vec![format!("no_controls_plate_{n}")], ..empty_qc() };
            out[i].specific.iter_mut().for_each(|v| *v = None);
            out[i].pct_specific.iter_mut().for_each(|v| *v = None);
            continue;
        };
        let mut qc = src.qc.clone();
        qc.flags.push(format!("controls_from_{}", src.plate.id));
        let np = &mut out[i];
        qc.functional = np.qc.functional;
        qc.background_p95 = np.qc.background_p95;
        if qc.background_p95.is_some() {
            qc.flags.push("background_plate".to_string());
        }
        (np.specific, np.pct_specific) = responses(&np.plate, &qc);
        np.qc = qc;
    }
    (out, problems)
}

/// Per well: `CPM - offset` and `100 (CPM - offset) / window` on the plate's
/// [`PlateQc::response_scale`]; all `None` without a usable scale.
fn responses(plate: &Plate, qc: &PlateQc) -> (Vec<Option<f64>>, Vec<Option<f64>>) {
    let scale = qc.response_scale();
    plate
        .wells
        .iter()
        .map(|w| {
            let cpm = w.cpm.zip(scale);
            (cpm.map(|(c, (o, _))| c - o), cpm.map(|(c, (o, win))| 100.0 * (c - o) / win))
        })
        .unzip()
}

fn empty_qc() -> PlateQc {
    PlateQc {
        n_total: 0,
        total_mean: f64::NAN,
        total_sd: f64::NAN,
        n_nsb: 0,
        nsb_mean: f64::NAN,
        nsb_sd: f64::NAN,
        z_prime: f64::NAN,
        n_basal: 0,
        basal_mean: f64::NAN,
        basal_sd: f64::NAN,
        fraction_bound_pct: f64::NAN,
        functional: false,
        normalisation: Normalisation::Controls,
        background_p95: None,
        looks_rotated: false,
        flags: Vec::new(),
    }
}

/// Normalises one competition plate with its own controls (Z' threshold only).
#[must_use]
pub fn normalise(plate: Plate, min_z_prime: f64) -> NormalisedPlate {
    normalise_with(plate, &QcRules { min_z_prime, ..QcRules::default() }, None)
}

/// Normalises one plate with its own controls, by its target's assay (competition when
/// `target` is `None`).
#[must_use]
pub fn normalise_with(plate: Plate, rules: &QcRules, target: Option<&Target>) -> NormalisedPlate {
    let assay = target.map_or(&Assay::Competition, |t| &t.assay);
    let in_series = series_end_wells(&plate);
    let controls = |role: Role| -> Vec<f64> {
        plate
            .wells
            .iter()
            .zip(&in_series)
            .filter(|(w, end)| (w.role == role || **end == Some(role)) && w.excluded.is_none())
            .filter_map(|(w, _)| w.cpm)
            .collect()
    };
    let total = controls(Role::Total);
    let nsb = controls(Role::Nsb);
    let basal = controls(Role::Basal);
    let saturation = matches!(assay, Assay::Saturation(_));
    // No control wells by design (excluded ones count as controls: they are a failure, not a
    // curve-only layout).
    let curve_only = !saturation
        && plate.controls_from.is_none()
        && plate.controls_in_series == [None, None]
        && !plate.wells.iter().any(|w| matches!(w.role, Role::Total | Role::Nsb | Role::Basal));
    // A concentration table's response may be any signal (a % bound, an absorbance): its
    // size says nothing about instrument background.
    let from_table = plate.meta.format == crate::ingest::conc_table::FORMAT;
    let background_p95 = if from_table { None } else { background(&plate, rules.background_cpm) };
    let (total_mean, total_sd) = mean_sd(&total);
    let (nsb_mean, nsb_sd) = mean_sd(&nsb);
    let (basal_mean, basal_sd) = mean_sd(&basal);
    let gtpgs = matches!(assay, Assay::Gtpgs(_));
    // Z' between the high and low controls: total and NSB, or (GTPγS) total and basal.
    let (low_mean, low_sd) = if gtpgs { (basal_mean, basal_sd) } else { (nsb_mean, nsb_sd) };
    let z_prime = 1.0 - 3.0 * (total_sd + low_sd) / (total_mean - low_mean).abs();
    let mut flags = Vec::new();
    if gtpgs {
        if basal.is_empty() {
            flags.push("no_basal_wells".to_string());
        }
    } else if !saturation && !curve_only {
        if total.is_empty() {
            flags.push("no_total_wells".to_string());
        }
        if nsb.is_empty() {
            flags.push("no_nsb_wells".to_string());
        }
        if !total.is_empty() && !nsb.is_empty() && total_mean <= nsb_mean {
            flags.push("total_not_above_nsb".to_string());
        }
    }
    if z_prime.is_finite() && z_prime < rules.min_z_prime {
        flags.push(format!("z_prime_below_{}", rules.min_z_prime));
    }
    let sb = total_mean / low_mean;
    if !saturation && sb.is_finite() && sb < rules.min_signal_to_background {
        flags.push(format!("signal_to_background_below_{}", rules.min_signal_to_background));
    }
    // Fraction of the added radioligand bound in the total wells (binding assays).
    let fraction_bound_pct = match (target, assay) {
        (Some(t), Assay::Competition) => t
            .counting
            .map_or(f64::NAN, |c| 100.0 * total_mean / (t.radioligand_nm * c.cpm_per_nm())),
        _ => f64::NAN,
    };
    if fraction_bound_pct > rules.max_fraction_bound_pct {
        flags.push("ligand_depletion".to_string());
    }
    if background_p95.is_some() {
        flags.push("background_plate".to_string());
    }
    let window_bad = !saturation
        && !curve_only
        && if gtpgs {
            basal.is_empty()
        } else {
            total.is_empty() || nsb.is_empty() || total_mean <= nsb_mean
        };
    let looks_rotated = window_bad && !gtpgs && rotation_fixes_window(&plate);
    if looks_rotated {
        flags.push("looks_rotated".to_string());
    }
    let qc = PlateQc {
        n_total: total.len(),
        total_mean,
        total_sd,
        n_nsb: nsb.len(),
        nsb_mean,
        nsb_sd,
        z_prime,
        n_basal: basal.len(),
        basal_mean,
        basal_sd,
        fraction_bound_pct,
        functional: gtpgs,
        normalisation: if saturation {
            Normalisation::Counts
        } else if curve_only {
            Normalisation::Signal
        } else {
            Normalisation::Controls
        },
        background_p95,
        looks_rotated,
        flags,
    };
    // Saturation plates are fitted on counts, curve-only plates on the signal: no % scale.
    let (specific, pct_specific) = if saturation || curve_only {
        (vec![None; plate.wells.len()], vec![None; plate.wells.len()])
    } else {
        responses(&plate, &qc)
    };
    let variance = plate_variance(&plate, rules);
    NormalisedPlate { plate, qc, specific, pct_specific, variance }
}

/// The variance model of a plate ([`variance::estimate`]) from its replicate groups: the
/// total, NSB and basal wells, and each compound's wells at one concentration (masked wells
/// left out), counted for the export's counting time (else `rules.counting_minutes`).
fn plate_variance(plate: &Plate, rules: &QcRules) -> VarianceModel {
    let mut groups: std::collections::BTreeMap<(u8, &str, u64), Vec<f64>> =
        std::collections::BTreeMap::new();
    for w in plate.wells.iter().filter(|w| w.excluded.is_none()) {
        let Some(cpm) = w.cpm else { continue };
        let key = match w.role {
            Role::Total => (0, "", 0),
            Role::Nsb => (1, "", 0),
            Role::Basal => (2, "", 0),
            Role::Blank => (4, "", 0),
            Role::Sample => match (&w.compound, w.conc_nm) {
                (Some(c), Some(conc)) => (3, c.as_str(), conc.to_bits()),
                _ => continue,
            },
            _ => continue,
        };
        groups.entry(key).or_default().push(cpm);
    }
    let groups: Vec<Vec<f64>> = groups.into_values().collect();
    let t = plate.meta.counting_minutes.filter(|t| *t > 0.0).unwrap_or(rules.counting_minutes);
    variance::estimate(&groups, t, rules.fallback_cv)
}

/// Per well, the control role its series position lends it (`top_from`, `bottom_from`): for
/// each compound, the wells at its lowest or highest concentration on this plate; for the 0 %
/// control with `bottom_compound`, only that reference compound's wells.
fn series_end_wells(plate: &Plate) -> Vec<Option<Role>> {
    let mut out = vec![None; plate.wells.len()];
    for (end, role) in plate.controls_in_series.iter().zip([Role::Total, Role::Nsb]) {
        let Some(end) = end else { continue };
        let mut extreme: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
        for w in plate.wells.iter().filter(|w| w.role == Role::Sample) {
            let (Some(c), Some(x)) = (&w.compound, w.conc_nm) else { continue };
            let e = extreme.entry(c.as_str()).or_insert(x);
            *e = match end {
                SeriesEnd::LowestConcentration => e.min(x),
                SeriesEnd::HighestConcentration => e.max(x),
            };
        }
        let only = if role == Role::Nsb { plate.bottom_compound.as_deref() } else { None };
        for (w, o) in plate.wells.iter().zip(out.iter_mut()) {
            let (Some(c), Some(x)) = (&w.compound, w.conc_nm) else { continue };
            if only.is_some_and(|r| r != c) {
                continue;
            }
            if w.role == Role::Sample && extreme.get(c.as_str()) == Some(&x) {
                *o = Some(role);
            }
        }
    }
    out
}

/// The 95th percentile of a plate's counts (every counted well, nearest rank) when it lies
/// below `limit` CPM: a background plate. `None` for an assay plate or `limit` 0.
fn background(plate: &Plate, limit: f64) -> Option<f64> {
    background_p95(plate.wells.iter().filter_map(|w| w.cpm), limit)
}

/// The rule of [`background`] on a plate's counts (every counted well): their 95th percentile
/// (nearest rank) when it lies below `limit` CPM. `radbind init --from` applies it to the
/// plates of an export before any config exists.
#[must_use]
pub fn background_p95(counts: impl Iterator<Item = f64>, limit: f64) -> Option<f64> {
    let mut v: Vec<f64> = counts.collect();
    if limit <= 0.0 || v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let rank = ((0.95 * v.len() as f64).ceil() as usize).clamp(1, v.len());
    let p95 = v[rank - 1];
    (p95 < limit).then_some(p95)
}

/// True when the plate's total wells read above its NSB wells (by at least 2-fold) once the
/// plate is taken as turned by 180° the other way from how it was laid out: the hint that
/// `rotated` is wrong.
fn rotation_fixes_window(plate: &Plate) -> bool {
    let g = plate.geometry;
    let mean_at = |role: Role| -> f64 {
        let v: Vec<f64> = plate
            .wells
            .iter()
            .filter(|w| w.role == role)
            .filter_map(|w| g.index(g.rotate180(w.pos)).and_then(|j| plate.wells.get(j)))
            .filter_map(|w| w.cpm)
            .collect();
        mean_sd(&v).0
    };
    let (t, n) = (mean_at(Role::Total), mean_at(Role::Nsb));
    t.is_finite() && n.is_finite() && t > 2.0 * n.max(0.0) && t > 0.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Well;
    use crate::types::WellPos;

    fn plate(total: &[f64], nsb: &[f64], sample: f64) -> Plate {
        let mut wells = Vec::new();
        let mut col = 0;
        for (vals, role) in [(total, Role::Total), (nsb, Role::Nsb), (&[sample][..], Role::Sample)]
        {
            for &v in vals {
                wells.push(Well {
                    pos: WellPos { row: 0, col },
                    role,
                    compound: None,
                    conc_nm: None,
                    cpm: Some(v),
                    excluded: None,
                    source: None,
                });
                col += 1;
            }
        }
        crate::test_support::plate("T", wells)
    }

    #[test]
    fn percent_specific_and_z_prime_by_hand() {
        // total 1000 ± 10 (SD of 990, 1010), nsb 100 ± 10 (90, 110):
        // Z' = 1 - 3 (14.142 + 14.142) / 900 = 0.905719.
        let n = normalise(plate(&[990.0, 1010.0], &[90.0, 110.0], 550.0), 0.5);
        assert!((n.qc.z_prime - (1.0 - 3.0 * 2.0 * 200f64.sqrt() / 900.0)).abs() < 1e-12);
        assert!((n.pct_specific[4].unwrap() - 50.0).abs() < 1e-12);
        assert!((n.specific[4].unwrap() - 450.0).abs() < 1e-12);
        assert!((n.qc.signal_to_background() - 10.0).abs() < 1e-12);
        assert!(n.qc.flags.is_empty());
    }

    #[test]
    fn poor_plate_is_flagged_not_dropped() {
        let n = normalise(plate(&[600.0, 1400.0], &[50.0, 150.0], 500.0), 0.5);
        assert!(n.qc.z_prime < 0.5);
        assert_eq!(n.qc.flags, ["z_prime_below_0.5"]);
        assert!(n.pct_specific[4].is_some());
    }

    #[test]
    fn inverted_controls_cannot_be_normalised() {
        let n = normalise(plate(&[100.0, 110.0], &[900.0, 1000.0], 500.0), 0.5);
        assert!(n.qc.flags.contains(&"total_not_above_nsb".to_string()));
        assert!(n.pct_specific.iter().all(Option::is_none));
    }
}
