#!/usr/bin/env bash
# Builds the mlpress WebAssembly module in its two variants:
#
#   build-wasm/mlpress-simd.{js,wasm}       -msimd128
#   build-wasm/mlpress-baseline.{js,wasm}   no SIMD, for engines without wasm SIMD
#
# First builds (or finds cached) the wasm dependencies with scripts/build_wasm_deps.sh. Each
# variant is its own CMake tree (build-wasm/simd, build-wasm/baseline): the SIMD flag applies
# to the whole core, so the core is compiled once per variant.
#
#   scripts/build_wasm.sh                 # both variants
#   scripts/build_wasm.sh simd            # one variant
#   MLPRESS_WASM_BUILD_DIR=dir scripts/build_wasm.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export NODE_PATH="/usr/share/nodejs${NODE_PATH:+:$NODE_PATH}"  # Debian's emcc needs acorn
export EMCC_SKIP_SANITY_CHECK=1

OUT="${MLPRESS_WASM_BUILD_DIR:-$ROOT/build-wasm}"
case "$OUT" in /*) ;; *) OUT="$ROOT/$OUT" ;; esac
VARIANTS=("$@")
[ ${#VARIANTS[@]} -gt 0 ] || VARIANTS=(simd baseline)

DEPS="$("$ROOT/scripts/build_wasm_deps.sh" | tail -n 1)"
[ -f "$DEPS/mlpress-wasm-deps.cmake" ] || { echo "build_wasm: no deps at '$DEPS'" >&2; exit 1; }

mkdir -p "$OUT"
for variant in "${VARIANTS[@]}"; do
  case "$variant" in
    simd) simd=ON ;;
    baseline) simd=OFF ;;
    *) echo "build_wasm: unknown variant '$variant' (simd, baseline)" >&2; exit 2 ;;
  esac
  t0=$SECONDS
  emcmake cmake -S "$ROOT" -B "$OUT/$variant" -G Ninja -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PROJECT_INCLUDE="$ROOT/wasm/cmake/wasm-project.cmake" \
    -DMLPRESS_WASM_DEPS="$DEPS/mlpress-wasm-deps.cmake" \
    -DMLPRESS_WASM_SIMD="$simd" \
    -DMLPRESS_WASM_OUTPUT_DIR="$OUT" >"$OUT/$variant.configure.log" 2>&1 \
    || { cat "$OUT/$variant.configure.log" >&2; exit 1; }
  rm -f "$OUT/$variant.configure.log"
  cmake --build "$OUT/$variant" -j "${MLPRESS_JOBS:-$(nproc)}"
  echo "build_wasm: $variant -> $OUT/mlpress-$variant.js ($((SECONDS - t0)) s)"
done
