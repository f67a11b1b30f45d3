#!/usr/bin/env python3
"""End-to-end benchmark of the real radbind binary on generated plates.

For each N (number of 96-well plates, 4 compounds in duplicate per plate, so 4 curves per
plate), writes an analysis config (one `plates:` entry whose compounds come from a
`plate,compound` list, compounds.csv; `--plate-entries`: one entry per plate) and a simulation config, makes the plates with
`radbind simulate` (MicroBeta format, 10 plates per file), runs `radbind run` under
`/usr/bin/time -v` and reports wall time, CPU time and peak memory. Then fits the same curves
(from the run's wells.csv) with scipy.optimize.curve_fit in this process, so the ratio holds
on a noisy machine.

Usage (from the repository root; builds nothing itself):
    cargo build --release
    python3 benches/e2e.py [--sizes 10,100,1000] [--threads 2] [--figures svg] [--no-scipy] [--keep]
        [--data DIR] [--plate-entries]

Columns: `simulate s` is the wall time of making the plates (empty when `--data` had them); the stage columns are run.json's
`timings_s`; `report s` is the rest of the wall time (tables, figures, reports, run.json).

scipy is installed into a scratch virtual environment (.bench-venv/, ignored by git) on first
use. Standard library only otherwise.
"""

import argparse
import csv
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "radbind"


def compound_list(n_plates: int) -> str:
    """Each plate's four compounds (`plate,compound` lines), for the config's one entry."""
    lines = ["plate,compound"]
    for i in range(1, n_plates + 1):
        lines += [f"{i},c{i}{c}" for c in "abcd"]
    return "\n".join(lines) + "\n"


def analysis_config(n_plates: int, figures: str, entries: bool = False) -> str:
    """The analysis config: one `plates:` entry whose plates take their compounds from
    compounds.csv, or (`entries`) one entry per plate naming its compounds."""
    lines = [
        f"experiment: bench-{n_plates}",
        "output: out",
        "inputs: [\"plates/*.txt\"]",
        "targets:",
        "  T1: {radioligand: \"[3H]ligand\", radioligand_nM: 1.0, kd_nM: 1.0}",
        "layouts:",
        "  std96:",
        "    wells: 96",
        "    total: column 1",
        "    nsb: column 12",
        "    series: {columns: 2-11, top: \"10 µM\", dilution: 3.162}",
        "plates:",
    ]
    if entries:
        for i in range(1, n_plates + 1):
            lines.append(
                f"  - {{plate: {i}, target: T1, layout: std96, rows: "
                f"{{A-B: c{i}a, C-D: c{i}b, E-F: c{i}c, G-H: c{i}d}}}}"
            )
    else:
        lines.append(
            f"  - {{plate: \"1-{n_plates}\", target: T1, layout: std96, "
            "rows: [A-B, C-D, E-F, G-H], compound_list: compounds.csv}"
        )
    if figures != "svg+png":
        lines.append(f"report: {{figures: {figures}}}")
    return "\n".join(lines) + "\n"


def simulation_config(n_plates: int) -> str:
    rng = random.Random(20261121)
    lines = [
        "analysis: analysis.yaml",
        "seed: 7",
        "output: plates",
        "files:",
    ]
    for start in range(1, n_plates + 1, 10):
        end = min(start + 9, n_plates)
        lines.append(f"  - {{name: plates-{start:06d}.txt, plates: {start}-{end}}}")
    lines += [
        "counts: {total_cpm: 4000, nsb_cpm: 400, counting_minutes: 1, pipetting_cv_pct: 4}",
        "truth:",
        "  T1:",
    ]
    for i in range(1, n_plates + 1):
        for c in "abcd":
            ki = 10 ** rng.uniform(-0.5, 2.5)
            lines.append(f"    c{i}{c}: {{ki_nM: {ki:.4g}}}")
    return "\n".join(lines) + "\n"


def parse_time_v(stderr: str) -> dict:
    def grab(pattern, conv=float):
        m = re.search(pattern, stderr)
        return conv(m.group(1)) if m else float("nan")

    wall = stderr and re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", stderr)
    if wall:
        h = float(wall.group(1) or 0)
        wall_s = h * 3600 + float(wall.group(2)) * 60 + float(wall.group(3))
    else:
        wall_s = float("nan")
    return {
        "wall_s": wall_s,
        "user_s": grab(r"User time \(seconds\): ([\d.]+)"),
        "sys_s": grab(r"System time \(seconds\): ([\d.]+)"),
        "max_rss_mib": grab(r"Maximum resident set size \(kbytes\): (\d+)") / 1024,
    }


def ensure_scipy():
    try:
        import scipy  # noqa: F401
        return sys.executable
    except ImportError:
        pass
    venv = ROOT / ".bench-venv"
    py = venv / "bin" / "python3"
    if not py.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(py), "-m", "pip", "install", "-q", "numpy", "scipy"], check=True)
    return str(py)


SCIPY_FIT = r"""
import csv, sys, time, json, math, warnings
import numpy as np
from scipy.optimize import curve_fit
warnings.simplefilter("ignore")
def f(x, top, bottom, hill, logic50):
    return bottom + (top - bottom) / (1 + 10 ** ((logic50 - x) * hill))
curves = {}
with open(sys.argv[1]) as fh:
    for r in csv.DictReader(fh):
        if r["role"] != "sample" or not r["pct_specific"] or r["excluded"] == "true":
            continue
        curves.setdefault(r["compound"], ([], []))
        curves[r["compound"]][0].append(math.log10(float(r["conc_nM"])) - 9)
        curves[r["compound"]][1].append(float(r["pct_specific"]))
data = [(np.array(x), np.array(y)) for x, y in curves.values()]
t = time.perf_counter()
ok = 0
for x, y in data:
    p0 = [y.max(), y.min(), -1.0, float(np.median(x))]
    try:
        p, cov = curve_fit(f, x, y, p0=p0, maxfev=2000)
        se = np.sqrt(np.diag(cov))
        ok += 1
    except Exception:
        pass
dt = time.perf_counter() - t
print(json.dumps({"curves": len(data), "converged": ok, "seconds": dt}))
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--figures", default="svg", help="svg (default), svg+png or none")
    ap.add_argument("--no-scipy", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the generated plates and the run")
    ap.add_argument("--bin", default=str(BIN), help="the radbind binary (default: target/release/radbind)")
    ap.add_argument("--data", help="keep the plates of each size in DATA/plates-N and reuse them when there "
                    "(large sizes take minutes to simulate); the runs are deleted unless --keep")
    ap.add_argument("--plate-entries", action="store_true",
                    help="one `plates:` entry per plate in the config instead of one entry with a compound list")
    args = ap.parse_args()
    bin_path = Path(args.bin).resolve()
    if not bin_path.exists():
        sys.exit(f"{bin_path} not found: run `cargo build --release` first")
    py = None if args.no_scipy else ensure_scipy()
    print(f"machine: {os.cpu_count()} cores; radbind {bin_path}; threads {args.threads}; figures {args.figures}")
    print("| plates | curves | simulate s | wall s | CPU s | peak MiB | read s | layout s | normalise s | fit s | derive s | report s | radbind fits/s | scipy fits/s | ratio |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n in [int(s) for s in args.sizes.split(",")]:
        if args.data:
            work = Path(args.data) / f"plates-{n}"
            work.mkdir(parents=True, exist_ok=True)
        else:
            work = Path(tempfile.mkdtemp(prefix=f"radbind-bench-{n}-"))
        (work / "compounds.csv").write_text(compound_list(n))
        (work / "analysis.yaml").write_text(analysis_config(n, args.figures, args.plate_entries))
        sim_s = float("nan")
        if not (work / "plates").is_dir():
            (work / "simulate.yaml").write_text(simulation_config(n))
            clock = time.monotonic()
            subprocess.run([str(bin_path), "simulate", "simulate.yaml"], cwd=work, check=True, stdout=subprocess.DEVNULL)
            sim_s = time.monotonic() - clock
        proc = subprocess.run(
            ["/usr/bin/time", "-v", str(bin_path), "run", "analysis.yaml", "--quiet", "--threads", str(args.threads)],
            cwd=work, capture_output=True, text=True,
        )
        if proc.returncode not in (0, 1):
            print(proc.stderr[-2000:])
            sys.exit(f"radbind run failed for N={n}")
        m = parse_time_v(proc.stderr)
        run = work / "out" / "latest"
        manifest = json.loads((run / "run.json").read_text())
        curves = manifest["counts"]["curves"]
        stages = manifest.get("timings_s", {})
        fit_s = stages.get("fit", float("nan"))
        names = ["read", "layout", "normalise", "fit", "derive"]
        # "report": the rest of the wall time (tables, figures, reports, run.json).
        report_s = m["wall_s"] - sum(stages.get(k, 0.0) for k in names)
        stage_cells = " | ".join(f"{stages.get(k, float('nan')):.2f}" for k in names)
        rb_rate = curves / fit_s if fit_s and fit_s > 0 else float("nan")
        sp_rate, ratio = float("nan"), float("nan")
        if py:
            out = subprocess.run([py, "-c", SCIPY_FIT, str(run / "wells.csv")], capture_output=True, text=True, check=True)
            sp = json.loads(out.stdout)
            sp_rate = sp["curves"] / sp["seconds"]
            ratio = rb_rate / sp_rate
        print(
            f"| {n} | {curves} | {sim_s:.1f} | {m['wall_s']:.2f} | {m['user_s'] + m['sys_s']:.2f} "
            f"| {m['max_rss_mib']:.0f} | {stage_cells} | {report_s:.2f} | {rb_rate:,.0f} | {sp_rate:,.0f} "
            f"| {ratio:.0f}x |",
            flush=True,
        )
        if not args.keep:
            shutil.rmtree(work / "out" if args.data else work, ignore_errors=True)


if __name__ == "__main__":
    main()
