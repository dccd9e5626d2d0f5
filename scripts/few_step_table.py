#!/usr/bin/env python3
"""The few-step tables of docs/samplers.md from `scoreflow bench-analytic` CSVs.

For each target and NFE budget B: the best peer's endpoint error (the smallest error among the
peers' step counts that spend at most B model calls — Heun spends 2N - 1) and, for each
candidate, its error at the largest step count within B divided by that best peer's error.

  σ-space peers: euler, heun, lms, dpmpp-2m, dpmpp-3m, unipc-bh2 (Karras grid)
  flow peers:    fm-euler, fm-midpoint, fm-rk4 (uniform t grid)

Usage: python3 scripts/few_step_table.py NAME=DIR/bench.csv ... [--budgets 5,6,7,8,10]
                [--candidates auto,ipndm,fm-auto]
"""

import argparse
import csv

SIGMA_PEERS = ["euler", "heun", "lms", "dpmpp-2m", "dpmpp-3m", "unipc-bh2"]
FLOW_PEERS = ["fm-euler", "fm-midpoint", "fm-rk4"]


def error_within(rows, sampler, budget):
    best = None
    for r in rows:
        if r["sampler"] == sampler and r["error"] and int(r["nfe"]) <= budget:
            if best is None or int(r["nfe"]) > best[0]:
                best = (int(r["nfe"]), float(r["error"]))
    return best[1] if best else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("runs", nargs="+", help="NAME=path/to/bench.csv")
    ap.add_argument("--budgets", default="5,6,7,8,10")
    ap.add_argument("--candidates", default="auto,fm-auto")
    args = ap.parse_args()
    budgets = [int(b) for b in args.budgets.split(",")]
    candidates = args.candidates.split(",")
    for family, peers in (("σ-space", SIGMA_PEERS), ("flow", FLOW_PEERS)):
        cands = [c for c in candidates if c.startswith("fm-") == (family == "flow")]
        if not cands:
            continue
        print(f"\n{family}: error ÷ best peer's error at ≤ B model calls (best peer's error in brackets)\n")
        print("| target | " + " | ".join(f"B = {b}" for b in budgets) + " |")
        print("|---|" + "---|" * len(budgets))
        for run in args.runs:
            name, path = run.split("=", 1)
            rows = list(csv.DictReader(open(path)))
            for cand in cands:
                cells = []
                for b in budgets:
                    peer = [e for e in (error_within(rows, p, b) for p in peers) if e is not None]
                    mine = error_within(rows, cand, b)
                    if not peer or mine is None:
                        cells.append("–")
                        continue
                    best = min(peer)
                    ratio = mine / best
                    mark = "**" if ratio <= 0.5 else ""
                    cells.append(f"{mark}{ratio:.2f}{mark} ({best:.3g})")
                label = name if len(cands) == 1 else f"{name} `{cand}`"
                print(f"| {label} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
