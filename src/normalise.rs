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
//! %SB and its curves fail with that reason.

pub mod variance;

use crate::config::{Assay, Settings, Target};
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
    /// QC flags.
    pub flags: Vec<String>,
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

/// Normalises every plate with the QC rules and each plate's target (assay, counting);
/// plates with `controls_from` use the control statistics of that plate (which must be among
/// `plates`), and get the flag `controls_from_P<n>`.
#[must_use]
pub fn normalise_all(
    plates: Vec<Plate>,
    rules: &QcRules,
    targets: &std::collections::BTreeMap<String, Target>,
) -> (Vec<NormalisedPlate>, Vec<String>) {
    let mut out: Vec<NormalisedPlate> = plates
        .into_iter()
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
    let controls = |role: Role| -> Vec<f64> {
        plate
            .wells
            .iter()
            .filter(|w| w.role == role && w.excluded.is_none())
            .filter_map(|w| w.cpm)
            .collect()
    };
    let total = controls(Role::Total);
    let nsb = controls(Role::Nsb);
    let basal = controls(Role::Basal);
    let (total_mean, total_sd) = mean_sd(&total);
    let (nsb_mean, nsb_sd) = mean_sd(&nsb);
    let (basal_mean, basal_sd) = mean_sd(&basal);
    let gtpgs = matches!(assay, Assay::Gtpgs(_));
    let saturation = matches!(assay, Assay::Saturation(_));
    // Z' between the high and low controls: total and NSB, or (GTPγS) total and basal.
    let (low_mean, low_sd) = if gtpgs { (basal_mean, basal_sd) } else { (nsb_mean, nsb_sd) };
    let z_prime = 1.0 - 3.0 * (total_sd + low_sd) / (total_mean - low_mean).abs();
    let mut flags = Vec::new();
    if gtpgs {
        if basal.is_empty() {
            flags.push("no_basal_wells".to_string());
        }
    } else if !saturation {
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
        flags,
    };
    // Saturation plates are fitted on counts: no response scale.
    let (specific, pct_specific) = if saturation {
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
    let mut groups: std::collections::BTreeMap<(u8, String, u64), Vec<f64>> =
        std::collections::BTreeMap::new();
    for w in plate.wells.iter().filter(|w| w.excluded.is_none()) {
        let Some(cpm) = w.cpm else { continue };
        let key = match w.role {
            Role::Total => (0, String::new(), 0),
            Role::Nsb => (1, String::new(), 0),
            Role::Basal => (2, String::new(), 0),
            Role::Blank => (4, String::new(), 0),
            Role::Sample => match (&w.compound, w.conc_nm) {
                (Some(c), Some(conc)) => (3, c.clone(), conc.to_bits()),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::PlateMeta;
    use crate::layout::Well;
    use crate::types::{Geometry, WellPos};

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
                });
                col += 1;
            }
        }
        Plate {
            id: "P1".into(),
            number: Some(1),
            source: "x".into(),
            index_in_file: 1,
            geometry: Geometry::W96,
            target: "T".into(),
            layout: "L".into(),
            rotated: false,
            controls_from: None,
            wells,
            meta: PlateMeta::default(),
        }
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
