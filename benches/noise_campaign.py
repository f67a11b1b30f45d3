#!/usr/bin/env python3
"""Correctness benchmark on realistic count noise (issue 17): simulated screening campaigns
run through the real radbind binary, scored against the truth, with scipy's curve_fit on the
same curves in the same run.

Each campaign: `--plates` 96-well plates (column 1 total, column 12 NSB, a 10-point half-log
series from 10 µM in columns 2-11, four compounds in duplicate rows), one target with
[L] = Kd (Ki = IC50 / 2). Per plate: total 2,500-6,000 CPM, NSB 6-15% of total, counted
1 minute. Per well: pipetting noise `mu (1 + cv z)` then Poisson counts. Compounds: log10 IC50
uniform in [-10.5, -3.5] M (so some curves are incomplete or beyond the range), Hill slope
uniform in [-1.4, -0.7]; 8% of compounds have no effect at all (inactive). Four campaigns:
pipetting CV 4% and 8%, each clean and with 1-2 gross outlier sample wells per plate read
30-60% off their true value (up or down).

Each campaign is analysed with every `--weightings` value (ROUT at Q = 1% on), and the same
curves (wells.csv of the first analysis, every sample point) are fitted with
scipy.optimize.curve_fit (unweighted 4PL on % specific binding, no outlier removal).

Figures (per campaign and analysis):
- ROUT false exclusions: curves with an excluded point that was not an injected outlier, of
  curves without an injected outlier;
- outliers caught: injected outlier wells excluded, of those injected (and of those at least
  5 noise SDs off, `caught >= 5 SD`);
- CI coverage: true Ki inside the 95% CI, of complete curves (true log IC50 at least 1 log
  unit inside the tested range);
- censored contradicting truth: `>` bounds above the true Ki and `<` bounds below it, of the
  censored rows;
- crossing 50% with a number: curves whose concentration means (of the points the fit used)
  start above 50% and end below it that are reported with a Ki and a CI;
- |Δlog Ki|: median and 95th percentile of |log10 Ki - log10 Ki_true| on the complete curves
  every method reported a number for.

Usage (from the repository root; builds nothing itself):
    cargo build --release
    python3 benches/noise_campaign.py [--bin target/release/radbind] [--plates 160]
        [--weightings auto,none] [--seed 17]

numpy and scipy are installed into a scratch virtual environment (.bench-venv/, ignored by
git) on first use.
"""

import argparse
import csv
import math
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ensure_scipy():
    try:
        import numpy  # noqa: F401
        import scipy  # noqa: F401
        return
    except ImportError:
        pass
    venv = ROOT / ".bench-venv"
    py = venv / "bin" / "python3"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "numpy", "scipy"], check=True)
    os.execv(str(py), [str(py), *sys.argv])


ensure_scipy()
import numpy as np  # noqa: E402
from scipy.optimize import curve_fit  # noqa: E402

ROWS = "ABCDEFGH"
TOP_NM = 10_000.0
DILUTION = 3.162
COLS = list(range(2, 12))  # column 2 = highest concentration
CONC_NM = {c: TOP_NM / DILUTION ** (c - 2) for c in COLS}
L_OVER_KD = 1.0


def simulate(plates, cv, outliers, rng):
    """Rows of (plate, well, cpm), the truth per curve and the injected outlier wells."""
    rows, truth, injected = [], {}, {}
    for p in range(1, plates + 1):
        total = rng.uniform(2500, 6000)
        nsb = total * rng.uniform(0.06, 0.15)
        mus = {}
        for r in ROWS:
            mus[(r, 1)] = total
            mus[(r, 12)] = nsb
        for k, pair in enumerate(["AB", "CD", "EF", "GH"]):
            name = f"c{p}{'abcd'[k]}"
            if rng.random() < 0.08:
                log_ic50, hill = math.inf, -1.0
            else:
                log_ic50, hill = rng.uniform(-10.5, -3.5), rng.uniform(-1.4, -0.7)
            truth[name] = (log_ic50, hill)
            for r in pair:
                for c in COLS:
                    x = math.log10(CONC_NM[c] * 1e-9)
                    f = 1.0 / (1.0 + 10 ** ((log_ic50 - x) * hill)) if math.isfinite(log_ic50) else 1.0
                    mus[(r, c)] = nsb + (total - nsb) * f
        values = {}
        for key, mu in mus.items():
            v = max(mu * (1.0 + cv * rng.standard_normal()), 0.0)
            values[key] = float(rng.poisson(v)) if v > 0 else 0.0
        if outliers:
            samples = [(r, c) for r in ROWS for c in COLS]
            n = int(rng.integers(1, 3))
            for idx in rng.choice(len(samples), size=n, replace=False):
                r, c = samples[idx]
                off = rng.uniform(0.3, 0.6) * (1 if rng.random() < 0.5 else -1)
                mu = mus[(r, c)]
                sd = math.sqrt(mu + (cv * mu) ** 2)
                values[(r, c)] = round(mu * (1.0 + off))
                injected[(f"P{p}", f"{r}{c:02d}")] = abs(off) * mu / sd
        for (r, c), v in sorted(values.items()):
            rows.append((p, f"{r}{c:02d}", v))
    return rows, truth, injected


def config(plates, weighting):
    lines = [
        "experiment: noise",
        "output: out",
        'inputs: ["plates.csv"]',
        "targets:",
        '  T1: {radioligand: "[3H]ligand", radioligand_nM: 1.0, kd_nM: 1.0}',
        "layouts:",
        "  std96:",
        "    wells: 96",
        "    total: column 1",
        "    nsb: column 12",
        '    series: {columns: 2-11, top: "10 µM", dilution: 3.162}',
        "plates:",
    ]
    for i in range(1, plates + 1):
        lines.append(
            f"  - {{plate: {i}, target: T1, layout: std96, rows: "
            f"{{A-B: c{i}a, C-D: c{i}b, E-F: c{i}c, G-H: c{i}d}}}}"
        )
    lines += [
        "fit:",
        "  model: four_parameter",
        f"  weighting: {weighting}",
        "  outliers: {method: rout, q_pct: 1}",
        "report: {figures: none}",
    ]
    return "\n".join(lines) + "\n"


def run(binary, workdir, weighting, plates):
    (workdir / "analysis.yaml").write_text(config(plates, weighting))
    out = workdir / f"out-{weighting.replace('/', '')}"
    res = subprocess.run(
        [str(binary), "run", str(workdir / "analysis.yaml"), "--out", str(out)],
        capture_output=True,
        text=True,
    )
    if res.returncode not in (0, 1):
        sys.exit(f"radbind failed ({res.returncode}):\n{res.stderr}")
    run_dir = out
    if not (run_dir / "fits.csv").exists():
        cands = sorted(p for p in out.rglob("fits.csv"))
        run_dir = cands[-1].parent
    with open(run_dir / "fits.csv", newline="") as fh:
        fits = {r["compound"]: r for r in csv.DictReader(fh)}
    with open(run_dir / "wells.csv", newline="") as fh:
        wells = list(csv.DictReader(fh))
    return fits, wells


def f4(x, top, bottom, hill, logic50):
    return bottom + (top - bottom) / (1.0 + 10.0 ** ((logic50 - x) * hill))


def scipy_fit(x, y):
    x, y = np.asarray(x), np.asarray(y)
    lo, hi = x.min(), x.max()
    order = np.argsort(x)
    top0, bot0 = y[order][:2].mean(), y[order][-2:].mean()
    mid = 0.5 * (top0 + bot0)
    log0 = x[np.argmin(np.abs(y - mid))]
    try:
        p, cov = curve_fit(
            f4,
            x,
            y,
            p0=[top0, bot0, -1.0, log0],
            bounds=([-np.inf, -np.inf, -10, lo - 3], [np.inf, np.inf, 10, hi + 3]),
            maxfev=10000,
        )
    except (RuntimeError, ValueError):
        return math.nan
    return p[3]


def num(s):
    try:
        return float(s)
    except (TypeError, ValueError):
        return math.nan


def pct(a, q):
    return float(np.percentile(a, q)) if len(a) else math.nan


def score(truth, injected, fits, wells, scipy_log_ic50):
    x_lo, x_hi = math.log10(min(CONC_NM.values()) * 1e-9), math.log10(TOP_NM * 1e-9)
    by_curve = {}
    excluded = {}
    for w in wells:
        if w["role"] != "sample":
            continue
        by_curve.setdefault(w["compound"], []).append(w)
        if w["excluded"] == "true" and "ROUT" in (w["excluded_reason"] or ""):
            excluded[(w["plate"], w["well"])] = True
    compound_of = {(w["plate"], w["well"]): w["compound"] for w in wells}
    inj_by_curve = {}
    for key in injected:
        inj_by_curve.setdefault(compound_of[key], []).append(key)
    clean = [c for c in truth if c not in inj_by_curve]
    false_ex = sum(
        1
        for c in clean
        if any((w["plate"], w["well"]) in excluded for w in by_curve.get(c, []))
    ) + sum(
        1
        for c, inj in inj_by_curve.items()
        if any((w["plate"], w["well"]) in excluded and (w["plate"], w["well"]) not in inj
               for w in by_curve.get(c, []))
    )
    n_inj = len(injected)
    caught = sum(1 for k in injected if k in excluded)
    big = [k for k, z in injected.items() if z >= 5]
    caught_big = sum(1 for k in big if k in excluded)
    cover_n = cover = 0
    cens = cens_bad = 0
    cross = cross_num = 0
    dlog = {}
    for c, (log_ic50, _) in truth.items():
        row = fits.get(c)
        ki_true = 10 ** log_ic50 / (1 + L_OVER_KD) * 1e9 if math.isfinite(log_ic50) else math.inf
        q = row["ic50_qualifier"] if row else ""
        ki = num(row["ki_nM"]) if row else math.nan
        lo, hi = (num(row["ki_ci_low_nM"]), num(row["ki_ci_high_nM"])) if row else (math.nan,) * 2
        complete = math.isfinite(log_ic50) and x_lo + 1 <= log_ic50 <= x_hi - 1
        if complete:
            cover_n += 1
            if q == "" and lo <= ki_true <= hi:
                cover += 1
            if q == "" and math.isfinite(ki):
                dlog[c] = abs(math.log10(ki) - math.log10(ki_true))
        if q in (">", "<"):
            cens += 1
            if (q == ">" and ki_true < ki) or (q == "<" and ki_true > ki):
                cens_bad += 1
        pts = {}
        for w in by_curve.get(c, []):
            if w["excluded"] == "true":
                continue  # an excluded outlier is not the curve's data
            pts.setdefault(num(w["conc_nM"]), []).append(num(w["pct_specific"]))
        if pts:
            means = [np.mean(pts[k]) for k in sorted(pts)]
            if means[0] > 50 > means[-1]:
                cross += 1
                if q == "" and math.isfinite(ki) and math.isfinite(lo) and math.isfinite(hi):
                    cross_num += 1
    return {
        "curves": len(truth),
        "clean_curves": len(clean),
        "false_exclusion_curves": false_ex,
        "false_exclusion_pct": 100.0 * false_ex / max(len(truth), 1),
        "injected": n_inj,
        "caught": caught,
        "injected_5sd": len(big),
        "caught_5sd": caught_big,
        "complete": cover_n,
        "covered": cover,
        "censored": cens,
        "censored_bad": cens_bad,
        "crossing": cross,
        "crossing_number": cross_num,
        "dlog": dlog,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=str(ROOT / "target" / "release" / "radbind"))
    ap.add_argument("--plates", type=int, default=160)
    ap.add_argument("--weightings", default="auto,none")
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    weightings = args.weightings.split(",")
    rng = np.random.default_rng(args.seed)
    print(f"binary: {args.bin}; {args.plates} plates (x4 curves) per campaign; seed {args.seed}")
    header = (
        "| campaign | analysis | ROUT false excl. (curves) | outliers caught | caught (>= 5 SD) "
        "| CI coverage (complete) | censored contradicting truth | crossing 50% with a number "
        "| median abs dlogKi | p95 abs dlogKi |"
    )
    print(header)
    print("|" + "---|" * 10)
    for cv in (0.04, 0.08):
        for outl in (False, True):
            rows, truth, injected = simulate(args.plates, cv, outl, rng)
            with tempfile.TemporaryDirectory() as td:
                td = Path(td)
                with open(td / "plates.csv", "w", newline="") as fh:
                    wr = csv.writer(fh)
                    wr.writerow(["plate", "well", "cpm"])
                    wr.writerows(rows)
                results = {}
                wells0 = None
                for wname in weightings:
                    fits, wells = run(Path(args.bin), td, wname, args.plates)
                    wells0 = wells0 or wells
                    results[wname] = score(truth, injected, fits, wells, None)
            # scipy on every sample point (no outlier removal), unweighted, % specific binding.
            pts = {}
            for w in wells0:
                if w["role"] == "sample" and w["pct_specific"] not in ("", None):
                    pts.setdefault(w["compound"], ([], []))
                    pts[w["compound"]][0].append(math.log10(num(w["conc_nM"]) * 1e-9))
                    pts[w["compound"]][1].append(num(w["pct_specific"]))
            sp = {}
            for c, (x, y) in pts.items():
                li = scipy_fit(x, y)
                log_ic50 = truth[c][0]
                if math.isfinite(li) and math.isfinite(log_ic50):
                    sp[c] = abs(li - log_ic50)  # [L] = Kd: |dlog Ki| = |dlog IC50|
            common = set(sp)
            for r in results.values():
                common &= set(r["dlog"])
            name = f"cv {round(cv * 100)}%, {'1-2 outliers/plate' if outl else 'clean'}"
            for wname, r in results.items():
                d = [r["dlog"][c] for c in common]
                print(
                    f"| {name} | radbind {wname} | {r['false_exclusion_curves']}/{r['curves']} "
                    f"({r['false_exclusion_pct']:.1f}%) | {r['caught']}/{r['injected']} "
                    f"| {r['caught_5sd']}/{r['injected_5sd']} "
                    f"| {r['covered']}/{r['complete']} ({100 * r['covered'] / max(r['complete'], 1):.1f}%) "
                    f"| {r['censored_bad']}/{r['censored']} "
                    f"| {r['crossing_number']}/{r['crossing']} "
                    f"| {pct(d, 50):.3f} | {pct(d, 95):.3f} |"
                )
            d = [sp[c] for c in common]
            print(f"| {name} | scipy curve_fit | | | | | | | {pct(d, 50):.3f} | {pct(d, 95):.3f} |")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
