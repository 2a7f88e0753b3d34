"""`mlpress histogram` against numpy: for packages mlpress compressed (quantized, palettized,
pruned, and joint prune+palettize / prune+quantize on iOS18), every compressed weight's
before/after histogram (`--after OUT`) must equal numpy.histogram of the original values and of
coremltools' decompress_weights of the output, count for count.

Exactness: mlpress's edges are np.linspace(lo, hi, bins + 1) in float64 and a value (widened to
double) falls in [edge[i], edge[i+1]) (the last bin closed). numpy computes the same edges when
the data is float64 and the range is given as floats, so the values are passed as float64 (with
float32 data numpy would build float32 edges). lo and hi are the original weight's min and max,
printed by mlpress as round-trip doubles and checked against numpy's min/max."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import fixtures
import harness
import parity

BINS = 37  # edges that are not exact binary fractions of the range


def _cfg(config_type: str, **kw) -> dict:
    return {"config_type": config_type, "global_config": {"weight_threshold": 500, **kw}}


QUANT = _cfg("OpLinearQuantizerConfig", dtype="int8", mode="linear_symmetric",
             granularity="per_channel")
PAL = _cfg("OpPalettizerConfig", nbits=4, mode="kmeans")
PRUNE = _cfg("OpMagnitudePrunerConfig", target_sparsity=0.5)
PAL_UNIFORM = _cfg("OpPalettizerConfig", nbits=4, mode="uniform")

CASES = [
    ("conv_ios16_fp16", "quantize-int8", [QUANT]),
    ("conv_ios16_fp16", "palettize-4", [PAL]),
    ("conv_ios16_fp16", "prune-0.5", [PRUNE]),
    ("linear_ios17_fp32", "palettize-4", [PAL]),
    ("conv_ios18_fp16", "joint-prune-palettize", [PRUNE, PAL_UNIFORM]),
    ("matmul_ios18_fp32", "joint-prune-quantize", [PRUNE, QUANT]),
]


def _values_by_var(package: Path) -> dict[str, np.ndarray]:
    """Every const's value by its output var name (what mlpress names weights by)."""
    _, prog = parity.load_program(package)
    return {op.outputs[0].name: np.asarray(op.outputs[0].val)
            for function in prog.functions.values() for op in parity._walk(function)
            if op.op_type == "const"}


def _numpy_histogram(values: np.ndarray, lo: float, hi: float) -> dict:
    flat = values.astype(np.float64).ravel()
    counts, _ = np.histogram(flat, bins=BINS, range=(lo, hi))
    return {"counts": counts.tolist(), "below": int(np.sum(flat < lo)),
            "above": int(np.sum(flat > hi)), "nan": int(np.sum(np.isnan(flat))),
            "total": int(flat.size)}


def _ours(h: dict) -> dict:
    return {k: h[k] for k in ("counts", "below", "above", "nan", "total")}


@pytest.mark.parametrize("fixture,name,configs", [
    pytest.param(f, n, c, id=f"{f}-{n}") for f, n, c in CASES])
def test_histogram_matches_numpy_of_coremltools_decompress(fixture, name, configs, fixture_dir,
                                                           mlpress, tmp_path):
    src = fixtures.fixture_path(fixture, fixture_dir)
    out = tmp_path / "out.mlpackage"
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"steps": [{"config": c, "joint_compression": i > 0}
                                         for i, c in enumerate(configs)]}))
    run = harness.run_mlpress("compress", src, out, "--config", job, "--json")
    assert run.returncode == 0, harness.describe_run(run)
    compressed = [w["name"] for w in json.loads(run.stdout)["weights"] if w["compressed"]]
    assert compressed, "the config compressed nothing"

    original = _values_by_var(src)
    decompressed = parity.decompressed(out, tmp_path / "ref-decompressed.mlpackage")
    after_values = _values_by_var(tmp_path / "ref-decompressed.mlpackage")
    assert decompressed  # coremltools loaded and decompressed it
    for weight in sorted(set(compressed)):
        run = harness.run_mlpress("histogram", src, weight, "--after", out, "--bins", str(BINS),
                                  "--json")
        assert run.returncode == 0, harness.describe_run(run)
        ours = json.loads(run.stdout)
        before, after = ours["before"], ours["after"]
        values = original[before["weight"]]  # a joint step names the weight as its output
        lo, hi = float(values.min()), float(values.max())
        assert before["range"] == [lo, hi] == after["range"], weight
        assert before["bins"] == after["bins"] == BINS
        assert before["op_type"] == "const" and after["op_type"].startswith("constexpr_"), weight
        # the renamed output (e.g. NAME_palettized) is coremltools' decompressed const's name
        assert after["weight"] in after_values, (weight, after["weight"])
        assert after["shape"] == list(values.shape)
        assert _ours(before) == _numpy_histogram(values, lo, hi), weight
        assert _ours(after) == _numpy_histogram(after_values[after["weight"]], lo, hi), weight
        assert sum(after["counts"]) > 0


@pytest.mark.parametrize("fixture", ["quantized_int8_ios16", "sparse_palettized_ios18"])
def test_histogram_of_an_already_compressed_input(fixture, fixture_dir, mlpress, tmp_path):
    """A weight stored as a constexpr chain in the input is decoded too (default range: its
    own min and max)."""
    src = fixtures.fixture_path(fixture, fixture_dir)
    ref = _values_by_var_decompressed(src, tmp_path)
    names = sorted(set(ref) - set(_values_by_var(src)))  # consts that were constexpr outputs
    assert names
    for weight in names:
        run = harness.run_mlpress("histogram", src, weight, "--bins", str(BINS), "--json")
        assert run.returncode == 0, harness.describe_run(run)
        ours = json.loads(run.stdout)
        values = ref[weight]
        lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        assert ours["range"] == [lo, hi], weight
        assert ours["op_type"].startswith("constexpr_")
        assert _ours(ours) == _numpy_histogram(values, lo, hi), weight


def _values_by_var_decompressed(package: Path, tmp_path: Path) -> dict[str, np.ndarray]:
    parity.decompressed(package, tmp_path / "d.mlpackage")
    return _values_by_var(tmp_path / "d.mlpackage")


def test_histogram_refuses_unknown_weights_and_bad_ranges(fixture_dir, mlpress):
    src = fixtures.fixture_path("conv_ios16_fp16", fixture_dir)
    run = harness.run_mlpress("histogram", src, "no_such_weight")
    assert run.returncode == 1 and 'no const or constexpr output named "no_such_weight"' in run.stderr
    weight = max(((k, v) for k, v in _values_by_var(src).items() if v.dtype.kind == "f"),
                 key=lambda kv: kv[1].size)[0]
    run = harness.run_mlpress("histogram", src, weight, "--range", "1", "0")
    assert run.returncode == 1 and "must be finite with lo < hi" in run.stderr
    run = harness.run_mlpress("histogram", src, weight, "--bins", "0")
    assert run.returncode == 2
