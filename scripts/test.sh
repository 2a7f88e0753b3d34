#!/usr/bin/env bash
# Runs every test from a fresh clone: installs what is missing, builds native and wasm, then
# runs the C++ unit tests, the coremltools conformance suite and the wasm tests.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

step() { printf '\n=== %s\n' "$*"; }

step "setup"
scripts/setup.sh

step "native build"
scripts/build.sh

step "C++ unit tests"
ctest --test-dir build --output-on-failure -j"$(nproc)"

step "coremltools conformance"
python3 -m pytest tests/conformance -q -p no:cacheprovider

if [ -x scripts/build_wasm.sh ] && [ -d tests/wasm ] && compgen -G "tests/wasm/*.test.mjs" >/dev/null; then
  step "wasm build"
  scripts/build_wasm.sh
  step "wasm tests"
  node --test tests/wasm/
  step "page tests (chromium)"
  node --test tests/e2e/
fi
