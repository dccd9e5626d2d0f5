#!/usr/bin/env python3
"""Markdown tables of scripts/grid_calibration.sh's output (stdlib only).

Usage: scripts/grid_calibration_tables.py OUT_DIR
Ratios are of RMS endpoint errors at equal NFE; "vs auto" divides by auto's error (exp-2-lambda on
the CondOT-to-zero grid) on the same target and noise.
"""
import csv
import math
import sys
from collections import defaultdict

out = sys.argv[1]
fits = list(csv.DictReader(open(f"{out}/fits.csv")))
evals = list(csv.DictReader(open(f"{out}/eval.csv")))
TARGETS = ["ring8", "grid25", "gauss16d", "heldout-aniso2d", "heldout-mix32d"]
GRIDS = ["ring8", "grid25", "gauss16d", "pooled", "pooled-full", "karras"]
SAMPLERS = ["exp-2-lambda", "ipndm", "dpmpp-2m"]
STEPS = ["5", "6", "8", "10"]
err = {(r["sampler"], r["steps"], r["grid"], r["target"]): float(r["error"]) for r in evals}


def gmean(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


def fmt(x, mark=""):
    return f"{x:.2f}{mark}"


print("### Out of sample, vs auto (geometric mean over NFE 5, 6, 8, 10; * = fitted on this target)\n")
for s in SAMPLERS:
    print(f"**{s}**\n")
    print("| grid | " + " | ".join(TARGETS) + " |")
    print("|---|" + "---|" * len(TARGETS))
    for g in GRIDS:
        cells = []
        for t in TARGETS:
            r = gmean([err[(s, n, g, t)] / err[("auto", n, "auto", t)] for n in STEPS])
            fitted_here = g == t or (g.startswith("pooled") and not t.startswith("heldout"))
            cells.append(fmt(r, "*" if fitted_here else ""))
        label = {"karras": "Karras ρ = 7 (default)", "pooled": "pooled, degree 3",
                 "pooled-full": "pooled, degree N − 1"}.get(g, f"fitted on {g}")
        print(f"| {label} | " + " | ".join(cells) + " |")
    print()

print("### Pooled grids per NFE, vs auto (out of sample)\n")
print("| sampler | NFE | " + " | ".join(TARGETS) + " | worst built-in | worst held-out |")
print("|---|---|" + "---|" * (len(TARGETS) + 2))
for s in SAMPLERS:
    for n in STEPS:
        rs = [err[(s, n, "pooled", t)] / err[("auto", n, "auto", t)] for t in TARGETS]
        print(f"| {s} | {n} | " + " | ".join(fmt(r) for r in rs)
              + f" | {fmt(max(rs[:3]))} | {fmt(max(rs[3:]))} |")
print()

print("### Pilot over-fit: single-target fits, error on fresh points / error on the pilot points\n")
ins = {(r["sampler"], r["steps"], r["fit"], r["target"]): r for r in fits}
print("| sampler | " + " | ".join(f"NFE {n}" for n in STEPS) + " |")
print("|---|" + "---|" * len(STEPS))
for s in SAMPLERS:
    cells = []
    for n in STEPS:
        rs = [err[(s, n, t, t)] / float(ins[(s, n, t, t)]["fitted_error"]) for t in ["ring8", "grid25", "gauss16d"]]
        cells.append(" / ".join(f"{r:.2f}" for r in rs))
    print(f"| {s} | " + " | ".join(cells) + " |")
print("\n(ring8 / grid25 / gauss16d)\n")

print("### In sample: fitted / starting (auto) grid error on the pilot points\n")
print("| sampler | fit | " + " | ".join(f"NFE {n}" for n in STEPS) + " |")
print("|---|---|" + "---|" * len(STEPS))
for s in SAMPLERS:
    for f in ["ring8", "grid25", "gauss16d", "pooled", "pooled-full"]:
        cells = []
        for n in STEPS:
            rows = [r for r in fits if r["sampler"] == s and r["steps"] == n and r["fit"] == f]
            cells.append(" / ".join(f"{float(r['fitted_error']) / float(r['start_error']):.2f}" for r in rows))
        print(f"| {s} | {f} | " + " | ".join(cells) + " |")
print()
costs = [int(r["calls"]) * int(r["pilot_per_target"]) for r in fits if r["fit"] == r["target"]]
runs = [int(r["evaluations"]) for r in fits if r["fit"] == r["target"]]
print(f"Calibration cost (single-target fits): {min(runs)}–{max(runs)} sampler runs, "
      f"{min(costs):,}–{max(costs):,} per-trajectory denoiser evaluations.")
