//! Thread scaling of the fit stage: `fit::fit_all` (default fit settings) on simulated 20-point
//! competition curves in rayon pools of 1 and 2 threads, with wall time and the process's CPU
//! time (Linux `/proc/self/stat`), so that a busy machine (wall time) can be told apart from
//! serial work (CPU time).
//!
//! Run: `cargo run --release --example fit_threads [-- CURVES ROUNDS]` (default 4096 curves,
//! best of 5 rounds per pool). The curves are those of `benches/fit.rs` (seed 42, repeated).

use std::time::Instant;

use radbind::config::settings::FitSettings;
use radbind::fit::model::{FourPl, Model};
use radbind::fit::{Curve, Point, fit_all};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

/// `n` curves: 10 half-log concentrations from 1e-10 M in duplicate, noise 3% of the span.
fn curves(n: usize) -> Vec<Curve> {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let base: Vec<Vec<(f64, f64)>> = (0..256)
        .map(|_| {
            let p = [
                rng.random_range(90.0..110.0),
                rng.random_range(-5.0..10.0),
                rng.random_range(-1.5..-0.7),
                rng.random_range(-9.0..-6.5),
            ];
            let noise = Normal::new(0.0, 0.03 * (p[0] - p[1])).expect("valid sd");
            (0..20)
                .map(|i| {
                    let x = -10.0 + 0.5 * (i / 2) as f64;
                    (x, FourPl.value(x, &p) + noise.sample(&mut rng))
                })
                .collect()
        })
        .collect();
    (0..n)
        .map(|i| Curve {
            target: "T".to_string(),
            compound: format!("c{i:06}"),
            plates: vec!["P1".to_string()],
            points: base[i % base.len()]
                .iter()
                .enumerate()
                .map(|(k, &(x, y))| Point {
                    plate: "P1".to_string(),
                    well: format!("W{k}"),
                    conc_nm: 10f64.powf(x + 9.0),
                    y,
                    excluded: None,
                    nsb_cpm: 100.0,
                    window_cpm: 10_000.0,
                    counting_minutes: None,
                })
                .collect(),
            plate_flags: Vec::new(),
            unusable: None,
            model: None,
            functional: false,
        })
        .collect()
}

/// User + system CPU seconds of this process so far (NaN where `/proc` is not available).
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    // Fields after the command name (which may contain spaces) in parentheses.
    let Some(rest) = stat.rsplit_once(')').map(|(_, r)| r) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(4096);
    let rounds: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(5);
    let all = curves(n);
    let settings = FitSettings::default();
    let mut best = [f64::INFINITY; 2];
    for (slot, threads) in [1, 2].into_iter().enumerate() {
        let pool =
            rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
        let (mut wall_sum, mut cpu_sum) = (0.0, 0.0);
        for _ in 0..rounds {
            let input = all.clone();
            let (t0, c0) = (Instant::now(), cpu_seconds());
            let fits = pool.install(|| fit_all(input, &settings, &|| {}));
            let (wall, cpu) = (t0.elapsed().as_secs_f64(), cpu_seconds() - c0);
            assert_eq!(fits.len(), n);
            best[slot] = best[slot].min(wall);
            wall_sum += wall;
            cpu_sum += cpu;
        }
        println!(
            "{threads} thread(s): best {:.0} curves/s wall, mean {:.0} curves/s wall, \
             {:.0} curves per CPU second, CPU/wall {:.2}",
            n as f64 / best[slot],
            n as f64 * rounds as f64 / wall_sum,
            n as f64 * rounds as f64 / cpu_sum,
            cpu_sum / wall_sum
        );
    }
    println!("scaling 1 -> 2 threads (best wall times): {:.2}x", best[0] / best[1]);
}
