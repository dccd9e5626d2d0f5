#!/usr/bin/env bash
# Grid calibration study (docs/samplers.md, "Grid calibration"): fit grids for exp-2-lambda
# (auto's sampler), ipndm and dpmpp-2m at NFE 5, 6, 8, 10 on each built-in target and pooled on all
# three (pilot seed 1, 1,024 trajectories), then evaluate every grid out of sample (bench-analytic,
# seed 0, n = 1,000) on the built-in and the held-out targets, beside auto and each sampler on its
# default Karras grid. The held-out targets are never fitted on.
#
# Usage: scripts/grid_calibration.sh [SCOREFLOW_BINARY] [OUT_DIR]
# Writes OUT_DIR/fits.csv (in-sample), OUT_DIR/eval.csv (out of sample), OUT_DIR/grids/*.json;
# scripts/grid_calibration_tables.py OUT_DIR prints the tables.
set -euo pipefail
BIN=${1:-target/debug/scoreflow}
OUT=${2:-grid-calibration-out}
HERE=$(cd "$(dirname "$0")/.." && pwd)
FIT_TARGETS=(ring8 grid25 gauss16d)
EVAL_TARGETS=(ring8 grid25 gauss16d "$HERE/benches/targets/heldout-aniso2d.json" "$HERE/benches/targets/heldout-mix32d.json")
SAMPLERS=(exp-2-lambda ipndm dpmpp-2m)
STEPS=(5 6 8 10)
PILOT=1024
mkdir -p "$OUT/grids" "$OUT/bench"
echo "sampler,steps,fit,target,start_error,fitted_error,evaluations,calls,pilot_per_target" >"$OUT/fits.csv"
echo "sampler,steps,grid,target,error" >"$OUT/eval.csv"

# fit NAME TARGETS EXTRA...: one calibration, its in-sample lines appended to fits.csv.
fit() {
  local s=$1 n=$2 name=$3 targets=$4
  shift 4
  local file="$OUT/grids/$s-$n-$name.json" log
  log=$("$BIN" calibrate-grid --target "$targets" --sampler "$s" --steps "$n" --pilot $PILOT \
    --seed 1 --out "$file" "$@")
  local cost runs per
  runs=$(sed -n 's/.*calibration cost: \([0-9]*\) sampler runs, \([0-9]*\) batched.*/\1/p' <<<"$log")
  cost=$(sed -n 's/.*sampler runs, \([0-9]*\) batched.*/\1/p' <<<"$log")
  per=$(sed -n 's/.*, \([0-9]*\) pilot trajectories per target.*/\1/p' <<<"$log")
  awk -v s="$s" -v n="$n" -v f="$name" -v r="$runs" -v c="$cost" -v p="$per" \
    '$2 == "start" && $4 == "fitted" { printf "%s,%s,%s,%s,%s,%s,%s,%s,%s\n", s, n, f, $1, $3, $5, r, c, p }' \
    <<<"$log" >>"$OUT/fits.csv"
}

# error TARGET SAMPLER STEPS GRID: the RMS endpoint error of one bench-analytic row.
error() {
  local dir="$OUT/bench/run"
  rm -rf "$dir"
  "$BIN" bench-analytic --target "$1" --samplers "$2" --steps "$3" --grid "$4" --samples 1000 \
    --seed 0 --out-dir "$dir" >/dev/null
  awk -F, 'NR == 2 { print $6 }' "$dir/bench.csv"
}

for s in "${SAMPLERS[@]}"; do
  for n in "${STEPS[@]}"; do
    for t in "${FIT_TARGETS[@]}"; do fit "$s" "$n" "$t" "$t"; done
    fit "$s" "$n" pooled "ring8,grid25,gauss16d"
    fit "$s" "$n" pooled-full "ring8,grid25,gauss16d" --degree 99
    for t in "${EVAL_TARGETS[@]}"; do
      tname=$(basename "$t" .json)
      for g in "${FIT_TARGETS[@]}" pooled pooled-full; do
        echo "$s,$n,$g,$tname,$(error "$t" "$s" "$n" "$OUT/grids/$s-$n-$g.json")" >>"$OUT/eval.csv"
      done
      echo "$s,$n,karras,$tname,$(error "$t" "$s" "$n" karras)" >>"$OUT/eval.csv"
      [ "$s" = exp-2-lambda ] && echo "auto,$n,auto,$tname,$(error "$t" auto "$n" karras)" >>"$OUT/eval.csv"
    done
    echo "done $s $n" >&2
  done
done
