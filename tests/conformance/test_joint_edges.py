"""Joint compression at the edges of what coremltools 9.0 does (docs/status.md #5), against its
chained calls with joint_compression=True as in test_joint.py:

- pruning a chain whose constexpr is not the chain's end (a LUT's shift_scale): coremltools'
  joint prune visits constexpr_blockwise_shift_scale and constexpr_lut_to_dense ops only, passes
  over one that feeds another constexpr, and crashes (AttributeError) materializing a
  lut_to_dense whose LUT is a shift_scale; mlpress leaves the first and refuses the second;
- quantize -> palettize with vectors or a per-channel scale: coremltools fails (UFuncTypeError
  dividing the int32 codes; its LUT canonicalization on save for vectors before iOS26), mlpress
  refuses; on iOS26 vectors are kept as lut_to_dense(vector_axis) -> shift_scale;
- int8 codes palettized uniformly: computed in int32 (no int8 wrap-around);
- pruned int8/uint8 tables palettized jointly (cast to int32, LUT truncated to the table's
  dtype), or quantized (coremltools fails on integer values, or skips an int8 payload whose
  max - min wraps below 2)."""

from __future__ import annotations

import numpy as np
import pytest

import harness
import parity
from test_joint import (_cfg, both, decoded, palettize, prune, quantize, reference, run_job,
                        same_structure, steps_of, unique)

EXACT = [
    ("conv_ios18_fp16", "quantize-palettize-uniform4", steps_of(quantize(), palettize(4))),
    ("matmul_ios18_fp32", "quantize-palettize-uniform2", steps_of(quantize(), palettize(2))),
    ("conv_ios18_fp16", "prune-palettize-quantize-lut-prune",
     steps_of(prune(0.5), palettize(4), quantize(granularity="per_tensor"), prune(0.3))),
    ("while_loop_ios18_fp16", "prune-palettize-quantize-lut-prune",
     steps_of(prune(0.5), palettize(4), quantize(granularity="per_tensor"), prune(0.3))),
]


@pytest.mark.parametrize("fixture,steps", [pytest.param(f, s, id=f"{f}-{n}") for f, n, s in EXACT])
def test_joint_edges_match_coremltools(fixture, steps, fixture_dir, mlpress, tmp_path):
    src, ref, out, run = both(fixture, steps, fixture_dir, tmp_path)
    assert not isinstance(ref, Exception), ref
    assert run.returncode == 0, harness.describe_run(run)
    same_structure(ref, out)
    want, got = decoded(ref, tmp_path / "ref_d.mlpackage"), decoded(out, tmp_path / "out_d.mlpackage")
    assert want and sorted(got) == sorted(want)
    for name in want:
        assert np.array_equal(got[name], want[name]), (
            f"{name}: {int(np.sum(got[name] != want[name]))} values differ")


REFUSED = [
    ("conv_ios18_fp16", steps_of(palettize(4, enable_per_channel_scale=True), prune(0.3)),
     "LUT is quantized or scaled"),
    ("matmul_ios18_fp32", steps_of(quantize(), unique(), prune(0.3)),
     "LUT is quantized or scaled"),
    ("conv_ios18_fp16", steps_of(quantize(), palettize(4, "kmeans",
                                                      enable_per_channel_scale=True)),
     "enable_per_channel_scale"),
    ("conv_ios18_fp16", steps_of(quantize(granularity="per_tensor"),
                                 palettize(4, "kmeans", cluster_dim=2)), "cluster_dim > 1"),
    ("conv_ios26_fp16", steps_of(quantize(), palettize(4, "kmeans",
                                                      enable_per_channel_scale=True)),
     "enable_per_channel_scale"),
    ("matmul_ios18_fp32", steps_of(quantize(), palettize(2, "kmeans", cluster_dim=2)),
     "cluster_dim > 1"),
]


@pytest.mark.parametrize("fixture,steps,words", [
    pytest.param(f, s, w, id=f"{f}-{i}") for i, (f, s, w) in enumerate(REFUSED)])
def test_joint_edges_refused(fixture, steps, words, fixture_dir, mlpress, tmp_path):
    src, ref, out, run = both(fixture, steps, fixture_dir, tmp_path)
    assert isinstance(ref, Exception), "coremltools accepted this job"
    assert run.returncode == 1, harness.describe_run(run)
    assert "mlpress: error: " in run.stderr and words in run.stderr, run.stderr
    assert not out.exists()


# --- int8 / uint8 tables (COMPRESSION.md §2.2) ----------------------------------------------------
# test_prune.py's gather tables: "wide" spans most of each dtype (int8 differences wrap in
# numpy's int8 arithmetic), "narrow" holds small values.

@pytest.fixture(scope="module")
def int_tables(tmp_path_factory):
    import test_prune
    root = tmp_path_factory.mktemp("int-tables")
    return {label: test_prune._int_package(root / f"{label}.mlpackage", "iOS18", spread)
            for label, spread in (("wide", 40.0), ("narrow", 2.0))}


def _int(config_type, **kw):
    return _cfg(config_type, **{"weight_threshold": 1000, **kw})


INT_STEPS = [
    ("prune-unique", steps_of(_int("OpMagnitudePrunerConfig", target_sparsity=0.5),
                              _int("OpPalettizerConfig", mode="unique"))),
    ("prune-uniform4", steps_of(_int("OpMagnitudePrunerConfig", target_sparsity=0.5),
                                _int("OpPalettizerConfig", nbits=4, mode="uniform"))),
    ("prune-uniform2", steps_of(_int("OpMagnitudePrunerConfig", target_sparsity=0.3),
                                _int("OpPalettizerConfig", nbits=2, mode="uniform"))),
    ("prune-uniform3-grouped", steps_of(
        _int("OpMagnitudePrunerConfig", target_sparsity=0.5),
        _int("OpPalettizerConfig", nbits=3, mode="uniform", granularity="per_grouped_channel",
             group_size=8))),
    ("prune-quantize", steps_of(_int("OpMagnitudePrunerConfig", target_sparsity=0.5),
                                _int("OpLinearQuantizerConfig"))),
    ("prune-palettize-vector", steps_of(
        _int("OpMagnitudePrunerConfig", target_sparsity=0.5),
        _int("OpPalettizerConfig", nbits=2, mode="kmeans", cluster_dim=2))),
]
INT_REFUSED = {"prune-quantize", "prune-palettize-vector"}


@pytest.mark.parametrize("table", ["wide", "narrow"])
@pytest.mark.parametrize("name,steps", [pytest.param(n, s, id=n) for n, s in INT_STEPS])
def test_pruned_int_tables_jointly(table, name, steps, int_tables, mlpress, tmp_path):
    src = int_tables[table]
    ref = reference(src, steps, tmp_path / "ref.mlpackage")
    out = tmp_path / "out.mlpackage"
    run = run_job(src, steps, out, tmp_path)
    if name in INT_REFUSED:
        assert isinstance(ref, Exception), "coremltools accepted this job"
        assert run.returncode == 1, f"coremltools raised {ref!r}\n" + harness.describe_run(run)
        assert "mlpress: error: " in run.stderr and not out.exists()
        return
    assert not isinstance(ref, Exception), ref
    assert run.returncode == 0, harness.describe_run(run)
    same_structure(ref, out)
    expected = {k: v for k, v in parity.constexprs(ref).items() if k != "spec_version"}
    actual = parity.constexprs(out)
    luts = [v for v in expected.values() if v["type"] == "constexpr_lut_to_sparse"]
    assert len(luts) == 2, "coremltools palettized fewer than both tables: the case tests less"
    for op, want in expected.items():
        assert want["value"].dtype.kind in "iu", op
        assert actual[op]["value"].dtype == want["value"].dtype, op
        assert np.array_equal(actual[op]["value"], want["value"]), f"{op}: values differ"


@pytest.mark.parametrize("table", ["wide", "narrow"])
def test_pruned_int_tables_kmeans_no_worse(table, int_tables, mlpress, tmp_path):
    src = int_tables[table]
    steps = steps_of(_int("OpMagnitudePrunerConfig", target_sparsity=0.5),
                     _int("OpPalettizerConfig", nbits=4, mode="kmeans"))
    ref = reference(src, steps, tmp_path / "ref.mlpackage")
    assert not isinstance(ref, Exception), ref
    out = tmp_path / "out.mlpackage"
    run = run_job(src, steps, out, tmp_path)
    assert run.returncode == 0, harness.describe_run(run)
    same_structure(ref, out)
    pruned = tmp_path / "pruned.mlpackage"
    assert run_job(src, steps[:1], pruned, tmp_path).returncode == 0
    dense = parity.decompressed(pruned, tmp_path / "pruned_d.mlpackage")
    want = parity.decompressed(ref, tmp_path / "ref_d.mlpackage")
    got = parity.decompressed(out, tmp_path / "out_d.mlpackage")
    compared = 0
    for name, value in dense.items():
        if value.dtype.kind not in "iu" or value.ndim < 2:
            continue
        assert got[name].dtype == want[name].dtype == value.dtype, name

        def err(v):
            return float(np.sum((v.astype(np.float64) - value.astype(np.float64)) ** 2))
        assert err(got[name]) <= err(want[name]) * (1 + 1e-9), (name, err(got[name]),
                                                                err(want[name]))
        compared += 1
    assert compared == 2


def _int8_only_package(path, spread: float):
    """One int8 gather table (iOS18): with spread 40 its max - min exceeds 127, which wraps
    negative in numpy's int8 arithmetic, so coremltools' linear quantization takes it for a mask
    and skips it; with spread 2 it fails on it."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types
    rng = np.random.default_rng(7)
    table = np.clip(np.round(rng.standard_normal((64, 32)) * spread), -128, 127).astype(np.int8)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 8), dtype=types.int32)],
                opset_version=ct.target.iOS18)
    def prog(ids):
        return mb.cast(x=mb.gather(x=table, indices=ids, axis=0, name="g8"), dtype="fp16")

    ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18,
               compute_precision=ct.precision.FLOAT16).save(str(path))
    return path


@pytest.mark.parametrize("spread", [40.0, 2.0])
@pytest.mark.parametrize("joint", [False, True], ids=["plain", "pruned-first"])
def test_int8_quantize_mask_rule(spread, joint, mlpress, tmp_path):
    src = _int8_only_package(tmp_path / "int8.mlpackage", spread)
    quant = _int("OpLinearQuantizerConfig")
    steps = (steps_of(_int("OpMagnitudePrunerConfig", target_sparsity=0.3), quant) if joint
             else [{"config": quant, "joint_compression": False}])
    ref = reference(src, steps, tmp_path / "ref.mlpackage")
    out = tmp_path / "out.mlpackage"
    run = run_job(src, steps, out, tmp_path)
    if spread < 10:
        assert isinstance(ref, Exception), "coremltools quantized an int8 table"
        assert run.returncode == 1 and "Only floating" in run.stderr, harness.describe_run(run)
        return
    assert not isinstance(ref, Exception), ref
    assert run.returncode == 0, harness.describe_run(run)
    same_structure(ref, out)
    import json
    reasons = [w["reason"] for w in json.loads(run.stdout)["weights"]
               if w["step"] == len(steps) and not w["compressed"]]
    assert any("below 2" in r for r in reasons), reasons


@pytest.mark.parametrize("table", ["wide", "narrow"])
@pytest.mark.parametrize("nbits,mode", [(4, "uniform"), (2, "uniform"), (None, "unique")])
def test_int_tables_palettized_in_joint_step(table, nbits, mode, int_tables, mlpress, tmp_path):
    """A plain int8/uint8 const palettized by a joint step: coremltools casts it to int32 first
    (no int8 wrap-around, unlike the same call without joint_compression)."""
    src = int_tables[table]
    cfg = _int("OpPalettizerConfig", mode=mode, **({"nbits": nbits} if nbits else {}))
    steps = steps_of(cfg, joint_first=True)
    ref = reference(src, steps, tmp_path / "ref.mlpackage")
    assert not isinstance(ref, Exception), ref
    out = tmp_path / "out.mlpackage"
    run = run_job(src, steps, out, tmp_path)
    assert run.returncode == 0, harness.describe_run(run)
    parity.assert_same_constexprs(ref, out)
    expected = {k: v for k, v in parity.constexprs(ref).items() if k != "spec_version"}
    assert len(expected) == 2, "coremltools palettized fewer than both tables"


@pytest.mark.parametrize("fixture,steps", [
    pytest.param("matmul_ios26_fp32", steps_of(quantize(), palettize(2, "kmeans", cluster_dim=2)),
                 id="matmul_ios26_fp32-per-channel"),
    pytest.param("conv_ios26_fp16", steps_of(quantize(granularity="per_tensor"),
                                             palettize(2, "kmeans", cluster_dim=2)),
                 id="conv_ios26_fp16-per-tensor")])
def test_quantized_codes_vector_palettized_ios26(fixture, steps, fixture_dir, mlpress, tmp_path):
    """CoreML9 keeps palettized codes as lut_to_dense(int8 vector LUT, vector_axis) ->
    shift_scale, which coremltools saves (before iOS26 it fails, see REFUSED): the same ops, and
    vector k-means of the codes no worse than coremltools' against the quantized weight over
    the model (both are local optima: a single weight may come out up to 2% worse)."""
    src, ref, out, run = both(fixture, steps, fixture_dir, tmp_path)
    assert not isinstance(ref, Exception), ref
    assert run.returncode == 0, harness.describe_run(run)
    same_structure(ref, out)
    quantized = tmp_path / "quantized.mlpackage"
    assert run_job(src, steps[:1], quantized, tmp_path).returncode == 0
    codes = decoded(quantized, tmp_path / "q_d.mlpackage")
    want, got = decoded(ref, tmp_path / "ref_d.mlpackage"), decoded(out, tmp_path / "out_d.mlpackage")
    assert want and sorted(got) == sorted(want) == sorted(codes)
    total_got = total_want = 0.0
    for name, value in codes.items():
        def err(v):
            return float(np.sum((v.astype(np.float64) - value.astype(np.float64)) ** 2))
        assert err(got[name]) <= err(want[name]) * 1.02, (name, err(got[name]), err(want[name]))
        total_got, total_want = total_got + err(got[name]), total_want + err(want[name])
    assert total_got <= total_want * (1 + 1e-6), (total_got, total_want)
