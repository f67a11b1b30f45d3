//! Robustness of the 4PL fit and of ROUT on dr4pl's "wet-lab" datasets that break drc
//! (`../shared/reference-data/dr4pl/data`, GPL >= 2, read in place, never copied).
//!
//! Each file has columns `Dose,Response` (drc convention: dose on a linear scale, 0 allowed);
//! the fit uses `x = log10(dose)` with dose 0 at `-inf` (a zero-dose point on the Top plateau).
//! Requirements: no panic, finite parameters, and either a sensible fit (converged, IC50 within
//! the tested range) or a termination / standard error that says why not. ROUT (Q = 1%) must
//! find the documented outliers of `drc_error_1` (one extreme point) and `drc_error_2`.

mod common;

use std::path::Path;

use radbind::fit::maths::four_pl::{FourPlOptions, fit_four_pl};
use radbind::fit::procedures::rout::{DEFAULT_Q, rout_four_pl, rout_outliers};
use radbind::fit::stats::t_cdf;

/// Reads `Dose,Response` (quoted header) into (log10 dose, response).
fn read(path: &Path) -> (Vec<f64>, Vec<f64>) {
    let text = std::fs::read_to_string(path).expect("readable dr4pl csv");
    let mut x = Vec::new();
    let mut y = Vec::new();
    for line in text.lines().skip(1) {
        let mut it = line.split(',');
        let (Some(d), Some(r)) = (it.next(), it.next()) else { continue };
        let (Ok(d), Ok(r)) = (d.trim().parse::<f64>(), r.trim().parse::<f64>()) else {
            continue;
        };
        x.push(if d > 0.0 { d.log10() } else { f64::NEG_INFINITY });
        y.push(r);
    }
    (x, y)
}

/// minpack.lm's LL.4 fit per dataset from `drc_LL4_fits_of_dr4pl_data.csv`:
/// (name, [b, c, d, e], rss) where present (drc's b = -hill, e = IC50 on the dose scale).
fn minpack_fits(path: &Path) -> Vec<(String, [f64; 4], f64)> {
    let text = std::fs::read_to_string(path).expect("readable drc fits csv");
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        // The message column may hold commas inside quotes: the numeric tail has 14 fields.
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 15 {
            continue;
        }
        let tail = &fields[fields.len() - 5..];
        let v: Vec<f64> = tail.iter().filter_map(|t| t.trim().parse().ok()).collect();
        if v.len() == 5 {
            let name = fields[0].trim_matches('"').to_string();
            out.push((name, [v[0], v[1], v[2], v[3]], v[4]));
        }
    }
    out
}

#[test]
fn dr4pl_datasets() {
    let Some(shared) = common::shared_dir() else { return };
    let dir = shared.join("reference-data/dr4pl/data");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("dr4pl data folder")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "csv"))
        .collect();
    files.sort();
    let lm = minpack_fits(&shared.join("reference-data/dr4pl/drc_LL4_fits_of_dr4pl_data.csv"));
    assert!(lm.len() >= 12, "{lm:?}");
    assert_eq!(files.len(), 17, "{files:?}");
    println!(
        "{:<15} {:>4} {:>10} {:>10} {:>7} {:>8} {:>7} {:>6} {:<22} {:>4} {:<9} outlier idx",
        "dataset",
        "n",
        "top",
        "bottom",
        "hill",
        "logIC50",
        "se",
        "r2",
        "termination",
        "rout",
        "verdict",
    );
    for path in &files {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("?").to_string();
        let (x, y) = read(path);
        assert!(x.len() >= 10, "{name}: {} points", x.len());
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        assert!(f.params.iter().all(|v| v.is_finite()), "{name}: {f:?}");
        assert!(f.rss.is_finite() && f.r_squared.is_finite(), "{name}: {f:?}");
        let (lo, hi) = x
            .iter()
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let li = f.params[3];
        let sensible = f.termination.converged() && li >= lo && li <= hi && f.se[3] < 0.5;
        // Not sensible must be visible: a non-converged termination, an IC50 outside the
        // tested range, or an undefined / large SE of LogIC50.
        let explained = !f.termination.converged() || li < lo || li > hi || !(f.se[3] < 0.5);
        assert!(sensible || explained, "{name}: {f:?}");
        let out = rout_outliers(&x, &y, DEFAULT_Q);
        assert!(out.len() * 10 <= x.len() * 3, "{name}: {} outliers of {}", out.len(), x.len());
        // Where minpack.lm (Levenberg-Marquardt in R) found an LL.4 optimum, a converged fit
        // here must reach the same RSS or lower, and the same parameters when it is the same
        // optimum (drc itself converged to worse optima on several of these).
        if let Some((_, b, lm_rss)) = lm.iter().find(|r| r.0 == name) {
            let lm_p = [b[2], b[1], -b[0], b[3].log10()];
            println!(
                "  {name}: rss {:.6e} vs minpack.lm {:.6e}; minpack.lm params {:?}",
                f.rss, lm_rss, lm_p
            );
            if f.termination.converged() {
                assert!(f.rss <= lm_rss * (1.0 + 1e-6), "{name}: {} > {lm_rss}", f.rss);
                if (f.rss - lm_rss).abs() <= 1e-6 * lm_rss {
                    for k in 0..4 {
                        let tol = 1e-3 * lm_p[k].abs().max(1.0);
                        assert!((f.params[k] - lm_p[k]).abs() <= tol, "{name} k={k}: {f:?}");
                    }
                }
            }
        }
        let verdict = if sensible { "sensible" } else { "flagged" };
        let shown: Vec<usize> = out.iter().copied().take(8).collect();
        println!(
            "{:<15} {:>4} {:>10.4} {:>10.4} {:>7.3} {:>8.3} {:>7.3} {:>6.3} {:<22} {:>4} {:<9} {:?}",
            name,
            x.len(),
            f.params[0],
            f.params[1],
            f.params[2],
            li,
            f.se[3],
            f.r_squared,
            format!("{:?}", f.termination),
            out.len(),
            verdict,
            shown
        );
        match name.as_str() {
            // Row 103 of the file (0-based data index 101): 90240 at dose 1e-5, where the
            // other 17 replicates are 7175-18000.
            "drc_error_1" => assert!(out.contains(&101), "{name}: ROUT found {out:?}"),
            // Documented "multiple high outliers": 88 at dose 1.35 and 74 at 0.135
            // (data indices 1 and 7) among responses of 3-29. With N = 10 and K = 4 (df = 6)
            // the published rule cannot call them at Q = 1%: RSDR = P68 * 10/6 is inflated
            // and the largest residual needs p < Q/N = 0.001. Check that the robust fit
            // isolates them (the two largest |residuals|) and print their p-values.
            "drc_error_2" => {
                let r = rout_four_pl(&x, &y, DEFAULT_Q).expect("10 finite points");
                let res = &r.robust.residuals;
                let mut order: Vec<usize> = (0..res.len()).collect();
                order.sort_by(|&a, &b| res[b].abs().total_cmp(&res[a].abs()));
                let mut top2 = [order[0], order[1]];
                top2.sort_unstable();
                assert_eq!(top2, [1, 7], "{name}: residuals {res:?}");
                for (rank, &i) in order.iter().take(2).enumerate() {
                    let t = res[i].abs() / r.robust.rsdr;
                    let p = 2.0 * (1.0 - t_cdf(t, 6.0));
                    let alpha = DEFAULT_Q * (rank + 1) as f64 / 10.0;
                    println!(
                        "  drc_error_2 point {i} (y = {}): robust residual {:.1}, RSDR {:.1}, \
                         t = {t:.2}, p = {p:.4} vs BH threshold {alpha}",
                        y[i], res[i], r.robust.rsdr
                    );
                }
            }
            _ => {}
        }
    }
}
