#!/usr/bin/env python3
"""Side-by-side benchmark of linear_quantize_weights: coremltools vs mlpress (native CLI, and
the wasm module under Node.js), on the same package, in one run.

    python3 scripts/bench_quantize.py [--layers 16] [--size 1024] [--repeat 3]
        [--bench-dir build/bench] [--mlpress build/core/mlpress] [--wasm-dir build-wasm]

Builds (once, into the bench dir) an iOS16 ML Program of N linear layers of SIZE x SIZE fp16
weights, then times each tool end to end: open the package, quantize every weight to int8
per-channel, write the output package. coremltools reads the package folder and saves a
folder; mlpress is timed on the same folder-to-folder job and on the zip forms (folder to zip,
stored zip to zip, deflated zip to zip). Each row gives wall and CPU seconds (on a busy machine
the wall time includes waiting for a core; mlpress's CPU time adds up all its threads). Prints a
Markdown table for docs/benchmarks.md. Speed claims come from this script only.

coremltools runs --repeat times in this one Python process (imported before the timing), and its
row is the median. The wasm module is loaded afresh for each repeat and called WASM_CALLS times:
its rows are the first call (which also pays V8's lazy compilation of the module's code), the
second, and the warm calls (2 to WASM_CALLS), the counterpart of coremltools' warm median.
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


def cpu_seconds() -> float:
    """CPU time (user + system) of this process and its finished children."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def time_it(fn, repeat: int, prepare=lambda: None) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds of fn(); prepare() runs untimed before each."""
    walls, cpus = [], []
    for _ in range(repeat):
        prepare()
        cpu, start = cpu_seconds(), time.perf_counter()
        fn()
        walls.append(time.perf_counter() - start)
        cpus.append(cpu_seconds() - cpu)
    return statistics.median(walls), statistics.median(cpus)


def run_coremltools(src: Path, out: Path) -> None:
    import coremltools as ct
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ct.models.MLModel(str(src), skip_model_load=True)
        config = ct.optimize.coreml.OptimizationConfig.from_yaml(str(BENCH / "config.yaml"))
        ct.optimize.coreml.linear_quantize_weights(model, config).save(str(out))


def remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def run_native(src: Path, out: Path) -> None:
    subprocess.run([str(MLPRESS), "compress", str(src), str(out),
                    "--config", str(BENCH / "config.yaml")], check=True, capture_output=True)


def make_zip(src: Path, zipped: Path, method: int) -> Path:
    """The package folder as one zip (top folder NAME.mlpackage/), deflated or stored."""
    if not zipped.exists():
        with zipfile.ZipFile(zipped, "w", compression=method) as archive:
            for path in sorted(src.rglob("*")):
                archive.write(path, path.relative_to(src.parent))
    return zipped


WASM_CALLS = 5  # calls per freshly loaded module: the first, then warm ones


def run_wasm(variant: str, src: Path, out: Path) -> list[tuple[float, float]]:
    """Wall and CPU seconds measured inside Node.js around WASM_CALLS compress calls on one
    freshly loaded module (module load excluded): the first call (V8 still compiling the
    module's code, lazily) and the later ones (warm, though V8 may still be optimising functions
    in the background, which the CPU figure includes)."""
    script = ROOT / "scripts" / "bench_wasm.mjs"
    result = subprocess.run(["node", str(script), variant, str(src), str(out),
                             str(BENCH / "config.yaml"), str(WASM_DIR), str(WASM_CALLS)],
                            check=True, capture_output=True, text=True)
    lines = result.stdout.strip().splitlines()[-WASM_CALLS:]
    return [(float(line.split()[0]), float(line.split()[1])) for line in lines]


def main() -> int:
    global BENCH, MLPRESS, WASM_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--bench-dir", type=Path, default=BENCH)
    parser.add_argument("--mlpress", type=Path, default=MLPRESS)
    parser.add_argument("--wasm-dir", type=Path, default=WASM_DIR)
    args = parser.parse_args()
    BENCH, MLPRESS, WASM_DIR = (args.bench_dir.resolve(), args.mlpress.resolve(),
                                args.wasm_dir.resolve())

    src = build_model(args.layers, args.size)
    (BENCH / "config.yaml").write_text(CONFIG)
    zipped = make_zip(src, BENCH / f"{src.stem}.mlpackage.zip", zipfile.ZIP_DEFLATED)
    stored = make_zip(src, BENCH / f"{src.stem}-stored.mlpackage.zip", zipfile.ZIP_STORED)
    mbytes = args.layers * args.size * args.size * 2 / 1e6

    rows = []
    ct_out = BENCH / "ct-out.mlpackage"
    import coremltools  # noqa: F401  (imported once, outside the timing)
    t_ct, cpu_ct = time_it(lambda: run_coremltools(src, ct_out), args.repeat,
                           lambda: remove(ct_out))
    rows.append(("coremltools 9.0 (Python), folder in, folder out", t_ct, cpu_ct))
    native_jobs = (("folder in, folder out", src, BENCH / "native-out.mlpackage"),
                   ("folder in, zip out", src, BENCH / "native-out.mlpackage.zip"),
                   ("stored zip in, zip out", stored, BENCH / "native-out.mlpackage.zip"),
                   ("deflated zip in, zip out", zipped, BENCH / "native-out.mlpackage.zip"))
    for label, job_in, job_out in native_jobs:
        wall, cpu = time_it(lambda: run_native(job_in, job_out), args.repeat,
                            lambda: remove(job_out))
        rows.append((f"mlpress native CLI, {label}", wall, cpu))
    for variant in ("simd", "baseline"):
        if (WASM_DIR / f"mlpress-{variant}.wasm").exists():
            for label, job_in in (("stored zip in", stored), ("deflated zip in", zipped)):
                out = BENCH / f"wasm-{variant}.mlpackage.zip"
                times = [run_wasm(variant, job_in, out) for _ in range(args.repeat)]
                for call, which in ((0, "first call"), (1, "second call, same module")):
                    rows.append((f"mlpress wasm {variant} (Node.js), {label}, zip out, {which}",
                                 statistics.median(t[call][0] for t in times),
                                 statistics.median(t[call][1] for t in times)))
                # Warm: every later call of every module, as coremltools' figure is the median of
                # its calls in one warm Python process (import excluded).
                warm = [call for t in times for call in t[1:]]
                rows.append((f"mlpress wasm {variant} (Node.js), {label}, zip out, warm "
                             f"(calls 2-{WASM_CALLS} of each module)",
                             statistics.median(c[0] for c in warm),
                             statistics.median(c[1] for c in warm)))

    print(f"\n{args.layers} linear layers of {args.size}x{args.size} fp16 "
          f"({mbytes:.1f} MB of weights), int8 per_channel; median of {args.repeat}; "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores\n")
    print("| tool | wall s | MB/s of fp16 input | vs coremltools (wall) | CPU s "
          "| vs coremltools (CPU) |")
    print("|---|---|---|---|---|---|")
    for name, seconds, cpu in rows:
        print(f"| {name} | {seconds:.3f} | {mbytes / seconds:.0f} | {t_ct / seconds:.1f}x "
              f"| {cpu:.3f} | {cpu_ct / cpu:.1f}x |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
