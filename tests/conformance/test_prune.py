"""prune_weights parity: the same pruner config on the same package through mlpress and
coremltools must prune the same weights into the same constexpr_sparse_to_dense ops
(parameter dtypes and shapes) that decode to exactly the same values. Where coremltools
raises, mlpress refuses."""

from __future__ import annotations

import pytest

import fixtures
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


@pytest.mark.parametrize("fixture,cfg", [
    pytest.param(f, c, id=f"{f}-{cid}") for f in FIXTURES for cid, c in CONFIGS])
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
