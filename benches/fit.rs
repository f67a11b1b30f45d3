//! Fit throughput: full 4PL fits (fit + SEs + 95% CI of LogIC50) of simulated 20-point curves
//! (10 concentrations in duplicate, noise ~3% of span, LogIC50 inside the tested range),
//! through `four_pl::fit_four_pl` (the path radbind uses), the same engine through argmin's
//! `Executor`, and (with `--features` none needed) the `levenberg-marquardt` crate.
//!
//! Run: `cargo bench --bench fit`. Throughput is reported per curve ("elements").

use std::hint::black_box;

use argmin::core::{Executor, State};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use radbind::fit::four_pl::{FourPlOptions, fit_four_pl, initial_estimates};
use radbind::fit::global::{GlobalSpec, fit_global};
use radbind::fit::lm::{LmConfig, LmProblem, LmSolver};
use radbind::fit::model::FourPl;
use radbind::fit::profile::profile_ci;
use radbind::fit::stats;
use radbind::fit::weights::Weighting;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

const CURVES: usize = 256;

/// `CURVES` simulated curves: x = -10 .. -5.5 in half-log steps, duplicates.
fn curves() -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    (0..CURVES)
        .map(|_| {
            let top = rng.random_range(90.0..110.0);
            let bottom = rng.random_range(-5.0..10.0);
            let hill = rng.random_range(-1.5..-0.7);
            let log_ic50 = rng.random_range(-9.0..-6.5);
            let noise = Normal::new(0.0, 0.03 * (top - bottom)).expect("valid sd");
            let p = [top, bottom, hill, log_ic50];
            let mut x = Vec::with_capacity(20);
            let mut y = Vec::with_capacity(20);
            for i in 0..10 {
                let xi = -10.0 + 0.5 * i as f64;
                for _ in 0..2 {
                    x.push(xi);
                    y.push(
                        radbind::fit::model::Model::value(&FourPl, xi, &p) + noise.sample(&mut rng),
                    );
                }
            }
            (x, y)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let data = curves();
    for (label, cfg) in [
        ("default", LmConfig::default()),
        ("ftol 1e-12 xtol 1e-10", LmConfig { ftol: 1e-12, xtol: 1e-10, ..LmConfig::default() }),
        ("mu0 1e-6", LmConfig { initial_damping: 1e-6, ..LmConfig::default() }),
    ] {
        let (mut it, mut ev, mut conv) = (0u64, 0u64, 0usize);
        for (x, y) in &data {
            let f = radbind::fit::lm::fit(
                &FourPl,
                x,
                y,
                None,
                initial_estimates(x, y),
                [false; 4],
                &cfg,
            );
            it += u64::from(f.iterations);
            ev += u64::from(f.evaluations);
            conv += usize::from(f.termination.converged());
        }
        eprintln!(
            "{label}: {CURVES} curves: mean {:.1} iterations, {:.1} passes over the data, {conv} converged",
            it as f64 / CURVES as f64,
            ev as f64 / CURVES as f64
        );
    }
    let mut g = c.benchmark_group("4pl_fit_se_ci");
    g.throughput(Throughput::Elements(CURVES as u64));
    let opts = FourPlOptions::default();
    g.bench_function("fit_four_pl (radbind path, argmin Executor)", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (x, y) in &data {
                let f = fit_four_pl(black_box(x), black_box(y), &opts);
                acc += f.log_ic50_ci.1;
            }
            acc
        })
    });
    let starts: Vec<[f64; 4]> = data.iter().map(|(x, y)| initial_estimates(x, y)).collect();
    g.bench_function("lm::fit only (no start, SE, CI)", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for ((x, y), p0) in data.iter().zip(&starts) {
                let cfg = LmConfig::default();
                let f = radbind::fit::lm::fit(
                    &FourPl,
                    black_box(x),
                    black_box(y),
                    None,
                    *p0,
                    [false; 4],
                    &cfg,
                );
                acc += f.params[3];
            }
            acc
        })
    });
    g.bench_function("direct lm::run + SE + CI (no Executor)", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (x, y) in &data {
                let p0 = initial_estimates(x, y);
                let prob = LmProblem::new(&FourPl, black_box(x), black_box(y), None);
                let f = radbind::fit::lm::run(&prob, p0, &LmConfig::default());
                let u = stats::asymptotic(&FourPl, x, y, None, &f.params, [false; 4], f.rss)
                    .expect("full rank");
                acc += f.params[3] + stats::t975(u.df) * u.se[3];
            }
            acc
        })
    });
    g.bench_function("argmin Executor", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (x, y) in &data {
                let p0 = initial_estimates(x, y);
                let res = Executor::new(
                    LmProblem::new(&FourPl, x, y, None),
                    LmSolver::new(LmConfig::default()),
                )
                .configure(|s| s.param(p0).max_iters(1000))
                .timer(false)
                .run()
                .expect("executor runs");
                let p = *res.state.get_param().expect("param");
                let rss = res.state.get_cost();
                let u =
                    stats::asymptotic(&FourPl, x, y, None, &p, [false; 4], rss).expect("full rank");
                let h = stats::t975(u.df) * u.se[3];
                acc += p[3] + h;
            }
            acc
        })
    });
    g.finish();
    // Extras (not part of the 150,000/s target): reweighting, profile CI, global fit.
    let mut g = c.benchmark_group("4pl_extras");
    g.throughput(Throughput::Elements(CURVES as u64));
    g.sample_size(10);
    let weighted = FourPlOptions { weighting: Weighting::InverseY, ..FourPlOptions::default() };
    g.bench_function("fit_four_pl, 1/Y weighting iterated", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (x, y) in &data {
                acc += fit_four_pl(black_box(x), black_box(y), &weighted).params[3];
            }
            acc
        })
    });
    let fits: Vec<_> = data.iter().map(|(x, y)| fit_four_pl(x, y, &opts)).collect();
    g.bench_function("profile_ci LogIC50 (both ends)", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for ((x, y), f) in data.iter().zip(&fits) {
                let (lo, hi) = profile_ci(black_box(x), black_box(y), None, &opts, f, 3, 0.95);
                acc += lo.unwrap_or(0.0) + hi.unwrap_or(0.0);
            }
            acc
        })
    });
    // 64 global fits of 4 curves each, Top and Bottom shared (per curve: elements = 256).
    let spec = GlobalSpec { shared: [true, true, false, false], fixed: [None; 4] };
    g.bench_function("fit_global, 4 curves, shared Top/Bottom", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for chunk in data.chunks(4) {
                let curves: Vec<(&[f64], &[f64])> =
                    chunk.iter().map(|(x, y)| (x.as_slice(), y.as_slice())).collect();
                acc += fit_global(black_box(&curves), &spec, &LmConfig::default()).rss;
            }
            acc
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
