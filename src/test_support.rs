//! Fixtures shared by unit tests of several modules (compiled for tests only).
//!
//! [`sample_results`] is a fixed, hand-built run: the Markdown, HTML, Prism and table tests
//! all render it (the Markdown report's snapshot is reviewed in `src/report/snapshots/`).
//! [`plate`] is a laid-out 96-well plate `P1` of the given wells.

use crate::derive::rows::{
    Censor, CurvePoint, CurveRow, FitNumbers, PlateRow, RunResults, TargetRow, WellRow,
};
use crate::fit::status::CurveStatus;
use crate::ingest::inputs::InputFile;
use crate::layout::{Plate, Well};

/// Plate `P1` (number 1, 96 wells, layout `L`, not rotated, no controls from elsewhere) of
/// target `target` holding `wells`.
pub(crate) fn plate(target: &str, wells: Vec<Well>) -> Plate {
    Plate {
        id: "P1".into(),
        number: Some(1),
        source: "x".into(),
        index_in_file: 1,
        geometry: crate::types::Geometry::W96,
        target: target.into(),
        layout: "L".into(),
        rotated: false,
        label: String::new(),
        controls_from: None,
        controls_in_series: [None; 2],
        bottom_compound: None,
        wells,
        meta: crate::ingest::PlateMeta::default(),
        experiment: None,
    }
}

fn fit(ic50_nm: f64, factor: f64, hill: f64, censor: Censor) -> FitNumbers {
    let ki = ic50_nm / factor;
    FitNumbers {
        top: 100.0,
        bottom: 0.0,
        hill_slope: hill,
        log_ic50: (ic50_nm * 1e-9).log10(),
        log_ic50_se: 0.05,
        plateau_hill_se: [1.0, 1.0, 0.05],
        ic50_nm,
        ic50_ci_nm: (ic50_nm * 0.8, ic50_nm * 1.25),
        ki_nm: ki,
        ki_ci_nm: (ki * 0.8, ki * 1.25),
        pki: -(ki * 1e-9).log10(),
        pic50: -(ic50_nm * 1e-9).log10(),
        r_squared: 0.99,
        sy_x: 3.0,
        censor,
        two_site: None,
        log_ic50_profile: (f64::NAN, f64::NAN),
        curve: None,
        df: 0,
        signal_plateaus: None,
    }
}

fn points(ic50_nm: f64) -> Vec<CurvePoint> {
    let mut v = Vec::new();
    for k in 0..8 {
        let c = 0.1 * 10f64.powi(k) / 10f64.powf(0.0);
        let y = 100.0 / (1.0 + c / ic50_nm);
        for (i, d) in [-2.0, 2.0].into_iter().enumerate() {
            v.push(CurvePoint {
                plate: if i == 0 { "P1" } else { "P2" }.into(),
                well: format!("B{:02}", k + 2),
                conc_nm: c,
                y: y + d,
                excluded: None,
            });
        }
    }
    v
}

fn curve(target: &str, compound: &str, l: f64, kd: f64) -> CurveRow {
    CurveRow {
        experiment: "Mianserin panel".into(),
        experiment_id: String::new(),
        target: target.into(),
        compound: compound.into(),
        plates: vec!["P1".into(), "P2".into()],
        radioligand: String::new(),
        radioligand_nm: l,
        kd_nm: kd,
        model: "four_parameter".into(),
        n_points: 16,
        fit: None,
        status: CurveStatus::Ok,
        flags: vec![],
        tested_range_nm: (0.1, 1_000_000.0 / 100.0),
        points: points(2.6),
        n_outliers: 0,
        curve_class: String::new(),
        lack_of_fit_p: f64::NAN,
        comparison: None,
        functional: None,
        response_label: "% specific binding",
    }
}

/// Two targets, three curves (one measured, one censored, one failed), two plates.
pub(crate) fn sample_results() -> RunResults {
    let mut a = curve("5-HT2A", "mianserin", 1.0, 0.5);
    a.radioligand = "[3H]ketanserin".into();
    a.fit = Some(fit(7.8, 3.0, -0.98, Censor::Exact));
    let mut b = curve("5-HT1A", "mianserin", 1.0, 1.0);
    b.radioligand = "[3H]8-OH-DPAT".into();
    // Censored: derive holds the bound (the top concentration) in ic50_nm, never the
    // extrapolated 60 µM.
    b.fit = Some(fit(10_000.0, 2.0, -1.1, Censor::Above));
    b.status = CurveStatus::Flagged;
    b.flags = vec!["ic50_above_range".into(), "no_50pct_span".into()];
    b.points = points(60_000.0);
    let mut c = curve("5-HT1A", "cpd|7 <b>", 1.0, 1.0);
    c.radioligand = "[3H]8-OH-DPAT".into();
    c.status = CurveStatus::Failed("fewer than 3 concentrations".into());
    c.flags = vec!["few_concentrations".into(), "new_flag_x".into()];
    c.n_points = 2;
    c.points.truncate(2);
    c.points[1].excluded = Some("ROUT outlier".into());
    let plate = |id: &str, target: &str, z: f64, flags: Vec<String>| PlateRow {
        plate: id.into(),
        source: "data/run1.csv".into(),
        index_in_file: 1,
        target: target.into(),
        layout: "col1_total_col12_nsb".into(),
        rotated: false,
        n_total: 8,
        total_mean: 5000.0,
        total_sd: 150.0,
        total_cv_pct: 3.0,
        n_nsb: 8,
        nsb_mean: 500.0,
        nsb_sd: 40.0,
        nsb_cv_pct: 8.0,
        z_prime: z,
        signal_to_background: 10.0,
        nsb_pct_of_total: 10.0,
        n_basal: 0,
        basal_mean: f64::NAN,
        basal_cv_pct: f64::NAN,
        fraction_bound_pct: f64::NAN,
        flags,
        instrument: "MicroBeta2".into(),
        normalisation: "controls",
        pipetting_cv_pct: 4.0,
        counting_minutes: 1.0,
        background_sd_cpm: 0.0,
        variance_wells: 96,
    };
    RunResults {
        experiment: "Mianserin panel".into(),
        version: "0.1.0".into(),
        plates: vec![
            plate("P1", "5-HT2A", 0.87, vec![]),
            plate("P2", "5-HT1A", 0.42, vec!["z_prime_below_0.5".into()]),
        ],
        wells: vec![
            WellRow {
                plate: "P2".into(),
                well: "C03".into(),
                role: "sample",
                compound: Some("cpd|7 <b>".into()),
                conc_nm: Some(1.0),
                cpm: Some(4123.0),
                specific: Some(3623.0),
                pct_specific: Some(80.5),
                excluded: Some("ROUT outlier".into()),
                source: None,
            },
            WellRow {
                plate: "P1".into(),
                well: "A01".into(),
                role: "total",
                compound: None,
                conc_nm: None,
                cpm: Some(5100.0),
                specific: Some(4600.0),
                pct_specific: Some(102.0),
                excluded: None,
                source: None,
            },
        ],
        curves: vec![a, b, c],
        saturation: Vec::new(),
        targets: vec![
            TargetRow {
                target: "5-HT2A".into(),
                radioligand: "[3H]ketanserin".into(),
                radioligand_nm: 1.0,
                kd_nm: 0.5,
                assay: "competition".into(),
                kd_source: "config".into(),
            },
            TargetRow {
                target: "5-HT1A".into(),
                radioligand: "[3H]8-OH-DPAT".into(),
                radioligand_nm: 1.0,
                kd_nm: 1.0,
                assay: "competition".into(),
                kd_source: "config".into(),
            },
        ],
        inputs: vec![InputFile {
            path: "data/run1.csv".into(),
            sha256: "ab".repeat(32),
            bytes: 12_345,
        }],
        config_yaml: "experiment: Mianserin panel\nfit:\n  model: four_parameter\n".into(),
        primary_target: None,
        primary: Default::default(),
        problems: Vec::new(),
        started: "2025-01-01T10:00:00Z".into(),
        finished: "2025-01-01T10:00:05Z".into(),
        history: crate::derive::reference::RunHistory::default(),
        large: None,
    }
}
