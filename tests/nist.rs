//! NIST StRD nonlinear least-squares problems (all 27, both certified starts) through
//! `radbind::fit::engine::fit` and `radbind::fit::engine::uncertainty::asymptotic`.
//!
//! Pass bar (the issue's): log relative error (LRE, matching significant digits) >= 6 on every
//! certified parameter and >= 4 on every certified standard deviation
//! (`sqrt(diag(s^2 (J'J)^-1))`, `s^2 = RSS / (n - p)`). Models and analytic gradients are
//! defined here; each model reads its inputs by observation index (x = i), which also covers
//! Nelson's two inputs. Nelson is fitted on log(y) as NIST specifies.
//!
//! Reference: NIST Statistical Reference Datasets, Nonlinear Regression
//! (https://www.itl.nist.gov/div898/strd/nls/nls_main.shtml); data in ../shared (public domain).

mod common;

use std::f64::consts::PI;
use std::path::Path;

use radbind::fit::engine::Model;
use radbind::fit::engine::uncertainty;
use radbind::fit::engine::{self, LmConfig};
use serde_json::Value;

/// Gradient-carrying model function: `f(inputs, p, grad) -> value`.
type NistFn<const P: usize> = fn(&[f64; 2], &[f64; P], &mut [f64; P]) -> f64;

/// A NIST model whose `x` argument is the observation index into `inputs`.
struct Indexed<const P: usize> {
    f: NistFn<P>,
    inputs: Vec<[f64; 2]>,
}

impl<const P: usize> Model<P> for Indexed<P> {
    fn value(&self, x: f64, p: &[f64; P]) -> f64 {
        let mut g = [0.0; P];
        self.value_grad(x, p, &mut g)
    }
    fn value_grad(&self, x: f64, p: &[f64; P], grad: &mut [f64; P]) -> f64 {
        (self.f)(&self.inputs[x as usize], p, grad)
    }
}

fn exp1(v: &[f64; 2], b: &[f64; 2], g: &mut [f64; 2]) -> f64 {
    // Misra1a, BoxBOD: b1 (1 - exp(-b2 x)).
    let x = v[0];
    let e = (-b[1] * x).exp();
    g[0] = 1.0 - e;
    g[1] = b[0] * x * e;
    b[0] * (1.0 - e)
}

fn chwirut(v: &[f64; 2], b: &[f64; 3], g: &mut [f64; 3]) -> f64 {
    let x = v[0];
    let d = b[1] + b[2] * x;
    let f = (-b[0] * x).exp() / d;
    g[0] = -x * f;
    g[1] = -f / d;
    g[2] = -x * f / d;
    f
}

fn lanczos(v: &[f64; 2], b: &[f64; 6], g: &mut [f64; 6]) -> f64 {
    let x = v[0];
    let mut f = 0.0;
    for k in 0..3 {
        let e = (-b[2 * k + 1] * x).exp();
        g[2 * k] = e;
        g[2 * k + 1] = -b[2 * k] * x * e;
        f += b[2 * k] * e;
    }
    f
}

fn gauss(v: &[f64; 2], b: &[f64; 8], g: &mut [f64; 8]) -> f64 {
    let x = v[0];
    let e = (-b[1] * x).exp();
    g[0] = e;
    g[1] = -b[0] * x * e;
    let mut f = b[0] * e;
    for (a, c, w) in [(2, 3, 4), (5, 6, 7)] {
        let u = (x - b[c]) / b[w];
        let q = (-u * u).exp();
        g[a] = q;
        g[c] = b[a] * q * 2.0 * u / b[w];
        g[w] = b[a] * q * 2.0 * u * u / b[w];
        f += b[a] * q;
    }
    f
}

fn danwood(v: &[f64; 2], b: &[f64; 2], g: &mut [f64; 2]) -> f64 {
    let x = v[0];
    let xp = x.powf(b[1]);
    g[0] = xp;
    g[1] = b[0] * xp * x.ln();
    b[0] * xp
}

fn misra1b(v: &[f64; 2], b: &[f64; 2], g: &mut [f64; 2]) -> f64 {
    let x = v[0];
    let q = 1.0 + b[1] * x / 2.0;
    g[0] = 1.0 - q.powi(-2);
    g[1] = b[0] * x * q.powi(-3);
    b[0] * g[0]
}

fn misra1c(v: &[f64; 2], b: &[f64; 2], g: &mut [f64; 2]) -> f64 {
    let x = v[0];
    let q = 1.0 + 2.0 * b[1] * x;
    g[0] = 1.0 - q.powf(-0.5);
    g[1] = b[0] * x * q.powf(-1.5);
    b[0] * g[0]
}

fn misra1d(v: &[f64; 2], b: &[f64; 2], g: &mut [f64; 2]) -> f64 {
    let x = v[0];
    let q = 1.0 + b[1] * x;
    g[0] = b[1] * x / q;
    g[1] = b[0] * x / (q * q);
    b[0] * g[0]
}

/// Rational (deg-`N` numerator over deg-`D` denominator with constant 1): Kirby2, Hahn1,
/// Thurber. `P = N + 1 + D`.
fn rational<const P: usize, const N: usize>(v: &[f64; 2], b: &[f64; P], g: &mut [f64; P]) -> f64 {
    let x = v[0];
    let mut num = 0.0;
    let mut xp = 1.0;
    for k in 0..=N {
        num += b[k] * xp;
        xp *= x;
    }
    let mut den = 1.0;
    let mut xp = x;
    for k in N + 1..P {
        den += b[k] * xp;
        xp *= x;
    }
    let f = num / den;
    let mut xp = 1.0;
    for gk in g.iter_mut().take(N + 1) {
        *gk = xp / den;
        xp *= x;
    }
    let mut xp = x;
    for gk in g.iter_mut().skip(N + 1) {
        *gk = -f * xp / den;
        xp *= x;
    }
    f
}

fn nelson(v: &[f64; 2], b: &[f64; 3], g: &mut [f64; 3]) -> f64 {
    let (x1, x2) = (v[0], v[1]);
    let e = (-b[2] * x2).exp();
    g[0] = 1.0;
    g[1] = -x1 * e;
    g[2] = b[1] * x1 * x2 * e;
    b[0] - b[1] * x1 * e
}

fn mgh17(v: &[f64; 2], b: &[f64; 5], g: &mut [f64; 5]) -> f64 {
    let x = v[0];
    let e4 = (-x * b[3]).exp();
    let e5 = (-x * b[4]).exp();
    g[0] = 1.0;
    g[1] = e4;
    g[2] = e5;
    g[3] = -b[1] * x * e4;
    g[4] = -b[2] * x * e5;
    b[0] + b[1] * e4 + b[2] * e5
}

fn roszman1(v: &[f64; 2], b: &[f64; 4], g: &mut [f64; 4]) -> f64 {
    let x = v[0];
    let d = x - b[3];
    let u = b[2] / d;
    let k = 1.0 / (PI * (1.0 + u * u));
    g[0] = 1.0;
    g[1] = -x;
    g[2] = -k / d;
    g[3] = -k * b[2] / (d * d);
    b[0] - b[1] * x - u.atan() / PI
}

fn enso(v: &[f64; 2], b: &[f64; 9], g: &mut [f64; 9]) -> f64 {
    let x = v[0];
    let w = 2.0 * PI * x / 12.0;
    g[0] = 1.0;
    g[1] = w.cos();
    g[2] = w.sin();
    let mut f = b[0] + b[1] * w.cos() + b[2] * w.sin();
    for (per, c, s) in [(3, 4, 5), (6, 7, 8)] {
        let t = 2.0 * PI * x / b[per];
        let (st, ct) = t.sin_cos();
        g[c] = ct;
        g[s] = st;
        g[per] = (-b[c] * st + b[s] * ct) * (-t / b[per]);
        f += b[c] * ct + b[s] * st;
    }
    f
}

fn mgh09(v: &[f64; 2], b: &[f64; 4], g: &mut [f64; 4]) -> f64 {
    let x = v[0];
    let n = x * x + x * b[1];
    let d = x * x + x * b[2] + b[3];
    g[0] = n / d;
    g[1] = b[0] * x / d;
    g[2] = -b[0] * n * x / (d * d);
    g[3] = -b[0] * n / (d * d);
    b[0] * n / d
}

fn rat42(v: &[f64; 2], b: &[f64; 3], g: &mut [f64; 3]) -> f64 {
    let x = v[0];
    let e = (b[1] - b[2] * x).exp();
    let q = 1.0 + e;
    g[0] = 1.0 / q;
    g[1] = -b[0] * e / (q * q);
    g[2] = b[0] * x * e / (q * q);
    b[0] / q
}

fn mgh10(v: &[f64; 2], b: &[f64; 3], g: &mut [f64; 3]) -> f64 {
    let x = v[0];
    let d = x + b[2];
    let e = (b[1] / d).exp();
    g[0] = e;
    g[1] = b[0] * e / d;
    g[2] = -b[0] * e * b[1] / (d * d);
    b[0] * e
}

fn eckerle4(v: &[f64; 2], b: &[f64; 3], g: &mut [f64; 3]) -> f64 {
    let x = v[0];
    let u = (x - b[2]) / b[1];
    let q = (-0.5 * u * u).exp();
    g[0] = q / b[1];
    g[1] = b[0] * q / (b[1] * b[1]) * (u * u - 1.0);
    g[2] = b[0] / b[1] * q * u / b[1];
    b[0] / b[1] * q
}

fn rat43(v: &[f64; 2], b: &[f64; 4], g: &mut [f64; 4]) -> f64 {
    let x = v[0];
    let e = (b[1] - b[2] * x).exp();
    let q = 1.0 + e;
    let f = b[0] * q.powf(-1.0 / b[3]);
    let k = f / (b[3] * q);
    g[0] = q.powf(-1.0 / b[3]);
    g[1] = -k * e;
    g[2] = k * e * x;
    g[3] = f * q.ln() / (b[3] * b[3]);
    f
}

fn bennett5(v: &[f64; 2], b: &[f64; 3], g: &mut [f64; 3]) -> f64 {
    let x = v[0];
    let s = b[1] + x;
    let q = s.powf(-1.0 / b[2]);
    g[0] = q;
    g[1] = -b[0] * q / (b[2] * s);
    g[2] = b[0] * q * s.ln() / (b[2] * b[2]);
    b[0] * q
}

struct Problem {
    name: String,
    inputs: Vec<[f64; 2]>,
    y: Vec<f64>,
    start1: Vec<f64>,
    start2: Vec<f64>,
    cert: Vec<f64>,
    cert_sd: Vec<f64>,
}

fn load(dir: &Path, name: &str, meta: &Value) -> Problem {
    let text = std::fs::read_to_string(dir.join("data").join(format!("{name}.csv")))
        .expect("NIST data file is readable");
    let mut inputs = Vec::new();
    let mut y = Vec::new();
    for line in text.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let v: Vec<f64> =
            line.split(',').map(|s| s.trim().parse().expect("NIST data are numbers")).collect();
        // Nelson: residuals on log(y).
        y.push(if name == "Nelson" { v[0].ln() } else { v[0] });
        inputs.push([v[1], v.get(2).copied().unwrap_or(0.0)]);
    }
    let params = meta["parameters"].as_array().expect("parameters array");
    let col = |key: &str| -> Vec<f64> {
        params.iter().map(|p| p[key].as_f64().expect("numeric certified field")).collect()
    };
    Problem {
        name: name.to_string(),
        inputs,
        y,
        start1: col("start1"),
        start2: col("start2"),
        cert: col("certified_value"),
        cert_sd: col("certified_std_dev"),
    }
}

/// LRE = -log10(|est - cert| / |cert|), capped at 11 (the certified digits).
fn lre(est: f64, cert: f64) -> f64 {
    if !est.is_finite() {
        return 0.0;
    }
    let rel = ((est - cert) / cert).abs();
    if rel == 0.0 { 11.0 } else { (-rel.log10()).clamp(0.0, 11.0) }
}

/// (min parameter LRE, min SD LRE, iterations, termination) for one start.
fn solve<const P: usize>(pr: &Problem, f: NistFn<P>, start: &[f64]) -> (f64, f64, u32, String) {
    let model = Indexed { f, inputs: pr.inputs.clone() };
    let x: Vec<f64> = (0..pr.y.len()).map(|i| i as f64).collect();
    let s: [f64; P] = start.try_into().expect("start has P values");
    let mut cfg = LmConfig::default();
    if let Some(v) = std::env::var("NIST_MU0").ok().and_then(|s| s.parse().ok()) {
        cfg.initial_damping = v;
    }
    let fit = engine::fit(&model, &x, &pr.y, None, s, [false; P], &cfg);
    if std::env::var_os("NIST_DEBUG").is_some() {
        eprintln!("{} {:?} -> {:?} (cert {:?})", pr.name, start, fit, pr.cert);
    }
    let unc = uncertainty::asymptotic(&model, &x, &pr.y, None, &fit.params, [false; P], fit.rss);
    let lp = (0..P).map(|k| lre(fit.params[k], pr.cert[k])).fold(f64::INFINITY, f64::min);
    let ls = match unc {
        Some(u) => (0..P).map(|k| lre(u.se[k], pr.cert_sd[k])).fold(f64::INFINITY, f64::min),
        None => 0.0,
    };
    (lp, ls, fit.iterations, format!("{:?}", fit.termination))
}

/// Checks the analytic gradient against central differences at the certified parameters.
fn check_gradient<const P: usize>(pr: &Problem, f: NistFn<P>) {
    let b: [f64; P] = pr.cert.as_slice().try_into().expect("P parameters");
    for v in pr.inputs.iter().step_by(7) {
        let mut g = [0.0; P];
        let mut dummy = [0.0; P];
        f(v, &b, &mut g);
        for k in 0..P {
            let h = 1e-6 * b[k].abs().max(1e-6);
            let (mut bp, mut bm) = (b, b);
            bp[k] += h;
            bm[k] -= h;
            let fd = (f(v, &bp, &mut dummy) - f(v, &bm, &mut dummy)) / (2.0 * h);
            // Truncation error plus the rounding error of the difference quotient.
            let tol = 1e-5 * fd.abs() + 100.0 * f64::EPSILON * f(v, &b, &mut dummy).abs() / h;
            assert!(
                (g[k] - fd).abs() <= tol,
                "{}: d/db{} analytic {} vs fd {}",
                pr.name,
                k + 1,
                g[k],
                fd
            );
        }
    }
}

fn run_one<const P: usize>(
    pr: &Problem,
    f: NistFn<P>,
    rows: &mut Vec<String>,
    fails: &mut Vec<String>,
) {
    check_gradient(pr, f);
    for (label, start) in [("start1", &pr.start1), ("start2", &pr.start2)] {
        let (lp, ls, it, term) = solve::<P>(pr, f, start);
        rows.push(format!(
            "| {:<9} | {} | {:>5.1} | {:>5.1} | {:>4} | {} |",
            pr.name, label, lp, ls, it, term
        ));
        if lp < 6.0 || ls < 4.0 {
            fails.push(format!("{} {label}: LRE params {lp:.1}, SDs {ls:.1} ({term})", pr.name));
        }
    }
}

/// Cases the engine does not bring to the bar (documented in BENCHMARKS.md, "## Fit engine").
/// The solver has no per-problem code; this list only keeps the test honest about them:
/// - Lanczos1 SDs (both starts): parameters LRE > 10, but the certified RSS (1.4e-25) sits at
///   the rounding level of the residuals (~1e-13 each on values ~1), so s^2 and the SDs
///   are only good to ~3 digits in double precision.
///
/// Two former entries pass through generic remedies in `lm`: BoxBOD start1 (1, 1), whose first
/// step sends b2 to ~115, where exp(-b2 x) underflows and its column of J vanishes, converges
/// after a restart with more damping (`lm::MAX_RESTARTS`); MGH10 start1 (2, 4e5, 2.5e4), which
/// drifts towards b1 -> 0 and back, converges in 7,649 iterations (`LmConfig::default`'s
/// `max_iter` is 10,000).
const KNOWN_BELOW_BAR: &[&str] = &["Lanczos1 start1", "Lanczos1 start2"];

#[test]
fn nist_strd_all_27_both_starts() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let dir = shared.join("reference-data/nist");
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.join("certified.json")).expect("certified.json is readable"),
    )
    .expect("certified.json is JSON");
    let names: Vec<String> = meta.as_object().expect("object").keys().cloned().collect();
    assert_eq!(names.len(), 27);
    let mut rows = Vec::new();
    let mut fails = Vec::new();
    for name in &names {
        let pr = load(&dir, name, &meta[name.as_str()]);
        let (r, f) = (&mut rows, &mut fails);
        match name.as_str() {
            "Misra1a" | "BoxBOD" => run_one::<2>(&pr, exp1, r, f),
            "Chwirut1" | "Chwirut2" => run_one::<3>(&pr, chwirut, r, f),
            "Lanczos1" | "Lanczos2" | "Lanczos3" => run_one::<6>(&pr, lanczos, r, f),
            "Gauss1" | "Gauss2" | "Gauss3" => run_one::<8>(&pr, gauss, r, f),
            "DanWood" => run_one::<2>(&pr, danwood, r, f),
            "Misra1b" => run_one::<2>(&pr, misra1b, r, f),
            "Misra1c" => run_one::<2>(&pr, misra1c, r, f),
            "Misra1d" => run_one::<2>(&pr, misra1d, r, f),
            "Kirby2" => run_one::<5>(&pr, rational::<5, 2>, r, f),
            "Hahn1" | "Thurber" => run_one::<7>(&pr, rational::<7, 3>, r, f),
            "Nelson" => run_one::<3>(&pr, nelson, r, f),
            "MGH17" => run_one::<5>(&pr, mgh17, r, f),
            "Roszman1" => run_one::<4>(&pr, roszman1, r, f),
            "ENSO" => run_one::<9>(&pr, enso, r, f),
            "MGH09" => run_one::<4>(&pr, mgh09, r, f),
            "Rat42" => run_one::<3>(&pr, rat42, r, f),
            "MGH10" => run_one::<3>(&pr, mgh10, r, f),
            "Eckerle4" => run_one::<3>(&pr, eckerle4, r, f),
            "Rat43" => run_one::<4>(&pr, rat43, r, f),
            "Bennett5" => run_one::<3>(&pr, bennett5, r, f),
            other => panic!("unknown NIST problem {other}"),
        }
    }
    println!("| problem   | start  | LRE params (min) | LRE SDs (min) | iter | termination |");
    println!("|---|---|---|---|---|---|");
    for r in &rows {
        println!("{r}");
    }
    for f in &fails {
        println!("below the bar: {f}");
    }
    let unexpected: Vec<&String> =
        fails.iter().filter(|f| !KNOWN_BELOW_BAR.iter().any(|k| f.starts_with(k))).collect();
    assert!(unexpected.is_empty(), "NIST failures:\n{unexpected:#?}");
    for k in KNOWN_BELOW_BAR {
        if !fails.iter().any(|f| f.starts_with(k)) {
            println!("NOTE: {k} now passes; remove it from KNOWN_BELOW_BAR");
        }
    }
}
