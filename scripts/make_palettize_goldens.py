#!/usr/bin/env python3
"""Golden results for palettization, produced by coremltools itself.

Runs coremltools' own palettizer (`palettize_weights.blockwise_compress` and `.decompress`, the
calls the `compression::palettize_weights` pass makes for every weight, COMPRESSION.md §4) on
deterministic fp16 and fp32 tensors and writes tests/data/palettize/goldens.bin, read by
tests/core/palettize_golden_test.cc. The per-channel scale is applied around those calls exactly
as the pass's `transform_op` does (§4.7).

For uniform and unique modes the file holds coremltools' decompressed values (which mlpress must
reproduce exactly); for kmeans it holds coremltools' squared error against the source weight
(which mlpress must not exceed).

File layout (little-endian):
  magic  b"MLPPGLD1"
  u32    tensor count, u32 case count
  tensor: u8 type (0 fp16, 1 fp32), u8 rank, u64 dims[rank], raw values (row-major)
  case:   u32 tensor index, u8 mode (0 kmeans, 1 uniform, 2 unique), u8 nbits (0 for unique),
          u8 channel axis, u64 group size (0 = per tensor), u8 cluster_dim,
          u8 per-channel scale (0/1), u8 status (0 done, 1 coremltools skipped, 2 it raised)
          if done:
            u8 nbits used, u8 used kmeans1d (every group went through the exact 1-D k-means)
            kmeans: f64 sum of squared errors against the source weight
            others: the decompressed values, raw in the tensor's type, then coremltools'
                    LUT: u8 rank, u64 dims[rank], raw values in the tensor's type, and its
                    indices: u8 rank, u64 dims[rank], one byte per index (row-major)

Usage: python3 scripts/make_palettize_goldens.py [output path]
"""

import logging
import os
import struct
import sys
import warnings

import numpy as np

logging.disable(logging.WARNING)
warnings.filterwarnings("ignore")

import coremltools  # noqa: E402
from coremltools.optimize.coreml._quantization_passes import (  # noqa: E402
    palettize_weights,
)

MODES = {"KMEANS": 0, "UNIFORM": 1, "UNIQUE": 2}


def tensors():
    """(name, float64 source, dtypes, cases); a case is (mode, nbits, axis, group, dim, pcs)."""
    rng = np.random.default_rng(20260901)
    out = []

    def sweep(modes, nbits_list, layouts, pcs_nbits):
        cases = []
        for mode in modes:
            for nbits in nbits_list:
                for axis, group, dim in layouts:
                    for pcs in (0, 1):
                        if pcs and nbits not in pcs_nbits:
                            continue
                        cases.append((mode, nbits, axis, group, dim, pcs))
        return cases

    d = rng.standard_normal((32, 48)) * 0.05
    d[0:8] = 0.25  # a constant group (rows 0-7): uniform's max == min path
    d[9] = np.abs(d[9]) * 40.0
    d[:, 7] = 0.0  # a zero column: per-channel scale 0 -> 1 on axis 0
    d[12, 3] = -2.5  # outlier
    layouts = [(0, 0, 1), (0, 8, 1), (1, 16, 1), (1, 0, 1)]
    out.append(("dense", d, (np.float16, np.float32),
                sweep(["UNIFORM", "KMEANS"], [1, 2, 3, 4, 6, 8], layouts, (2, 4, 8)) +
                [("KMEANS", 4, 0, 5, 1, 0)]))  # 32 % 5 != 0: skipped

    c = rng.standard_normal((16, 8, 3, 3)) * 0.1
    c[3] = 0.0
    layouts = [(0, 0, 1), (0, 4, 1), (1, 2, 1)]
    out.append(("conv", c, (np.float16, np.float32),
                sweep(["UNIFORM", "KMEANS"], [1, 2, 3, 4, 6, 8], layouts, (4, 8))))

    # Large enough (>= 10 000 elements) for coremltools' exact kmeans1d path on fp16.
    b = rng.standard_normal((64, 160)) * 0.02
    b[5] = rng.standard_normal(160) * 0.5
    out.append(("big", b, (np.float16, np.float32),
                [("KMEANS", n, 0, 0, 1, p) for n in (1, 2, 4, 8) for p in (0, 1)] +
                [("KMEANS", 4, 0, 16, 1, 0), ("UNIFORM", 4, 0, 0, 1, 0)]))

    # Few distinct values: unique mode, and k-means with fewer values than entries.
    f = rng.choice(np.array([-1.5, -0.25, 0.0, 0.125, 0.5, 3.0]), size=(16, 24))
    f[0:4] = rng.choice(np.array([0.5, 1.0]), size=(4, 24))
    out.append(("few", f, (np.float16, np.float32),
                [("UNIQUE", 0, a, g, dim, p) for a, g in ((0, 0), (0, 4), (1, 8))
                 for dim in (1, 2) for p in (0, 1)] +
                [("KMEANS", n, 0, g, 1, 0) for n in (2, 3, 4) for g in (0, 4)]))

    m = np.round(rng.standard_normal((12, 32)) * 30.0) / 64.0  # ~100-200 distinct values
    out.append(("many", m, (np.float16, np.float32),
                [("UNIQUE", 0, 0, g, 1, p) for g in (0, 4) for p in (0, 1)] +
                [("UNIQUE", 0, 0, 0, 2, 0), ("UNIQUE", 0, 0, 0, 4, 0)]))

    r = rng.standard_normal((8, 64))  # > 256 distinct: unique skips
    out.append(("random", r, (np.float16,), [("UNIQUE", 0, 0, 0, 1, 0),
                                             ("UNIQUE", 0, 0, 2, 1, 0)]))

    # Vector palettization: sklearn k-means on vectors along the channel axis.
    v = rng.standard_normal((64, 64)) * 0.05
    v[0:32:2] = v[1:32:2] * 0.9 + 0.01  # correlated pairs
    vec_cases = []
    for axis, group in ((0, 0), (0, 16), (1, 32)):
        for dim in (2, 4):
            for nbits in (1, 2, 4, 6, 8):
                for pcs in (0, 1):
                    if pcs and nbits != 4:
                        continue
                    vec_cases.append(("KMEANS", nbits, axis, group, dim, pcs))
    vec_cases.append(("KMEANS", 4, 0, 0, 3, 0))  # 64 % 3 != 0: skipped
    vec_cases.append(("KMEANS", 8, 0, 8, 4, 0))  # 128 vectors per group < 256: raises
    out.append(("vector", v, (np.float16, np.float32), vec_cases))
    return out


def run_case(weight, mode, nbits, axis, group, dim, pcs):
    """coremltools' decompressed weight and nbits, None (skipped) or an exception."""
    w = weight.copy()
    scale = None
    if pcs:
        scale = np.max(np.abs(w), axis=axis, keepdims=True)
        scale[scale == 0] = 1
        w /= scale
    block_sizes = [0] * w.ndim
    block_sizes[axis] = group
    params = palettize_weights.blockwise_compress(
        w, mode, nbits if mode != "UNIQUE" else None, block_sizes, cluster_dim=dim,
        channel_axis=axis)
    if params is None:
        return None
    run_case.last_params = params
    dense = palettize_weights.decompress(params)
    if pcs:
        dense = dense * scale
    assert dense.dtype == weight.dtype and dense.shape == weight.shape
    used_nbits = int(np.log2(params.lut.shape[-2]))
    return dense, used_nbits


def main():
    default = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "palettize",
                           "goldens.bin")
    path = sys.argv[1] if len(sys.argv) > 1 else default
    tensor_blobs, case_blobs = [], []
    counts = {"done": 0, "skipped": 0, "raised": 0}
    for name, source, dtypes, cases in tensors():
        for np_type in dtypes:
            weight = source.astype(np_type)
            type_code = 0 if np_type == np.float16 else 1
            index = len(tensor_blobs)
            tensor_blobs.append(struct.pack("<BB", type_code, weight.ndim) +
                                struct.pack(f"<{weight.ndim}Q", *weight.shape) + weight.tobytes())
            for mode, nbits, axis, group, dim, pcs in cases:
                head = struct.pack("<IBBBQBB", index, MODES[mode], nbits, axis, group, dim, pcs)
                try:
                    with np.errstate(all="ignore"):
                        result = run_case(weight, mode, nbits, axis, group, dim, pcs)
                except Exception:  # noqa: BLE001 - coremltools aborts the call: recorded
                    case_blobs.append(head + b"\x02")
                    counts["raised"] += 1
                    continue
                if result is None:
                    case_blobs.append(head + b"\x01")
                    counts["skipped"] += 1
                    continue
                dense, used_nbits = result
                group_elems = weight.size if group == 0 else weight.size // weight.shape[
                    axis] * group
                kmeans1d = (mode == "KMEANS" and dim == 1 and np_type == np.float16 and
                            group_elems >= 10_000)
                body = struct.pack("<BBB", 0, used_nbits, int(kmeans1d))
                if mode == "KMEANS":
                    err = dense.astype(np.float64) - weight.astype(np.float64)
                    body += struct.pack("<d", float(np.sum(err * err)))
                else:
                    body += dense.tobytes()
                    params = run_case.last_params
                    lut = np.asarray(params.lut)
                    assert lut.dtype == np_type
                    idx = np.asarray(params.indices).astype(np.uint8)
                    body += struct.pack("<B", lut.ndim) + struct.pack(f"<{lut.ndim}Q", *lut.shape)
                    body += lut.tobytes()
                    body += struct.pack("<B", idx.ndim) + struct.pack(f"<{idx.ndim}Q", *idx.shape)
                    body += idx.tobytes()
                case_blobs.append(head + body)
                counts["done"] += 1
    blob = b"MLPPGLD1" + struct.pack("<II", len(tensor_blobs), len(case_blobs))
    blob += b"".join(tensor_blobs) + b"".join(case_blobs)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(blob)
    print(f"coremltools {coremltools.__version__}, numpy {np.__version__}: "
          f"{len(tensor_blobs)} tensors, {counts} cases, {len(blob)} bytes -> {path}")


if __name__ == "__main__":
    main()
