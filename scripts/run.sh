#!/usr/bin/env bash
# The main job on a fresh machine: set up, build the CLI and the wasm module, show what mlpress
# makes of the bundled sample model, then serve the page (http://127.0.0.1:${PORT:-8080}/) with
# the sample one click away. Stop it with Ctrl-C.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
scripts/build.sh
SAMPLE=sample/sample.mlpackage.zip
build/core/mlpress inspect "$SAMPLE"
build/core/mlpress compress "$SAMPLE" build/sample-int8.mlpackage.zip --quantize int8 --weight-threshold 100
scripts/build_wasm.sh
exec node scripts/serve.mjs --port "${PORT:-8080}"
