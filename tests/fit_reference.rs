//! `fit_four_pl` against independent reference fits: every row of
//! `reference-data/reference_4pl_cases.csv` (drc 3.0-1 LL.4 / minpack.lm fits, J'J SEs) and
//! the IC50s published with bindcurve's competitive example.
//!
//! Conventions: drc's `b = -hill`, `c = bottom`, `d = top`, `e = IC50` in dose units; we fit
//! `x = log10(dose)` (dose 0 -> `-inf`, a Top-plateau point, as drc does), so
//! `se_e = e ln10 se(log_ic50)`.

mod common;

use std::collections::HashMap;
use std::f64::consts::LN_10;
use std::path::Path;

use radbind::fit::maths::four_pl::{FourPlOptions, fit_four_pl};

/// Splits one CSV line, honouring double quotes (no escaped quotes in these files).
fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in line.chars() {
        match ch {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// A CSV file as header + rows of strings.
fn read_table(path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = split_csv(lines.next().expect("CSV has a header"));
    (header, lines.map(split_csv).collect())
}

fn col(header: &[String], name: &str) -> usize {
    header
        .iter()
        .position(|h| h == name)
        .unwrap_or_else(|| panic!("column {name} not in {header:?}"))
}

/// Long-format (x = log10 dose, y) points of one reference case.
fn load_points(
    base: &Path,
    data_file: &str,
    x_col: &str,
    y_col: &str,
    filter: &str,
) -> (Vec<f64>, Vec<f64>) {
    let (header, rows) = read_table(&base.join(data_file));
    let xi = col(&header, x_col);
    let filt = (!filter.is_empty()).then(|| {
        let (k, v) = filter.split_once("==").expect("filter is key==value");
        (col(&header, k), v.to_string())
    });
    let y_cols: Vec<usize> = if y_col.starts_with("r1..") {
        header
            .iter()
            .enumerate()
            .filter(|(_, h)| h.starts_with('r') && h[1..].parse::<u32>().is_ok())
            .map(|(i, _)| i)
            .collect()
    } else {
        vec![col(&header, y_col)]
    };
    let same = |a: &str, b: &str| match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    };
    let mut x = Vec::new();
    let mut y = Vec::new();
    for r in &rows {
        if let Some((k, v)) = &filt {
            if !same(&r[*k], v) {
                continue;
            }
        }
        let dose: f64 = r[xi].parse().expect("dose is numeric");
        for &c in &y_cols {
            if let Ok(v) = r[c].parse::<f64>() {
                x.push(dose.log10());
                y.push(v);
            }
        }
    }
    (x, y)
}

/// Relative tolerance a reference value printed as `s` can support: `max(floor, 10^(1 - digits))`
/// with `digits` its significant digits (e.g. "1.8565" -> 1e-4).
fn tol_for(s: &str, floor: f64) -> f64 {
    let mant = s.split(['e', 'E']).next().unwrap_or(s);
    let digits =
        mant.chars().filter(char::is_ascii_digit).collect::<String>().trim_start_matches('0').len()
            as i32;
    floor.max(10f64.powi(1 - digits))
}

/// `|got - want| <= tol * max(|want|, scale)`: relative, except for values near zero, which are
/// compared relative to `scale` (the parameter's SE; `0` for the SEs and RSS themselves).
fn check(
    name: &str,
    what: &str,
    got: f64,
    want_s: &str,
    floor: f64,
    scale: f64,
    errs: &mut Vec<String>,
) {
    let want: f64 = want_s.parse().expect("reference value is numeric");
    let tol = tol_for(want_s, floor);
    let rel = ((got - want) / want.abs().max(scale)).abs();
    if !(rel <= tol) {
        errs.push(format!(
            "{name}: {what} = {got:.10e}, reference {want_s} (rel {rel:.2e} > {tol:.0e})"
        ));
    }
}

#[test]
fn reference_4pl_cases() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let base = shared.join("reference-data");
    let (header, rows) = read_table(&base.join("reference_4pl_cases.csv"));
    let h: HashMap<&str, usize> = header.iter().enumerate().map(|(i, s)| (s.as_str(), i)).collect();
    let g = |r: &Vec<String>, k: &str| r[h[k]].clone();
    let se = |r: &Vec<String>, k: &str| r[h[k]].parse::<f64>().expect("numeric SE");
    let mut errs = Vec::new();
    let mut checked = 0;
    for r in &rows {
        let case = g(r, "case");
        let data_file = g(r, "data_file");
        if !base.join(&data_file).is_file() {
            println!("SKIP {case}: {data_file} is not in reference-data");
            continue;
        }
        let (x, y) =
            load_points(&base, &data_file, &g(r, "x_col"), &g(r, "y_col"), &g(r, "filter"));
        let n: usize = g(r, "n").parse().expect("n");
        assert_eq!(x.len(), n, "{case}: point count");
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        if !f.termination.converged() {
            errs.push(format!(
                "{case}: {:?} after {} iterations: {:?} rss {}",
                f.termination, f.iterations, f.params, f.rss
            ));
            continue;
        }
        let [top, bottom, hill, log_ic50] = f.params;
        let e = 10f64.powf(log_ic50);
        check(&case, "b (-hill)", -hill, &g(r, "b"), 1e-6, se(r, "se_b_JtJ"), &mut errs);
        check(&case, "c (bottom)", bottom, &g(r, "c"), 1e-6, se(r, "se_c_JtJ"), &mut errs);
        check(&case, "d (top)", top, &g(r, "d"), 1e-6, se(r, "se_d_JtJ"), &mut errs);
        check(&case, "e (IC50)", e, &g(r, "e"), 1e-6, se(r, "se_e_JtJ"), &mut errs);
        check(&case, "rss", f.rss, &g(r, "rss"), 1e-6, 0.0, &mut errs);
        check(&case, "se_b", f.se[2], &g(r, "se_b_JtJ"), 1e-4, 0.0, &mut errs);
        check(&case, "se_c", f.se[1], &g(r, "se_c_JtJ"), 1e-4, 0.0, &mut errs);
        check(&case, "se_d", f.se[0], &g(r, "se_d_JtJ"), 1e-4, 0.0, &mut errs);
        check(&case, "se_e", e * LN_10 * f.se[3], &g(r, "se_e_JtJ"), 1e-4, 0.0, &mut errs);
        println!("{case}: {} iterations, {:?}", f.iterations, f.termination);
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} reference cases checked");
    assert!(errs.is_empty(), "{} mismatches:\n{}", errs.len(), errs.join("\n"));
}

#[test]
fn bindcurve_competitive_published_ic50() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let base = shared.join("reference-data");
    // SOURCE.txt: bindcurve fit_50 IC50 (uM) and SE, 4PL on all replicate points.
    let published = [
        ("comp1", 41.89, 3.37),
        ("comp2", 10.28, 0.80),
        ("comp3", 2.13, 0.23),
        ("comp4", 3.77, 0.36),
        ("comp5", 32.47, 3.15),
        ("comp6", 8.97, 0.71),
    ];
    for (comp, ic50, se) in published {
        let filter = format!("compound=={comp}");
        let (x, y) =
            load_points(&base, "bindcurve_fp/examples__competitive.csv", "c", "r1..r6", &filter);
        assert_eq!(x.len(), 54, "{comp}");
        let f = fit_four_pl(&x, &y, &FourPlOptions::default());
        assert!(f.termination.converged(), "{comp}: {:?}", f.termination);
        let got = f.ic50();
        // Three significant digits: the published value rounded to 3 digits.
        let round3 = |v: f64| {
            let m = 10f64.powi(2 - v.log10().floor() as i32);
            (v * m).round() / m
        };
        assert_eq!(round3(got), round3(ic50), "{comp}: IC50 {got} vs published {ic50}");
        // The SE is bindcurve's (lmfit) and within 5% of e ln10 se(logIC50).
        let se_e = got * LN_10 * f.se[3];
        assert!(((se_e - se) / se).abs() < 0.05, "{comp}: SE {se_e} vs published {se}");
    }
}
