//! Thread scaling of the fit stage: `fit::fit_all` (default fit settings) on simulated 20-point
//! competition curves in rayon pools of 1 and 2 threads, with wall time and the process's CPU
//! time (Linux `/proc/self/stat`), so that a busy machine (wall time) can be told apart from
//! serial work (CPU time).
//!
//! Run: `cargo run --release --example fit_threads [-- CURVES ROUNDS]` (default 4096 curves,
//! 5 rounds, each running both pools in turn). The curves are those of `benches/fit.rs`
//! (`benches/support/curves.rs`, seed 42, repeated). Prints the host's steal time: on a
//! virtual machine a busy host shows there.

use std::time::Instant;

use radbind::config::FitSettings;
use radbind::fit::fit_all;

#[path = "../benches/support/curves.rs"]
mod support;

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

/// Ticks the hypervisor took from this machine's CPUs so far (`steal` on the `cpu` line of
/// `/proc/stat`; NaN where it is not available). Steal during a round means the host, not the
/// fit stage, set its wall time.
fn steal_ticks() -> f64 {
    std::fs::read_to_string("/proc/stat")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(8)?.parse().ok()))
        .unwrap_or(f64::NAN)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(4096);
    let rounds: usize = args.next().and_then(|v| v.parse().ok()).unwrap_or(5);
    let all = support::stage_curves(&support::xy(256), n);
    let settings = FitSettings::default();
    let pools: Vec<rayon::ThreadPool> = [1, 2]
        .iter()
        .map(|&t| rayon::ThreadPoolBuilder::new().num_threads(t).build().expect("thread pool"))
        .collect();
    // Rounds alternate 1 and 2 threads, so a drift in the host's load hits both alike; each
    // round's 2-thread time is compared with the 1-thread time just before it.
    let (mut wall, mut cpu) = ([vec![], vec![]], [0.0f64; 2]);
    let steal0 = steal_ticks();
    for _ in 0..rounds {
        for (slot, pool) in pools.iter().enumerate() {
            let input = all.clone();
            let (t0, c0) = (Instant::now(), cpu_seconds());
            let fits = pool.install(|| fit_all(input, &settings, &|| {}));
            wall[slot].push(t0.elapsed().as_secs_f64());
            cpu[slot] += cpu_seconds() - c0;
            assert_eq!(fits.len(), n);
        }
    }
    let steal = (steal_ticks() - steal0) / 100.0;
    for (slot, threads) in [1, 2].into_iter().enumerate() {
        let best = wall[slot].iter().copied().fold(f64::INFINITY, f64::min);
        let sum: f64 = wall[slot].iter().sum();
        println!(
            "{threads} thread(s): best {:.0} curves/s wall, mean {:.0} curves/s wall, \
             {:.0} curves per CPU second, CPU/wall {:.2}",
            n as f64 / best,
            n as f64 * rounds as f64 / sum,
            n as f64 * rounds as f64 / cpu[slot],
            cpu[slot] / sum
        );
    }
    let mut ratios: Vec<f64> = wall[0].iter().zip(&wall[1]).map(|(a, b)| a / b).collect();
    ratios.sort_by(f64::total_cmp);
    let best = |w: &[f64]| w.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "scaling 1 -> 2 threads: {:.2}x (best wall times), {:.2}x (median of paired rounds); \
         host steal {steal:.2} CPU s",
        best(&wall[0]) / best(&wall[1]),
        ratios[ratios.len() / 2]
    );
}
