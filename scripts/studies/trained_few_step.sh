#!/usr/bin/env bash
# Study (not an acceptance run): few-step samplers on TRAINED networks, measured against a fine
# solve of the same network's ODE from the same noise (the endpoint error of docs/samplers.md,
# but of the network's ODE rather than an exact mixture's). Trains an EDM and an I-CFM MLP on
# exact gauss16d samples (as scripts/train_gauss16d.sh), then samples each with `auto` /
# `fm-auto` (= gauss-2 / fm-gauss-2: the checkpoint stores the data's moments) and the peers at
# 5-10 model calls, and prints error / best peer's error per budget.
#
# usage: scripts/studies/trained_few_step.sh [OUT_DIR] [STEPS]
#        (release binary: cargo build --release -p scoreflow-cli; python3 with numpy)
set -euo pipefail
out=${1:-trained-few-step-out}
steps=${2:-4000}
bin=${SCOREFLOW:-target/release/scoreflow}
py=${PYTHON:-python3}
rm -rf "$out" && mkdir -p "$out"
"$bin" draw-analytic --target gauss16d --n 200000 --seed 1 --out "$out/data.npy" >/dev/null
for objective in edm i-cfm; do
    extra=""
    if [ "$objective" = edm ]; then extra=$'sigma_data = 2.0'; fi
    cat > "$out/$objective.toml" <<TOML
[data]
spec = "npy:$out/data.npy"
[model]
kind = "mlp"
[objective]
kind = "$objective"
$extra
[train]
steps = $steps
batch = 512
lr = 2e-3
lr_schedule = "cosine"
warmup = 100
ema = { kind = "fixed", decay = 0.999 }
log_every = 500
checkpoint_every = $steps
TOML
    "$bin" train --config "$out/$objective.toml" --out "$out/$objective" --quiet >/dev/null
done
draw() { # model sampler steps -> $out/<model>-<sampler>-<steps>.npy
    "$bin" sample --checkpoint "$out/$1" --sampler "$2" --steps "$3" --n 2000 --seed 5 \
        --out "$out/$1-$2-$3.npy" >/dev/null
}
draw edm heun 400
draw i-cfm fm-rk4 200
for b in 2 3 4 5 6 7 8 9 10; do
    for s in euler lms dpmpp-2m dpmpp-3m unipc-bh2 auto; do draw edm $s $b; done
    for s in fm-euler fm-auto; do draw i-cfm $s $b; done
done
for b in 2 3 4 5; do draw edm heun $b; draw i-cfm fm-midpoint $b; done
for b in 1 2; do draw i-cfm fm-rk4 $b; done
"$py" - "$out" <<'PY'
import sys, glob, os, numpy as np
out = sys.argv[1]
def err(model, sampler, steps, ref):
    p = f"{out}/{model}-{sampler}-{steps}.npy"
    if not os.path.exists(p): return None
    x = np.load(p); return float(np.sqrt(((x - ref) ** 2).sum(1).mean()))
cost = {"heun": lambda n: 2 * n - 1, "fm-midpoint": lambda n: 2 * n, "fm-rk4": lambda n: 4 * n}
for model, ref_name, peers, cand in [
    ("edm", ("heun", 400), ["euler", "heun", "lms", "dpmpp-2m", "dpmpp-3m", "unipc-bh2"], "auto"),
    ("i-cfm", ("fm-rk4", 200), ["fm-euler", "fm-midpoint", "fm-rk4"], "fm-auto"),
]:
    ref = np.load(f"{out}/{model}-{ref_name[0]}-{ref_name[1]}.npy")
    print(f"{model}: {cand} error / best peer's error at <= B calls (best peer, its error)")
    for b in [5, 6, 7, 8, 10]:
        best = None
        for p in peers:
            f = cost.get(p, lambda n: n)
            runs = [n for n in range(1, 11) if f(n) <= b and os.path.exists(f"{out}/{model}-{p}-{n}.npy")]
            if not runs: continue
            e = err(model, p, max(runs), ref)
            if best is None or e < best[1]: best = (p, e)
        e = err(model, cand, b, ref)
        print(f"  B = {b:2}: {e / best[1]:.2f}  ({best[0]} {best[1]:.3g}; {cand} {e:.3g})")
PY
