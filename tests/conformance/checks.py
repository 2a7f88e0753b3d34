"""Checks of a rewritten package against its original, each returning a list of problems.

A check never raises on a bad package: it reports, so one test run shows every way an output
is wrong. The tests assert that the combined list is empty.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Callable

import milspec
import oracle
import pkg
import weightbin

Check = Callable[[oracle.Loaded, oracle.Loaded], list[str]]
MAX_REPORTED = 12  # per check, so a wholesale failure stays readable


def _limit(problems: list[str]) -> list[str]:
    if len(problems) <= MAX_REPORTED:
        return problems
    return problems[:MAX_REPORTED] + [f"... and {len(problems) - MAX_REPORTED} more"]


def _bytes(message) -> bytes:
    return message.SerializeToString(deterministic=True)


def check_spec_fields(orig: oracle.Loaded, out: oracle.Loaded) -> list[str]:
    """Everything in the spec but the programs (description, metadata, version) is unchanged."""
    a, b = milspec.without_programs(orig.spec), milspec.without_programs(out.spec)
    if _bytes(a) == _bytes(b):
        return []
    problems = []
    if a.specificationVersion != b.specificationVersion:
        problems.append(f"specificationVersion {a.specificationVersion} -> "
                        f"{b.specificationVersion}")
    if _bytes(a.description) != _bytes(b.description):
        problems.append("model description (inputs, outputs, metadata) differs")
    return problems or ["spec fields outside the ML programs differ"]


def check_program_unchanged(orig: oracle.Loaded, out: oracle.Loaded) -> list[str]:
    """For a lossless rewrite the programs are identical except for blob offsets."""
    a, b = milspec.without_blob_offsets(orig.spec), milspec.without_blob_offsets(out.spec)
    pa, pb = milspec.ml_programs(a), milspec.ml_programs(b)
    if len(pa) != len(pb):
        return [f"{len(pa)} ML programs became {len(pb)}"]
    problems = []
    for x, y in zip(pa, pb):
        if _bytes(x.model.mlProgram) != _bytes(y.model.mlProgram):
            problems.append(f"program {x.index}: {_first_program_difference(x, y)}")
    return problems


def _first_program_difference(x: milspec.ProgramRef, y: milspec.ProgramRef) -> str:
    """Names the first op that differs, so a failure points somewhere useful."""
    ops_x, ops_y = list(milspec.iter_ops(x)), list(milspec.iter_ops(y))
    for i, (ox, oy) in enumerate(zip(ops_x, ops_y)):
        if _bytes(ox.op) != _bytes(oy.op):
            return (f"op #{i} {ox.function}/{milspec.op_name(ox.op)} ({ox.op.type}) differs "
                    f"from {oy.function}/{milspec.op_name(oy.op)} ({oy.op.type})")
    if len(ops_x) != len(ops_y):
        return f"{len(ops_x)} ops became {len(ops_y)}"
    return "function inputs, outputs, opsets or program attributes differ"


def check_values(orig: oracle.Loaded, out: oracle.Loaded) -> list[str]:
    """Every const and constexpr op keeps its name and its values, bit for bit."""
    problems = []
    for key in sorted(set(orig.values) - set(out.values)):
        problems.append(f"const/constexpr op {key} is missing")
    for key in sorted(set(out.values) - set(orig.values)):
        problems.append(f"unexpected const/constexpr op {key}")
    for key in sorted(set(orig.values) & set(out.values)):
        a, b = orig.values[key], out.values[key]
        for param in sorted(set(a) | set(b)):
            if a.get(param) != b.get(param):
                problems.append(f"{key} {param}: {a.get(param)!r} became {b.get(param)!r}")
    return _limit(problems)


def check_blob_files(orig: oracle.Loaded, out: oracle.Loaded, strict_reserved=True) -> list[str]:
    """Each blob file holds exactly the blobs the programs reference, laid out as 4.3 says."""
    refs = milspec.blob_refs(out.spec)
    if not refs:
        return []
    if out.weights_dir is None:
        return ["programs reference blobs but the manifest has no weights item"]
    by_file: dict[str, list[milspec.BlobRef]] = defaultdict(list)
    for ref in refs:
        by_file[ref.file].append(ref)
    problems = []
    for name, file_refs in sorted(by_file.items()):
        path = out.weights_dir / name
        if not path.is_file():
            problems.append(f"referenced blob file weights/{name} does not exist")
            continue
        problems += _check_one_blob_file(path, file_refs, strict_reserved)
    return _limit(problems)


def _check_one_blob_file(path: Path, refs: list[milspec.BlobRef],
                         strict_reserved: bool) -> list[str]:
    blob = weightbin.read_blob_file(path, strict_reserved)
    problems = list(blob.problems)
    referenced = {r.offset for r in refs}
    for offset in sorted(set(blob.records) - referenced):
        problems.append(f"{path.name}: blob at {offset} is not referenced by any op")
    for ref in refs:
        record = blob.records.get(ref.offset)
        if record is None:
            problems.append(f"{path.name}: {ref.function}/{ref.op_name} {ref.param} points at "
                            f"{ref.offset}, where no blob record starts")
            continue
        problems += _record_matches(path.name, record, ref)
    if blob.count != len(blob.records) and not blob.problems:
        problems.append(f"{path.name}: header count {blob.count}, {len(blob.records)} records")
    return problems


def _record_matches(file: str, record: weightbin.Record, ref: milspec.BlobRef) -> list[str]:
    """The record's dtype code and size agree with the TensorType that references it."""
    where = f"{file}@{ref.offset} ({ref.function}/{ref.op_name} {ref.param})"
    if ref.dtype not in weightbin.BLOB_TYPES:
        return [f"{where}: {ref.dtype} cannot be stored in a blob"]
    code, _ = weightbin.BLOB_TYPES[ref.dtype]
    size, padding = weightbin.expected_size(ref.dtype, math.prod(ref.shape))
    problems = []
    if record.dtype != code:
        problems.append(f"{where}: blob dtype code {record.dtype}, {ref.dtype} needs {code}")
    if (record.size, record.padding_bits) != (size, padding):
        problems.append(f"{where}: size {record.size} B / padding {record.padding_bits} bits, "
                        f"shape {ref.shape} needs {size} B / {padding} bits")
    return problems


def check_manifest(orig: oracle.Loaded, out: oracle.Loaded) -> list[str]:
    """Same items (identifiers may change), same root model, every item path present."""
    problems = []
    manifest = pkg.read_manifest(out.root)
    if manifest.get("fileFormatVersion") != "1.0.0":
        problems.append(f"fileFormatVersion {manifest.get('fileFormatVersion')!r}")
    items, root_item = pkg.manifest_items(manifest)
    orig_items, orig_root = pkg.manifest_items(pkg.read_manifest(orig.root))
    for item in sorted(orig_items - items, key=str):
        problems.append(f"manifest item lost: {item}")
    for item in sorted(items - orig_items, key=str):
        problems.append(f"manifest item added: {item}")
    if root_item != orig_root:
        problems.append(f"root model item {orig_root} became {root_item}")
    for item in sorted(items, key=str):
        if item.path is None or not (out.root / "Data" / item.path).exists():
            problems.append(f"manifest item path Data/{item.path} does not exist")
    return problems


def _blob_file_paths(loaded: oracle.Loaded) -> set[str]:
    if loaded.weights_dir is None:
        return set()
    weights = loaded.weights_dir.resolve().relative_to(loaded.root.resolve()).as_posix()
    return {f"{weights}/{r.file}" for r in milspec.blob_refs(loaded.spec)}


def _model_file_path(loaded: oracle.Loaded) -> str:
    _, root_item = pkg.manifest_items(pkg.read_manifest(loaded.root))
    return f"Data/{root_item.path}" if root_item else ""


def check_other_files(orig: oracle.Loaded, out: oracle.Loaded) -> list[str]:
    """Files mlpress does not own are carried over byte for byte, and nothing else appears."""
    before, after = pkg.file_digests(orig.root), pkg.file_digests(out.root)
    owned_before = {"Manifest.json", _model_file_path(orig)} | _blob_file_paths(orig)
    owned_after = {"Manifest.json", _model_file_path(out)} | _blob_file_paths(out)
    carried = {p: d for p, d in before.items() if p not in owned_before}
    problems = []
    for path, digest in sorted(carried.items()):
        if path not in after:
            problems.append(f"file {path} was dropped")
        elif after[path] != digest:
            problems.append(f"file {path} changed")
    for path in sorted(set(after) - set(carried) - owned_after):
        problems.append(f"unexpected file {path}")
    return problems


LOSSLESS_CHECKS: tuple[Check, ...] = (
    check_spec_fields,
    check_program_unchanged,
    check_values,
    check_blob_files,
    check_manifest,
    check_other_files,
)


def run_checks(orig: oracle.Loaded, out: oracle.Loaded,
               checks: tuple[Check, ...] = LOSSLESS_CHECKS) -> list[str]:
    """Runs every check; each problem is prefixed by the name of the check that found it."""
    problems = []
    for check in checks:
        try:
            found = check(orig, out)
        except Exception as exc:  # a crash inside a check is itself a finding
            found = [f"check crashed: {type(exc).__name__}: {exc}"]
        problems += [f"{check.__name__}: {p}" for p in found]
    return problems
