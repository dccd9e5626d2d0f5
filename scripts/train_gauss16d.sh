#!/usr/bin/env bash
# The 16-D acceptance run of docs/training.md: train an EDM, an I-CFM and an OT-CFM MLP with
# `scoreflow train` on an .npy of exact gauss16d samples, sample them with `scoreflow sample`, and
# score the samples with `scoreflow sw2` against exact samples (beside the exact-vs-exact floor).
# The flow models are also sampled with the adaptive fm-dopri5 at equal tolerance, to compare
# their NFE (OT-CFM's straighter paths need fewer; Tong et al. 2024).
#
# usage: scripts/train_gauss16d.sh [OUT_DIR] [STEPS]      (release binary: cargo build --release -p scoreflow-cli)
set -euo pipefail
out=${1:-gauss16d-out}
steps=${2:-4000}
bin=${SCOREFLOW:-target/release/scoreflow}
rm -rf "$out" && mkdir -p "$out"
"$bin" draw-analytic --target gauss16d --n 200000 --seed 1 --out "$out/data.npy" >/dev/null

common="--data npy:$out/data.npy --steps $steps --batch 512 --lr 2e-3 --quiet"
for objective in edm i-cfm ot-cfm; do
    config="$out/$objective.toml"
    extra=""
    if [ "$objective" = edm ]; then extra=$'sigma_data = 2.0'; fi
    cat > "$config" <<TOML
[data]
spec = "npy:$out/data.npy"
[model]
kind = "mlp"
[objective]
kind = "$objective"
$extra
[train]
lr_schedule = "cosine"
warmup = 100
ema = { kind = "fixed", decay = 0.999 }
log_every = 500
checkpoint_every = $steps
TOML
    start=$(date +%s.%N)
    "$bin" train --config "$config" --out "$out/$objective" $common >/dev/null
    end=$(date +%s.%N)
    printf '%-7s trained in %.1f s\n' "$objective" "$(echo "$end - $start" | bc)"
done

score() { "$bin" sw2 --target gauss16d --samples "$1"; }
"$bin" sample --checkpoint "$out/edm" --sampler heun --steps 32 --n 4000 --seed 5 --out "$out/edm.npy" >/dev/null
echo "edm    heun 32:        $(score "$out/edm.npy")"
for objective in i-cfm ot-cfm; do
    "$bin" sample --checkpoint "$out/$objective" --sampler fm-midpoint --steps 20 --n 4000 --seed 5 --out "$out/$objective.npy" >/dev/null
    echo "$objective fm-midpoint 20: $(score "$out/$objective.npy")"
    nfe=$("$bin" sample --checkpoint "$out/$objective" --sampler fm-dopri5 --steps 0 --rtol 1e-5 --atol 1e-5 --n 4000 --seed 5 --out "$out/$objective-dopri5.npy")
    echo "$objective fm-dopri5 (rtol = atol = 1e-5): $nfe"
    echo "$objective fm-dopri5 sw2: $(score "$out/$objective-dopri5.npy")"
done
