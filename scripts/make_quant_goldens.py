#!/usr/bin/env python3
"""Golden vectors for linear quantization, produced by coremltools itself.

Runs coremltools' own blockwise quantizer (`linear_quantize_weights.blockwise_compress_by_dtype`,
the call the `compression::linear_quantize_weights` pass makes for every weight) on deterministic
fp16 and fp32 tensors, for every mode x dtype x block-size vector, and writes
tests/data/quant/linear_goldens.bin, read by tests/core/linear_quantize_test.cc.

File layout (little-endian):
  magic  b"MLPQGLD1"
  u32    tensor count, u32 case count
  tensor: u8 type (0 fp16, 1 fp32), u8 rank, u64 dims[rank], raw values (row-major)
  case:   u32 tensor index, u8 mode (0 linear_symmetric, 1 linear),
          u8 dtype (0 int8, 1 uint8, 2 int4, 3 uint4), u8 rank, u64 block_sizes[rank],
          u8 status (0 quantized, 1 coremltools returned None = skipped)
          if quantized:
            codes, one byte per element for 8-bit, two per byte for 4-bit (element 2k in the low
            nibble, two's complement for int4)
            u32 scale count, scale values in the tensor's type
            u8 has_zero_point, then one byte per scale when 1 (raw int8/uint8)

Usage: python3 scripts/make_quant_goldens.py [output path]
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
    linear_quantize_weights,
)

MODES = ["LINEAR_SYMMETRIC", "LINEAR"]
DTYPES = ["int8", "uint8", "int4", "uint4"]


def tensors():
    """(name, float64 source, block-size vectors); each becomes an fp16 and an fp32 tensor."""
    rng = np.random.default_rng(20260807)
    out = []

    w = rng.standard_normal((64, 128)) * 0.05
    w[0] = 0.0  # all-zero row: degenerate blocks everywhere
    w[1, 0:32] = 0.0
    w[1, 32:64] = 0.25  # constant positive block
    w[1, 64:96] = -0.125  # constant negative block
    w[2] = -np.abs(w[2])  # negative only
    w[3] = np.abs(w[3]) + 0.01  # positive only
    w[4] = rng.standard_normal(128) * 1e-6  # fp16 subnormals
    w[5] = rng.standard_normal(128) * 1e-7  # mostly fp16 zero / tiny subnormals
    w[6] = rng.standard_normal(128) * 300.0  # fp16 linear int8 zero-point overflow (> 511.9)
    w[7, 0:64] = np.where(rng.random(64) < 0.5, 0.0, -0.0)  # mixed-sign zeros
    w[8] = np.round(rng.standard_normal(128) * 40) / 80.0  # many exact halves
    w[9] = 0.5
    w[9, 77] = -3.0  # one outlier
    w[10] = np.clip(rng.standard_normal(128) * 20000.0, -60000, 60000)  # fp16 2R overflow
    w[:, 5] = 0.0  # an all-zero column for per-channel on axis 1
    out.append(("dense", w, [[0, 0], [1, 0], [0, 1], [1, 16], [1, 32], [1, 64], [8, 16],
                             [1, 48]]))

    c = rng.standard_normal((32, 16, 3, 3)) * 0.1
    c[0] = 0.0
    c[1] = 0.75
    c[2] = -np.abs(c[2])
    out.append(("conv", c, [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [1, 16, 0, 0],
                            [1, 8, 0, 0], [4, 4, 3, 1], [2, 0, 3, 0]]))

    o = rng.standard_normal((24, 40)) * 2.0
    o[0] = 0.0
    o[3, 8:16] = -1.5
    out.append(("odd", o, [[0, 0], [1, 8], [3, 8], [1, 5], [0, 5], [6, 20], [1, 16], [0, 1]]))

    s = np.array([[-2.0, -10.0, 6.0, -3.0],
                  [-600.0, 700.0, 1.0, 3.0],
                  [0.0, 0.0, 0.0, 0.0],
                  [-0.0, 0.0, -0.0, 0.0]])
    out.append(("spec", s, [[0, 0], [1, 0], [0, 1], [1, 2]]))

    r3 = rng.standard_normal((3, 5, 7))
    r3[1, 2] = 0.0
    out.append(("rank3", r3, [[0, 0, 0], [1, 0, 0], [0, 5, 7], [3, 1, 7], [1, 5, 1],
                              [0, 0, 1]]))

    big = np.clip(rng.standard_normal((2, 8)) * 25000.0, -60000, 60000)
    big[1, 3] = 40000.0
    out.append(("big", big, [[0, 0], [1, 0], [1, 4]]))

    n = rng.standard_normal((4, 8))
    n[1, 2] = np.nan  # a NaN block: scale NaN, codes cast from NaN
    out.append(("nan", n, [[1, 0], [0, 0], [1, 4]]))
    return out


def pack_codes(codes, nbits):
    flat = codes.reshape(-1).astype(np.int64)
    if nbits == 8:
        return (flat & 0xFF).astype(np.uint8).tobytes()
    nib = (flat & 0xF).astype(np.uint8)
    if nib.size % 2:
        nib = np.concatenate([nib, np.zeros(1, np.uint8)])
    return (nib[0::2] | (nib[1::2] << 4)).astype(np.uint8).tobytes()


def main():
    default = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "quant",
                           "linear_goldens.bin")
    path = sys.argv[1] if len(sys.argv) > 1 else default
    tensor_blobs, case_blobs = [], []
    counts = {"quantized": 0, "skipped": 0}
    for name, source, block_lists in tensors():
        for type_code, np_type in ((0, np.float16), (1, np.float32)):
            weight = source.astype(np_type)
            index = len(tensor_blobs)
            tensor_blobs.append(struct.pack("<BB", type_code, weight.ndim) +
                                struct.pack(f"<{weight.ndim}Q", *weight.shape) + weight.tobytes())
            for blocks in block_lists:
                for mode_code, mode in enumerate(MODES):
                    for dtype_code, dtype in enumerate(DTYPES):
                        with np.errstate(all="ignore"):
                            params = linear_quantize_weights.blockwise_compress_by_dtype(
                                weight, dtype, mode, list(blocks))
                        head = struct.pack("<IBBB", index, mode_code, dtype_code, len(blocks))
                        head += struct.pack(f"<{len(blocks)}Q", *blocks)
                        if params is None:
                            case_blobs.append(head + b"\x01")
                            counts["skipped"] += 1
                            continue
                        assert params.data.shape == weight.shape, name
                        assert params.scale.dtype == np_type, (name, params.scale.dtype)
                        nbits = int(params.nbits)
                        body = b"\x00" + pack_codes(params.data, nbits)
                        body += struct.pack("<I", params.scale.size) + params.scale.tobytes()
                        if params.offset is None:
                            body += b"\x00"
                        else:
                            assert params.offset.shape == params.scale.shape
                            body += b"\x01" + params.offset.astype(np.int64).astype(
                                np.uint8 if dtype.startswith("u") else np.int8).tobytes()
                        case_blobs.append(head + body)
                        counts["quantized"] += 1
    blob = b"MLPQGLD1" + struct.pack("<II", len(tensor_blobs), len(case_blobs))
    blob += b"".join(tensor_blobs) + b"".join(case_blobs)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "wb") as f:
        f.write(blob)
    print(f"coremltools {coremltools.__version__}, numpy {np.__version__}: "
          f"{len(tensor_blobs)} tensors, {counts['quantized']} quantized and "
          f"{counts['skipped']} skipped cases, {len(blob)} bytes -> {path}")


if __name__ == "__main__":
    main()
