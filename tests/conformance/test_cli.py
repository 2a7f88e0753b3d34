"""The CLI error contract: exit 1, `mlpress: error: <message>` on stderr, no output left."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

import fixtures
import harness
import pkg

BASE_FIXTURE = "linear_ios17_fp32"  # has a weight.bin; any blob-holding fixture would do
WEIGHT_BIN = Path("Data/com.apple.CoreML/weights/weight.bin")
MODEL_FILE = Path("Data/com.apple.CoreML/model.mlmodel")


def _copy(fixture_dir: Path, dest: Path) -> Path:
    """A writable copy of the base fixture."""
    root = dest / f"{BASE_FIXTURE}.mlpackage"
    shutil.copytree(fixtures.fixture_path(BASE_FIXTURE, fixture_dir), root)
    for path in root.rglob("*"):
        path.chmod(0o755 if path.is_dir() else 0o644)
    return root


def _patch(path: Path, offset: int, data: bytes) -> None:
    raw = bytearray(path.read_bytes())
    raw[offset:offset + len(data)] = data
    path.write_bytes(bytes(raw))


# Each maker turns a copy of the base fixture (or nothing) into one bad input.
def bad_missing(fixture_dir, dest):
    return dest / "does-not-exist.mlpackage"


def bad_empty_file(fixture_dir, dest):
    (dest / "empty.mlpackage.zip").write_bytes(b"")
    return dest / "empty.mlpackage.zip"


def bad_not_a_zip(fixture_dir, dest):
    (dest / "text.mlpackage.zip").write_text("this is not a zip archive\n" * 10)
    return dest / "text.mlpackage.zip"


def bad_truncated_zip(fixture_dir, dest):
    full = pkg.zip_package(_copy(fixture_dir, dest), dest / "full.zip", "m.mlpackage")
    (dest / "truncated.mlpackage.zip").write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    return dest / "truncated.mlpackage.zip"


def bad_no_manifest(fixture_dir, dest):
    root = _copy(fixture_dir, dest)
    (root / "Manifest.json").unlink()
    return root


def bad_manifest_not_json(fixture_dir, dest):
    root = _copy(fixture_dir, dest)
    (root / "Manifest.json").write_text('{"fileFormatVersion": ')
    return root


def bad_model_not_protobuf(fixture_dir, dest):
    root = _copy(fixture_dir, dest)
    (root / MODEL_FILE).write_bytes(b"\x0f\xff\xff\xff" * 8)  # wire type 7 does not exist
    return root


def bad_missing_weight_bin(fixture_dir, dest):
    root = _copy(fixture_dir, dest)
    (root / WEIGHT_BIN).unlink()
    return root


def bad_blob_sentinel(fixture_dir, dest):
    root = _copy(fixture_dir, dest)
    _patch(root / WEIGHT_BIN, 64, struct.pack("<I", 0x12345678))
    return root


def bad_blob_version(fixture_dir, dest):
    root = _copy(fixture_dir, dest)
    _patch(root / WEIGHT_BIN, 4, struct.pack("<I", 1))
    return root


def bad_truncated_weight_bin(fixture_dir, dest):
    root = _copy(fixture_dir, dest)
    data = (root / WEIGHT_BIN).read_bytes()
    (root / WEIGHT_BIN).write_bytes(data[: len(data) // 2])
    return root


BAD_INPUTS = [
    bad_missing,
    bad_empty_file,
    bad_not_a_zip,
    bad_truncated_zip,
    bad_no_manifest,
    bad_manifest_not_json,
    bad_model_not_protobuf,
    bad_missing_weight_bin,
    bad_blob_sentinel,
    bad_blob_version,
    bad_truncated_weight_bin,
]


def assert_error(result, out_dir: Path, allowed: set[str]) -> None:
    """Exit 1, an `mlpress: error:` line, and nothing new in the output directory."""
    assert result.returncode == 1, harness.describe_run(result)
    lines = result.stderr.splitlines()
    assert any(line.startswith("mlpress: error: ") and len(line) > len("mlpress: error: ")
               for line in lines), harness.describe_run(result)
    left = sorted(p.name for p in out_dir.iterdir() if p.name not in allowed)
    assert not left, f"files left behind after an error: {left}"


@pytest.fixture
def bad_dir(tmp_path):
    path = tmp_path / "bad"
    path.mkdir()
    return path


@pytest.mark.parametrize("make_bad", BAD_INPUTS, ids=lambda f: f.__name__.removeprefix("bad_"))
@pytest.mark.parametrize("out_name", ["out.mlpackage.zip", "out.mlpackage"])
def test_compress_bad_input(make_bad, out_name, fixture_dir, mlpress, bad_dir, tmp_path):
    src = make_bad(fixture_dir, bad_dir)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    assert_error(harness.run_mlpress("compress", src, out_dir / out_name), out_dir, set())


@pytest.mark.parametrize("make_bad", BAD_INPUTS, ids=lambda f: f.__name__.removeprefix("bad_"))
def test_inspect_bad_input(make_bad, fixture_dir, mlpress, bad_dir):
    src = make_bad(fixture_dir, bad_dir)
    before = {p.name for p in bad_dir.iterdir()}
    for args in (["inspect", src], ["inspect", src, "--json"]):
        assert_error(harness.run_mlpress(*args), bad_dir, before)


def test_compress_refuses_output_equal_to_input(fixture_dir, mlpress, tmp_path):
    root = _copy(fixture_dir, tmp_path)
    before = pkg.file_digests(root)
    assert_error(harness.run_mlpress("compress", root, root), tmp_path, {root.name})
    assert pkg.file_digests(root) == before, "input changed"


def test_compress_into_missing_directory(fixture_dir, mlpress, tmp_path):
    src = fixtures.fixture_path(BASE_FIXTURE, fixture_dir)
    result = harness.run_mlpress("compress", src, tmp_path / "no" / "such" / "out.zip")
    assert_error(result, tmp_path, set())


def test_compress_unknown_output_kind(fixture_dir, mlpress, tmp_path):
    """An output that is neither .zip nor .mlpackage is refused, not guessed."""
    src = fixtures.fixture_path(BASE_FIXTURE, fixture_dir)
    assert_error(harness.run_mlpress("compress", src, tmp_path / "out.txt"), tmp_path, set())


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["compress"], ["inspect"]],
                         ids=["no-args", "unknown-command", "compress-no-args",
                              "inspect-no-args"])
def test_usage_errors(args, mlpress, tmp_path):
    """A wrong command line exits 2 (the usual usage-error status), still with a message."""
    result = harness.run_mlpress(*args)
    assert result.returncode == 2, harness.describe_run(result)
    assert "mlpress: error: " in result.stderr, harness.describe_run(result)
