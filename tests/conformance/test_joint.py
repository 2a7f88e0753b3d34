"""Joint compression and multi-step jobs: coremltools' calls chained with joint_compression=True
(each on the model the previous call returned) against one mlpress job doing the same steps.
Outputs must hold the same constexpr ops (names, types, parameter dtypes and shapes) and decode
(through coremltools' decompress_weights) to exactly the same weights; for k-means, where
mlpress's clustering is optimal and coremltools' is not, the error against the original weights
must be no larger. Where coremltools refuses (or crashes), mlpress refuses with a message and
writes nothing."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import fixtures
import harness
import parity

API = {"OpLinearQuantizerConfig": "linear_quantize_weights",
       "OpPalettizerConfig": "palettize_weights",
       "OpMagnitudePrunerConfig": "prune_weights",
       "OpThresholdPrunerConfig": "prune_weights"}

FIXTURES = ["conv_ios18_fp16", "matmul_ios18_fp32", "conv_transpose_ios18_fp32",
            "while_loop_ios18_fp16"]


def _cfg(config_type: str, **kw) -> dict:
    return {"config_type": config_type, "global_config": {"weight_threshold": 500, **kw}}


def prune(s=0.5, **kw):
    return _cfg("OpMagnitudePrunerConfig", target_sparsity=s, **kw)


def threshold(t):
    return _cfg("OpThresholdPrunerConfig", threshold=t, minimum_sparsity_percentile=0.1)


def palettize(nbits=4, mode="uniform", **kw):
    return _cfg("OpPalettizerConfig", nbits=nbits, mode=mode, **kw)


def unique():
    return _cfg("OpPalettizerConfig", mode="unique")


def quantize(dtype="int8", mode="linear_symmetric", granularity="per_channel", **kw):
    return _cfg("OpLinearQuantizerConfig", dtype=dtype, mode=mode, granularity=granularity, **kw)


def steps_of(*configs, joint_first=False) -> list[dict]:
    return [{"config": c, "joint_compression": joint_first or i > 0}
            for i, c in enumerate(configs)]


def reference(src: Path, steps: list[dict], out: Path):
    """coremltools' calls in sequence; the saved package or the exception raised."""
    import coremltools as ct
    model = ct.models.MLModel(str(src), skip_model_load=True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for step in steps:
                cfg = step["config"]
                model = getattr(ct.optimize.coreml, API[cfg["config_type"]])(
                    model, ct.optimize.coreml.OptimizationConfig.from_dict(cfg),
                    joint_compression=step["joint_compression"])
    except Exception as error:  # noqa: BLE001 - any refusal (or crash) is a refusal
        return error
    model.save(str(out))
    return out


def run_job(src: Path, steps: list[dict], out: Path, tmp: Path, *extra: str):
    job = tmp / "job.json"
    job.write_text(json.dumps({"steps": steps}))
    return harness.run_mlpress("compress", src, out, "--config", job, "--json", *extra)


def same_structure(ref: Path, out: Path) -> None:
    expected, actual = parity.constexprs(ref), parity.constexprs(out)
    assert actual.pop("spec_version") == expected.pop("spec_version")
    assert sorted(actual) == sorted(expected), "different constexpr ops"
    for name, want in expected.items():
        assert actual[name]["type"] == want["type"], name
        assert actual[name]["params"] == want["params"], name


def decoded(package: Path, tmp: Path) -> dict[str, np.ndarray]:
    values = parity.decompressed(package, tmp)
    return {k: v for k, v in values.items() if v.dtype.kind == "f" and v.ndim >= 2}


def both(fixture, steps, fixture_dir, tmp_path):
    src = fixtures.fixture_path(fixture, fixture_dir)
    ref = reference(src, steps, tmp_path / "ref.mlpackage")
    out = tmp_path / "out.mlpackage"
    run = run_job(src, steps, out, tmp_path)
    return src, ref, out, run


EXACT = [
    ("prune-palettize-uniform4", steps_of(prune(0.5), palettize(4))),
    ("prune75-palettize-unique", steps_of(prune(0.75), unique())),
    ("prune-nm-palettize-uniform2", steps_of(_cfg("OpMagnitudePrunerConfig", n_m_ratio=[2, 4]),
                                             palettize(2))),
    ("prune-quantize-int8", steps_of(prune(0.5), quantize())),
    ("prune-quantize-uint4-block", steps_of(prune(0.3), quantize("uint4", "linear", "per_block",
                                                                 block_size=8))),
    ("palettize-quantize-lut", steps_of(palettize(4), quantize(granularity="per_tensor"))),
    ("palettize-quantize-lut-uint8", steps_of(palettize(2), quantize("uint8", "linear",
                                                                     "per_tensor"))),
    ("prune-palettize-quantize-lut", steps_of(prune(0.5), palettize(4),
                                              quantize(granularity="per_tensor"))),
    ("quantize-palettize-unique", steps_of(quantize(mode="linear"), unique())),
    ("quantize-uint8-palettize-uniform", steps_of(quantize("uint8", "linear"), palettize(4))),
    ("quantize-block-palettize-unique", steps_of(quantize("int8", "linear_symmetric",
                                                          "per_block", block_size=8), unique())),
    ("quantize-prune", steps_of(quantize(), prune(0.5))),
    ("quantize-uint4-prune-threshold", steps_of(quantize("uint4", "linear", "per_block",
                                                         block_size=8), threshold(0.01))),
    ("palettize-prune", steps_of(palettize(4), prune(0.5))),
    ("palettize-quantize-lut-prune", steps_of(palettize(4), quantize(granularity="per_tensor"),
                                              prune(0.3))),
]


# CoreML9 (iOS26): coremltools 9.0 keeps a quantized LUT and palettized codes as lut_to_dense ->
# shift_scale there (FORMAT.md §6.10, pattern 2); the per-tensor LUT scale then only fits a
# rank-2 weight, so it fails saving the conv fixture's quantized LUTs (mlpress refuses them).
IOS26_EXACT = [(f, name, s) for f in ("conv_ios26_fp16", "matmul_ios26_fp32")
               for name, s in EXACT if name in (
                   "prune-palettize-uniform4", "prune-quantize-int8", "palettize-quantize-lut",
                   "palettize-quantize-lut-uint8", "prune-palettize-quantize-lut",
                   "quantize-palettize-unique", "quantize-uint8-palettize-uniform",
                   "quantize-block-palettize-unique", "quantize-prune", "palettize-prune",
                   "palettize-quantize-lut-prune")]
IOS26_EXACT += [("matmul_ios26_fp32", "palettize-quantize-lut-linear-uint8",
                 steps_of(palettize(4), quantize("uint8", "linear", "per_tensor"))),
                ("matmul_ios26_fp32", "palettize-pcs-quantize-lut",
                 steps_of(palettize(4, enable_per_channel_scale=True),
                          quantize(granularity="per_tensor")))]


@pytest.mark.parametrize("fixture,steps", [
    pytest.param(f, s, id=f"{f}-{name}") for f in FIXTURES for name, s in EXACT] + [
    pytest.param(f, s, id=f"{f}-{name}") for f, name, s in IOS26_EXACT])
def test_joint_matches_coremltools(fixture, steps, fixture_dir, mlpress, tmp_path):
    src, ref, out, run = both(fixture, steps, fixture_dir, tmp_path)
    if isinstance(ref, Exception):
        assert run.returncode == 1, f"coremltools raised {ref!r}\n" + harness.describe_run(run)
        assert "mlpress: error: " in run.stderr and not out.exists()
        return
    assert run.returncode == 0, harness.describe_run(run)
    same_structure(ref, out)
    want, got = decoded(ref, tmp_path / "ref_d.mlpackage"), decoded(out, tmp_path / "out_d.mlpackage")
    assert sorted(got) == sorted(want)
    for name in want:
        assert np.array_equal(got[name], want[name], equal_nan=True), (
            f"{name}: {int(np.sum(got[name] != want[name]))} values differ")
    # The report names the step behind every outcome; the first step compressed something.
    report = json.loads(run.stdout)
    assert {w["step"] for w in report["weights"]} == set(range(1, len(steps) + 1))


KMEANS = [
    ("prune-palettize-kmeans4", steps_of(prune(0.5), palettize(4, "kmeans"))),
    ("prune80-palettize-kmeans2", steps_of(prune(0.8), palettize(2, "kmeans"))),
    ("quantize-palettize-kmeans4", steps_of(quantize(), palettize(4, "kmeans"))),
    ("quantize-palettize-kmeans-grouped", steps_of(
        quantize(), palettize(3, "kmeans", granularity="per_grouped_channel", group_size=4))),
]


@pytest.mark.parametrize("fixture,steps", [
    pytest.param(f, s, id=f"{f}-{name}") for f in ("conv_ios18_fp16", "matmul_ios18_fp32")
    for name, s in KMEANS] + [
    pytest.param("conv_ios26_fp16", s, id=f"conv_ios26_fp16-{name}") for name, s in KMEANS
    if name in ("prune-palettize-kmeans4", "quantize-palettize-kmeans-grouped")])
def test_joint_kmeans_no_worse(fixture, steps, fixture_dir, mlpress, tmp_path):
    src, ref, out, run = both(fixture, steps, fixture_dir, tmp_path)
    assert not isinstance(ref, Exception), ref
    assert run.returncode == 0, harness.describe_run(run)
    same_structure(ref, out)
    original = {k: v.astype(np.float64) for k, v in parity.const_values(src).items()
                if v.dtype.kind == "f"}
    want, got = decoded(ref, tmp_path / "ref_d.mlpackage"), decoded(out, tmp_path / "out_d.mlpackage")
    assert sorted(got) == sorted(want)
    for name in want:
        # Decoded weights keep their chain's final name; find the source weight by shape/prefix.
        base = next(k for k in original if name.split("/")[1].startswith(k.split("/")[1])
                    and original[k].shape == want[name].shape)
        err_ref = np.sum((want[name].astype(np.float64) - original[base]) ** 2)
        err_got = np.sum((got[name].astype(np.float64) - original[base]) ** 2)
        assert err_got <= err_ref * (1 + 1e-6) + 1e-12, (name, err_got, err_ref)


def test_nonzero_only_never_worse_on_nonzeros(fixture_dir, mlpress, tmp_path):
    """Beyond coremltools: k-means on a pruned weight's nonzeros only."""
    for fixture in ("conv_ios18_fp16", "matmul_ios18_fp32"):
        src = fixtures.fixture_path(fixture, fixture_dir)
        for sparsity, nbits in ((0.5, 4), (0.8, 2), (0.3, 3)):
            steps = steps_of(prune(sparsity), palettize(nbits, "kmeans"))
            outs = {}
            for flag in ("", "--nonzero-only"):
                out = tmp_path / f"{fixture}-{sparsity}-{flag or 'default'}.mlpackage"
                run = run_job(src, steps, out, tmp_path, *([flag] if flag else []))
                assert run.returncode == 0, harness.describe_run(run)
                outs[flag] = decoded(out, tmp_path / ("d-" + out.name))
            pruned = tmp_path / f"{fixture}-{sparsity}-pruned.mlpackage"
            assert run_job(src, steps[:1], pruned, tmp_path).returncode == 0
            dense = decoded(pruned, tmp_path / ("d-" + pruned.name))
            for name, value in dense.items():
                keep = value != 0
                def err(v):
                    return float(np.sum((v[keep].astype(np.float64) - value[keep]) ** 2))
                assert np.all(outs["--nonzero-only"][name][~keep] == 0)
                assert err(outs["--nonzero-only"][name]) <= err(outs[""][name]) * (1 + 1e-9), name


REFUSED = [
    # coremltools: "Joint compression is only supported since iOS18".
    ("linear_ios17_fp32", steps_of(prune(0.5), palettize(4)), "iOS18"),
    ("conv_ios16_fp16", steps_of(quantize(), prune(0.5), joint_first=True), "iOS18"),
    # coremltools: NotImplementedError, per-tensor only for a LUT.
    ("conv_ios18_fp16", steps_of(palettize(4), quantize(granularity="per_channel")), "per-tensor"),
    # coremltools crashes (IndexError); mlpress refuses.
    ("matmul_ios18_fp32", steps_of(palettize(2, "kmeans", cluster_dim=2), prune(0.5)),
     "vector-palettized"),
    # coremltools fails (AssertionError: a structural pruner's target must be a const); here on
    # conv weights (other weights mlpress skips for structural pruning before looking further).
    ("conv_ios18_fp16", steps_of(quantize(), _cfg("OpMagnitudePrunerConfig", n_m_ratio=[2, 4])),
     "block or n:m"),
    ("conv_ios18_fp16", steps_of(palettize(4), prune(0.5, block_size=2)), "block or n:m"),
    # iOS26: coremltools fails saving a quantized LUT of a rank-4 weight, or of vectors.
    ("conv_ios26_fp16", steps_of(palettize(4), quantize(granularity="per_tensor")), "rank 4"),
    ("matmul_ios26_fp32", steps_of(palettize(4, "kmeans", cluster_dim=2),
                                   quantize(granularity="per_tensor")), "vector-palettized"),
    ("matmul_ios26_fp32", steps_of(palettize(4), quantize("int4", granularity="per_tensor")),
     "int4/uint4 LUT"),
    ("conv_ios26_fp16", steps_of(palettize(4, enable_per_channel_scale=True),
                                 quantize(granularity="per_tensor")), "rank 4"),
]


@pytest.mark.parametrize("fixture,steps,words", [
    pytest.param(f, s, w, id=f"{f}-{i}") for i, (f, s, w) in enumerate(REFUSED)])
def test_refused(fixture, steps, words, fixture_dir, mlpress, tmp_path):
    src, ref, out, run = both(fixture, steps, fixture_dir, tmp_path)
    assert isinstance(ref, Exception), "coremltools accepted this job"
    assert run.returncode == 1, harness.describe_run(run)
    assert "mlpress: error: " in run.stderr and words in run.stderr, run.stderr
    assert not out.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


SKIPPED = [
    ("quantize-quantize", steps_of(quantize(), quantize("int4", granularity="per_tensor"))),
    ("palettize-palettize", steps_of(palettize(4), palettize(2))),
    ("prune-prune", steps_of(prune(0.5), prune(0.75))),
]


@pytest.mark.parametrize("name,steps", [pytest.param(n, s, id=n) for n, s in SKIPPED])
def test_unsupported_left_as_is(name, steps, fixture_dir, mlpress, tmp_path):
    src, ref, out, run = both("conv_ios18_fp16", steps, fixture_dir, tmp_path)
    assert not isinstance(ref, Exception), ref
    assert run.returncode == 0, harness.describe_run(run)
    same_structure(ref, out)
    report = json.loads(run.stdout)
    last = [w for w in report["weights"] if w["step"] == 2 and not w["compressed"]
            and "already" in w["reason"]]
    assert last, report["weights"]
    assert not [w for w in report["weights"] if w["step"] == 2 and w["compressed"]]


def test_cli_shorthands_form_joint_steps(fixture_dir, mlpress, tmp_path):
    """`--prune 0.5 --palettize 4 --mode uniform` is the job prune, then joint palettize."""
    src = fixtures.fixture_path("conv_ios18_fp16", fixture_dir)
    steps = steps_of(_cfg("OpMagnitudePrunerConfig", target_sparsity=0.5, weight_threshold=2048),
                     _cfg("OpPalettizerConfig", nbits=4, mode="uniform", weight_threshold=2048))
    for step in steps:
        step["config"]["global_config"]["weight_threshold"] = 2048
    by_job = tmp_path / "job.mlpackage"
    assert run_job(src, steps, by_job, tmp_path).returncode == 0
    by_flags = tmp_path / "flags.mlpackage"
    run = harness.run_mlpress("compress", src, by_flags, "--prune", "0.5", "--palettize", "4",
                              "--mode", "uniform")
    assert run.returncode == 0, harness.describe_run(run)
    assert (by_job / "Data/com.apple.CoreML/weights/weight.bin").read_bytes() == \
        (by_flags / "Data/com.apple.CoreML/weights/weight.bin").read_bytes()


@pytest.mark.parametrize("args", [
    ["--joint"], ["--nonzero-only"], ["--mode", "uniform"], ["--config"]])
def test_cli_usage_errors(args, fixture_dir, mlpress, tmp_path):
    src = fixtures.fixture_path("conv_ios18_fp16", fixture_dir)
    out = tmp_path / "out.mlpackage"
    run = harness.run_mlpress("compress", src, out, *args)
    assert run.returncode == 2, harness.describe_run(run)
    assert not out.exists()
