"""The CLI shorthands mean exactly the coremltools config they stand for: the same package
comes out of `--quantize int4 ...` as out of `--config` with the equivalent dict."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

import fixtures
import harness
import parity

CASES = [
    (["--quantize", "int4", "--granularity", "per_block", "--block-size", "16",
      "--weight-threshold", "1000"],
     {"config_type": "OpLinearQuantizerConfig",
      "global_config": {"dtype": "int4", "granularity": "per_block", "block_size": 16,
                        "weight_threshold": 1000}}),
    (["--quantize", "uint8", "--mode", "linear", "--granularity", "per_tensor"],
     {"config_type": "OpLinearQuantizerConfig",
      "global_config": {"dtype": "uint8", "mode": "linear", "granularity": "per_tensor"}}),
    (["--palettize", "2", "--granularity", "per_grouped_channel", "--group-size", "8",
      "--weight-threshold", "1000"],
     {"config_type": "OpPalettizerConfig",
      "global_config": {"nbits": 2, "granularity": "per_grouped_channel", "group_size": 8,
                        "weight_threshold": 1000}}),
    (["--palettize", "4", "--mode", "uniform", "--per-channel-scale", "--weight-threshold", "1000"],
     {"config_type": "OpPalettizerConfig",
      "global_config": {"nbits": 4, "mode": "uniform", "enable_per_channel_scale": True,
                        "weight_threshold": 1000}}),
    (["--prune", "0.75", "--weight-threshold", "1000"],
     {"config_type": "OpMagnitudePrunerConfig",
      "global_config": {"target_sparsity": 0.75, "weight_threshold": 1000}}),
    (["--prune", "0", "--n-m", "2,4", "--dim", "0", "--weight-threshold", "1000"],
     {"config_type": "OpMagnitudePrunerConfig",
      "global_config": {"n_m_ratio": [2, 4], "dim": 0, "weight_threshold": 1000}}),
]


@pytest.mark.parametrize("flags,cfg", [pytest.param(f, c, id=" ".join(f[:2])) for f, c in CASES])
def test_shorthand_equals_config(flags, cfg, fixture_dir, mlpress, tmp_path):
    src = fixtures.fixture_path("conv_ios18_fp16", fixture_dir)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(cfg))
    via_config = tmp_path / "config.mlpackage"
    via_flags = tmp_path / "flags.mlpackage"
    for args in (["--config", str(config_file)], flags):
        out = via_config if args[0] == "--config" else via_flags
        run = harness.run_mlpress("compress", src, out, *args)
        assert run.returncode == 0, harness.describe_run(run)
    a, b = parity.constexprs(via_config), parity.constexprs(via_flags)
    assert len(a) > 1, "the case compresses nothing, so it proves nothing"
    assert sorted(a) == sorted(b)
    for name, want in a.items():
        if name != "spec_version":
            assert b[name]["type"] == want["type"] and b[name]["params"] == want["params"], name
    dense_a = parity.decompressed(via_config, tmp_path / "a.mlpackage")
    dense_b = parity.decompressed(via_flags, tmp_path / "b.mlpackage")
    assert sorted(dense_a) == sorted(dense_b)
    for name, value in dense_a.items():
        assert np.array_equal(dense_b[name], value, equal_nan=value.dtype.kind == "f"), name
