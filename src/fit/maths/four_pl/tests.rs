//! Tests of the 4PL model (value, gradient, second derivatives) and of the 4PL fit.

use super::*;
use crate::fit::engine::Model;
use approx::assert_relative_eq;
use proptest::prelude::*;

fn central_diff(x: f64, p: &[f64; 4]) -> [f64; 4] {
    let mut g = [0.0; 4];
    for k in 0..4 {
        let h = 1e-5 * p[k].abs().max(1.0);
        let mut pp = *p;
        let mut pm = *p;
        pp[k] += h;
        pm[k] -= h;
        g[k] = (FourPl.value(x, &pp) - FourPl.value(x, &pm)) / (2.0 * h);
    }
    g
}

#[test]
fn zero_dose_is_top_for_falling_curve() {
    let p = [100.0, 5.0, -1.2, -7.0];
    let mut g = [f64::NAN; 4];
    let y = FourPl.value_grad(f64::NEG_INFINITY, &p, &mut g);
    assert_eq!(y, 100.0);
    assert_eq!(g, [1.0, 0.0, 0.0, 0.0]);
    let p = [100.0, 5.0, 1.2, -7.0];
    let y = FourPl.value_grad(f64::NEG_INFINITY, &p, &mut g);
    assert_eq!(y, 5.0);
    assert_eq!(g, [0.0, 1.0, 0.0, 0.0]);
    assert_eq!(FourPl.value(f64::INFINITY, &[100.0, 5.0, -1.0, -7.0]), 5.0);
}

#[test]
fn half_response_at_ic50() {
    let p = [100.0, 0.0, -1.0, -7.0];
    assert_relative_eq!(FourPl.value(-7.0, &p), 50.0, max_relative = 1e-15);
    // One log unit above the IC50 with slope -1: 100 / (1 + 10) = 9.0909...
    assert_relative_eq!(FourPl.value(-6.0, &p), 100.0 / 11.0, max_relative = 1e-14);
}

#[test]
fn extreme_arguments_do_not_overflow() {
    let p = [100.0, 0.0, -10.0, -3.0];
    let mut g = [0.0; 4];
    for x in [-1e6, -400.0, 400.0, 1e6] {
        let y = FourPl.value_grad(x, &p, &mut g);
        assert!(y.is_finite() && g.iter().all(|v| v.is_finite()), "x={x}");
    }
}

proptest! {
    #[test]
    fn gradient_matches_central_differences(
        top in 50.0f64..150.0,
        bottom in -10.0f64..30.0,
        hill in prop_oneof![-3.0f64..-0.3, 0.3f64..3.0],
        log_ic50 in -10.0f64..-4.0,
        dx in -3.0f64..3.0,
    ) {
        let p = [top, bottom, hill, log_ic50];
        let x = log_ic50 + dx;
        let mut g = [0.0; 4];
        let y = FourPl.value_grad(x, &p, &mut g);
        prop_assert!((y - FourPl.value(x, &p)).abs() <= 1e-12 * y.abs().max(1.0));
        let fd = central_diff(x, &p);
        for k in 0..4 {
            let scale = fd[k].abs().max(1e-3 * (top - bottom).abs());
            prop_assert!((g[k] - fd[k]).abs() <= 1e-6 * scale,
                "k={} analytic={} fd={}", k, g[k], fd[k]);
        }
        // Second derivatives against central differences of the analytic gradient.
        let mut h = [[0.0; 4]; 4];
        let mut g2 = [0.0; 4];
        let y2 = FourPl.value_grad_hess(x, &p, &mut g2, &mut h);
        prop_assert_eq!(y2, y);
        prop_assert_eq!(g2, g);
        for j in 0..4 {
            let step = 1e-6 * p[j].abs().max(1.0);
            let (mut pp, mut pm) = (p, p);
            pp[j] += step;
            pm[j] -= step;
            let (mut gp, mut gm) = ([0.0; 4], [0.0; 4]);
            FourPl.value_grad(x, &pp, &mut gp);
            FourPl.value_grad(x, &pm, &mut gm);
            for k in j..4 {
                let fd = (gp[k] - gm[k]) / (2.0 * step);
                let scale = fd.abs().max(1e-3 * (top - bottom).abs().max(1.0));
                prop_assert!((h[j][k] - fd).abs() <= 1e-5 * scale,
                    "d2/dp{}dp{} analytic {} fd {}", j, k, h[j][k], fd);
            }
        }
        // Zero dose: exact plateau, finite gradient.
        let y0 = FourPl.value_grad(f64::NEG_INFINITY, &p, &mut g);
        prop_assert_eq!(y0, if hill < 0.0 { top } else { bottom });
        prop_assert!(g.iter().all(|v| v.is_finite()));
    }
}

fn curve(p: [f64; 4], xs: &[f64], noise: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (i, &xi) in xs.iter().enumerate() {
        for r in 0..2 {
            x.push(xi);
            y.push(FourPl.value(xi, &p) + noise[(2 * i + r) % noise.len()]);
        }
    }
    (x, y)
}

const XS: [f64; 10] = [-11.0, -10.0, -9.5, -9.0, -8.5, -8.0, -7.5, -7.0, -6.0, -5.0];
const NOISE: [f64; 7] = [1.3, -2.1, 0.4, 2.9, -0.8, -1.7, 0.6];

fn assert_finite(f: &FourPlFit) {
    assert!(f.params.iter().all(|v| v.is_finite()), "{f:?}");
    assert!(f.rss.is_finite() && f.r_squared.is_finite(), "{f:?}");
}

#[test]
fn typical_curve_converges_quickly() {
    let (x, y) = curve([100.0, 2.0, -1.1, -8.3], &XS, &NOISE);
    let f = fit_four_pl(&x, &y, &FourPlOptions::default());
    assert!(f.termination.converged(), "{f:?}");
    assert!(f.iterations <= 30, "{} iterations", f.iterations);
    assert!((f.params[3] + 8.3).abs() < 0.05);
    assert!(f.log_ic50_ci.0 < f.params[3] && f.params[3] < f.log_ic50_ci.1);
    assert_eq!(f.df, 16);
    assert!(f.se.iter().all(|s| s.is_finite() && *s > 0.0));
}

#[test]
fn initial_estimates_are_data_driven() {
    let (x, y) = curve([100.0, 0.0, -1.0, -8.0], &XS, &[0.0]);
    let p = initial_estimates(&x, &y);
    assert!(p[0] > 95.0 && p[1] < 5.0 && p[2] == -1.0 && (p[3] + 8.0).abs() < 0.3, "{p:?}");
    let (x, y) = curve([100.0, 0.0, 1.0, -8.0], &XS, &[0.0]);
    let p = initial_estimates(&x, &y);
    assert!(p[0] > 95.0 && p[1] < 5.0 && p[2] == 1.0 && (p[3] + 8.0).abs() < 0.3, "{p:?}");
}

#[test]
fn refined_estimates_find_slope_and_plateaus() {
    // Noiseless and steep: the coarse start has slope -1 and plateaus from the end levels;
    // the refined one is close (the logits use those plateaus, so not exact).
    let truth = [98.0, 4.0, -1.6, -8.2];
    let (x, y) = curve(truth, &XS, &[0.0]);
    assert_eq!(initial_estimates(&x, &y)[2], -1.0);
    let p = refined_estimates(&x, &y);
    for k in 0..4 {
        assert!((p[k] - truth[k]).abs() < 1e-3 * truth[k].abs().max(1.0), "{p:?}");
    }
    // Rising curves, and data the refinement cannot use, keep a sensible start.
    let (x, y) = curve([100.0, 0.0, 1.2, -8.0], &XS, &NOISE);
    let p = refined_estimates(&x, &y);
    assert!(p[2] > 0.5 && p[2] < 2.0 && (p[3] + 8.0).abs() < 0.2, "{p:?}");
    let x = [-9.0, -8.0, -7.0];
    assert_eq!(refined_estimates(&x, &[50.0; 3]), initial_estimates(&x, &[50.0; 3]));
    let (x, y) = curve([100.0, 0.0, -1.0, -2.0], &XS, &NOISE);
    assert!(refined_estimates(&x, &y).iter().all(|v| v.is_finite()));
}

#[test]
fn four_pl_settings_agree_with_strict_gauss_newton() {
    let (x, y) = curve([101.0, 3.0, -0.9, -7.7], &XS, &NOISE);
    let f = fit_four_pl(&x, &y, &FourPlOptions::default());
    let gn = FourPlOptions { lm: LmConfig::default(), ..FourPlOptions::default() };
    let g = fit_four_pl_with(&x, &y, None, &gn, Some(initial_estimates(&x, &y)));
    assert_eq!(f.termination, Termination::ConvergedOffset, "{f:?}");
    assert!(f.iterations < g.iterations, "{} vs {}", f.iterations, g.iterations);
    for k in 0..4 {
        assert!((f.params[k] - g.params[k]).abs() <= 1e-6 * g.se[k], "{f:?}\n{g:?}");
        assert_relative_eq!(f.se[k], g.se[k], max_relative = 1e-6);
    }
}

#[test]
fn unsorted_points_fit_like_sorted() {
    let (x, y) = curve([100.0, 2.0, -1.1, -8.3], &XS, &NOISE);
    let w: Vec<f64> = (0..x.len()).map(|i| 1.0 + (i % 3) as f64).collect();
    let order: Vec<usize> = (0..x.len()).rev().collect();
    let xr: Vec<f64> = order.iter().map(|&i| x[i]).collect();
    let yr: Vec<f64> = order.iter().map(|&i| y[i]).collect();
    let wr: Vec<f64> = order.iter().map(|&i| w[i]).collect();
    let opts = FourPlOptions::default();
    let a = fit_four_pl_with(&x, &y, Some(&w), &opts, None);
    let b = fit_four_pl_with(&xr, &yr, Some(&wr), &opts, None);
    // The reversed data are sorted stably: replicates swap places, so the sums may round
    // differently, nothing more.
    for k in 0..4 {
        assert_relative_eq!(a.params[k], b.params[k], max_relative = 1e-9);
    }
    assert_relative_eq!(a.rss, b.rss, max_relative = 1e-12);
}

#[test]
fn zero_dose_points_count_at_top() {
    let mut x = vec![f64::NEG_INFINITY, f64::NEG_INFINITY];
    let mut y = vec![100.5, 99.0];
    let (xc, yc) = curve([100.0, 0.0, -1.0, -8.0], &XS, &NOISE);
    x.extend(xc);
    y.extend(yc);
    let f = fit_four_pl(&x, &y, &FourPlOptions::default());
    assert!(f.termination.converged(), "{f:?}");
    assert_eq!(f.n, 22);
    assert_finite(&f);
}

#[test]
fn fixed_plateaus() {
    let (x, y) = curve([100.0, 0.0, -1.0, -8.0], &XS, &NOISE);
    let opts = FourPlOptions { fixed: [Some(100.0), Some(0.0), None, None], ..Default::default() };
    let f = fit_four_pl(&x, &y, &opts);
    assert!(f.termination.converged());
    assert_eq!(&f.params[..2], &[100.0, 0.0]);
    assert!(f.se[0].is_nan() && f.se[1].is_nan() && f.se[3].is_finite());
    assert_eq!(f.df, 18);
}

#[test]
fn flat_data() {
    let x = [-9.0, -8.0, -7.0, -6.0, -5.0];
    let f = fit_four_pl(&x, &[50.0; 5], &FourPlOptions::default());
    assert_eq!(f.termination, Termination::FlatResponse);
    assert_finite(&f);
    assert_relative_eq!(f.params[0], 50.0);
}

#[test]
fn three_points() {
    let f = fit_four_pl(&[-9.0, -8.0, -7.0], &[100.0, 50.0, 0.0], &FourPlOptions::default());
    assert_eq!(f.termination, Termination::InsufficientData);
    assert_finite(&f);
    // With two parameters fixed, three points are enough.
    let opts = FourPlOptions { fixed: [Some(100.0), Some(0.0), None, None], ..Default::default() };
    let f = fit_four_pl(&[-9.0, -8.0, -7.0], &[90.0, 50.0, 10.0], &opts);
    assert!(f.termination.converged(), "{f:?}");
    assert_relative_eq!(f.params[3], -8.0, epsilon = 1e-9);
}

#[test]
fn duplicate_x_only() {
    let f = fit_four_pl(&[-8.0; 6], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &FourPlOptions::default());
    assert_eq!(f.termination, Termination::InsufficientData);
    assert_finite(&f);
    let f = fit_four_pl(&[], &[], &FourPlOptions::default());
    assert_eq!(f.termination, Termination::InsufficientData);
    assert_finite(&f);
    let f =
        fit_four_pl(&[f64::NEG_INFINITY; 5], &[1.0, 2.0, 3.0, 4.0, 5.0], &FourPlOptions::default());
    assert_eq!(f.termination, Termination::InsufficientData);
    assert_finite(&f);
}

#[test]
fn incomplete_curve_stays_finite_and_is_detectable() {
    // True IC50 at -2 with data up to -5: only the top of the curve is sampled.
    let (x, y) = curve([100.0, 0.0, -1.0, -2.0], &XS, &NOISE);
    let f = fit_four_pl(&x, &y, &FourPlOptions::default());
    assert_finite(&f);
    assert!(f.params[3] <= -5.0 + LOG_IC50_MARGIN + 1e-12);
    assert!(
        f.termination == Termination::AtBound || f.params[3] > -5.0 || !(f.se[3] < 0.5),
        "an incomplete curve must be detectable: {f:?}"
    );
}

#[test]
fn two_levels_and_noise_only_stay_finite() {
    let x = [-9.0, -9.0, -5.0, -5.0];
    let f = fit_four_pl(&x, &[100.0, 98.0, 2.0, 1.0], &FourPlOptions::default());
    assert_finite(&f);
    let x = [-9.0, -8.0, -7.0, -6.0, -5.0, -4.0];
    let f = fit_four_pl(&x, &[50.0, 51.0, 49.0, 50.5, 49.5, 50.0], &FourPlOptions::default());
    assert_finite(&f);
    let f = fit_four_pl(&x, &[1e5, 9.9e4, 5e4, 1e3, 20.0, 0.0], &FourPlOptions::default());
    assert_finite(&f);
    assert!(f.termination.converged() || f.termination == Termination::AtBound, "{f:?}");
}
