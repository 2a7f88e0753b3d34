"""An independent reader for MIL blob storage v2 files (weight.bin), FORMAT.md section 4.

coremltools' own reader checks one record at a time when asked for an offset; it never looks
at the file as a whole. This reader walks the file from the header and reports every layout
rule a writer can break: count, version, sentinels, alignment, reserved and gap bytes.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

HEADER_SIZE = 64
RECORD_SIZE = 64
ALIGNMENT = 64
STORAGE_VERSION = 2
SENTINEL = 0xDEADBEEF

# MIL DataType names (MIL.proto) -> (BlobDataType code, bits per element).
BLOB_TYPES: dict[str, tuple[int, int]] = {
    "FLOAT16": (1, 16),
    "FLOAT32": (2, 32),
    "UINT8": (3, 8),
    "INT8": (4, 8),
    "BFLOAT16": (5, 16),
    "INT16": (6, 16),
    "UINT16": (7, 16),
    "INT4": (8, 4),
    "UINT1": (9, 1),
    "UINT2": (10, 2),
    "UINT4": (11, 4),
    "UINT3": (12, 3),
    "UINT6": (13, 6),
    "INT32": (14, 32),
    "UINT32": (15, 32),
    "FLOAT8E4M3FN": (16, 8),
    "FLOAT8E5M2": (17, 8),
}


@dataclass(frozen=True)
class Record:
    """One blob: its metadata record offset (what BlobFileValue.offset holds) and fields."""

    offset: int
    dtype: int
    size: int
    data_offset: int
    padding_bits: int


@dataclass
class BlobFile:
    path: Path
    count: int = 0
    records: dict[int, Record] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)


def _round_up(n: int, multiple: int) -> int:
    return (n + multiple - 1) // multiple * multiple


def _check_zero(data: bytes, start: int, end: int, what: str, problems: list[str]) -> None:
    if any(data[start:end]):
        problems.append(f"{what} (bytes {start}..{end}) are not zero")


def read_blob_file(path: Path, strict_reserved: bool = True) -> BlobFile:
    """Walks every record of a blob file and collects layout problems.

    `strict_reserved=False` accepts non-zero reserved record bytes, which some real files
    written before iOS18 have (FORMAT.md 4.2); a rewriter's output must have zeros.
    """
    data = path.read_bytes()
    blob = BlobFile(path)
    if len(data) < HEADER_SIZE:
        blob.problems.append(f"{path.name}: shorter than the 64-byte header")
        return blob
    blob.count, version = struct.unpack_from("<II", data, 0)
    if version != STORAGE_VERSION:
        blob.problems.append(f"{path.name}: header version {version}, expected 2")
    _check_zero(data, 8, HEADER_SIZE, f"{path.name}: header reserved bytes", blob.problems)
    cursor = HEADER_SIZE
    for index in range(blob.count):
        record = _read_record(data, cursor, index, path.name, strict_reserved, blob.problems)
        if record is None:
            return blob
        blob.records[cursor] = record
        end = record.data_offset + record.size
        following = _round_up(end, ALIGNMENT)
        last = index == blob.count - 1
        _check_zero(data, end, min(following, len(data)),
                    f"{path.name}: padding after blob {index}", blob.problems)
        cursor = following
        if last and len(data) > following:
            blob.problems.append(
                f"{path.name}: {len(data) - following} bytes after the last blob")
    if blob.count == 0 and len(data) != HEADER_SIZE:
        blob.problems.append(f"{path.name}: count is 0 but the file has data")
    return blob


def _read_record(data: bytes, offset: int, index: int, name: str, strict_reserved: bool,
                 problems: list[str]) -> Record | None:
    """Decodes and checks the metadata record at `offset`; None when it is unreadable."""
    if offset + RECORD_SIZE > len(data):
        problems.append(f"{name}: header count says {index + 1}+ blobs, file ends first")
        return None
    sentinel, dtype, size, data_offset, padding = struct.unpack_from("<IIQQQ", data, offset)
    if sentinel != SENTINEL:
        problems.append(f"{name}: record {index} at {offset}: sentinel {sentinel:#x}")
        return None
    if data_offset != offset + RECORD_SIZE:
        problems.append(f"{name}: record {index} at {offset}: data at {data_offset}, "
                        f"expected {offset + RECORD_SIZE}")
    if data_offset + size > len(data):
        problems.append(f"{name}: record {index} at {offset}: data runs past the end")
        return None
    if padding >= 8:
        problems.append(f"{name}: record {index} at {offset}: padding_size_in_bits {padding}")
    if strict_reserved:
        _check_zero(data, offset + 32, offset + RECORD_SIZE,
                    f"{name}: record {index} at {offset}: reserved bytes", problems)
    return Record(offset, dtype, size, data_offset, padding)


def expected_size(mil_dtype: str, element_count: int) -> tuple[int, int]:
    """(sizeInBytes, padding_size_in_bits) a blob of this MIL dtype and count must have."""
    _, bits = BLOB_TYPES[mil_dtype]
    total_bits = element_count * bits
    return (total_bits + 7) // 8, (8 - total_bits % 8) % 8
