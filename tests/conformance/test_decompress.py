"""decompress parity: `mlpress decompress IN OUT` must equal coremltools' decompress_weights of
the same package: the same const ops (names, output var names, dtypes, shapes) holding
bit-identical values, no constexpr op left, and an output coremltools loads.

Inputs: packages coremltools compressed itself (quantized, palettized, pruned), the fixtures
that already hold constexpr ops, and mlpress's own compressed outputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

import fixtures
import harness
import parity

FIXTURES = ["conv_ios16_fp16", "conv_ios18_fp16", "linear_ios17_fp32", "matmul_ios18_fp32"]


def _quant(dtype: str, granularity: str = "per_channel", mode: str = "linear_symmetric",
           **kw) -> tuple[str, dict]:
    return "linear_quantize_weights", {
        "config_type": "OpLinearQuantizerConfig",
        "global_config": {"mode": mode, "dtype": dtype, "granularity": granularity,
                          "weight_threshold": 1000, **kw}}


def _pal(**kw) -> tuple[str, dict]:
    return "palettize_weights", {"config_type": "OpPalettizerConfig",
                                 "global_config": {"weight_threshold": 1000, **kw}}


def _prune(**kw) -> tuple[str, dict]:
    return "prune_weights", {"config_type": "OpMagnitudePrunerConfig",
                             "global_config": {"weight_threshold": 1000, **kw}}


CONFIGS = [
    ("int8-per-channel", _quant("int8")),
    ("uint8-linear-per-channel", _quant("uint8", mode="linear")),
    ("int8-per-tensor", _quant("int8", "per_tensor")),
    ("int4-per-channel", _quant("int4")),
    ("uint4-linear-per-block-32", _quant("uint4", "per_block", mode="linear", block_size=32)),
    ("int4-per-block-16", _quant("int4", "per_block", block_size=16)),
    ("palettize-2", _pal(mode="kmeans", nbits=2)),
    ("palettize-4", _pal(mode="kmeans", nbits=4)),
    ("palettize-3", _pal(mode="uniform", nbits=3)),
    ("palettize-grouped-8", _pal(mode="kmeans", nbits=4, granularity="per_grouped_channel",
                                 group_size=8)),
    ("palettize-vector-2", _pal(mode="kmeans", nbits=2, cluster_dim=2)),
    ("palettize-pcs", _pal(mode="kmeans", nbits=4, enable_per_channel_scale=True)),
    ("prune-0.5", _prune(target_sparsity=0.5)),
    ("prune-2-4-dim1", _prune(n_m_ratio=[2, 4], dim=1)),
    ("prune-1-2-dim0", _prune(n_m_ratio=[1, 2], dim=0)),
]

# CoreML9 (iOS26): per-channel scale written as lut_to_dense -> shift_scale.
IOS26_CASES = [("conv_ios26_fp16", cid, c) for cid, c in CONFIGS if cid in (
    "int4-per-block-16", "palettize-grouped-8", "palettize-pcs", "prune-2-4-dim1")]
IOS26_CASES += [("matmul_ios26_fp32", "palettize-pcs", dict(CONFIGS)["palettize-pcs"])]

EXISTING = ["quantized_int8_ios16", "pruned_ios17", "quantized_int4_block_ios18",
            "palettized_3bit_ios18", "sparse_palettized_ios18"]


def _consts(package: Path) -> tuple[dict, list[str]]:
    """Every const op by function/op name as (var name, dtype, shape, value), and the types of
    every constexpr op left."""
    from coremltools.converters.mil.mil import types
    _, prog = parity.load_program(package)
    consts, constexprs = {}, []
    for fname, function in prog.functions.items():
        for op in parity._walk(function):
            if op.op_type.startswith("constexpr_"):
                constexprs.append(f"{fname}/{op.name} ({op.op_type})")
            if op.op_type != "const":
                continue
            var = op.outputs[0]
            consts[f"{fname}/{op.name}"] = (var.name, types.builtin_to_string(var.dtype),
                                            tuple(var.shape), np.asarray(var.val))
    return consts, constexprs


def _same_value(a: np.ndarray, b: np.ndarray) -> bool:
    if a.dtype.kind in "US" or b.dtype.kind in "US":
        return a.dtype.kind == b.dtype.kind and np.array_equal(a, b)
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def check_decompress(package: Path, tmp_path: Path) -> int:
    """Runs both decompressions of `package`; returns how many consts were compared."""
    ref_out = tmp_path / "ref-decompressed.mlpackage"
    parity.decompressed(package, ref_out)
    ours_out = tmp_path / "ours-decompressed.mlpackage"
    run = harness.run_mlpress("decompress", package, ours_out)
    assert run.returncode == 0, harness.describe_run(run)

    ref, ref_left = _consts(ref_out)
    ours, ours_left = _consts(ours_out)  # loading it is the "coremltools loads it" check
    assert not ref_left
    assert not ours_left, f"constexpr ops left: {ours_left}"
    assert sorted(ours) == sorted(ref), (f"only ours: {sorted(set(ours) - set(ref))}\n"
                                        f"only coremltools: {sorted(set(ref) - set(ours))}")
    problems = []
    for key, (var, dtype, shape, value) in ref.items():
        o_var, o_dtype, o_shape, o_value = ours[key]
        if (o_var, o_dtype, o_shape) != (var, dtype, shape):
            problems.append(f"{key}: ours {o_var} {o_dtype} {o_shape}, "
                            f"coremltools {var} {dtype} {shape}")
        elif not _same_value(o_value, value):
            diff = (np.count_nonzero(o_value != value) if o_value.shape == value.shape
                    else "shape")
            problems.append(f"{key}: values differ ({diff} elements)")
    assert not problems, "\n".join(problems)
    return len(ref)


def _has_constexpr(package: Path) -> bool:
    return bool(parity.constexprs(package).keys() - {"spec_version"})


@pytest.mark.parametrize("fixture,api,cfg", [
    pytest.param(f, api, cfg, id=f"{f}-{cid}") for f in FIXTURES for cid, (api, cfg) in CONFIGS] + [
    pytest.param(f, api, cfg, id=f"{f}-{cid}") for f, cid, (api, cfg) in IOS26_CASES])
def test_decompress_coremltools_compressed(fixture, api, cfg, fixture_dir, mlpress, tmp_path):
    src = fixtures.fixture_path(fixture, fixture_dir)
    ref = parity.reference(api, src, cfg, tmp_path / "compressed.mlpackage")
    if isinstance(ref, Exception):
        pytest.skip(f"coremltools refuses this config here: {ref}")
    if not _has_constexpr(ref):
        pytest.skip("coremltools compressed nothing here (e.g. n:m with an axis too short)")
    check_decompress(ref, tmp_path)


@pytest.mark.parametrize("fixture", EXISTING)
def test_decompress_existing_constexprs(fixture, fixture_dir, mlpress, tmp_path):
    check_decompress(fixtures.fixture_path(fixture, fixture_dir), tmp_path)


@pytest.mark.parametrize("fixture,api,cfg", [
    pytest.param(f, api, cfg, id=f"{f}-{cid}") for f in FIXTURES for cid, (api, cfg) in CONFIGS] + [
    pytest.param(f, api, cfg, id=f"{f}-{cid}") for f, cid, (api, cfg) in IOS26_CASES])
def test_decompress_mlpress_compressed(fixture, api, cfg, fixture_dir, mlpress, tmp_path):
    src = fixtures.fixture_path(fixture, fixture_dir)
    config_file = tmp_path / "config.yaml"
    config_file.write_text(yaml.safe_dump(cfg))
    compressed = tmp_path / "compressed.mlpackage"
    run = harness.run_mlpress("compress", src, compressed, "--config", config_file)
    if run.returncode != 0:
        assert "mlpress: error: " in run.stderr
        pytest.skip(f"mlpress refuses this config here: {run.stderr.strip()}")
    check_decompress(compressed, tmp_path)


def test_decompress_zip_in_and_out(fixture_dir, mlpress, tmp_path):
    """A zipped output decompresses the same; the input is a zip too."""
    src = fixtures.fixture_path("sparse_palettized_ios18", fixture_dir)
    first = tmp_path / "first.zip"
    assert harness.run_mlpress("decompress", src, first).returncode == 0
    second = tmp_path / "second.mlpackage"
    run = harness.run_mlpress("decompress", first, second)
    assert run.returncode == 0, harness.describe_run(run)
    consts, left = _consts(second)
    assert not left and consts


# Joint chains (iOS18): coremltools' calls chained with joint_compression=True and mlpress's own
# multi-step job doing the same steps, each decompressed by both tools.
JOINT_FIXTURES = ["conv_ios18_fp16", "matmul_ios18_fp32"]


def _joint_chains():
    from test_joint import palettize, prune, quantize, steps_of, unique
    return [
        ("prune-palettize", steps_of(prune(0.5), palettize(4)),
         {"constexpr_lut_to_sparse", "constexpr_sparse_to_dense"}),
        ("prune-quantize", steps_of(prune(0.5), quantize()),
         {"constexpr_sparse_blockwise_shift_scale", "constexpr_sparse_to_dense"}),
        ("prune-quantize-uint4-block", steps_of(prune(0.3), quantize(
            "uint4", "linear", "per_block", block_size=8)),
         {"constexpr_sparse_blockwise_shift_scale", "constexpr_sparse_to_dense"}),
        ("palettize-quantize-lut", steps_of(palettize(4), quantize(granularity="per_tensor")),
         {"constexpr_blockwise_shift_scale", "constexpr_lut_to_dense"}),
        ("prune-palettize-quantize-lut", steps_of(prune(0.5), palettize(4),
                                                  quantize(granularity="per_tensor")),
         {"constexpr_blockwise_shift_scale", "constexpr_lut_to_sparse",
          "constexpr_sparse_to_dense"}),
        ("quantize-palettize", steps_of(quantize(mode="linear"), unique()),
         {"constexpr_lut_to_dense", "constexpr_blockwise_shift_scale"}),
        ("quantize-prune", steps_of(quantize(), prune(0.5)),
         {"constexpr_sparse_blockwise_shift_scale", "constexpr_sparse_to_dense"}),
        ("palettize-prune", steps_of(palettize(4), prune(0.5)),
         {"constexpr_lut_to_sparse", "constexpr_sparse_to_dense"}),
    ]


# iOS26: quantized codes palettized and (rank 2) quantized LUTs as lut_to_dense -> shift_scale.
IOS26_JOINT = [("conv_ios26_fp16", "quantize-palettize"), ("conv_ios26_fp16", "prune-palettize"),
               ("matmul_ios26_fp32", "palettize-quantize-lut"),
               ("matmul_ios26_fp32", "quantize-palettize")]


@pytest.mark.parametrize("fixture,chain", [
    pytest.param(f, name, id=f"{f}-{name}") for f in JOINT_FIXTURES
    for name, _, _ in _joint_chains()] + [
    pytest.param(f, name, id=f"{f}-{name}") for f, name in IOS26_JOINT])
@pytest.mark.parametrize("producer", ["coremltools", "mlpress"])
def test_decompress_joint(producer, fixture, chain, fixture_dir, mlpress, tmp_path):
    import test_joint
    steps, op_types = next((s, t) for n, s, t in _joint_chains() if n == chain)
    src = fixtures.fixture_path(fixture, fixture_dir)
    compressed = tmp_path / "compressed.mlpackage"
    if producer == "coremltools":
        made = test_joint.reference(src, steps, compressed)
        assert not isinstance(made, Exception), made
    else:
        run = test_joint.run_job(src, steps, compressed, tmp_path)
        assert run.returncode == 0, harness.describe_run(run)
    found = {v["type"] for k, v in parity.constexprs(compressed).items() if k != "spec_version"}
    assert op_types <= found, f"expected the chain {sorted(op_types)}, found {sorted(found)}"
    assert check_decompress(compressed, tmp_path) > 0


@pytest.mark.parametrize("target", ["iOS17", "iOS18"])
@pytest.mark.parametrize("producer", ["coremltools", "mlpress"])
def test_decompress_pruned_int_consts(producer, target, mlpress, tmp_path):
    """int8 / uint8 consts pruned (the nonzero data stays integer) decode alike. Only the pruned
    tables are compared: coremltools' decompress_weights reruns graph passes that rewrite this
    program's int8 gather lowering even when nothing is compressed (its other consts differ)."""
    import test_prune
    src = test_prune._int_package(tmp_path / "src.mlpackage", target, 40.0)
    cfg = test_prune._magnitude(target_sparsity=0.5)
    compressed = tmp_path / "compressed.mlpackage"
    if producer == "coremltools":
        made = parity.reference("prune_weights", src, cfg, compressed)
        assert not isinstance(made, Exception), made
    else:
        config_file = tmp_path / "config.yaml"
        config_file.write_text(yaml.safe_dump(cfg))
        run = harness.run_mlpress("compress", src, compressed, "--config", config_file)
        assert run.returncode == 0, harness.describe_run(run)
    pruned = sorted(k for k in parity.constexprs(compressed) if k != "spec_version")
    assert len(pruned) == 2, pruned  # both tables
    ref_out, ours_out = tmp_path / "ref-d.mlpackage", tmp_path / "ours-d.mlpackage"
    parity.decompressed(compressed, ref_out)
    run = harness.run_mlpress("decompress", compressed, ours_out)
    assert run.returncode == 0, harness.describe_run(run)
    (ref, ref_left), (ours, ours_left) = _consts(ref_out), _consts(ours_out)
    assert not ref_left and not ours_left
    for name in pruned:
        var, dtype, shape, value = ref[name]
        assert dtype in ("int8", "uint8"), (name, dtype)
        assert ours[name][:3] == (var, dtype, shape), name
        assert _same_value(ours[name][3], value), f"{name}: values differ"
