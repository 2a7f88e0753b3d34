"""prune_weights parity: the same pruner config on the same package through mlpress and
coremltools must prune the same weights into the same constexpr_sparse_to_dense ops
(parameter dtypes and shapes) that decode to exactly the same values. Where coremltools
raises, mlpress refuses."""

from __future__ import annotations

import copy

import pytest

import fixtures
import harness
import int_table_packages
import parity

FIXTURES = ["conv_ios16_fp16", "conv_ios18_fp16", "linear_ios17_fp32", "matmul_ios18_fp32",
            "conv_transpose_ios18_fp32", "gather_ios16_fp16", "while_loop_ios15_fp32"]


def _magnitude(**kw) -> dict:
    return {"config_type": "OpMagnitudePrunerConfig",
            "global_config": {"weight_threshold": 1000, **kw}}


CONFIGS = [(f"sparsity-{s}", _magnitude(target_sparsity=s)) for s in (0.0, 0.3, 0.5, 0.75, 1.0)]
CONFIGS += [(f"block-{b}-dim{d}", _magnitude(target_sparsity=0.5, block_size=b, dim=d))
            for b in (2, 4, 8) for d in (0, 1)]
CONFIGS += [(f"nm-{n}-{m}-dim{d}", _magnitude(n_m_ratio=[n, m], dim=d))
            for n, m in ((1, 2), (2, 4), (4, 8)) for d in (0, 1)]
CONFIGS += [
    ("threshold-0.05", {"config_type": "OpThresholdPrunerConfig",
                        "global_config": {"threshold": 0.05, "minimum_sparsity_percentile": 0.2,
                                          "weight_threshold": 1000}}),
    ("threshold-default", {"config_type": "OpThresholdPrunerConfig",
                           "global_config": {"weight_threshold": 1000}}),
]


# CoreML9 (iOS26) programs get the iOS18 ops: a subset of the configs there.
IOS26_CASES = [(f, cid, c) for f in ("conv_ios26_fp16", "matmul_ios26_fp32")
               for cid, c in CONFIGS
               if cid in ("sparsity-0.5", "block-4-dim0", "nm-2-4-dim1", "threshold-0.05")]


@pytest.mark.parametrize("fixture,cfg", [
    pytest.param(f, c, id=f"{f}-{cid}") for f in FIXTURES for cid, c in CONFIGS] + [
    pytest.param(f, c, id=f"{f}-{cid}") for f, cid, c in IOS26_CASES])
def test_prune_matches_coremltools(fixture, cfg, fixture_dir, mlpress, tmp_path):
    src = fixtures.fixture_path(fixture, fixture_dir)
    ref, out = parity.run_both("prune_weights", src, src, cfg, tmp_path)
    if out is None:
        return
    parity.assert_same_constexprs(ref, out)


def _large_linear(path, precision: str, weight) -> None:
    """A linear layer with one weight of more than 65520 values, saved at `precision`."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    import numpy as np

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, weight.shape[1]))],
                opset_version=ct.target.iOS18)
    def prog(x):
        return mb.linear(x=x, weight=weight.astype(np.float32), name="fc")

    ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18,
               compute_precision=getattr(ct.precision, precision)).save(str(path))


@pytest.mark.parametrize("sparsity", [0.3, 0.5])
def test_large_fp16_weight_pruned_as_in_fp32(sparsity, mlpress, tmp_path):
    """coremltools 9.0 under numpy 2 never prunes an fp16 weight of more than 65520 values by
    target_sparsity (np.percentile's index overflows in fp16); mlpress prunes it as the docs
    intend, exactly as coremltools prunes the same values held in fp32 (docs/status.md)."""
    import numpy as np
    rng = np.random.default_rng(7)
    weight = rng.standard_normal((320, 256)).astype(np.float16)  # 81920 values
    fp16, fp32 = tmp_path / "fp16.mlpackage", tmp_path / "fp32.mlpackage"
    _large_linear(fp16, "FLOAT16", weight)
    _large_linear(fp32, "FLOAT32", weight)
    cfg = _magnitude(target_sparsity=sparsity)
    cfg["global_config"]["weight_threshold"] = 2048
    ref = parity.reference("prune_weights", fp32, cfg, tmp_path / "ref32.mlpackage")
    _, out = parity.run_both("prune_weights", fp16, fp16, cfg, tmp_path)
    want = [v for v in parity.decompressed(ref, tmp_path / "ref32_d.mlpackage").values()
            if v.shape == weight.shape]
    got = [v for v in parity.decompressed(out, tmp_path / "out_d.mlpackage").values()
           if v.shape == weight.shape]
    assert len(want) == len(got) == 1
    assert got[0].dtype == np.float16 and want[0].dtype == np.float32
    assert np.array_equal(got[0] != 0, want[0] != 0)
    assert np.array_equal(got[0].astype(np.float32), want[0])
    zeroed = int(np.sum(got[0] == 0))
    assert zeroed >= int(np.floor((weight.size - 1) * sparsity)) + 1 - 1


# --- int8 / uint8 consts (COMPRESSION.md §2.2) --------------------------------------------------
# The two gather tables of int_table_packages.py (iOS17 writes the iOS16 form of
# constexpr_sparse_to_dense), 64 x 32 and 32 x 64. The wide int8 table holds -128s (numpy's abs
# leaves them at -128, the smallest magnitude) and values whose squares wrap in int8 (block norms
# NaN: nothing pruned); "narrow" (spread 2) holds small values whose squares do not wrap.
# Structural modes only touch conv / linear weights, so they are asked for by name.

INT_TABLE_SHAPE = (64, 32)
INT_NARROW_SPREAD = 2.0


def _int_package(path, target: str, spread: float):
    """This module's tables at `spread` (with -128s above spread 20), also used by the joint
    and decompress tests."""
    return int_table_packages.build(path, target, spread, INT_TABLE_SHAPE, int8_min=spread > 20)


def _by_name(spec: dict) -> dict:
    """The same pruner for both integer tables, named (structural modes skip other consts)."""
    op = {"weight_threshold": 1000, **spec}
    return {"config_type": "OpMagnitudePrunerConfig",
            "op_name_configs": {"g8_x_0": op, "gu8_x_0": copy.deepcopy(op)}}


# 0.0027 puts the "wide" int8 percentile between the last -128 and the first 0, where numpy's
# int8 difference of the neighbours wraps (the threshold lands near 61: most values pruned).
INT_CONFIGS = [(f"sparsity-{s}", _magnitude(target_sparsity=s))
               for s in (0.0, 0.0027, 0.3, 0.5, 1.0)]
INT_CONFIGS += [
    ("threshold-3", {"config_type": "OpThresholdPrunerConfig",
                     "global_config": {"threshold": 3, "minimum_sparsity_percentile": 0.01,
                                       "weight_threshold": 1000}}),
    ("threshold-130", {"config_type": "OpThresholdPrunerConfig",
                       "global_config": {"threshold": 130.0, "minimum_sparsity_percentile": 0.3,
                                         "weight_threshold": 1000}}),
    ("threshold-default", {"config_type": "OpThresholdPrunerConfig",
                           "global_config": {"weight_threshold": 1000}}),
    ("block-2-dim0", _by_name({"target_sparsity": 0.5, "block_size": 2, "dim": 0})),
    ("block-4-dim1", _by_name({"target_sparsity": 0.3, "block_size": 4, "dim": 1})),
    ("nm-2-4-dim1", _by_name({"n_m_ratio": [2, 4], "dim": 1})),
    ("nm-3-8-dim0", _by_name({"n_m_ratio": [3, 8], "dim": 0})),
]


@pytest.fixture(scope="module")
def int_packages(tmp_path_factory):
    return int_table_packages.packages(tmp_path_factory.mktemp("int-consts"), INT_TABLE_SHAPE,
                               INT_NARROW_SPREAD, int8_min_when_wide=True)


@pytest.mark.parametrize("package", ["iOS17-wide", "iOS17-narrow", "iOS18-wide", "iOS18-narrow"])
@pytest.mark.parametrize("cid,cfg", INT_CONFIGS, ids=[c for c, _ in INT_CONFIGS])
def test_prune_int_consts_match_coremltools(package, cid, cfg, int_packages, mlpress, tmp_path):
    src = int_packages[package]
    ref, out = parity.run_both("prune_weights", src, src, cfg, tmp_path)
    if out is None:
        return
    parity.assert_same_constexprs(ref, out)
    expected = {k: v for k, v in parity.constexprs(ref).items() if k != "spec_version"}
    assert expected or cid == "threshold-default", "nothing was pruned: the case tests nothing"
    assert {v["value"].dtype.name for v in expected.values()} <= {"int8", "uint8"}


@pytest.mark.parametrize("cid,prune_cfg", [pytest.param(c, p, id=c) for c, p in [
    ("sparsity-0.5", _magnitude(target_sparsity=0.5)),
    ("sparsity-0.0027", _magnitude(target_sparsity=0.0027)),
    ("threshold-3", INT_CONFIGS[5][1]),
]])
def test_palettized_int_consts_then_pruned_jointly(cid, prune_cfg, int_packages, mlpress,
                                                   tmp_path):
    """iOS18 joint: int8/uint8 tables palettized (mode unique: an integer LUT), then pruned by
    their decoded integers, with coremltools' integer semantics."""
    import test_joint
    assert INT_CONFIGS[5][0] == "threshold-3"
    steps = test_joint.steps_of(test_joint.unique(), prune_cfg)
    src = int_packages["iOS18-wide"]
    ref = test_joint.reference(src, steps, tmp_path / "ref.mlpackage")
    assert not isinstance(ref, Exception), ref
    out = tmp_path / "out.mlpackage"
    run = test_joint.run_job(src, steps, out, tmp_path)
    assert run.returncode == 0, harness.describe_run(run)
    test_joint.same_structure(ref, out)
    expected = {k: v for k, v in parity.constexprs(ref).items()
                if k != "spec_version" and v["type"] == "constexpr_sparse_to_dense"}
    actual = parity.constexprs(out)
    assert expected, "coremltools pruned nothing: the case tests nothing"
    for name, want in expected.items():
        assert want["value"].dtype.name in ("int8", "uint8"), name
        assert actual[name]["value"].dtype == want["value"].dtype, name
        assert (actual[name]["value"] == want["value"]).all(), f"{name}: values differ"


# --- n:m with tied magnitudes (fp16 and fp32) ----------------------------------------------------
# coremltools zeroes the first n of np.argsort(|group|). numpy 2.2's argsort of up to 16 fp16
# values is an insertion sort (ties by position); float32 rows go, on an x86-64 CPU with AVX2 and
# without AVX-512, to x86-simd-sort's bitonic network, which orders ties otherwise (mlpress
# reproduces that network: core/compress/numpy_argsort_x86.h). Elsewhere numpy orders float32
# ties differently, and then only what ties cannot change is compared: per group, the sorted
# magnitudes that remain.

def _numpy_float32_ties_are_avx2() -> bool:
    import numpy as np
    # Position order would be [2, 3, 0, 1]; the AVX2 network gives [3, 2, 1, 0].
    return np.argsort(np.array([1, 1, 0, 0], np.float32)).tolist() == [3, 2, 1, 0]


def _tied_package(path, precision: str):
    """A conv (36, 20, 3, 3) and a linear (40, 34) weight drawn from five magnitudes, both signs
    (channel counts not multiples of 8, so groups are padded on both dims)."""
    import coremltools as ct
    import numpy as np
    from coremltools.converters.mil import Builder as mb
    rng = np.random.default_rng(11)
    levels = np.array([-2, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 2], np.float32)
    conv_w = rng.choice(levels, size=(36, 20, 3, 3)).astype(np.float32)
    fc_w = rng.choice(levels, size=(40, 34)).astype(np.float32)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 20, 8, 8))], opset_version=ct.target.iOS18)
    def prog(x):
        y = mb.conv(x=x, weight=conv_w, name="conv")
        y = mb.reduce_mean(x=y, axes=[2, 3])
        y = mb.slice_by_size(x=y, begin=[0, 0], size=[1, 34])
        return mb.linear(x=y, weight=fc_w, name="fc")

    ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18,
               compute_precision=getattr(ct.precision, precision)).save(str(path))
    return path


def _sorted_group_magnitudes(value, m: int, dim: int):
    """|value| in coremltools' n:m groups (channels along `dim`, padded to m), sorted per group."""
    import numpy as np
    rank = value.ndim
    perm = list(range(2, rank)) + ([1, 0] if dim == 0 else [0, 1])
    w = np.transpose(np.abs(value.astype(np.float32)), perm).reshape(-1, value.shape[dim])
    if w.shape[1] % m:
        w = np.pad(w, ((0, 0), (0, m - w.shape[1] % m)))
    return np.sort(w.reshape(-1, m), axis=-1)


@pytest.fixture(scope="module")
def tied_packages(tmp_path_factory):
    root = tmp_path_factory.mktemp("tied")
    return {p: _tied_package(root / f"{p}.mlpackage", p) for p in ("FLOAT16", "FLOAT32")}


@pytest.mark.parametrize("precision", ["FLOAT16", "FLOAT32"])
# 2:4 selects the same pair under both orders (for 4 keys they differ only in the first 1 or 3);
# 1:4, 4:8 and 3:8 differ from a stable order in many groups of these weights.
@pytest.mark.parametrize("n,m,dim", [(n, m, d) for n, m in ((1, 2), (2, 4), (1, 4), (4, 8), (3, 8))
                                     for d in (0, 1)])
def test_nm_ties_match_coremltools(precision, n, m, dim, tied_packages, mlpress, tmp_path):
    import numpy as np
    src = tied_packages[precision]
    cfg = _magnitude(n_m_ratio=[n, m], dim=dim)
    ref, out = parity.run_both("prune_weights", src, src, cfg, tmp_path)
    assert out is not None
    if precision == "FLOAT16" or _numpy_float32_ties_are_avx2():
        parity.assert_same_constexprs(ref, out)
        return
    want = parity.decompressed(ref, tmp_path / "ref_d.mlpackage")
    got = parity.decompressed(out, tmp_path / "out_d.mlpackage")
    assert sorted(want) == sorted(got)
    for name, value in want.items():
        if value.ndim >= 2 and value.shape[dim] >= 2 * m:
            assert np.array_equal(_sorted_group_magnitudes(got[name], m, dim),
                                  _sorted_group_magnitudes(value, m, dim)), name
