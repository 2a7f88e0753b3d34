#!/usr/bin/env python3
"""Side-by-side benchmark of linear_quantize_weights: coremltools vs mlpress (native CLI, and
the wasm module under Node.js), on the same package, in one run.

    python3 scripts/bench_quantize.py [--layers 16] [--size 1024] [--repeat 3]

Builds (once, into build/bench/) an iOS16 ML Program of N linear layers of SIZE x SIZE fp16
weights, then times each tool end to end: open the package, quantize every weight to int8
per-channel, write the output package. coremltools' time includes its save; mlpress writes a
zip. Prints a Markdown table for docs/benchmarks.md. Speed claims come from this script only.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "build" / "bench"
CONFIG = ("config_type: OpLinearQuantizerConfig\n"
          "global_config: {dtype: int8, granularity: per_channel}\n")


def build_model(layers: int, size: int) -> Path:
    """N chained linear layers; weights exactly representable in fp16, stored as fp16 by the
    FLOAT16 compute precision."""
    path = BENCH / f"linear{layers}x{size}.mlpackage"
    if path.exists():
        return path
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    rng = np.random.default_rng(0)
    weights = [(rng.standard_normal((size, size)) * 0.02).astype(np.float16).astype(np.float32)
               for _ in range(layers)]

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, size))], opset_version=ct.target.iOS16)
    def prog(x):
        for i, w in enumerate(weights):
            x = mb.linear(x=x, weight=w, name=f"linear_{i}")
        return x

    model = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16,
                       compute_precision=ct.precision.FLOAT16)
    BENCH.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def time_it(fn, repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - start)
    return statistics.median(runs)


def run_coremltools(src: Path, out: Path) -> None:
    import coremltools as ct
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ct.models.MLModel(str(src), skip_model_load=True)
        config = ct.optimize.coreml.OptimizationConfig.from_yaml(str(BENCH / "config.yaml"))
        ct.optimize.coreml.linear_quantize_weights(model, config).save(str(out))


def run_native(src: Path, out: Path) -> None:
    subprocess.run([str(ROOT / "build/core/mlpress"), "compress", str(src), str(out),
                    "--config", str(BENCH / "config.yaml")], check=True, capture_output=True)


def run_wasm(variant: str, src: Path, out: Path) -> float:
    """Time measured inside Node.js around the compress call (module load excluded)."""
    script = ROOT / "scripts" / "bench_wasm.mjs"
    result = subprocess.run(["node", str(script), variant, str(src), str(out),
                             str(BENCH / "config.yaml")], check=True, capture_output=True, text=True)
    return float(result.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    src = build_model(args.layers, args.size)
    (BENCH / "config.yaml").write_text(CONFIG)
    zipped = BENCH / f"{src.stem}.mlpackage.zip"
    if not zipped.exists():
        shutil.make_archive(str(zipped.with_suffix("")), "zip", root_dir=BENCH, base_dir=src.name)
    mbytes = args.layers * args.size * args.size * 2 / 1e6

    rows = []
    ct_out = BENCH / "ct-out.mlpackage"
    t_ct = time_it(lambda: (shutil.rmtree(ct_out, ignore_errors=True), run_coremltools(src, ct_out)),
                   args.repeat)
    rows.append(("coremltools 9.0 (Python)", t_ct))
    t_native = time_it(lambda: run_native(zipped, BENCH / "native-out.mlpackage.zip"), args.repeat)
    rows.append(("mlpress native CLI", t_native))
    for variant in ("simd", "baseline"):
        if (ROOT / "build-wasm" / f"mlpress-{variant}.wasm").exists():
            times = [run_wasm(variant, zipped, BENCH / f"wasm-{variant}.mlpackage.zip")
                     for _ in range(args.repeat)]
            rows.append((f"mlpress wasm {variant} (Node.js)", statistics.median(times)))

    print(f"\n{args.layers} linear layers of {args.size}x{args.size} fp16 "
          f"({mbytes:.1f} MB of weights), int8 per_channel; median of {args.repeat}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    print("| tool | seconds | MB/s of fp16 input | vs coremltools |")
    print("|---|---|---|---|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {mbytes / seconds:.0f} | {t_ct / seconds:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
