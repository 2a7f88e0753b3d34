"""linear_quantize_weights parity: mlpress and coremltools run the same config on the same
package, and must agree on which weights become which constexpr op, with the same parameter
names, dtypes and shapes, and values that decompress to exactly the same numbers. Where
coremltools raises, mlpress must refuse with an error."""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
import yaml

import fixtures
import harness
import pkg

# Fixtures coremltools can compress (it refuses pipelines and multi-function models).
FULL_FIXTURES = ["conv_ios16_fp16", "conv_ios18_fp16", "linear_ios17_fp32", "matmul_ios18_fp32"]
SOME_FIXTURES = ["conv_ios15_fp32", "conv_ios17_fp16", "conv_transpose_ios16_fp16",
                 "conv_transpose_ios18_fp32", "linear_ios15_fp16", "matmul_ios16_fp16",
                 "gather_ios16_fp16", "gather_ios17_fp32", "shared_const_ios17_fp16",
                 "while_loop_ios15_fp32", "while_loop_ios18_fp16", "mixed_precision_ios17",
                 "small_weights_ios16_fp16", "quantized_int8_ios16"]

GRANULARITIES = [
    {"granularity": "per_tensor"},
    {"granularity": "per_channel"},
    {"granularity": "per_block", "block_size": 16},
    {"granularity": "per_block", "block_size": 32},
    {"granularity": "per_block", "block_size": 64},
]


def _config(mode: str, dtype: str, granularity: dict, threshold: int = 1000) -> dict:
    return {"config_type": "OpLinearQuantizerConfig",
            "global_config": {"mode": mode, "dtype": dtype, "weight_threshold": threshold,
                              **granularity}}


def _full_configs() -> list:
    params = []
    for mode, dtype, gran in itertools.product(["linear_symmetric", "linear"],
                                               ["int8", "uint8", "int4", "uint4"], GRANULARITIES):
        gid = gran["granularity"] + str(gran.get("block_size", ""))
        params.append((f"{mode}-{dtype}-{gid}", _config(mode, dtype, gran)))
    return params


# A few configs that exercise the rest: tuples, precedence, None, default threshold.
EXTRA_CONFIGS = [
    ("default", {"config_type": "OpLinearQuantizerConfig",
                 "global_config": {"weight_threshold": 1000}}),
    ("tuple-block", _config("linear_symmetric", "int8",
                            {"granularity": "per_block", "block_size": [1, 0, 0, 0]})),
    ("op-type-none", {"config_type": "OpLinearQuantizerConfig",
                      "global_config": {"weight_threshold": 100},
                      "op_type_configs": {"linear": None, "matmul": None,
                                          "conv": {"dtype": "uint8", "weight_threshold": 100}}}),
    ("default-threshold", {"config_type": "OpLinearQuantizerConfig",
                           "global_config": {"dtype": "int8"}}),
]


def _params() -> list:
    params = []
    for fixture in FULL_FIXTURES:
        for cid, cfg in _full_configs() + EXTRA_CONFIGS:
            params.append(pytest.param(fixture, cfg, id=f"{fixture}-{cid}"))
    small = [c for c in _full_configs() if c[0] in (
        "linear_symmetric-int8-per_channel", "linear-uint8-per_tensor",
        "linear_symmetric-int4-per_block32", "linear-uint4-per_block16")] + EXTRA_CONFIGS[:3]
    for fixture in SOME_FIXTURES:
        for cid, cfg in small:
            params.append(pytest.param(fixture, cfg, id=f"{fixture}-{cid}"))
    return params


def _reference(src: Path, cfg: dict, out: Path):
    """coremltools' result for `cfg` on `src`: the saved package, or the exception it raised."""
    import coremltools as ct
    model = ct.models.MLModel(str(src), skip_model_load=True)
    config = ct.optimize.coreml.OptimizationConfig.from_dict(cfg)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compressed = ct.optimize.coreml.linear_quantize_weights(model, config)
    except Exception as error:  # noqa: BLE001 - any refusal is a refusal
        return error
    compressed.save(str(out))
    return out


def _walk(block):
    for op in block.operations:
        yield op
        for inner in getattr(op, "blocks", []):
            yield from _walk(inner)


def _constexprs(package: Path) -> dict[str, dict]:
    """Every constexpr op by output name: type, parameters (dtype, shape) and decoded value."""
    import coremltools as ct
    from coremltools.converters.mil.frontend.milproto import load as milproto
    from coremltools.converters.mil.mil import types
    model = ct.models.MLModel(str(package), skip_model_load=True)
    spec = model.get_spec()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        prog = milproto.load(spec, spec.specificationVersion, model.weights_dir)
    found = {"spec_version": spec.specificationVersion}
    for fname, function in prog.functions.items():
        for op in _walk(function):
            if not op.op_type.startswith("constexpr_"):
                continue
            params = {name: (types.builtin_to_string(var.dtype), tuple(var.shape))
                      for name, var in op.inputs.items() if var is not None}
            value = op.materialized_val_inference()
            found[f"{fname}/{op.outputs[0].name}"] = {
                "type": op.op_type, "params": params, "value": np.asarray(value),
                "opset": function.opset_version}
    return found


REAL_CONFIGS = [
    ("int8-per-channel", {"config_type": "OpLinearQuantizerConfig",
                          "global_config": {"dtype": "int8", "weight_threshold": 1000}}),
    ("uint8-linear-per-tensor", _config("linear", "uint8", {"granularity": "per_tensor"})),
]


def _real_params() -> list:
    cases = harness.real_cases()
    if not cases:
        return [pytest.param(None, None, id="real", marks=pytest.mark.skip(reason=harness.REAL_MISSING))]
    return [pytest.param(case, cfg, id=f"{case.id}-{cid}") for case in cases for cid, cfg in REAL_CONFIGS]


@pytest.mark.parametrize("case,cfg", _real_params())
def test_linear_quantize_real_packages_match_coremltools(case, cfg, mlpress, tmp_path):
    """The real packages, given to mlpress as they are (dir or zip); coremltools reads the
    extracted directory."""
    src = pkg.extract_package(case.path, tmp_path / "src") if case.is_zip else case.path
    _check_against_coremltools(case.path, src, cfg, tmp_path)


@pytest.mark.parametrize("fixture,cfg", _params())
def test_linear_quantize_matches_coremltools(fixture, cfg, fixture_dir, mlpress, tmp_path):
    src = fixtures.fixture_path(fixture, fixture_dir)
    _check_against_coremltools(src, src, cfg, tmp_path)


def _check_against_coremltools(given: Path, src: Path, cfg: dict, tmp_path: Path) -> None:
    """mlpress on `given` and coremltools on `src` (the same package as a directory)."""
    ref = _reference(src, cfg, tmp_path / "ref.mlpackage")
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(cfg))
    out = tmp_path / "out.mlpackage"
    run = harness.run_mlpress("compress", given, out, "--config", config_file)
    if isinstance(ref, Exception):
        assert run.returncode == 1, (f"coremltools raised {ref!r} but mlpress succeeded\n"
                                     + harness.describe_run(run))
        assert "mlpress: error: " in run.stderr
        assert not out.exists()
        return
    assert run.returncode == 0, harness.describe_run(run)
    expected = _constexprs(ref)
    actual = _constexprs(out)
    assert sorted(actual) == sorted(expected), "different weights were compressed"
    assert actual.pop("spec_version") == expected.pop("spec_version"), "specification versions differ"
    for name, want in expected.items():
        got = actual[name]
        assert got["type"] == want["type"], name
        assert got["params"] == want["params"], name
        assert got["value"].dtype == want["value"].dtype, name
        assert np.array_equal(got["value"], want["value"], equal_nan=True), (
            f"{name}: decoded values differ in "
            f"{int(np.sum(got['value'] != want['value']))} places")
