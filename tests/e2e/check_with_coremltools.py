#!/usr/bin/env python3
"""Checks a package the page compressed against coremltools applying the same job.

    python3 tests/e2e/check_with_coremltools.py ORIGINAL.mlpackage.zip OUTPUT.mlpackage.zip JOB

JOB is the job the page ran, as YAML or JSON: {"steps": [{"config": {...},
"joint_compression": bool}]}, or a single coremltools config (one step).
coremltools loads OUTPUT (spec and MIL program), then runs its own calls on ORIGINAL, one per
step in order (prune_weights / palettize_weights / linear_quantize_weights with the step's
joint_compression), and the two results must have:

- the same specification version;
- the same constexpr ops (output names, types, parameter dtypes and shapes, and the op inputs
  they feed); the page's other ops must be the original's (coremltools' are not compared: it
  runs its conversion passes again on every call, which rewrite some ops and rename consts);
- after coremltools' decompress_weights, the same weights: bit-equal, except weights decoded
  through a lookup table (k-means palettization, where mlpress's clustering is optimal and
  coremltools' is not), which must have the same zeros and an error against the original
  weights no larger than coremltools' own.

Prints a one-line JSON summary; exits 1 with the first difference.
"""

from __future__ import annotations

import collections
import contextlib
import io
import json
import sys
import tempfile
import warnings
import zipfile
from pathlib import Path

import numpy as np

API = {"OpLinearQuantizerConfig": "linear_quantize_weights",
       "OpPalettizerConfig": "palettize_weights",
       "OpMagnitudePrunerConfig": "prune_weights",
       "OpThresholdPrunerConfig": "prune_weights"}
LUT_OPS = {"constexpr_lut_to_dense", "constexpr_lut_to_sparse"}


def unzip(archive: Path, into: Path) -> Path:
    with zipfile.ZipFile(archive) as zf:
        zf.extractall(into)
    [package] = [p for p in into.iterdir() if p.suffix == ".mlpackage"]
    return package


def walk(block):
    for op in block.operations:
        yield op
        for inner in getattr(op, "blocks", []):
            yield from walk(inner)


def program(ct, package: Path):
    from coremltools.converters.mil.frontend.milproto import load as milproto
    model = ct.models.MLModel(str(package), skip_model_load=True)
    spec = model.get_spec()
    return spec.specificationVersion, milproto.load(spec, spec.specificationVersion,
                                                    model.weights_dir)


def structure(ct, package: Path):
    """(spec version, the ops that are neither const nor constexpr as (function, type, output
    name) in order, the constexpr ops by function/output name with their parameter dtypes and
    shapes and what their output feeds, the names of the weights decoded through a LUT)."""
    from coremltools.converters.mil.mil import types
    version, prog = program(ct, package)
    ops = []
    constexprs = {}
    via_lut = set()
    for fname, function in prog.functions.items():
        for op in walk(function):
            name = op.outputs[0].name if op.outputs else op.name
            if op.op_type == "const":
                continue
            if not op.op_type.startswith("constexpr_"):
                ops.append((fname, op.op_type, name))
                continue
            feeds = sorted(f"{c.op_type}.{param}" for c in op.outputs[0].child_ops
                           for param, var in c.inputs.items() if var is op.outputs[0])
            constexprs[f"{fname}/{name}"] = (op.op_type, feeds, {
                k: (types.builtin_to_string(v.dtype), tuple(v.shape))
                for k, v in op.inputs.items() if v is not None})
            if op.op_type in LUT_OPS:
                # The weight this chain ends in: follow the constexpr consumers.
                end = op
                while end.outputs[0].child_ops and all(
                        c.op_type.startswith("constexpr_") for c in end.outputs[0].child_ops):
                    end = end.outputs[0].child_ops[0]
                via_lut.add(f"{fname}/{end.outputs[0].name}")
    return version, ops, constexprs, via_lut


def decoded(ct, package: Path, out: Path) -> dict[str, np.ndarray]:
    """Every weight (const of rank >= 2, float) after coremltools' decompress_weights, by
    function/output name."""
    model = ct.optimize.coreml.decompress_weights(ct.models.MLModel(str(package),
                                                                      skip_model_load=True))
    model.save(str(out))
    _, prog = program(ct, out)
    return {f"{fname}/{op.outputs[0].name}": np.asarray(op.outputs[0].val)
            for fname, function in prog.functions.items() for op in walk(function)
            if op.op_type == "const" and np.ndim(op.outputs[0].val) >= 2
            and np.asarray(op.outputs[0].val).dtype.kind == "f"}


def reference(ct, original: Path, steps: list[dict], out: Path) -> Path:
    model = ct.models.MLModel(str(original), skip_model_load=True)
    for step in steps:
        config = step["config"]
        model = getattr(ct.optimize.coreml, API[config["config_type"]])(
            model, ct.optimize.coreml.OptimizationConfig.from_dict(config),
            joint_compression=bool(step.get("joint_compression", False)))
    model.save(str(out))
    return out


def original_name(name: str) -> str:
    """The weight's name before compression: a chain's output is named after it, plus a suffix
    per compression."""
    suffixes = ("_palettized", "_quantized", "_sparsified")
    while name.endswith(suffixes):
        name = name[: name.rindex("_")]
    return name


def squared_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum((a.astype(np.float64) - b.astype(np.float64)) ** 2))


def check(original_zip: Path, output_zip: Path, job: dict) -> dict:
    with contextlib.redirect_stderr(io.StringIO()):
        import coremltools as ct
    with tempfile.TemporaryDirectory() as tmp_name, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tmp = Path(tmp_name)
        original = unzip(original_zip, tmp / "original")
        output = unzip(output_zip, tmp / "output")
        ref = reference(ct, original, job["steps"], tmp / "ref.mlpackage")

        version, ops, constexprs, via_lut = structure(ct, output)
        ref_version, _, ref_constexprs, ref_via_lut = structure(ct, ref)
        _, original_ops, original_constexprs, _ = structure(ct, original)
        if version != ref_version:
            raise AssertionError(f"specification version {version}, coremltools {ref_version}")
        # coremltools runs its conversion passes again on every call (they rewrite the gather's
        # index handling and rename consts), so its other ops are not comparable; the page's
        # output must keep the original's.
        if ops != original_ops:
            raise AssertionError("the ops other than const and constexpr changed")
        if original_constexprs:
            raise AssertionError("the original model is already compressed")
        if constexprs != ref_constexprs:
            diff = sorted(k for k in set(constexprs) | set(ref_constexprs)
                          if constexprs.get(k) != ref_constexprs.get(k))
            raise AssertionError(f"constexpr ops differ from coremltools': {diff}")
        if via_lut != ref_via_lut:
            raise AssertionError(f"palettized weights differ: {sorted(via_lut ^ ref_via_lut)}")

        dense = decoded(ct, original, tmp / "dense.mlpackage")
        got = decoded(ct, output, tmp / "got.mlpackage")
        want = decoded(ct, ref, tmp / "want.mlpackage")
        if sorted(got) != sorted(want):
            raise AssertionError(f"decoded weights differ: {sorted(set(got) ^ set(want))}")
        exact = lut = 0
        for name, value in want.items():
            if name not in via_lut:
                if not np.array_equal(got[name], value, equal_nan=True):
                    raise AssertionError(f"{name}: decoded values differ from coremltools'")
                exact += 1
                continue
            if not np.array_equal(got[name] == 0, value == 0):
                raise AssertionError(f"{name}: zeros differ from coremltools'")
            source = dense.get(original_name(name))
            if source is None:
                raise AssertionError(f"{name}: no original weight to measure the error against")
            mine, theirs = squared_error(got[name], source), squared_error(value, source)
            if mine > theirs * (1 + 1e-6) + 1e-12:
                raise AssertionError(f"{name}: squared error {mine} > coremltools' {theirs}")
            lut += 1
        constexpr_types = collections.Counter(t for t, _, _ in constexprs.values())
        return {"spec_version": version, "ops": len(ops), "exact": exact,
                "palettized": lut, "constexpr": dict(sorted(constexpr_types.items()))}


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    import yaml
    original, output = Path(argv[0]), Path(argv[1])
    job = yaml.safe_load(Path(argv[2]).read_text())
    if "steps" not in job:
        job = {"steps": [{"config": job}]}
    try:
        summary = check(original, output, job)
    except AssertionError as error:
        print(f"check_with_coremltools: {error}", file=sys.stderr)
        return 1
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
