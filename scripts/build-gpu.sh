#!/usr/bin/env bash
# Builds the `scoreflow` binary for a Linux x86-64 GPU machine: release, `cuda` + `vulkan` (and the
# default CPU backend `flex`), stripped, into dist/gpu/ (git-ignored). Works offline apart from
# crates.io: the cubecl-llvm stand-in in patches/ keeps GitHub out of the build (docs/gpu-build.md).
#
#   scripts/build-gpu.sh                  # dist/gpu/scoreflow
#
# Environment (all optional):
#   CARGO_TARGET_DIR      build tree, default target-gpu/ (kept apart from the CPU build's target/)
#   CUDARC_CUDA_VERSION   CUDA API the bindings are generated for, default 13000 (CUDA 13.0, the
#                         GPU machine's toolkit; driver 580). Without it and without `nvcc` on this
#                         machine, cudarc picks its newest bindings (13.4).
#   FEATURES              cargo features of scoreflow-cli, default "cuda,vulkan"
#   DIST                  output folder, default dist/gpu
#
# A cold build takes about 25 minutes on 2 cores (3 GB of target/); the binary is about 116 MB,
# and a gzip'd copy beside it is what travels to the GPU machine.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target-gpu}"
export CUDARC_CUDA_VERSION="${CUDARC_CUDA_VERSION:-13000}"
features="${FEATURES:-cuda,vulkan}"
dist="${DIST:-dist/gpu}"

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not installed: this project needs a Rust toolchain (rustup, Rust >= 1.95)" >&2
    exit 1
fi

echo "building scoreflow (features: $features; CUDARC_CUDA_VERSION=$CUDARC_CUDA_VERSION) in $CARGO_TARGET_DIR" >&2
start=$(date +%s)
cargo build --release -p scoreflow-cli --bin scoreflow --features "$features"
echo "built in $(( $(date +%s) - start )) s" >&2

mkdir -p "$dist"
bin="$dist/scoreflow"
cp "$CARGO_TARGET_DIR/release/scoreflow" "$bin.tmp"
if command -v strip >/dev/null 2>&1; then
    strip "$bin.tmp"
else
    echo "warning: no \`strip\` on this machine; the binary keeps its symbols" >&2
fi
mv "$bin.tmp" "$bin"

# The stand-in must have kept every LLVM symbol out: one undefined `LLVM*` import would stop the
# binary at start-up on the GPU machine ("symbol lookup error").
if command -v nm >/dev/null 2>&1; then
    if nm -D --undefined-only "$bin" | grep -qE '\bLLVM'; then
        echo "error: $bin imports LLVM symbols; is the [patch.crates-io] cubecl-llvm entry in Cargo.toml?" >&2
        exit 1
    fi
fi

# What was built, next to the binary.
{
    echo "scoreflow $(git describe --always --dirty 2>/dev/null || echo unknown)"
    echo "features: flex (default), $features"
    echo "CUDARC_CUDA_VERSION: $CUDARC_CUDA_VERSION"
    rustc --version
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m)"
    echo "run-time needs: libcuda.so.1 (driver), libnvrtc (CUDA 13 toolkit), CUDA headers under"
    echo "  \$CUDA_PATH (default /usr/local/cuda) for NVRTC, libvulkan.so.1 for --device vulkan"
} > "$dist/BUILD-INFO"

# The device tool carries at most 64 MiB of working tree and carried paths per call: carry the
# gzip'd binary (dist/gpu/scoreflow.gz) and unpack it there (docs/gpu-build.md).
gzip -9 -c "$bin" > "$bin.gz.tmp"
mv "$bin.gz.tmp" "$bin.gz"
echo "$bin: $(du -h "$bin" | cut -f1); $bin.gz: $(du -h "$bin.gz" | cut -f1)" >&2
if [ "$(stat -c %s "$bin.gz")" -gt $((56 * 1024 * 1024)) ]; then
    echo "warning: $bin.gz is over 56 MiB: with the repository it may not fit the device tool's 64 MiB" >&2
fi
if command -v ldd >/dev/null 2>&1; then
    echo "linked libraries (CUDA, NVRTC and Vulkan are loaded at run time, not linked):" >&2
    ldd "$bin" >&2 || true
fi
