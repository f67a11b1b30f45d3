//! Simulated competition curves shared by `benches/fit.rs` and `examples/fit_threads.rs`, so
//! the benchmark and the thread-scaling example fit the same data (included by `#[path]`; not
//! a bench target of its own).

use radbind::config::ModelKind;
use radbind::fit::engine::Model;
use radbind::fit::maths::four_pl::FourPl;
use radbind::fit::{Curve, Point};
use radbind::normalise::variance::VarianceModel;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `n` simulated 20-point curves (seed 42): x = log10(M) from -10 to -5.5 in half-log steps,
/// duplicates; Top 90-110, Bottom -5-10, Hill -1.5 to -0.7, LogIC50 -9 to -6.5 (inside the
/// range); Gaussian noise with SD 3% of the span.
pub fn xy(n: usize) -> Vec<(Vec<f64>, Vec<f64>)> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    (0..n)
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
                    y.push(FourPl.value(xi, &p) + noise.sample(&mut rng));
                }
            }
            (x, y)
        })
        .collect()
}

/// `n` fit-stage curves (`fit::Curve`, concentrations in nM) cycling through `data`: one
/// plate, one target, compounds `c000000`, `c000001`, ...
pub fn stage_curves(data: &[(Vec<f64>, Vec<f64>)], n: usize) -> Vec<Curve> {
    data.iter()
        .cycle()
        .take(n)
        .enumerate()
        .map(|(i, (x, y))| Curve {
            target: "T".to_string(),
            compound: format!("c{i:06}"),
            plates: vec!["P1".to_string()],
            points: x
                .iter()
                .zip(y)
                .enumerate()
                .map(|(k, (&xi, &yi))| Point {
                    plate: "P1".to_string(),
                    well: format!("W{k}"),
                    conc_nm: 10f64.powf(xi + 9.0),
                    y: yi,
                    excluded: None,
                    nsb_cpm: 100.0,
                    window_cpm: 10_000.0,
                    counting_minutes: None,
                    variance: VarianceModel::poisson_cv(1.0, 0.05),
                })
                .collect(),
            plate_flags: Vec::new(),
            unusable: None,
            model: ModelKind::FourParameter,
            functional: false,
            response: radbind::fit::Response::Controls,
        })
        .collect()
}
