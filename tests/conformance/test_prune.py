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
