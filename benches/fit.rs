//! Fit throughput: full 4PL fits (fit + SEs + 95% CI of LogIC50) of simulated 20-point curves
//! (10 concentrations in duplicate, noise ~3% of span, LogIC50 inside the tested range),
//! through `four_pl::fit_four_pl` (the path radbind uses), the same engine directly and through
//! argmin's `Executor`, the extras (reweighting, profile CI, global fit), and the fit stage
//! (`fit::fit_all`) in rayon pools of 1 and 2 threads.
//!
//! Run: `cargo bench --bench fit`. Throughput is reported per curve ("elements").

use std::hint::black_box;

use argmin::core::Executor;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use radbind::config::FitSettings;
use radbind::config::WeightingKind;
use radbind::fit::engine::uncertainty;
use radbind::fit::engine::{LmConfig, LmProblem, LmSolver};
use radbind::fit::fit_all;
use radbind::fit::maths::four_pl::FourPl;
use radbind::fit::maths::four_pl::{
    FOUR_PL_LM, FourPlOptions, fit_four_pl, initial_estimates, refined_estimates,
};
use radbind::fit::procedures::global::{GlobalSpec, fit_global};
use radbind::fit::procedures::profile::profile_ci;
use radbind::fit::procedures::weights::{WeightRule, fit_reweighted};
use radbind::fit::stats;

#[path = "support/curves.rs"]
mod support;

const CURVES: usize = 256;

fn bench(c: &mut Criterion) {
    let data = support::xy(CURVES);
    for (label, cfg, refined) in [
        ("LmConfig::default(), initial_estimates", LmConfig::default(), false),
        ("LmConfig::default(), refined_estimates", LmConfig::default(), true),
        (
            "Newton only, refined_estimates",
            LmConfig { second_order: true, ..LmConfig::default() },
            true,
        ),
        ("FOUR_PL_LM, initial_estimates", FOUR_PL_LM, false),
        ("FOUR_PL_LM, refined_estimates (fit_four_pl)", FOUR_PL_LM, true),
    ] {
        let (mut it, mut ev, mut conv) = (0u64, 0u64, 0usize);
        for (x, y) in &data {
            let start = if refined { refined_estimates(x, y) } else { initial_estimates(x, y) };
            let f = radbind::fit::engine::fit(&FourPl, x, y, None, start, [false; 4], &cfg);
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
    let starts: Vec<[f64; 4]> = data.iter().map(|(x, y)| refined_estimates(x, y)).collect();
    g.bench_function("lm::fit only (no start, SE, CI)", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for ((x, y), p0) in data.iter().zip(&starts) {
                let cfg = FOUR_PL_LM;
                let f = radbind::fit::engine::fit(
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
                let p0 = refined_estimates(x, y);
                let prob = LmProblem::new(&FourPl, black_box(x), black_box(y), None);
                let f = radbind::fit::engine::run(&prob, p0, &FOUR_PL_LM);
                let u = uncertainty::asymptotic_of(&prob, &f).expect("full rank");
                acc += f.params[3] + stats::t975(u.df) * u.se[3];
            }
            acc
        })
    });
    g.bench_function("argmin Executor", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (x, y) in &data {
                let p0 = refined_estimates(x, y);
                let prob = LmProblem::new(&FourPl, black_box(x), black_box(y), None);
                let res = Executor::new(prob, LmSolver::new(FOUR_PL_LM))
                    .configure(|s| s.param(p0).max_iters(1000))
                    .timer(false)
                    .run()
                    .expect("executor runs");
                let f = res.solver.result().expect("solver ran");
                let u = uncertainty::asymptotic_of(&prob, &f).expect("full rank");
                let h = stats::t975(u.df) * u.se[3];
                acc += f.params[3] + h;
            }
            acc
        })
    });
    g.finish();
    // Extras (not part of the 150,000/s target): reweighting, profile CI, global fit.
    let mut g = c.benchmark_group("4pl_extras");
    g.throughput(Throughput::Elements(CURVES as u64));
    g.sample_size(10);
    let opts = FourPlOptions::default();
    g.bench_function("fit_four_pl, 1/Y weighting iterated", |b| {
        b.iter(|| {
            let mut acc = 0.0;
            for (x, y) in &data {
                let rule = WeightRule::new(WeightingKind::InverseY, y, &[]).expect("weighted");
                acc += fit_reweighted(black_box(x), black_box(y), &opts, &rule).fit.params[3];
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
    threads(c, &data);
}

/// The fit stage (`fit::fit_all` with default settings: 4PL, asymptotic CI, classification,
/// lack of fit) on 1024 curves (the 256 above, four times) in rayon pools of 1 and 2 threads,
/// and `fit_four_pl` alone the same way. The ratio of the two throughputs is the stage's
/// scaling from one to two threads.
fn threads(c: &mut Criterion, data: &[(Vec<f64>, Vec<f64>)]) {
    let curves = support::stage_curves(data, 4 * data.len());
    let settings = FitSettings::default();
    let opts = FourPlOptions::default();
    let mut g = c.benchmark_group("fit_stage_threads");
    g.throughput(Throughput::Elements(curves.len() as u64));
    g.sample_size(20);
    for n in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().expect("thread pool");
        g.bench_function(format!("fit_all, {n} thread(s)"), |b| {
            b.iter_batched(
                || curves.clone(),
                |cs| pool.install(|| fit_all(cs, &settings, &|| {})).len(),
                BatchSize::LargeInput,
            )
        });
        g.bench_function(format!("fit_four_pl, {n} thread(s)"), |b| {
            b.iter(|| {
                pool.install(|| {
                    use rayon::prelude::*;
                    (0..4 * data.len())
                        .into_par_iter()
                        .map(|i| {
                            let (x, y) = &data[i % data.len()];
                            fit_four_pl(black_box(x), black_box(y), &opts).log_ic50_ci.1
                        })
                        .sum::<f64>()
                })
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
