#!/usr/bin/env bash
# The main job on a fresh machine: set up, build, and run mlpress on the bundled sample model:
# inspect it, then rewrite it to build/sample-out.mlpackage.zip.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MLPRESS_SKIP_WASM_DEPS=1 scripts/setup.sh
scripts/build.sh
SAMPLE=sample/sample.mlpackage.zip
build/core/mlpress inspect "$SAMPLE"
build/core/mlpress compress "$SAMPLE" build/sample-out.mlpackage.zip
build/core/mlpress inspect build/sample-out.mlpackage.zip --weight-threshold 2048
