"""Self-tests of the harness, independent of mlpress.

The checks must pass packages that coremltools itself wrote, and must catch each kind of
damage a rewriter could do; otherwise a green conformance run would mean nothing.
"""

from __future__ import annotations

import json
import shutil
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

import checks
import fixtures
import harness
import inspect_checks
import oracle
import pkg
import weightbin
from oracle import ct

WEIGHTS = Path("Data/com.apple.CoreML/weights")
MODEL_FILE = Path("Data/com.apple.CoreML/model.mlmodel")
SPEC_VERSION = {"iOS15": 6, "iOS16": 7, "iOS17": 8, "iOS18": 9, "iOS26": 10}


def coremltools_resave(src: Path, dest: Path) -> Path:
    """The reference lossless rewrite: coremltools loads and saves the package."""
    out = dest / src.name
    ct.models.MLModel(str(src), skip_model_load=True).save(str(out))
    for path in out.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return out


# --- the checks pass coremltools' own output ------------------------------------------------


@pytest.mark.parametrize("fx", fixtures.FIXTURES, ids=lambda fx: fx.name)
def test_fixture_targets_its_spec_version(fx, fixture_dir):
    spec = ct.utils.load_spec(str(fixtures.fixture_path(fx.name, fixture_dir)))
    assert spec.specificationVersion == SPEC_VERSION[fx.target]


# MLModel.save copies weight.bin as it is, so it keeps what the input got wrong.
RESAVE_KEEPS = {"dead_blob_ios16_fp16": "check_blob_files: weight.bin: blob at 19584 is not "
                                        "referenced by any op"}


@pytest.mark.parametrize("case", harness.case_params())
def test_checks_pass_coremltools_resave(case, packages, tmp_path):
    out = coremltools_resave(packages.original_root(case), tmp_path)
    strict = case.kind != "real"  # some real files have non-zero reserved bytes (4.2)
    found = checks.run_checks(packages.loaded(case), oracle.load_package(out),
                              _with_reserved_rule(strict))
    expected = [RESAVE_KEEPS[case.name]] if case.name in RESAVE_KEEPS else []
    assert found == expected, "\n".join(found)


def _with_reserved_rule(strict: bool):
    def check_blob_files(orig, out):
        return checks.check_blob_files(orig, out, strict_reserved=strict)

    return tuple(check_blob_files if c is checks.check_blob_files else c
                 for c in checks.LOSSLESS_CHECKS)


@pytest.mark.parametrize("form", ["zip", "zip_macos", "zip_flat"])
def test_zipped_input_round_trips(form, packages, tmp_path):
    """Zipping a fixture and extracting it again gives the same package."""
    case = harness.Case("extra_items_ios16_fp16", "fixture")
    root = pkg.extract_package(packages.input_path(case, form), tmp_path)
    found = checks.run_checks(packages.loaded(case), oracle.load_package(root))
    assert not found, "\n".join(found)


def test_clean_zip_has_no_layout_problems(packages, tmp_path):
    case = harness.Case("pipeline_ios16_fp16", "fixture")
    zipped = pkg.zip_package(packages.original_root(case), tmp_path / "m.zip", "m.mlpackage")
    assert pkg.zip_layout_problems(zipped) == []


# --- the checks catch damage ---------------------------------------------------------------


def _first_record_data(root: Path) -> int:
    return struct.unpack_from("<Q", (root / WEIGHTS / "weight.bin").read_bytes(), 64 + 16)[0]


def _patch(path: Path, offset: int, data: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset:offset + len(data)] = data
    path.write_bytes(bytes(raw))


def _edit_spec(root: Path, edit) -> None:
    spec = ct.proto.Model_pb2.Model.FromString((root / MODEL_FILE).read_bytes())
    edit(spec)
    (root / MODEL_FILE).write_bytes(spec.SerializeToString())


def flip_weight_bit(root):
    _patch(root / WEIGHTS / "weight.bin", _first_record_data(root), b"\x55")


def append_unreferenced_blob(root):
    path = root / WEIGHTS / "weight.bin"
    data = path.read_bytes()
    start = (len(data) + 63) // 64 * 64
    record = struct.pack("<IIQQQ", weightbin.SENTINEL, 2, 4, start + 64, 0) + bytes(32)
    count = struct.unpack_from("<I", data, 0)[0]
    path.write_bytes(struct.pack("<I", count + 1) + data[4:] + bytes(start - len(data))
                     + record + b"\0\0\x80\x3f")


def dirty_reserved_bytes(root):
    _patch(root / WEIGHTS / "weight.bin", 64 + 40, b"\x01")


def trailing_garbage(root):
    with open(root / WEIGHTS / "weight.bin", "ab") as f:
        f.write(b"\x07" * 100)


def drop_unlisted_file(root):
    (root / "Data/com.example.tool/unlisted.txt").unlink()


def change_carried_file(root):
    (root / "Data/com.apple.CoreML/Metadata.json").write_text("{}\n")


def add_stray_file(root):
    (root / WEIGHTS / "weight.bin.tmp").write_bytes(b"x")


def drop_manifest_item(root):
    manifest = pkg.read_manifest(root)
    entries = manifest["itemInfoEntries"]
    del entries[next(k for k, v in entries.items() if v["name"] == "Metadata.json")]
    (root / "Manifest.json").write_text(json.dumps(manifest, indent=4))


def change_author(root):
    _edit_spec(root, lambda s: setattr(s.description.metadata, "author", "someone else"))


def bump_spec_version(root):
    _edit_spec(root, lambda s: setattr(s, "specificationVersion", s.specificationVersion + 1))


def rename_relu(root):
    def edit(spec):
        block = next(iter(spec.mlProgram.functions["main"].block_specializations.values()))
        for op in block.operations:
            if op.type == "relu":
                op.attributes["name"].immediateValue.tensor.strings.values[0] = "renamed"

    _edit_spec(root, edit)


# (mutation, fixture it applies to, check expected to object)
MUTATIONS = [
    (flip_weight_bit, "linear_ios17_fp32", "check_values"),
    (append_unreferenced_blob, "linear_ios17_fp32", "check_blob_files"),
    (dirty_reserved_bytes, "linear_ios17_fp32", "check_blob_files"),
    (trailing_garbage, "linear_ios17_fp32", "check_blob_files"),
    (drop_unlisted_file, "extra_items_ios16_fp16", "check_other_files"),
    (change_carried_file, "extra_items_ios16_fp16", "check_other_files"),
    (add_stray_file, "extra_items_ios16_fp16", "check_other_files"),
    (drop_manifest_item, "extra_items_ios16_fp16", "check_manifest"),
    (change_author, "conv_ios16_fp16", "check_spec_fields"),
    (bump_spec_version, "conv_ios16_fp16", "check_spec_fields"),
    (rename_relu, "extra_items_ios16_fp16", "check_program_unchanged"),
]


@pytest.mark.parametrize("mutate, fixture, check", MUTATIONS,
                         ids=[m[0].__name__ for m in MUTATIONS])
def test_checks_catch(mutate, fixture, check, packages, tmp_path):
    case = harness.Case(fixture, "fixture")
    out = coremltools_resave(packages.original_root(case), tmp_path)
    mutate(out)
    found = checks.run_checks(packages.loaded(case), oracle.load_package(out))
    assert any(p.startswith(check + ":") for p in found), found


def test_zip_layout_catches_junk_and_two_tops(packages, tmp_path):
    case = harness.Case("linear_ios17_fp32", "fixture")
    junk = pkg.zip_package(packages.original_root(case), tmp_path / "j.zip", "m.mlpackage",
                           macos_junk=True)
    assert any("junk" in p for p in pkg.zip_layout_problems(junk))
    two = tmp_path / "two.zip"
    shutil.copy(junk, two)
    with zipfile.ZipFile(two, "a") as zf:
        zf.writestr("other.mlpackage/Manifest.json", "{}")
    assert any("one top folder" in p for p in pkg.zip_layout_problems(two))


# --- the blob reader agrees with coremltools' writer ---------------------------------------


def test_blob_reader_matches_coremltools_writer(tmp_path):
    from coremltools.libmilstoragepython import _BlobStorageWriter

    path = tmp_path / "weight.bin"
    writer = _BlobStorageWriter(str(path), truncate_file=True)
    written = [
        (writer.write_float_data(np.arange(500, dtype=np.float32)), "FLOAT32", 500),
        (writer.write_uint4_data(np.array([1, 2, 3], dtype=np.uint8)), "UINT4", 3),
        (writer.write_fp16_data(np.ones(11, np.float16).view(np.uint16)), "FLOAT16", 11),
        (writer.write_uint3_data(np.array([1, 2, 3, 4, 5], dtype=np.uint8)), "UINT3", 5),
        (writer.write_int8_data(np.arange(-5, 5, dtype=np.int8)), "INT8", 10),
    ]
    del writer  # the header count is final once the writer is gone
    blob = weightbin.read_blob_file(path)
    assert blob.problems == []
    assert [w[0] for w in written][:2] == [64, 2176]  # FORMAT.md 4.3's worked example
    assert sorted(blob.records) == sorted(w[0] for w in written)
    for offset, dtype, count in written:
        record = blob.records[offset]
        assert record.dtype == weightbin.BLOB_TYPES[dtype][0]
        assert (record.size, record.padding_bits) == weightbin.expected_size(dtype, count)


# --- the inspect comparison ----------------------------------------------------------------


@pytest.mark.parametrize("case", harness.case_params())
def test_inspect_reference_report_passes(case, packages):
    loaded = packages.loaded(case)
    assert inspect_checks.inspect_problems(inspect_checks.reference_report(loaded), loaded) == []


def _first_weight(report, predicate):
    return next(w for w in report["weights"] if predicate(w))


def _break_consumers(w):
    w["consumers"] = w["consumers"][:1]


INSPECT_DAMAGE = [
    ("drop consumer", lambda w: len(w["consumers"]) > 1, _break_consumers, "consumers"),
    ("sparsity", lambda w: True, lambda w: w.update(sparsity=w["sparsity"] + 1e-6), "sparsity"),
    ("storage", lambda w: w["storage"]["kind"] == "blob",
     lambda w: w.update(storage={"kind": "inline"}), "storage.kind"),
    ("offset", lambda w: w["storage"]["kind"] == "blob",
     lambda w: w["storage"].update(offset=w["storage"]["offset"] + 64), "storage.offset"),
    ("dtype", lambda w: True, lambda w: w.update(dtype="fp64"), "dtype"),
    ("unique", lambda w: True, lambda w: w.update(unique_values=w["unique_values"] + 1),
     "unique_values"),
]


@pytest.mark.parametrize("label, pick, damage, field", INSPECT_DAMAGE,
                         ids=[d[0] for d in INSPECT_DAMAGE])
def test_inspect_comparison_catches(label, pick, damage, field, packages):
    loaded = packages.loaded(harness.Case("shared_const_ios17_fp16", "fixture"))
    report = inspect_checks.reference_report(loaded)
    damage(_first_weight(report, pick))
    assert any(field in p for p in inspect_checks.inspect_problems(report, loaded))


def test_inspect_comparison_catches_missing_weight(packages):
    loaded = packages.loaded(harness.Case("while_loop_ios15_fp32", "fixture"))
    report = inspect_checks.reference_report(loaded)
    report["weights"] = [w for w in report["weights"] if w["name"] != "step_weight_1"]
    assert any("missing" in p for p in inspect_checks.inspect_problems(report, loaded))


# --- the fixtures exercise what they are named after ---------------------------------------


def _weights(packages, name):
    return oracle.expected_weights(packages.loaded(harness.Case(name, "fixture")))


def test_shared_const_has_two_consumers(packages):
    big = [w for w in _weights(packages, "shared_const_ios17_fp16").values()
           if w["element_count"] > 2048]
    assert [len(w["consumers"]) for w in big] == [2]


def test_while_loop_weight_is_consumed_inside_the_body(packages):
    weights = _weights(packages, "while_loop_ios18_fp16")
    assert any(c["op_name"].startswith("step") for w in weights.values()
               for c in w["consumers"])


def test_small_and_inline_weights_exist(packages):
    weights = _weights(packages, "small_weights_ios16_fp16").values()
    assert {w["storage"]["kind"] for w in weights} == {"blob", "inline"}
    assert max(w["element_count"] for w in weights) <= 2048


def test_no_blobs_fixture_has_no_weight_file(packages):
    loaded = packages.loaded(harness.Case("no_blobs_ios16_fp32", "fixture"))
    assert not list(loaded.weights_dir.iterdir())


def test_multifunction_functions_share_a_blob(packages):
    weights = _weights(packages, "multifunction_ios18_fp16").values()
    offsets = {}
    for w in weights:
        offsets.setdefault(w["storage"].get("offset"), set()).add(w["function"])
    assert {"head_a", "head_b"} in offsets.values()


def test_pipeline_has_one_blob_file_per_program(packages):
    loaded = packages.loaded(harness.Case("pipeline_ios16_fp16", "fixture"))
    assert sorted(p.name for p in loaded.weights_dir.iterdir()) == ["0-weight.bin",
                                                                   "1-weight.bin"]
    assert len(loaded.programs) == 2


def test_fixtures_mostly_hold_compression_candidates(packages):
    """Most fixtures have a weight above coremltools' default 2048-element threshold."""
    with_candidates = [fx.name for fx in fixtures.FIXTURES
                       if any(w["element_count"] > 2048 and len(w["shape"]) >= 2
                              for w in _weights(packages, fx.name).values())]
    assert len(with_candidates) >= len(fixtures.FIXTURES) // 2
