#!/usr/bin/env python3
"""Builds a test model with many weights, for the page's progress, cancel and folder tests.

A chain of LAYERS linear layers of WIDTH x WIDTH fp16 weights (random, fixed seed), converted by
coremltools to an iOS16 ML Program. Writes OUT_DIR/many_weights.mlpackage (the package folder)
and OUT_DIR/many_weights.mlpackage.zip (the same package, zipped under one top folder).

    python3 tests/e2e/make_many_weights.py OUT_DIR [--layers 40] [--width 384]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np

ZIP_EPOCH = (1980, 1, 1, 0, 0, 0)


def build(layers: int, width: int):
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb

    rng = np.random.default_rng(20261127)
    weights = [(rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float16).astype(np.float32)
               for _ in range(layers)]

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, width))], opset_version=ct.target.iOS16)
    def prog(x):
        for i, w in enumerate(weights):
            x = mb.linear(x=x, weight=w, name=f"layer{i:03d}")
        return x

    return ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS16,
                      compute_precision=ct.precision.FLOAT16)


def zip_dir(package: Path, out: Path) -> None:
    top = out.name.removesuffix(".zip")
    with zipfile.ZipFile(out, "w") as zf:
        for path in sorted(package.rglob("*")):
            name = f"{top}/{path.relative_to(package).as_posix()}"
            info = zipfile.ZipInfo(name + ("/" if path.is_dir() else ""), date_time=ZIP_EPOCH)
            info.create_system = 3
            if path.is_dir():
                info.external_attr = (0o40755 << 16) | 0x10
                zf.writestr(info, b"")
            else:
                info.external_attr = 0o100644 << 16
                info.compress_type = zipfile.ZIP_STORED
                zf.writestr(info, path.read_bytes())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--layers", type=int, default=40)
    parser.add_argument("--width", type=int, default=384)
    args = parser.parse_args(argv)
    args.out_dir.mkdir(parents=True, exist_ok=True)
    package = args.out_dir / "many_weights.mlpackage"
    if package.exists():
        shutil.rmtree(package)
    build(args.layers, args.width).save(str(package))
    zip_dir(package, args.out_dir / "many_weights.mlpackage.zip")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
