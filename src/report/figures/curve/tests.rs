//! Tests of the curve figure, and the curves the other figures' tests draw.

use super::*;
use crate::derive::rows::{Censor, CurvePoint, FitNumbers, FunctionalNumbers};
use crate::fit::status::CurveStatus;
use crate::report::figures::{PlotError, to_png, to_svg};

fn curve_svg(c: &CurveRow) -> Result<String, PlotError> {
    to_svg(&CurveFigure::new(c))
}

fn curve_png(c: &CurveRow, path: &std::path::Path, scale: f64) -> Result<(), PlotError> {
    to_png(&CurveFigure::new(c), path, scale)
}

pub(in crate::report::figures) fn point(
    conc_nm: f64,
    y: f64,
    excluded: Option<&str>,
) -> CurvePoint {
    CurvePoint {
        plate: "P1".into(),
        well: "B02".into(),
        conc_nm,
        y,
        excluded: excluded.map(str::to_string),
    }
}

/// A falling curve, IC50 2.5 nM, duplicates at 0.1 nM .. 10 µM, one excluded point
/// and two zero-dose points.
pub(in crate::report::figures) fn curve() -> CurveRow {
    let (top, bottom, hill, log_ic50) = (100.0, 0.0, -1.0, (2.5e-9f64).log10());
    let model = FittedCurve::FourPl { params: [top, bottom, hill, log_ic50], cov: [[0.0; 4]; 4] };
    let mut points = vec![point(0.0, 101.0, None), point(0.0, 97.0, None)];
    for k in 0..9 {
        let c = 0.1 * 10f64.powf(k as f64 * 0.625);
        let y = model.value(c.log10() - 9.0);
        points.push(point(c, y + 3.0, None));
        points.push(point(c, y - 3.0, None));
    }
    points.push(point(1.0, 20.0, Some("ROUT outlier (Q = 1%)")));
    CurveRow {
        experiment: "panel".into(),
        experiment_id: String::new(),
        target: "5-HT2A".into(),
        compound: "mianserin".into(),
        plates: vec!["P1".into()],
        radioligand: "[3H]ketanserin".into(),
        radioligand_nm: 1.0,
        kd_nm: 0.5,
        model: "four_parameter".into(),
        n_points: 20,
        fit: Some(FitNumbers {
            top,
            bottom,
            hill_slope: hill,
            log_ic50,
            log_ic50_se: 0.05,
            plateau_hill_se: [1.0, 1.0, 0.05],
            ic50_nm: 2.5,
            ic50_ci_nm: (2.0, 3.1),
            ki_nm: 2.5 / 3.0,
            ki_ci_nm: (2.0 / 3.0, 3.1 / 3.0),
            pki: 9.08,
            pic50: 8.6,
            r_squared: 0.99,
            sy_x: 3.0,
            censor: Censor::Exact,
            two_site: None,
            log_ic50_profile: (f64::NAN, f64::NAN),
            curve: Some(FittedCurve::FourPl {
                params: [top, bottom, hill, log_ic50],
                cov: [
                    [1.0, 0.1, 0.0, 0.0],
                    [0.1, 1.0, 0.0, 0.0],
                    [0.0, 0.0, 0.0025, 0.0],
                    [0.0, 0.0, 0.0, 0.0025],
                ],
            }),
            df: 16,
            signal_plateaus: None,
        }),
        status: CurveStatus::Ok,
        flags: vec![],
        tested_range_nm: (0.1, 10_000.0),
        points,
        n_outliers: 1,
        curve_class: "1.1".into(),
        lack_of_fit_p: f64::NAN,
        comparison: None,
        functional: None,
        response_label: "% specific binding",
    }
}

pub(in crate::report::figures) fn censored() -> CurveRow {
    let mut c = curve();
    c.compound = "weak".into();
    if let Some(f) = c.fit.as_mut() {
        f.log_ic50 = -4.2;
        f.ic50_nm = 63_000.0;
        f.censor = Censor::Above;
    }
    for p in &mut c.points {
        p.y = 100.0 - p.conc_nm.max(0.0) / 300.0;
    }
    c.flags = vec!["ic50_above_range".into()];
    c
}

pub(in crate::report::figures) fn well_formed(svg: &str) {
    assert!(svg.starts_with("<svg"), "{}", &svg[..svg.len().min(80)]);
    assert!(svg.trim_end().ends_with("</svg>"));
    assert!(!svg.contains("NaN"));
    assert!(!svg.contains("inf"));
}

#[test]
fn svg_has_title_axes_and_curve() {
    let svg = curve_svg(&curve()).expect("svg");
    well_formed(&svg);
    assert!(svg.contains("5-HT2A \u{2014} mianserin"));
    assert!(svg.contains("log10 [compound] (M)"));
    assert!(svg.contains("% specific binding"));
    assert!(svg.contains("IC50 2.5 nM"));
    assert!(svg.contains("stroke=\"#0072B2\""), "fitted curve is drawn");
    // "0" twice: on the y axis and at the zero-dose slot of the x axis.
    assert_eq!(svg.matches(">0</text>").count(), 2, "zero slot label");
}

/// The band is `f -+ t sqrt(g' C g)`: narrowest where the curve is pinned by the plateaus'
/// small variance, widest near the IC50 where LogIC50 and the slope matter; drawn only with
/// a covariance and a measured IC50.
#[test]
fn confidence_band_from_covariance() {
    let c = curve();
    let f = c.fit.as_ref().expect("fit");
    let log_ic50 = f.log_ic50;
    let t = crate::fit::stats::t975(16);
    let (lo, hi) = f.band(log_ic50).expect("band");
    // At the IC50: dY/dLogIC50 = -(Top - Bottom)/4 * Hill * ln 10, dY/dTop = dY/dBottom = 1/2.
    let g = [0.5, 0.5, 0.0, 100.0 / 4.0 * std::f64::consts::LN_10];
    let var = 0.25 * (1.0 + 1.0 + 0.2) + g[3] * g[3] * 0.0025;
    assert!((hi - lo - 2.0 * t * var.sqrt()).abs() < 1e-9, "{lo} {hi}");
    let (lo_far, hi_far) = f.band(log_ic50 + 4.0).expect("band");
    assert!(hi_far - lo_far < (hi - lo) / 2.0);

    let svg = curve_svg(&c).expect("svg");
    assert!(svg.contains("95% confidence band"));
    let mut censored = c.clone();
    censored.fit.as_mut().expect("fit").censor = Censor::Above;
    assert!(!curve_svg(&censored).expect("svg").contains("95% confidence band"));
    let mut no_cov = c.clone();
    no_cov.fit.as_mut().expect("fit").curve = None;
    assert!(!curve_svg(&no_cov).expect("svg").contains("95% confidence band"));
}

/// A two-site fit is drawn with the two-site model (a shoulder between the sites), not as the
/// 4PL of its high-affinity site.
#[test]
fn two_site_curve_is_drawn_as_two_sites() {
    let mut c = curve();
    let f = c.fit.as_mut().expect("fit");
    f.curve =
        Some(FittedCurve::TwoSite { params: [100.0, 0.0, 0.4, -9.0, -6.0], cov: [[0.0; 5]; 5] });
    // Between the sites the high-affinity 40% has gone: about 60%, where the 4PL of the
    // high site alone would be near 0.
    assert!((f.value(-7.5) - 60.0).abs() < 2.0);
    let svg = curve_svg(&c).expect("svg");
    well_formed(&svg);
    assert!(svg.contains("two-site fit"));
}

#[test]
fn svg_is_deterministic() {
    let c = curve();
    assert_eq!(curve_svg(&c).expect("svg"), curve_svg(&c).expect("svg"));
}

#[test]
fn svg_escapes_user_text() {
    let mut c = curve();
    c.compound = "<script>alert(1)</script> & co".into();
    let svg = curve_svg(&c).expect("svg");
    well_formed(&svg);
    assert!(!svg.contains("<script"));
    assert!(svg.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; co"));
}

#[test]
fn svg_without_fit() {
    let mut c = curve();
    c.fit = None;
    c.status = CurveStatus::Failed("fewer than 3 concentrations".into());
    let svg = curve_svg(&c).expect("svg");
    well_formed(&svg);
    assert!(!svg.contains("#0072B2"), "no curve without a fit");
    assert!(svg.contains("No fit: fewer than 3 concentrations"));
}

/// A failure's reason is shown whole: wrapped onto a second subtitle line, not cut to
/// "4 free pa…". See: issue 20, item 4.
#[test]
fn failure_reason_is_not_truncated() {
    let mut c = curve();
    c.fit = None;
    c.status = CurveStatus::Failed(
        "too few points to fit: 4 points at 2 concentrations (4 free parameters)".into(),
    );
    let svg = curve_svg(&c).expect("svg");
    well_formed(&svg);
    assert!(!svg.contains('\u{2026}'), "nothing cut");
    assert!(svg.contains("(4 free parameters)"), "{svg}");
    assert!(svg.contains("No fit: too few points to fit"));
}

#[test]
fn svg_all_excluded_single_point_and_empty() {
    let mut c = curve();
    for p in &mut c.points {
        p.excluded = Some("manual".into());
    }
    well_formed(&curve_svg(&c).expect("all excluded"));

    let mut c = curve();
    c.points.truncate(3);
    c.tested_range_nm = (0.1, 0.1);
    c.fit = None;
    well_formed(&curve_svg(&c).expect("single point"));

    let mut c = curve();
    c.points.clear();
    c.tested_range_nm = (f64::NAN, 0.0);
    let svg = curve_svg(&c).expect("no points");
    well_formed(&svg);
    assert!(svg.contains("no data points"));
}

#[test]
fn svg_guards_nan() {
    let mut c = curve();
    c.points.push(point(f64::NAN, 50.0, None));
    c.points.push(point(10.0, f64::INFINITY, None));
    if let Some(f) = c.fit.as_mut() {
        f.hill_slope = f64::NAN;
        f.ki_nm = f64::NAN;
    }
    well_formed(&curve_svg(&c).expect("svg"));
}

#[test]
fn censored_curve_has_no_marker() {
    let svg = curve_svg(&censored()).expect("svg");
    well_formed(&svg);
    assert!(svg.contains("IC50 &gt; 10 \u{b5}M"), "censored label");
    assert!(!svg.contains("IC50 63"), "no extrapolated value");
    assert!(svg.contains("Ki &gt; 3.33 \u{b5}M"));
}

#[test]
fn png_is_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("curve.png");
    curve_png(&curve(), &path, 1.0).expect("png");
    let bytes = std::fs::read(&path).expect("read png");
    assert!(bytes.starts_with(b"\x89PNG"));
    assert!(bytes.len() > 10_000, "png is {} bytes", bytes.len());
    assert!(matches!(curve_png(&curve(), &path, 0.0), Err(PlotError::Scale(_))));
}

/// Writes sample figures to `$RADBIND_PLOT_SAMPLES` for looking at them:
/// `RADBIND_PLOT_SAMPLES=/tmp/p cargo test --lib write_samples -- --ignored`.
#[test]
#[ignore = "writes files for visual review"]
fn write_samples() {
    let Some(dir) = std::env::var_os("RADBIND_PLOT_SAMPLES") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).expect("mkdir");
    let mut nofit = curve();
    nofit.fit = None;
    nofit.status = CurveStatus::Failed("singular Jacobian".into());
    for (name, c) in [("measured", curve()), ("censored", censored()), ("nofit", nofit)] {
        std::fs::write(dir.join(format!("{name}.svg")), curve_svg(&c).expect("svg"))
            .expect("write");
        curve_png(&c, &dir.join(format!("{name}.png")), 1.0).expect("png");
    }
    curve_png(&curve(), &dir.join("measured_x2.png"), 2.0).expect("png");
}

/// A rising functional curve: the response axis is the assay's, the midpoint an EC50.
pub(in crate::report::figures) fn agonist() -> CurveRow {
    let mut c = curve();
    c.compound = "8-OH-DPAT".into();
    c.response_label = "% stimulation over basal";
    c.functional = Some(FunctionalNumbers {
        role: FunctionalRole::Agonist,
        emax_pct: 100.0,
        emax_se: 3.0,
        relative_efficacy: f64::NAN,
        efficacy: None,
        kb_nm: f64::NAN,
        kb_ci_nm: (f64::NAN, f64::NAN),
    });
    if let Some(f) = c.fit.as_mut() {
        f.hill_slope = 1.0;
        f.curve = Some(FittedCurve::FourPl {
            params: [f.top, f.bottom, 1.0, f.log_ic50],
            cov: [[0.0; 4]; 4],
        });
    }
    c
}

#[test]
fn agonist_marks_its_ec50_on_the_assay_axis() {
    let svg = curve_svg(&agonist()).expect("svg");
    well_formed(&svg);
    assert!(svg.contains("% stimulation over basal"));
    assert!(svg.contains("EC50 2.5 nM"));
    assert!(!svg.contains("IC50"), "no IC50 on an agonist figure");
    assert!(!svg.contains("% specific binding"));
}
