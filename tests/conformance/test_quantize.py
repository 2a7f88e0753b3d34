"""linear_quantize_weights parity: mlpress and coremltools run the same config on the same
package, and must agree on which weights become which constexpr op, with the same parameter
names, dtypes and shapes, and values that decompress to exactly the same numbers. Where
coremltools raises, mlpress must refuse with an error."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

import fixtures
import harness
import parity
import pkg

# Fixtures coremltools can compress (it refuses pipelines and multi-function models).
# Every fixture coremltools can compress gets the full matrix (it refuses pipelines and
# multi-function models, which mlpress compresses; see test_lossless for those).
FULL_FIXTURES = ["conv_ios16_fp16", "conv_ios18_fp16", "linear_ios17_fp32", "matmul_ios18_fp32",
                 "conv_ios15_fp32", "conv_ios17_fp16", "conv_transpose_ios16_fp16",
                 "conv_transpose_ios18_fp32", "linear_ios15_fp16", "matmul_ios16_fp16",
                 "gather_ios16_fp16", "gather_ios17_fp32", "shared_const_ios17_fp16",
                 "while_loop_ios15_fp32", "while_loop_ios18_fp16", "mixed_precision_ios17",
                 "small_weights_ios16_fp16", "quantized_int8_ios16"]
# CoreML9 (iOS26) programs get the iOS18 ops: a subset of the matrix there.
SOME_FIXTURES: list[str] = ["conv_ios26_fp16", "matmul_ios26_fp32"]

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
        "linear_symmetric-int4-per_block32", "linear-uint4-per_block16",
        "linear-int8-per_block64", "linear_symmetric-uint4-per_channel")] + EXTRA_CONFIGS[:3]
    for fixture in SOME_FIXTURES:
        for cid, cfg in small:
            params.append(pytest.param(fixture, cfg, id=f"{fixture}-{cid}"))
    return params


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
    ref, out = parity.run_both("linear_quantize_weights", given, src, cfg, tmp_path)
    if out is None:
        return
    parity.assert_same_constexprs(ref, out)
