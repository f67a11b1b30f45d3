//! Primary screens: per compound and plate, the mean % specific binding of its replicate
//! wells, % inhibition, replicate SD/SE/CV, a robust z-score against the plate's compounds,
//! flags and the hit call.
//!
//! - % inhibition = 100 - mean %SB, with %SB from the plate's controls (normalise).
//! - SD with n - 1; SE = SD / sqrt(n); CV% = 100 SD / mean of the replicate counts (CPM).
//! - Robust z = (x - median) / (1.4826 MAD) over the % inhibition of the plate's compounds
//!   (MAD = median |x - median|; 1.4826 makes it estimate the SD of normal data; Iglewicz &
//!   Hoaglin 1993). Positive z = more inhibition than the plate's typical compound. NaN when
//!   MAD is 0 or the plate has fewer than 3 compounds.
//! - A replicate is an outlier when its %SB lies more than `screen.outlier_pct` points from
//!   the median of the other replicates (it stays in the mean; the row is flagged).
//! - A plate fails QC when it has no usable control window, Z' < `qc.min_z_prime` or
//!   S/B < `qc.min_signal_to_background`. Its compounds are still called, and flagged.
//!
//! Owns [`PrimaryRow`] and [`PrimaryFlag`]; fits nothing, writes nothing.

use std::fmt;

use crate::config::{HitRule, ScreenSettings, Settings};
use crate::layout::Role;
use crate::normalise::{NormalisedPlate, mean_sd};

/// Consistency constant of the MAD for normal data: SD = 1.4826 MAD.
pub const MAD_SCALE: f64 = 1.4826;

/// Why a primary result needs a second look.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum PrimaryFlag {
    /// CV of the replicate counts above `screen.max_cv_pct`.
    HighCv,
    /// A replicate far from the others (see the module docs).
    ReplicateOutlier,
    /// Fewer than two usable replicates.
    OneReplicate,
    /// The plate failed QC (Z', S/B or no usable controls).
    PlateFailedQc,
    /// No usable %SB: the plate has no control window, or every replicate is excluded.
    NoResponse,
}

impl fmt::Display for PrimaryFlag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PrimaryFlag::HighCv => "high_cv",
            PrimaryFlag::ReplicateOutlier => "replicate_outlier",
            PrimaryFlag::OneReplicate => "one_replicate",
            PrimaryFlag::PlateFailedQc => "plate_failed_qc",
            PrimaryFlag::NoResponse => "no_response",
        })
    }
}

/// One compound on one primary-screen plate.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrimaryRow {
    /// Experiment name.
    pub experiment: String,
    /// Target assayed.
    pub target: String,
    /// Plate id (`P3`).
    pub plate: String,
    /// The plate's label or barcode in the export.
    pub barcode: String,
    /// Source file of the plate.
    pub source: String,
    /// Plate position within that file (1-based).
    pub index_in_file: usize,
    /// Compound.
    pub compound: String,
    /// Screening concentration, nM (NaN when a plate map gives none).
    pub conc_nm: f64,
    /// The compound's wells on the plate, in plate order (`B02`).
    pub wells: Vec<String>,
    /// Replicates used (counted, not excluded).
    pub n: usize,
    /// Replicates left out (masked, bad or missing counts).
    pub n_excluded: usize,
    /// Mean % specific binding of the replicates.
    pub mean_pct_specific: f64,
    /// SD of the replicates' % specific binding (n - 1).
    pub sd_pct_specific: f64,
    /// SE of the mean, SD / sqrt(n).
    pub se_pct_specific: f64,
    /// % inhibition = 100 - mean % specific binding.
    pub pct_inhibition: f64,
    /// Mean of the replicate counts, CPM.
    pub mean_cpm: f64,
    /// CV% of the replicate counts.
    pub cv_pct: f64,
    /// The plate's Z'.
    pub z_prime: f64,
    /// Robust z-score of the % inhibition against the plate's compounds.
    pub robust_z: f64,
    /// Whether the plate passed QC.
    pub plate_qc_pass: bool,
    /// Hit by the `screen.hit` rule.
    pub hit: bool,
    /// Replicates flagged as outliers.
    pub outlier_wells: Vec<String>,
    /// Flags, in a fixed order.
    pub flags: Vec<PrimaryFlag>,
}

/// The primary-screen results of a run: the rows and the rule they were called with.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PrimaryResults {
    /// One row per compound and plate, in plate order, then block order.
    pub rows: Vec<PrimaryRow>,
    /// The hit rule and replicate limits (`screen`).
    pub screen: ScreenSettings,
}

impl PrimaryResults {
    /// The hit rule as text: `% inhibition >= 50`, `robust z >= 3`, or both joined by `and`.
    #[must_use]
    pub fn rule_text(&self) -> String {
        let s = &self.screen;
        let inh = format!("% inhibition \u{2265} {}", s.min_inhibition_pct);
        let z = format!("robust z \u{2265} {}", s.min_robust_z);
        match s.rule {
            HitRule::Inhibition => inh,
            HitRule::RobustZ => z,
            HitRule::Both => format!("{inh} and {z}"),
        }
    }
}

/// Median of a slice (NaN when empty).
fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => s[n / 2],
        _ => 0.5 * (s[n / 2 - 1] + s[n / 2]),
    }
}

/// Robust z-scores `(x - median) / (1.4826 MAD)` of `v` (finite values only enter the
/// median and MAD); all NaN when fewer than 3 values are finite or MAD is 0.
#[must_use]
pub fn robust_z(v: &[f64]) -> Vec<f64> {
    let finite: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    let m = median(&finite);
    let dev: Vec<f64> = finite.iter().map(|x| (x - m).abs()).collect();
    let s = MAD_SCALE * median(&dev);
    if finite.len() < 3 || !(s > 0.0) {
        return vec![f64::NAN; v.len()];
    }
    v.iter().map(|x| (x - m) / s).collect()
}

/// Whether a compound is a hit by the rule.
#[must_use]
pub fn is_hit(rule: &ScreenSettings, pct_inhibition: f64, z: f64) -> bool {
    let by_inh = pct_inhibition >= rule.min_inhibition_pct;
    let by_z = z >= rule.min_robust_z;
    match rule.rule {
        HitRule::Inhibition => by_inh,
        HitRule::RobustZ => by_z,
        HitRule::Both => by_inh && by_z,
    }
}

/// The primary rows of every plate with primary wells, in plate order and, within a plate,
/// in the order of the compounds' first wells (row-major: A02, A03, ..., then B02, ...).
#[must_use]
pub fn primary_rows(plates: &[NormalisedPlate], settings: &Settings) -> Vec<PrimaryRow> {
    let mut out = Vec::new();
    for np in plates.iter().filter(|n| n.qc.background_p95.is_none()) {
        let start = out.len();
        out.extend(plate_rows(np, settings));
        let z = robust_z(&out[start..].iter().map(|r| r.pct_inhibition).collect::<Vec<_>>());
        for (r, z) in out[start..].iter_mut().zip(z) {
            r.robust_z = z;
            r.hit = is_hit(&settings.screen, r.pct_inhibition, z);
        }
    }
    out
}

/// One problem per primary-screen plate with compounds that have no % inhibition.
#[must_use]
pub fn problems(rows: &[PrimaryRow]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut last: Option<(&str, usize)> = None;
    let flush = |last: Option<(&str, usize)>, out: &mut Vec<String>| {
        if let Some((plate, n)) = last.filter(|(_, n)| *n > 0) {
            out.push(format!(
                "{plate}: {n} primary-screen compound(s) without a % inhibition (no usable \
                 control window, or every replicate excluded)"
            ));
        }
    };
    for r in rows {
        let none = usize::from(r.flags.contains(&PrimaryFlag::NoResponse));
        match last {
            Some((p, n)) if p == r.plate => last = Some((p, n + none)),
            _ => {
                flush(last, &mut out);
                last = Some((r.plate.as_str(), none));
            }
        }
    }
    flush(last, &mut out);
    out
}

fn plate_rows(np: &NormalisedPlate, settings: &Settings) -> Vec<PrimaryRow> {
    let p = &np.plate;
    let qc = &np.qc;
    let plate_qc_pass = qc.response_scale().is_some()
        && !(qc.z_prime < settings.min_z_prime)
        && !(qc.signal_to_background() < settings.min_signal_to_background);
    // Compounds in order of their first well.
    let mut order: Vec<&str> = Vec::new();
    for w in p.wells.iter().filter(|w| w.role == Role::Primary) {
        if let Some(c) = w.compound.as_deref().filter(|c| !order.contains(c)) {
            order.push(c);
        }
    }
    order
        .into_iter()
        .map(|compound| {
            let idx: Vec<usize> = (0..p.wells.len())
                .filter(|&i| {
                    p.wells[i].role == Role::Primary
                        && p.wells[i].compound.as_deref() == Some(compound)
                })
                .collect();
            let used: Vec<usize> = idx
                .iter()
                .copied()
                .filter(|&i| p.wells[i].excluded.is_none() && np.pct_specific[i].is_some())
                .collect();
            let pct: Vec<f64> = used.iter().filter_map(|&i| np.pct_specific[i]).collect();
            let cpm: Vec<f64> = used.iter().filter_map(|&i| p.wells[i].cpm).collect();
            let (mean, sd) = mean_sd(&pct);
            let (mean_cpm, sd_cpm) = mean_sd(&cpm);
            let n = pct.len();
            let cv_pct = if n >= 2 { 100.0 * sd_cpm / mean_cpm } else { f64::NAN };
            let outlier_wells: Vec<String> = if n >= 3 {
                used.iter()
                    .enumerate()
                    .filter(|(k, _)| {
                        let others: Vec<f64> = pct
                            .iter()
                            .enumerate()
                            .filter(|(j, _)| j != k)
                            .map(|(_, v)| *v)
                            .collect();
                        (pct[*k] - median(&others)).abs() > settings.screen.outlier_pct
                    })
                    .map(|(_, &i)| p.wells[i].pos.to_string())
                    .collect()
            } else {
                Vec::new()
            };
            let mut flags = Vec::new();
            if cv_pct > settings.screen.max_cv_pct {
                flags.push(PrimaryFlag::HighCv);
            }
            if !outlier_wells.is_empty() {
                flags.push(PrimaryFlag::ReplicateOutlier);
            }
            if n == 1 {
                flags.push(PrimaryFlag::OneReplicate);
            }
            if !plate_qc_pass {
                flags.push(PrimaryFlag::PlateFailedQc);
            }
            if n == 0 {
                flags.push(PrimaryFlag::NoResponse);
            }
            let conc_nm = idx.iter().find_map(|&i| p.wells[i].conc_nm).unwrap_or(f64::NAN);
            PrimaryRow {
                experiment: settings.experiment.clone(),
                target: p.target.clone(),
                plate: p.id.clone(),
                barcode: p.label.clone(),
                source: p.source.display().to_string(),
                index_in_file: p.index_in_file,
                compound: compound.to_string(),
                conc_nm,
                wells: idx.iter().map(|&i| p.wells[i].pos.to_string()).collect(),
                n,
                n_excluded: idx.len() - n,
                mean_pct_specific: mean,
                sd_pct_specific: sd,
                se_pct_specific: if n >= 2 { sd / (n as f64).sqrt() } else { f64::NAN },
                pct_inhibition: 100.0 - mean,
                mean_cpm,
                cv_pct,
                z_prime: qc.z_prime,
                robust_z: f64::NAN,
                plate_qc_pass,
                hit: false,
                outlier_wells,
                flags,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn robust_z_by_hand() {
        // median 2, |dev| = 1,1,0,1,8 -> MAD 1, scale 1.4826.
        let z = robust_z(&[1.0, 3.0, 2.0, 1.0, 10.0]);
        assert!((z[4] - 8.0 / MAD_SCALE).abs() < 1e-12);
        assert!((z[2]).abs() < 1e-12);
        assert!(robust_z(&[5.0, 5.0, 5.0]).iter().all(|z| z.is_nan()));
        assert!(robust_z(&[1.0, 2.0]).iter().all(|z| z.is_nan()));
    }

    #[test]
    fn hit_rules() {
        let mut s = ScreenSettings::default();
        assert!(is_hit(&s, 50.0, f64::NAN));
        assert!(!is_hit(&s, 49.9, 10.0));
        s.rule = HitRule::RobustZ;
        assert!(is_hit(&s, 10.0, 3.0));
        assert!(!is_hit(&s, 90.0, f64::NAN));
        s.rule = HitRule::Both;
        assert!(!is_hit(&s, 90.0, 2.0));
        assert!(is_hit(&s, 90.0, 4.0));
        assert!(!is_hit(&s, f64::NAN, 4.0));
    }
}
