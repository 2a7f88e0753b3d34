#!/usr/bin/env python3
"""Side-by-side benchmark of palettize_weights (k-means): coremltools vs mlpress (native CLI, and
the wasm module under Node.js), on the same packages, in one run.

    python3 scripts/bench_palettize.py [--cases fp16_4m,...] [--repeat 3] [--ct-repeat 1]
        [--bench-dir build/bench] [--mlpress build/core/mlpress] [--wasm-dir build-wasm]

Cases (issue #4's):
  fp16_4m      one 2048 x 2048 fp16 linear weight, per_tensor 4-bit (coremltools: kmeans1d)
  fp16_16x1m   16 linear layers of 1024 x 1024 fp16, per_tensor 4-bit (kmeans1d)
  small        272 linear layers of 64 x 64 fp16 (1.1M weights in tensors below 10,000
               elements: coremltools' scikit-learn path), per_tensor 4-bit
  grouped      one 2048 x 2048 fp16 weight, per_grouped_channel group_size 16, 4-bit (128
               groups of 32,768 weights: kmeans1d each)
  fp32_4m      one 2048 x 2048 fp32 weight, per_tensor 8-bit (scikit-learn)
  vector       one 1024 x 1024 fp16 weight, per_tensor 4-bit, cluster_dim 2 (scikit-learn)
  vector4      the same with cluster_dim 4

Each tool is timed end to end on the same package folder: open, palettize every weight, write
the output (coremltools saves a folder; mlpress native writes a folder; wasm reads a stored zip
and writes a zip, timed inside Node.js around the compress call). Prints a Markdown table for
docs/benchmarks.md, with the weighted mean squared error of each output against the source
weights so speed never hides a quality loss. Speed claims come from this script only.
The wasm module is loaded afresh for each repeat and called WASM_CALLS times: one row for the
first call (which also pays V8's lazy compilation of the module's code), one for the warm calls.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import warnings
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "build" / "bench"  # --bench-dir
MLPRESS = ROOT / "build" / "core" / "mlpress"  # --mlpress
WASM_DIR = ROOT / "build-wasm"  # --wasm-dir

# name: (layers, rows, cols, fp32, config lines, note)
CASES = {
    "fp16_4m": (1, 2048, 2048, False, "{mode: kmeans, nbits: 4, granularity: per_tensor}",
                "4M fp16, per_tensor 4-bit"),
    "fp16_16x1m": (16, 1024, 1024, False, "{mode: kmeans, nbits: 4, granularity: per_tensor}",
                   "16 x 1M fp16, per_tensor 4-bit"),
    "small": (272, 64, 64, False, "{mode: kmeans, nbits: 4, granularity: per_tensor}",
              "272 x 4096 fp16 (1.1M), per_tensor 4-bit"),
    "grouped": (1, 2048, 2048, False,
                "{mode: kmeans, nbits: 4, granularity: per_grouped_channel, group_size: 16}",
                "4M fp16, grouped (16 channels), 4-bit"),
    "fp32_4m": (1, 2048, 2048, True, "{mode: kmeans, nbits: 8, granularity: per_tensor}",
                "4M fp32, per_tensor 8-bit"),
    "vector": (1, 1024, 1024, False,
               "{mode: kmeans, nbits: 4, granularity: per_tensor, cluster_dim: 2}",
               "1M fp16, per_tensor 4-bit, cluster_dim 2"),
    "vector4": (1, 1024, 1024, False,
                "{mode: kmeans, nbits: 4, granularity: per_tensor, cluster_dim: 4}",
                "1M fp16, per_tensor 4-bit, cluster_dim 4"),
}


def build_model(name: str) -> Path:
    """Chained linear layers with normal(0, 0.02) weights, stored as fp16 or fp32."""
    layers, rows, cols, fp32, _, _ = CASES[name]
    target = "iOS18" if name in ("grouped", "vector", "vector4") else "iOS16"
    path = BENCH / f"pal-{name}.mlpackage"
    if path.exists():
        return path
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    rng = np.random.default_rng(0)
    dtype = np.float32 if fp32 else np.float16
    weights = [(rng.standard_normal((rows, cols)) * 0.02).astype(dtype).astype(np.float32)
               for _ in range(layers)]
    opset = getattr(ct.target, target)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, cols))], opset_version=opset)
    def prog(x):
        for i, w in enumerate(weights):
            x = mb.linear(x=x, weight=w, name=f"linear_{i}")
        return x

    precision = ct.precision.FLOAT32 if fp32 else ct.precision.FLOAT16
    model = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=opset,
                       compute_precision=precision)
    BENCH.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return path


def config_path(name: str) -> Path:
    path = BENCH / f"pal-{name}.yaml"
    path.write_text("config_type: OpPalettizerConfig\n"
                    f"global_config: {CASES[name][4]}\n")
    return path


def time_it(fn, repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds (this process and its children, all threads): on a shared
    machine the CPU time is the steadier figure."""
    walls, cpus = [], []
    for _ in range(repeat):
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = time.process_time()
        start = time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(time.process_time() - cpu + (after.ru_utime - usage.ru_utime)
                    + (after.ru_stime - usage.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def run_coremltools(src: Path, out: Path, config: Path) -> None:
    import coremltools as ct
    shutil.rmtree(out, ignore_errors=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ct.models.MLModel(str(src), skip_model_load=True)
        cfg = ct.optimize.coreml.OptimizationConfig.from_yaml(str(config))
        ct.optimize.coreml.palettize_weights(model, cfg).save(str(out))


def run_native(src: Path, out: Path, config: Path) -> None:
    shutil.rmtree(out, ignore_errors=True)
    subprocess.run([str(MLPRESS), "compress", str(src), str(out), "--config", str(config)],
                   check=True, capture_output=True)


def make_zip(src: Path) -> Path:
    """The package folder as one stored zip (top folder NAME.mlpackage/)."""
    zipped = src.with_name(src.name + ".zip")
    if not zipped.exists():
        with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_STORED) as archive:
            for path in sorted(src.rglob("*")):
                archive.write(path, path.relative_to(src.parent))
    return zipped


WASM_CALLS = 3  # calls per freshly loaded module: the first, then warm ones


def run_wasm(variant: str, src: Path, out: Path, config: Path) -> list[tuple[float, float]]:
    """Wall and CPU seconds measured inside Node.js around each of WASM_CALLS compress calls on
    one freshly loaded module (module load excluded): the first (V8 still compiling the module's
    code) and the warm ones."""
    script = ROOT / "scripts" / "bench_wasm.mjs"
    result = subprocess.run(["node", str(script), variant, str(src), str(out), str(config),
                             str(WASM_DIR), str(WASM_CALLS)],
                            check=True, capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()[-WASM_CALLS:]
    return [(float(line.split()[0]), float(line.split()[1])) for line in lines]


def weights_mse(src: Path, out: Path) -> float:
    """Mean squared error of the decompressed output weights against the source weights,
    every weight of the package pooled (coremltools decompresses both outputs)."""
    import coremltools as ct
    from coremltools.optimize.coreml import decompress_weights
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if out.suffix == ".zip":
            unzip = out.with_suffix(".unzipped")
            shutil.rmtree(unzip, ignore_errors=True)
            with zipfile.ZipFile(out) as archive:
                archive.extractall(unzip)
            out = next(unzip.glob("*.mlpackage"))
        dense = {}
        for path, store in ((src, "src"), (out, "out")):
            model = decompress_weights(ct.models.MLModel(str(path), skip_model_load=True))
            prog = model._mil_program
            for op in prog.functions["main"].operations:
                if op.op_type == "linear":
                    dense.setdefault(op.name, {})[store] = op.weight.val.astype(np.float64)
    total = 0.0
    count = 0
    for pair in dense.values():
        total += float(np.sum((pair["src"] - pair["out"]) ** 2))
        count += pair["src"].size
    return total / count


def main() -> int:
    global BENCH, MLPRESS, WASM_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ct-repeat", type=int, default=1)
    parser.add_argument("--no-mse", action="store_true")
    parser.add_argument("--bench-dir", type=Path, default=BENCH)
    parser.add_argument("--mlpress", type=Path, default=MLPRESS)
    parser.add_argument("--wasm-dir", type=Path, default=WASM_DIR)
    args = parser.parse_args()
    BENCH, MLPRESS, WASM_DIR = (args.bench_dir.resolve(), args.mlpress.resolve(),
                                args.wasm_dir.resolve())

    print(f"\npalettize_weights, k-means; median of {args.repeat} (coremltools: "
          f"{args.ct_repeat}); {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} cores\n")
    print("| case | tool | wall s | CPU s | vs coremltools (CPU) | weight MSE |")
    print("|---|---|---|---|---|---|")
    for name in args.cases.split(","):
        src = build_model(name)
        config = config_path(name)
        note = CASES[name][5]
        rows = []
        ct_out = BENCH / f"pal-{name}-ct.mlpackage"
        t_ct = time_it(lambda: run_coremltools(src, ct_out, config), args.ct_repeat)
        rows.append(("coremltools 9.0 (Python)", t_ct, ct_out))
        native_out = BENCH / f"pal-{name}-native.mlpackage"
        t_native = time_it(lambda: run_native(src, native_out, config), args.repeat)
        rows.append(("mlpress native CLI", t_native, native_out))
        for variant in ("simd", "baseline"):
            if (WASM_DIR / f"mlpress-{variant}.wasm").exists():
                out = BENCH / f"pal-{name}-wasm-{variant}.mlpackage.zip"
                times = [run_wasm(variant, make_zip(src), out, config)
                         for _ in range(args.repeat)]
                rows.append((f"mlpress wasm {variant} (Node.js), first call",
                             (statistics.median(t[0][0] for t in times),
                              statistics.median(t[0][1] for t in times)), out))
                warm = [call for t in times for call in t[1:]]
                rows.append((f"mlpress wasm {variant} (Node.js), warm (calls 2-{WASM_CALLS})",
                             (statistics.median(c[0] for c in warm),
                              statistics.median(c[1] for c in warm)), out))
        for tool, (wall, cpu), out in rows:
            mse = "" if args.no_mse else f"{weights_mse(src, out):.4g}"
            print(f"| {note} | {tool} | {wall:.3f} | {cpu:.3f} | {t_ct[1] / cpu:.1f}x | {mse} |",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
