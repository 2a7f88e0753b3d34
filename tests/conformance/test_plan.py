"""Sensitivity analysis and automatic mixed precision (issue #7), checked against real outputs.

- The bytes `mlpress sensitivity` predicts for every choice equal the blobs that mlpress and
  coremltools write for that choice, and the weight file it predicts bounds the real one.
- The ranking equals a brute-force recomputation: each weight palettized at 4 bits by
  `mlpress compress`, decoded by coremltools, its relative error computed here with numpy.
- `mlpress compress --auto` fits the target, and its total squared weight error (decoded
  output against the original) is no greater than that of any single uniform setting of the
  option list whose package also fits.
- The configs `mlpress plan -o` writes, applied call by call by coremltools and by mlpress,
  give the same constexpr op structure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

import fixtures
import harness
import milspec
import parity
import pkg
import weightbin

THRESHOLD = 256  # small fixtures: more candidate weights than the default 2048 would give
FIXTURES = ["conv_ios18_fp16", "conv_ios16_fp16", "linear_ios17_fp32", "matmul_ios18_fp32",
            "gather_ios16_fp16", "while_loop_ios15_fp32", "conv_transpose_ios18_fp32"]
# coremltools compresses and decompresses no multi-function model: mlpress-only checks.
MLPRESS_ONLY = ["multifunction_ios18_fp16"]
SUFFIXES = ("_quantized", "_palettized_pcs", "_palettized", "_sparsified")


def _cases(fixture_names=FIXTURES) -> list:
    params = [pytest.param(name, id=name) for name in fixture_names]
    real = harness.real_cases()
    params += [pytest.param(c.path, id=c.id) for c in real]
    if not real:
        params.append(pytest.param(None, id="real-packages",
                                   marks=pytest.mark.skip(reason=harness.REAL_MISSING)))
    return params


def _source(case, fixture_dir: Path, tmp_path: Path) -> Path:
    """The case as a package directory (coremltools cannot read zips)."""
    if isinstance(case, str):
        return fixtures.fixture_path(case, fixture_dir)
    if case.suffix == ".zip":
        return pkg.extract_package(case, tmp_path / "extracted")
    return case


def _run(*args) -> str:
    result = harness.run_mlpress(*args)
    assert result.returncode == 0, harness.describe_run(result)
    return result.stdout


def _sensitivity(src: Path) -> dict:
    return json.loads(_run("sensitivity", src, "--json", "--weight-threshold", THRESHOLD))


def _choice_config(choice: str) -> tuple[str, dict]:
    """(api, coremltools config dict) of a choice id, written here from the ids' meaning."""
    fields: dict = {"weight_threshold": THRESHOLD}
    if choice.startswith("int"):
        dtype, granularity = choice.split("_")
        fields.update(mode="linear_symmetric", dtype=dtype,
                      granularity="per_block" if granularity == "block32" else "per_channel")
        if granularity == "block32":
            fields["block_size"] = 32
        return "linear_quantize_weights", {"config_type": "OpLinearQuantizerConfig",
                                           "global_config": fields}
    if choice.startswith("pal"):
        nbits, granularity = choice[3:].split("_")
        fields.update(mode="kmeans", nbits=int(nbits))
        if granularity == "group16":
            fields.update(granularity="per_grouped_channel", group_size=16)
        return "palettize_weights", {"config_type": "OpPalettizerConfig", "global_config": fields}
    assert choice.startswith("prune")
    fields["target_sparsity"] = int(choice[5:]) / 100
    return "prune_weights", {"config_type": "OpMagnitudePrunerConfig", "global_config": fields}


def _weights_dir(package: Path) -> Path:
    return package / "Data" / "com.apple.CoreML" / "weights"


def _weight_file_bytes(package: Path) -> int:
    return sum(p.stat().st_size for p in _weights_dir(package).glob("*") if p.is_file())


def _original_op(constexpr_op: str) -> str:
    for suffix in SUFFIXES:
        if constexpr_op.endswith(suffix):
            return constexpr_op[: -len(suffix)]
    return constexpr_op


def _blob_bytes_by_weight(package: Path) -> dict[str, int]:
    """Blob data bytes of every constexpr op, summed per original const op name."""
    import coremltools as ct
    spec = ct.models.MLModel(str(package), skip_model_load=True).get_spec()
    files: dict[str, weightbin.BlobFile] = {}
    out: dict[str, int] = {}
    for ref in milspec.blob_refs(spec):
        if ref.op_name == _original_op(ref.op_name):
            continue  # a const, not a compressed weight's op
        if ref.file not in files:
            files[ref.file] = weightbin.read_blob_file(_weights_dir(package) / ref.file)
        name = _original_op(ref.op_name)
        out[name] = out.get(name, 0) + files[ref.file].records[ref.offset].size
    return out


def _by_op(report: dict) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for w in report["weights"]:
        found.setdefault(w["op_name"], []).append(w)
    return found


def _total_sq_error(original: Path, compressed: Path, tmp_path: Path) -> float:
    """sum (w - w')^2 over every weight, w' decoded by coremltools' decompress_weights."""
    want = parity.const_values(original)
    got = parity.decompressed(compressed, tmp_path / "decoded.mlpackage")
    total = 0.0
    for key, value in got.items():
        fname, name = key.split("/", 1)
        base = f"{fname}/{_original_op(name)}"
        if base != key:
            diff = value.astype(np.float64) - want[base].astype(np.float64)
            total += float(np.sum(diff * diff))
    return total


# --- bytes ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases(FIXTURES + MLPRESS_ONLY))
def test_choice_bytes_match_written_blobs(case, fixture_dir, mlpress, tmp_path):
    src = _source(case, fixture_dir, tmp_path)
    report = _sensitivity(src)
    weights = _by_op(report)
    assert weights, "no candidate weights"
    for choice in [c["id"] for c in report["choices"] if c["id"] != "dense"]:
        available = {op: ws[0]["results"][choice] for op, ws in weights.items()
                     if ws[0]["results"][choice]["available"]}
        api, cfg = _choice_config(choice)
        out = tmp_path / f"{choice}.mlpackage"
        config_file = tmp_path / f"{choice}.yaml"
        config_file.write_text(yaml.safe_dump(cfg))
        run = harness.run_mlpress("compress", src, out, "--config", config_file, "--json")
        if not available:
            continue  # e.g. int4 before iOS18: mlpress refuses the call, as coremltools does
        assert run.returncode == 0, harness.describe_run(run)
        written = _blob_bytes_by_weight(out)
        assert sorted(written) == sorted(available), f"{choice}: other weights compressed"
        predicted = report["fixed_file_bytes"]
        for op, ws in weights.items():
            for w in ws:
                r = w["results"][choice]
                predicted += (r if r["available"] else w["results"]["dense"])["file_bytes"]
        for op in available:
            assert written[op] == sum(w["results"][choice]["blob_bytes"] for w in weights[op]), (
                f"{choice} {op}")
        actual = _weight_file_bytes(out)
        files = len(list(_weights_dir(out).glob("*")))
        assert predicted - 63 * files <= actual <= predicted, f"{choice}: weight file"


REFERENCE_CHOICES = ["int8_channel", "int4_block32", "int4_channel", "pal4_tensor",
                     "pal3_group16", "prune75"]


@pytest.mark.parametrize("fixture", ["conv_ios18_fp16", "linear_ios17_fp32", "gather_ios16_fp16"])
def test_choice_bytes_match_coremltools(fixture, fixture_dir, mlpress, tmp_path):
    src = fixtures.fixture_path(fixture, fixture_dir)
    weights = _by_op(_sensitivity(src))
    checked = 0
    for choice in REFERENCE_CHOICES:
        available = {op: sum(w["results"][choice]["blob_bytes"] for w in ws)
                     for op, ws in weights.items() if ws[0]["results"][choice]["available"]}
        api, cfg = _choice_config(choice)
        ref = parity.reference(api, src, cfg, tmp_path / f"{choice}.mlpackage")
        if isinstance(ref, Exception):
            assert not available, f"{choice}: coremltools refused ({ref!r}) what mlpress allows"
            continue
        assert _blob_bytes_by_weight(ref) == available, choice
        checked += 1
    assert checked >= 3


# --- ranking --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", _cases())
def test_ranking_equals_brute_force(case, fixture_dir, mlpress, tmp_path):
    src = _source(case, fixture_dir, tmp_path)
    report = _sensitivity(src)
    assert report["sensitivity_choice"] == "pal4_tensor"
    out = tmp_path / "pal4.mlpackage"
    _run("compress", src, out, "--palettize", "4", "--weight-threshold", THRESHOLD)
    want = parity.const_values(src)
    got = parity.decompressed(out, tmp_path / "decoded.mlpackage")
    errors: dict[str, float] = {}
    for key, value in got.items():
        fname, name = key.split("/", 1)
        if _original_op(name) == name:
            continue
        w = want[f"{fname}/{_original_op(name)}"].astype(np.float64)
        errors[(_original_op(name), fname)] = float(np.linalg.norm(w - value) /
                                                    np.linalg.norm(w))
    ranked = sorted(errors, key=lambda key: (-errors[key], key))
    reported = [(w["op_name"], w["function"]) for w in report["weights"]]
    assert reported == ranked
    for w in report["weights"]:
        assert w["sensitivity"] == pytest.approx(errors[(w["op_name"], w["function"])],
                                                 rel=1e-9, abs=1e-12)


# --- planning -------------------------------------------------------------------------------


def _variable_target(report: dict, fraction: float) -> int:
    fixed = report["fixed_file_bytes"]
    return fixed + int(fraction * (report["weight_file_bytes"] - fixed))


@pytest.mark.parametrize("fraction", [0.25, 0.45])
@pytest.mark.parametrize("case", _cases())
def test_auto_fits_and_beats_every_uniform_setting(case, fraction, fixture_dir, mlpress,
                                                   tmp_path):
    src = _source(case, fixture_dir, tmp_path)
    report = _sensitivity(src)
    target = _variable_target(report, fraction)
    planned = tmp_path / "auto.mlpackage"
    _run("compress", "--auto", "--target-size", target, "--no-keep-first-last",
         "--weight-threshold", THRESHOLD, src, planned)
    assert _weight_file_bytes(planned) <= target
    plan_error = _total_sq_error(src, planned, tmp_path / "auto")

    best = None
    for choice in [c["id"] for c in report["choices"] if c["id"] != "dense"]:
        api, cfg = _choice_config(choice)
        out = tmp_path / f"uniform-{choice}.mlpackage"
        config_file = tmp_path / f"{choice}.yaml"
        config_file.write_text(yaml.safe_dump(cfg))
        run = harness.run_mlpress("compress", src, out, "--config", config_file)
        if run.returncode != 0 or _weight_file_bytes(out) > target:
            continue  # refused for this target (e.g. int4 before iOS18), or too large
        (tmp_path / choice).mkdir()
        error = _total_sq_error(src, out, tmp_path / choice)
        best = error if best is None else min(best, error)
    if best is not None:
        assert plan_error <= best * (1 + 1e-9) + 1e-12, (plan_error, best)


@pytest.mark.parametrize("case", _cases(FIXTURES + MLPRESS_ONLY))
def test_min_snr_keeps_every_weight_above_the_floor(case, fixture_dir, mlpress, tmp_path):
    src = _source(case, fixture_dir, tmp_path)
    plan = json.loads(_run("plan", src, "--min-snr", "30", "--json", "--weight-threshold",
                           THRESHOLD, "--no-keep-first-last"))
    report = _sensitivity(src)
    results = {w["name"]: w["results"] for w in report["weights"]}
    for item in plan["items"]:
        for name in item["weights"]:
            r = results[name][item["choice"]]
            assert item["choice"] == "dense" or r["snr_db"] is None or r["snr_db"] >= 30
            smaller = [c for c, x in results[name].items() if x["available"]
                       and (x["snr_db"] is None or x["snr_db"] >= 30)
                       and x["file_bytes"] < r["file_bytes"]]
            assert not smaller or len(item["weights"]) > 1, (name, smaller)


@pytest.mark.parametrize("case", _cases())
def test_written_configs_give_coremltools_structure(case, fixture_dir, mlpress, tmp_path):
    import coremltools as ct
    src = _source(case, fixture_dir, tmp_path)
    report = _sensitivity(src)
    config_dir = tmp_path / "configs"
    _run("plan", src, "--target-size", _variable_target(report, 0.35), "--weight-threshold",
         THRESHOLD, "--no-keep-first-last", "-o", config_dir)
    files = sorted(config_dir.glob("*.yaml"))
    assert files, "the plan compresses nothing"
    ours, theirs = src, ct.models.MLModel(str(src), skip_model_load=True)
    apis = {"OpLinearQuantizerConfig": "linear_quantize_weights",
            "OpPalettizerConfig": "palettize_weights",
            "OpMagnitudePrunerConfig": "prune_weights"}
    for i, file in enumerate(files):
        config = ct.optimize.coreml.OptimizationConfig.from_yaml(str(file))
        api = apis[yaml.safe_load(file.read_text())["config_type"]]
        theirs = getattr(ct.optimize.coreml, api)(theirs, config)
        step_out = tmp_path / f"step{i}.mlpackage"
        _run("compress", ours, step_out, "--config", file)
        ours = step_out
    theirs.save(str(tmp_path / "coremltools.mlpackage"))
    expected = parity.constexprs(tmp_path / "coremltools.mlpackage")
    actual = parity.constexprs(ours)
    assert actual.pop("spec_version") == expected.pop("spec_version")
    assert sorted(actual) == sorted(expected)
    for name, want in expected.items():
        assert (actual[name]["type"], actual[name]["params"]) == (want["type"], want["params"]), name


@pytest.mark.parametrize("case", _cases(FIXTURES + MLPRESS_ONLY))
def test_first_and_last_weights_keep_eight_bits(case, fixture_dir, mlpress, tmp_path):
    src = _source(case, fixture_dir, tmp_path)
    report = _sensitivity(src)
    bits = {c["id"]: c["bits"] for c in report["choices"]}
    plan = json.loads(_run("plan", src, "--min-snr", "15", "--json", "--weight-threshold",
                           THRESHOLD))
    items = plan["items"]
    flagged = [i["op_name"] for i in items if i["kept_high_precision"]]
    assert flagged == list(dict.fromkeys([items[0]["op_name"], items[-1]["op_name"]]))
    for item in items:
        if item["kept_high_precision"]:
            assert item["choice"] == "dense" or bits[item["choice"]] >= 8, item


# --- a plan that prunes ---------------------------------------------------------------------


def _sparse_package(path: Path) -> Path:
    """Two linear layers whose weights are 80% exact zeros (pruning 75% of them loses nothing)
    between two dense ones: at a tight target the plan should prune the sparse ones."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types
    rng = np.random.default_rng(7)

    def weight(sparse: bool) -> np.ndarray:
        w = rng.standard_normal((64, 64)).astype(np.float16)
        if sparse:
            w[rng.random((64, 64)) < 0.8] = 0
        return w

    weights = [weight(s) for s in (False, True, True, False)]

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 64), dtype=types.fp16)],
                opset_version=ct.target.iOS18)
    def prog(x):
        for i, w in enumerate(weights):
            x = mb.linear(x=x, weight=w, name=f"fc{i}")
        return x

    model = ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=ct.target.iOS18,
                       compute_precision=ct.precision.FLOAT16)
    model.save(str(path))
    return path


def test_plan_that_prunes_fits_beats_uniform_and_matches_coremltools(mlpress, tmp_path):
    import coremltools as ct
    src = _sparse_package(tmp_path / "sparse.mlpackage")
    report = _sensitivity(src)
    target = _variable_target(report, 0.3)
    plan = json.loads(_run("plan", src, "--target-size", target, "--json", "--weight-threshold",
                           THRESHOLD, "--no-keep-first-last"))
    choices = sorted({item["choice"] for item in plan["items"]})
    assert any(c.startswith("prune") for c in choices), choices

    planned = tmp_path / "auto.mlpackage"
    _run("compress", "--auto", "--target-size", target, "--no-keep-first-last",
         "--weight-threshold", THRESHOLD, src, planned)
    assert _weight_file_bytes(planned) <= target
    plan_error = _total_sq_error(src, planned, tmp_path / "auto")
    for choice in [c["id"] for c in report["choices"] if c["id"] != "dense"]:
        api, cfg = _choice_config(choice)
        out = tmp_path / f"uniform-{choice}.mlpackage"
        config_file = tmp_path / f"{choice}.yaml"
        config_file.write_text(yaml.safe_dump(cfg))
        run = harness.run_mlpress("compress", src, out, "--config", config_file)
        if run.returncode != 0 or _weight_file_bytes(out) > target:
            continue
        (tmp_path / choice).mkdir()
        assert plan_error <= _total_sq_error(src, out, tmp_path / choice) * (1 + 1e-9) + 1e-12

    # The written configs, prune first, applied by coremltools call by call.
    config_dir = tmp_path / "configs"
    _run("plan", src, "--target-size", target, "--weight-threshold", THRESHOLD,
         "--no-keep-first-last", "-o", config_dir)
    files = sorted(config_dir.glob("*.yaml"))
    kinds = [yaml.safe_load(f.read_text())["config_type"] for f in files]
    assert "OpMagnitudePrunerConfig" in kinds, kinds
    apis = {"OpLinearQuantizerConfig": "linear_quantize_weights",
            "OpPalettizerConfig": "palettize_weights",
            "OpMagnitudePrunerConfig": "prune_weights"}
    ours, theirs = src, ct.models.MLModel(str(src), skip_model_load=True)
    for i, (file, kind) in enumerate(zip(files, kinds)):
        config = ct.optimize.coreml.OptimizationConfig.from_yaml(str(file))
        theirs = getattr(ct.optimize.coreml, apis[kind])(theirs, config)
        step_out = tmp_path / f"step{i}.mlpackage"
        _run("compress", ours, step_out, "--config", file)
        ours = step_out
    theirs.save(str(tmp_path / "coremltools.mlpackage"))
    expected = parity.constexprs(tmp_path / "coremltools.mlpackage")
    actual = parity.constexprs(ours)
    assert actual.pop("spec_version") == expected.pop("spec_version")
    assert sorted(actual) == sorted(expected)
    for name, want in expected.items():
        assert (actual[name]["type"], actual[name]["params"]) == (want["type"], want["params"]), name
