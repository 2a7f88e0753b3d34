#!/usr/bin/env python3
"""Golden masks for pruning, produced by coremltools itself.

Runs coremltools' own pruning functions (`prune_weights.compress_by_threshold`,
`compress_by_magnitude` and `compress_by_nm_sparsity`, the calls the `prune_weights` pass makes
for every weight) on deterministic fp16 and fp32 tensors and writes
tests/data/prune/prune_goldens.bin, read by tests/core/prune_golden_test.cc.

Only the mask is stored: the script checks that coremltools' nonzero_data is exactly the
source values at the mask's set bits (row-major), so the mask determines the whole result.

The numbers depend on numpy as well as coremltools: with numpy 2 (NEP 50) np.percentile of an
fp16 array computes its index arithmetic in fp16. This file was made with numpy 2.2.

File layout (little-endian):
  magic  b"MLPPGLD1"
  u32    tensor count, u32 case count
  tensor: u8 type (0 fp16, 1 fp32), u8 rank, u64 dims[rank], raw values (row-major)
  case:   u32 tensor index, u8 kind (0 threshold, 1 magnitude, 2 block, 3 n:m),
          f64 p0, f64 p1 (threshold + minimum_sparsity | target_sparsity + 0 |
                          target_sparsity + block_size | n + m),
          i32 dim (-1 when unused),
          u32 groups whose n:m choice is a tie between distinct elements (0 otherwise),
          u8 status (0 pruned, 1 skipped: coremltools returned None),
          if pruned: u64 nonzero count, packed mask (ceil(N/8) bytes, LSB-first)

Usage: python3 scripts/make_prune_goldens.py [output path]
"""

import logging
import os
import struct
import sys
import warnings

import numpy as np

logging.disable(logging.WARNING)
warnings.filterwarnings("ignore")

from coremltools.optimize.coreml._quantization_passes import prune_weights  # noqa: E402

SPARSITIES = [0.0, 0.05, 0.3, 0.5, 0.75, 1.0]
BLOCK_SPARSITIES = [0.3, 0.5, 0.75]
BLOCK_SIZES = [2, 4, 8]
# A finer sweep on the random [64, 128] tensors: block norms rounded in the wrong order move the
# threshold by an ulp, which only some sparsities expose.
SWEEP_SPARSITIES = [round(0.05 * k, 2) for k in range(1, 20)]
NM_RATIOS = [(1, 2), (2, 4), (4, 8), (3, 4), (0, 4), (4, 4)]
THRESHOLDS = [(1e-12, 0.5), (1e-12, 0.0), (0.3, 0.5), (0.5, 0.0), (0.5, 0.3), (2.0, 0.9),
              (1e5, 0.5), (0.0001, 0.01)]


def sources():
    """(name, float64 values, dtypes); each becomes one tensor per dtype."""
    rng = np.random.default_rng(20260807)
    out = []
    for shape in [(64, 128), (32, 16, 3, 3), (30, 22), (12, 20, 3)]:
        # Distinct magnitudes (almost surely), plus existing zeros and negative zeros.
        w = rng.standard_normal(shape) * 0.1
        flat = w.reshape(-1)
        idx = rng.permutation(flat.size)
        flat[idx[: flat.size // 20]] = 0.0
        flat[idx[flat.size // 20: flat.size // 10]] = -0.0
        out.append(("rand", w, (np.float16, np.float32)))
        # Many ties: a few levels of either sign, and zeros.
        t = rng.integers(-6, 7, size=shape) / 8.0
        out.append(("ties", t, (np.float16, np.float32)))
    return out


def block_sum_probes():
    """Small tensors on which the order of numpy's block-norm summation decides the mask: for each
    (dtype, dim, block size) the first random tensor and sparsity where coremltools' mask differs
    from the one the other order (one rounding per partial sum vs. a binary32 accumulator) would
    give."""
    rng = np.random.default_rng(11)
    probes = []
    # fp32 sums differ by an ulp at most and no probe turns up in thousands of tries.
    for dt, dim, b in [(np.float16, 1, 4), (np.float16, 0, 4), (np.float16, 1, 8)]:
        for _ in range(4000):
            val = (rng.standard_normal((16, 16)) * rng.choice([0.01, 1, 8], size=(16, 16))).astype(dt)
            s = float(rng.choice([0.25, 0.4, 0.5, 0.6, 0.75]))
            if _mask(prune_weights.compress_by_magnitude(val, s, b, dim), val) != _mask(
                    _other_order_prune(val, s, b, dim), val):
                probes.append((val, dim, b, s))
                break
        else:
            raise RuntimeError(f"no probe found for {dt} dim={dim} b={b}")
    return probes


def _mask(res, val):
    return np.unpackbits(res.mask, count=val.size, bitorder="little").tobytes()


def _other_order_prune(val, s, b, dim):
    """compress_by_magnitude with the block sums in the order numpy does *not* use here."""
    dt = val.dtype.type
    v = np.abs(val)
    if dim == 1:
        v = np.swapaxes(v, 0, 1)
    c = v.shape[0]
    inner_is_block = v[0].size == 1 if dim == 0 else val[0, 0].size == 1
    norms = np.empty((c // b,) + v.shape[1:], dtype=dt)
    for j in range(c // b):
        for idx in np.ndindex(v.shape[1:]):
            sq = [dt(np.float32(x) * np.float32(x)) for x in v[j * b:(j + 1) * b][(slice(None),) + idx]]
            if inner_is_block:  # numpy used a binary32 accumulator; use per-step rounding
                acc = sq[0]
                for x in sq[1:]:
                    acc = dt(np.float32(acc) + np.float32(x))
            else:  # numpy rounded each step; use the pairwise binary32 accumulator
                f = [np.float32(x) for x in sq]
                if len(f) < 8:
                    r = np.float32(0)
                    for x in f:
                        r = np.float32(r + x)
                else:
                    r = np.float32(np.float32(np.float32(f[0] + f[1]) + np.float32(f[2] + f[3])) +
                                   np.float32(np.float32(f[4] + f[5]) + np.float32(f[6] + f[7])))
                acc = dt(r)
            norms[(j,) + idx] = dt(np.sqrt(np.float32(acc)))
    m = np.repeat(norms, b, axis=0)
    if dim == 1:
        m = np.swapaxes(m, 0, 1)
    out = np.where(m <= np.percentile(m, s * 100), 0, val)
    return prune_weights._produce_sparse_param(out)


def formula_tensor():
    """fp16 with more than 65520 elements: n - 1 overflows fp16 inside np.percentile. The test
    rebuilds it from this formula, so only its shape is stored."""
    i = np.arange(256 * 257, dtype=np.int64)
    return (((i * 7919) % 1001 - 500) / 256.0).astype(np.float16).reshape(256, 257)


def nm_ties(val, n, m, dim):
    """Groups where the n-th and (n+1)-th smallest magnitudes are equal and nonzero, so the
    argsort tie-break decides which element is pruned."""
    if n == 0 or n == m:
        return 0
    rank = val.ndim
    perm = list(range(2, rank)) + [0, 1]
    if dim == 0:
        perm[-2], perm[-1] = 1, 0
    w = np.abs(np.transpose(val, perm).astype(np.float64)).reshape(-1, val.shape[dim])
    pad = (-w.shape[1]) % m
    w = np.pad(w, ((0, 0), (0, pad))).reshape(-1, m)
    s = np.sort(w, axis=1)
    return int(np.sum((s[:, n - 1] == s[:, n]) & (s[:, n] != 0)))


def main():
    out_path = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(__file__), "..", "tests", "data", "prune", "prune_goldens.bin")
    tensors = []
    for name, src, dtypes in sources():
        for dt in dtypes:
            tensors.append((f"{name}_{np.dtype(dt).name}_{'x'.join(map(str, src.shape))}",
                            src.astype(dt)))
    tensors.append(("formula_float16_256x257", formula_tensor()))
    probes = block_sum_probes()
    for k, (val, _, _, _) in enumerate(probes):
        tensors.append((f"probe{k}_{val.dtype.name}_16x16", val))

    cases = []
    for ti, (name, val) in enumerate(tensors):
        if name.startswith("probe"):
            continue
        big = val.size > 65520
        for s in SPARSITIES if not big else [0.3, 0.5]:
            cases.append((ti, 1, float(s), 0.0, -1, 0,
                          prune_weights.compress_by_magnitude(val, s)))
        if big:
            continue
        for t, ms in THRESHOLDS:
            cases.append((ti, 0, t, ms, -1, 0,
                          prune_weights.compress_by_threshold(val, t, ms)))
        for dim in (0, 1):
            for b in BLOCK_SIZES:
                for s in BLOCK_SPARSITIES:
                    cases.append((ti, 2, s, float(b), dim, 0,
                                  prune_weights.compress_by_magnitude(val, s, b, dim)))
                if name.startswith("rand_") and val.shape == (64, 128) and b in (4, 8):
                    for s in SWEEP_SPARSITIES:
                        if s not in BLOCK_SPARSITIES:
                            cases.append((ti, 2, s, float(b), dim, 0,
                                          prune_weights.compress_by_magnitude(val, s, b, dim)))
            for n, m in NM_RATIOS:
                cases.append((ti, 3, float(n), float(m), dim, nm_ties(val, n, m, dim),
                              prune_weights.compress_by_nm_sparsity(val, (n, m), dim)))

    for k, (val, dim, b, s) in enumerate(probes):
        ti = len(tensors) - len(probes) + k
        cases.append((ti, 2, s, float(b), dim, 0,
                      prune_weights.compress_by_magnitude(val, s, b, dim)))

    body = bytearray(b"MLPPGLD1")
    body += struct.pack("<II", len(tensors), len(cases))
    for _, val in tensors:
        body += struct.pack("<BB", 0 if val.dtype == np.float16 else 1, val.ndim)
        body += struct.pack(f"<{val.ndim}Q", *val.shape)
        if val.size > 65520:
            continue  # rebuilt by the test from formula_tensor()
        body += np.ascontiguousarray(val).astype(val.dtype.newbyteorder("<")).tobytes()
    skipped = pruned = 0
    for ti, kind, p0, p1, dim, ties, res in cases:
        val = tensors[ti][1]
        body += struct.pack("<IBddiI", ti, kind, p0, p1, dim, ties)
        if res is None:
            body += b"\x01"
            skipped += 1
            continue
        pruned += 1
        mask_bits = np.unpackbits(res.mask, count=val.size, bitorder="little").astype(bool)
        expected = val.reshape(-1)[mask_bits]
        assert tuple(res.shape) == val.shape
        assert res.nonzero_data.dtype == val.dtype
        assert np.array_equal(res.nonzero_data.view(np.uint8), expected.view(np.uint8)), (
            tensors[ti][0], kind, p0, p1, dim)
        body += b"\x00" + struct.pack("<Q", int(mask_bits.sum())) + res.mask.tobytes()

    os.makedirs(os.path.dirname(out_path), exist_ok=True)
    with open(out_path, "wb") as f:
        f.write(body)
    print(f"{out_path}: {len(tensors)} tensors, {len(cases)} cases "
          f"({pruned} pruned, {skipped} skipped), {len(body)} bytes")


if __name__ == "__main__":
    main()
