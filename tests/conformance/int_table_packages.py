"""Packages holding integer consts (COMPRESSION.md §2.2), for the int8 / uint8 cases of pruning,
palettization, joint compression and decompression.

Built here rather than in fixtures.py: two gather tables, one int8 and one uint8 (integer consts
appear from iOS17), read as integers and cast to fp16. The values are normal with standard
deviation `spread` (the uint8 ones around 128), clipped to each dtype; a "wide" table (spread
40) spans most of each dtype's range, a "narrow" one holds small values."""

from __future__ import annotations

from pathlib import Path

import numpy as np

WIDE_SPREAD = 40.0
TARGETS = ("iOS17", "iOS18")


def build(path: Path, target: str, spread: float, shape: tuple[int, int],
          int8_min: bool = False) -> Path:
    """Saves the package to `path`: the int8 table ("g8", `shape`) and the uint8 one ("gu8", its
    transpose) for deployment target `target` ("iOS17", "iOS18"); with `int8_min` the int8
    table's first row starts with five -128s (numpy's abs leaves them at -128). The values depend
    only on the arguments."""
    import coremltools as ct
    from coremltools.converters.mil import Builder as mb
    from coremltools.converters.mil.mil import types
    rng = np.random.default_rng(int(spread) + len(target))
    signed = np.clip(np.round(rng.standard_normal(shape) * spread), -128, 127).astype(np.int8)
    if int8_min:
        signed[0, :5] = -128
    unsigned = np.clip(np.round(rng.standard_normal(shape[::-1]) * spread + 128), 0,
                       255).astype(np.uint8)
    opset = getattr(ct.target, target)

    @mb.program(input_specs=[mb.TensorSpec(shape=(1, 8), dtype=types.int32)], opset_version=opset)
    def prog(ids):
        a = mb.cast(x=mb.gather(x=signed, indices=ids, axis=0, name="g8"), dtype="fp16")
        b = mb.cast(x=mb.gather(x=unsigned, indices=ids, axis=0, name="gu8"), dtype="fp16")
        return mb.concat(values=[a, b], axis=-1)

    ct.convert(prog, convert_to="mlprogram", minimum_deployment_target=opset,
               compute_precision=ct.precision.FLOAT16).save(str(path))
    return path


def packages(root: Path, shape: tuple[int, int], narrow_spread: float,
             int8_min_when_wide: bool = False) -> dict[str, Path]:
    """Both targets, wide and narrow (spread `narrow_spread`), saved under `root`, keyed
    "<target>-<wide|narrow>"."""
    return {f"{target}-{label}": build(root / f"{target}-{label}.mlpackage", target, spread, shape,
                                       int8_min_when_wide and label == "wide")
            for target in TARGETS
            for label, spread in (("wide", WIDE_SPREAD), ("narrow", narrow_spread))}
