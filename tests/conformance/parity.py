"""Shared pieces of the parity tests: run coremltools' own compression call on a package, and
describe every constexpr op of a package (type, parameter dtypes and shapes, decoded value)."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

import harness
import yaml


def reference(api: str, src: Path, cfg: dict, out: Path):
    """coremltools' result of `api` (e.g. "palettize_weights") for `cfg` on `src`: the saved
    package, or the exception it raised."""
    import coremltools as ct
    model = ct.models.MLModel(str(src), skip_model_load=True)
    config = ct.optimize.coreml.OptimizationConfig.from_dict(cfg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compressed = getattr(ct.optimize.coreml, api)(model, config)
    except Exception as error:  # noqa: BLE001 - any refusal is a refusal
        return error
    compressed.save(str(out))
    return out


def _walk(block):
    for op in block.operations:
        yield op
        for inner in getattr(op, "blocks", []):
            yield from _walk(inner)


def load_program(package: Path):
    import coremltools as ct
    from coremltools.converters.mil.frontend.milproto import load as milproto
    model = ct.models.MLModel(str(package), skip_model_load=True)
    spec = model.get_spec()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return spec, milproto.load(spec, spec.specificationVersion, model.weights_dir)


def constexprs(package: Path) -> dict[str, dict]:
    """Every constexpr op by function/output name, plus "spec_version"."""
    from coremltools.converters.mil.mil import types
    spec, prog = load_program(package)
    found: dict = {"spec_version": spec.specificationVersion}
    for fname, function in prog.functions.items():
        for op in _walk(function):
            if not op.op_type.startswith("constexpr_"):
                continue
            params = {name: (types.builtin_to_string(var.dtype), tuple(var.shape))
                      for name, var in op.inputs.items() if var is not None}
            try:
                value = op.materialized_val_inference()
            except AttributeError:
                value = None  # fed by another constexpr: see decompressed()
            if isinstance(value, tuple):
                value = value[-1]
            found[f"{fname}/{op.outputs[0].name}"] = {
                "type": op.op_type, "params": params, "value": np.asarray(value)}
    return found


def const_values(package: Path) -> dict[str, np.ndarray]:
    """Every const op's value by function/op name."""
    _, prog = load_program(package)
    return {f"{fname}/{op.name}": np.asarray(op.outputs[0].val)
            for fname, function in prog.functions.items() for op in _walk(function)
            if op.op_type == "const"}


def run_both(api: str, given: Path, src: Path, cfg: dict, tmp_path: Path):
    """Runs coremltools on `src` and mlpress on `given` (the same package, maybe zipped).
    Returns (reference result, mlpress output path or None when both refused)."""
    ref = reference(api, src, cfg, tmp_path / "ref.mlpackage")
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out.mlpackage"
    run = harness.run_mlpress("compress", given, out, "--config", config_file)
    if isinstance(ref, Exception):
        assert run.returncode == 1, (f"coremltools raised {ref!r} but mlpress succeeded\n"
                                     + harness.describe_run(run))
        assert "mlpress: error: " in run.stderr
        assert not out.exists()
        return ref, None
    assert run.returncode == 0, harness.describe_run(run)
    return ref, out


def decompressed(package: Path, out: Path) -> dict[str, np.ndarray]:
    """coremltools' decompress_weights of `package`: every constexpr chain as the const it
    decodes to, by function/name (the name of the chain's final output)."""
    import coremltools as ct
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = ct.optimize.coreml.decompress_weights(ct.models.MLModel(str(package),
                                                                          skip_model_load=True))
    model.save(str(out))
    return const_values(out)


def assert_same_constexprs(ref: Path, out: Path) -> None:
    """The same constexpr ops (names, types, parameter dtypes and shapes) decoding to exactly
    the same values, and the same specification version."""
    expected, actual = constexprs(ref), constexprs(out)
    assert actual.pop("spec_version") == expected.pop("spec_version"), "specification versions differ"
    assert sorted(actual) == sorted(expected), "different weights were compressed"
    for name, want in expected.items():
        got = actual[name]
        assert got["type"] == want["type"], name
        assert got["params"] == want["params"], name
        assert got["value"].dtype == want["value"].dtype, name
        assert np.array_equal(got["value"], want["value"], equal_nan=True), (
            f"{name}: decoded values differ in {int(np.sum(got['value'] != want['value']))} places")
