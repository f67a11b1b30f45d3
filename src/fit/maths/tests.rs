//! Tests of the two-site and agonist models and of the generic fit, and the gradient and
//! curve helpers the model tests share (also those of `fit::models::fit_ki`).

use super::agonist::{fit_agonist, initial_estimates_rising};
use super::four_pl::{FourPl, FourPlOptions, initial_estimates};
use super::model_fit::{aicc, fit_model};
use super::two_site::{TwoSite, fit_two_site};
use crate::fit::engine::{LmConfig, Model};
use approx::assert_relative_eq;
use proptest::prelude::*;

fn central_diff<M: Model<P>, const P: usize>(m: &M, x: f64, p: &[f64; P]) -> [f64; P] {
    let mut g = [0.0; P];
    for k in 0..P {
        let h = 1e-6 * p[k].abs().max(1.0);
        let mut pp = *p;
        let mut pm = *p;
        pp[k] += h;
        pm[k] -= h;
        g[k] = (m.value(x, &pp) - m.value(x, &pm)) / (2.0 * h);
    }
    g
}

pub(crate) fn check_grad<M: Model<P>, const P: usize>(m: &M, x: f64, p: &[f64; P], span: f64) {
    let mut g = [0.0; P];
    let y = m.value_grad(x, p, &mut g);
    assert!((y - m.value(x, p)).abs() <= 1e-12 * y.abs().max(1.0));
    let fd = central_diff(m, x, p);
    for k in 0..P {
        let scale = fd[k].abs().max(1e-3 * span.abs().max(1.0));
        assert!((g[k] - fd[k]).abs() <= 1e-6 * scale, "k={k} analytic={} fd={}", g[k], fd[k]);
    }
}

pub(crate) const XS: [f64; 10] = [-11.0, -10.5, -10.0, -9.5, -9.0, -8.5, -8.0, -7.5, -7.0, -6.5];

pub(crate) fn dup<M: Model<P>, const P: usize>(
    m: &M,
    p: &[f64; P],
    xs: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let x: Vec<f64> = xs.iter().flat_map(|&v| [v, v]).collect();
    let y = x.iter().map(|&v| m.value(v, p)).collect();
    (x, y)
}

proptest! {
    #[test]
    fn two_site_gradient(top in 50.0f64..150.0, bottom in -10.0f64..30.0, f in 0.0f64..1.0,
                         hi in -10.0f64..-7.0, d in 0.0f64..3.0, dx in -3.0f64..5.0) {
        check_grad(&TwoSite, hi + dx, &[top, bottom, f, hi, hi + d], top - bottom);
    }
}

#[test]
fn zero_dose_is_top() {
    let mut g = [f64::NAN; 5];
    let y = TwoSite.value_grad(f64::NEG_INFINITY, &[100.0, 3.0, 0.4, -9.0, -7.0], &mut g);
    assert_eq!(y, 100.0);
    assert!(g.iter().all(|v| v.is_finite()));
}

#[test]
fn two_site_recovers_parameters_and_orders_sites() {
    let p = [100.0, 0.0, 0.4, -9.5, -7.5];
    let (x, y) = dup(&TwoSite, &p, &XS);
    let f = fit_two_site(&x, &y, [None, None], None);
    assert!(f.termination.converged(), "{f:?}");
    for k in 0..5 {
        assert!((f.params[k] - p[k]).abs() < 1e-6, "{f:?}");
    }
    // Relabelled input (F = 0.6 at the low-affinity IC50 first) gives the same ordering.
    let q = [100.0, 0.0, 0.6, -7.5, -9.5];
    let (x, y) = dup(&TwoSite, &q, &XS);
    let g = fit_two_site(&x, &y, [None, None], None);
    assert!(g.params[3] < g.params[4] && (g.params[2] - 0.4).abs() < 1e-6, "{g:?}");
}

#[test]
fn agonist_curve_rises_and_zero_dose_is_bottom() {
    let p = [180.0, 5.0, 0.9, -7.2];
    let mut x = vec![f64::NEG_INFINITY];
    let mut y = vec![5.0];
    let (xc, yc) = dup(&FourPl, &p, &XS.map(|v| v + 2.0));
    x.extend(xc);
    y.extend(yc);
    let s = initial_estimates_rising(&x, &y);
    assert!(s[2] == 1.0 && s[0] > s[1] && (s[3] + 7.2).abs() < 0.5, "{s:?}");
    let f = fit_agonist(&x, &y, &FourPlOptions::default());
    assert!(f.termination.converged(), "{f:?}");
    for k in 0..4 {
        assert_relative_eq!(f.params[k], p[k], max_relative = 1e-7);
    }
    assert_eq!(FourPl.value(f64::NEG_INFINITY, &f.params), f.params[1]);
}

#[test]
fn agonist_fit_never_falls() {
    // Slightly falling noise: the free 4PL falls, the agonist fit keeps slope >= 0.
    let x: Vec<f64> = XS.iter().flat_map(|&v| [v, v]).collect();
    let y: Vec<f64> = x.iter().enumerate().map(|(i, _)| 50.0 - i as f64 * 0.5).collect();
    let f = fit_agonist(&x, &y, &FourPlOptions::default());
    assert!(f.params[2] >= 0.0 && f.params.iter().all(|v| v.is_finite()), "{f:?}");
    assert!(f.rss.is_finite());
}

#[test]
fn generic_fit_statistics() {
    let p = [100.0, 0.0, -1.0, -8.5];
    let (x, mut y) = dup(&FourPl, &p, &XS);
    for (i, v) in y.iter_mut().enumerate() {
        *v += [1.5, -2.0, 0.7, -0.4, 2.2][i % 5];
    }
    let start = initial_estimates(&x, &y);
    let inf = f64::INFINITY;
    let m = fit_model(&FourPl, &x, &y, None, start, [false; 4], [-inf; 4], [inf; 4]);
    // The same engine settings and start as fit_model: the comparison is at 1e-8, finer than
    // the precision (~1e-7 SE) to which the optimum is defined in double precision.
    let opts = FourPlOptions { lm: LmConfig::default(), ..FourPlOptions::default() };
    let r = super::four_pl::fit_four_pl_with(&x, &y, None, &opts, Some(start));
    assert!(m.termination.converged());
    for k in 0..4 {
        assert_relative_eq!(m.params[k], r.params[k], max_relative = 1e-8);
        assert_relative_eq!(m.se[k], r.se[k], max_relative = 1e-6);
    }
    assert_relative_eq!(m.ci95[3].0, r.log_ic50_ci.0, max_relative = 1e-8);
    assert_relative_eq!(m.r_squared, r.r_squared, max_relative = 1e-12);
    let k = 5.0;
    let n = 20.0;
    let want = n * (m.rss / n).ln() + 2.0 * k + 2.0 * k * (k + 1.0) / (n - k - 1.0);
    assert_relative_eq!(m.aicc, want, max_relative = 1e-12);
    assert_eq!(m.free_params(), 4);
    assert!(aicc(1.0, 5, 4).is_nan());
}
