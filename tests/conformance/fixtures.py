"""Fixture packages for the conformance tests, built with coremltools' MIL builder.

Every fixture is one row of FIXTURES. Packages are written as NAME.mlpackage directories into
a cache directory ($MLPRESS_FIXTURE_DIR, default <repo>/build/conformance-fixtures) and rebuilt
only when this file or the coremltools/numpy versions change, because conversion takes seconds
per model.

Run `python3 tests/conformance/fixtures.py [--force]` to (re)build them by hand.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import struct
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FIXTURE_DIR = REPO_ROOT / "build" / "conformance-fixtures"
STAMP_NAME = "fixtures.stamp"


def _ct():
    """Imports coremltools lazily: importing it prints noise and takes a second."""
    import coremltools as ct

    return ct


def _mb():
    from coremltools.converters.mil import Builder as mb

    return mb


# --- fixture description ------------------------------------------------------------------


@dataclass(frozen=True)
class Fixture:
    """One fixture package: `make(fx, path)` writes it as a package directory at `path`."""

    name: str
    make: Callable[["Fixture", Path], None]
    target: str  # "iOS15" .. "iOS18", "iOS26"
    precision: str  # "fp16" or "fp32": the dtype of the float weights
    expect_ops: tuple[str, ...] = ()  # op types the built program must contain

    def rng(self, salt: str = "") -> np.random.Generator:
        """A generator seeded by the fixture name, so adding a fixture changes no other."""
        return np.random.default_rng(zlib.crc32((self.name + salt).encode()))

    def ct_target(self):
        return getattr(_ct().target, self.target)


def weights(fx: Fixture, shape, salt: str = "w", scale: float = 0.1) -> np.ndarray:
    """Random fp32 weights that are exactly representable in fp16.

    Rounding through fp16 first makes the fp16 fixtures hold exactly the drawn values, which
    keeps the generated models reproducible across conversion settings.
    """
    values = fx.rng(salt).standard_normal(shape) * scale
    return values.astype(np.float16).astype(np.float32)


def _tensor(shape, dtype=None):
    mb = _mb()
    if dtype is None:
        return mb.TensorSpec(shape=shape)
    return mb.TensorSpec(shape=shape, dtype=dtype)


# --- programs ------------------------------------------------------------------------------
# Each returns a pymil Program for fx.target. Float weights are built in fp32; the conversion
# casts them to fp16 for fp16 fixtures (as converting a PyTorch model does).


def prog_conv(fx: Fixture):
    """Plain, grouped, depthwise and pointwise conv; the 1x1 weight sits exactly at 2048."""
    mb = _mb()
    w1, b1 = weights(fx, (32, 8, 3, 3), "w1"), weights(fx, (32,), "b1")
    w2 = weights(fx, (64, 8, 3, 3), "w2")
    w3 = weights(fx, (64, 1, 3, 3), "w3")
    w4 = weights(fx, (32, 64, 1, 1), "w4")

    @mb.program(input_specs=[_tensor((1, 8, 16, 16))], opset_version=fx.ct_target())
    def prog(x):
        x = mb.conv(x=x, weight=w1, bias=b1, pad_type="same", name="conv")
        x = mb.relu(x=x, name="relu")
        x = mb.conv(x=x, weight=w2, groups=4, pad_type="same", name="grouped_conv")
        x = mb.conv(x=x, weight=w3, groups=64, pad_type="same", name="depthwise_conv")
        return mb.conv(x=x, weight=w4, pad_type="valid", name="pointwise_conv")

    return prog


def prog_conv_transpose(fx: Fixture):
    """A strided transposed conv, whose weight layout is (C_in, C_out/groups, kH, kW)."""
    mb = _mb()
    w, b = weights(fx, (16, 32, 4, 4), "w"), weights(fx, (32,), "b")

    @mb.program(input_specs=[_tensor((1, 16, 8, 8))], opset_version=fx.ct_target())
    def prog(x):
        return mb.conv_transpose(x=x, weight=w, bias=b, strides=[2, 2], name="deconv")

    return prog


def prog_linear(fx: Fixture):
    """A two-layer MLP: one large weight, one small one, with biases."""
    mb = _mb()
    w1, b1 = weights(fx, (128, 64), "w1"), weights(fx, (128,), "b1")
    w2, b2 = weights(fx, (10, 128), "w2"), weights(fx, (10,), "b2")

    @mb.program(input_specs=[_tensor((1, 64))], opset_version=fx.ct_target())
    def prog(x):
        x = mb.linear(x=x, weight=w1, bias=b1, name="fc1")
        x = mb.relu(x=x, name="relu")
        return mb.linear(x=x, weight=w2, bias=b2, name="fc2")

    return prog


def prog_matmul(fx: Fixture):
    """matmul with the const as `x` and as `y`, under every transpose flag combination."""
    mb = _mb()
    wa = weights(fx, (96, 64), "wa")  # y, transposed; x transposed too
    wb = weights(fx, (64, 40), "wb")  # x, transposed
    wc = weights(fx, (48, 80), "wc")  # y, plain
    wd = weights(fx, (80, 48), "wd")  # x, plain, y transposed

    @mb.program(input_specs=[_tensor((1, 64, 48))], opset_version=fx.ct_target())
    def prog(x):
        a = mb.matmul(x=x, y=wa, transpose_x=True, transpose_y=True, name="mm_tx_ty")
        b = mb.matmul(x=wb, y=x, transpose_x=True, transpose_y=False, name="mm_const_x_tx")
        c = mb.matmul(x=x, y=wc, transpose_x=False, transpose_y=False, name="mm_plain")
        d = mb.matmul(x=wd, y=x, transpose_x=False, transpose_y=True, name="mm_const_x_ty")
        return a, b, c, d

    return prog


def prog_gather(fx: Fixture):
    """An embedding table read by gather, followed by a small projection."""
    mb = _mb()
    from coremltools.converters.mil.mil import types

    table = weights(fx, (512, 32), "table")
    proj = weights(fx, (16, 32), "proj")

    @mb.program(input_specs=[_tensor((1, 8), types.int32)], opset_version=fx.ct_target())
    def prog(ids):
        x = mb.gather(x=table, indices=ids, axis=0, name="embedding")
        return mb.linear(x=x, weight=proj, name="proj")

    return prog


def prog_shared_const(fx: Fixture):
    """One weight const consumed by two linear ops (weight tying)."""
    mb = _mb()
    w = weights(fx, (64, 64), "w")

    @mb.program(input_specs=[_tensor((1, 64))], opset_version=fx.ct_target())
    def prog(x):
        y = mb.linear(x=x, weight=w, name="tied_a")
        z = mb.linear(x=mb.tanh(x=y, name="tanh"), weight=w, name="tied_b")
        return mb.add(x=y, y=z, name="sum")

    return prog


def prog_while_loop(fx: Fixture):
    """A weight that lives inside a while_loop body block, plus one outside the loop."""
    mb = _mb()
    w_in = weights(fx, (64, 32), "w_in")
    w_body = weights(fx, (64, 64), "w_body")

    @mb.program(input_specs=[_tensor((1, 32))], opset_version=fx.ct_target())
    def prog(x):
        h = mb.linear(x=x, weight=w_in, name="encode")
        i0 = np.int32(0)

        def cond(h, i):
            return mb.less(x=i, y=np.int32(3), name="loop_cond")

        def body(h, i):
            h = mb.tanh(x=mb.linear(x=h, weight=w_body, name="step"), name="step_tanh")
            return h, mb.add(x=i, y=np.int32(1), name="next_i")

        h, _ = mb.while_loop(_cond=cond, _body=body, loop_vars=(h, i0), name="loop")
        return h

    return prog


def prog_small_weights(fx: Fixture):
    """Only small weights: blobs below the 2048 threshold and inline (< 10 element) consts."""
    mb = _mb()
    w1, b1 = weights(fx, (24, 16), "w1"), weights(fx, (24,), "b1")
    w2, b2 = weights(fx, (4, 24), "w2"), weights(fx, (4,), "b2")
    scale = weights(fx, (4,), "scale", scale=1.0)

    @mb.program(input_specs=[_tensor((1, 16))], opset_version=fx.ct_target())
    def prog(x):
        x = mb.linear(x=x, weight=w1, bias=b1, name="fc1")
        x = mb.linear(x=mb.sigmoid(x=x, name="sigmoid"), weight=w2, bias=b2, name="fc2")
        return mb.mul(x=x, y=scale, name="rescale")

    return prog


def prog_no_blobs(fx: Fixture):
    """Every const is inline (< 10 elements), so coremltools writes no weight.bin at all."""
    mb = _mb()
    w, b = weights(fx, (3, 3), "w"), weights(fx, (3,), "b")

    @mb.program(input_specs=[_tensor((1, 3))], opset_version=fx.ct_target())
    def prog(x):
        return mb.linear(x=x, weight=w, bias=b, name="fc")

    return prog


def prog_head(fx: Fixture, head_salt: str):
    """A shared trunk and a per-function head, for the multi-function fixture."""
    mb = _mb()
    trunk = weights(fx, (64, 64), "trunk")
    head = weights(fx, (48, 64), head_salt)

    @mb.program(input_specs=[_tensor((1, 64))], opset_version=fx.ct_target())
    def prog(x):
        x = mb.relu(x=mb.linear(x=x, weight=trunk, name="trunk"), name="relu")
        return mb.linear(x=x, weight=head, name="head")

    return prog


def prog_stage(fx: Fixture, stage: int):
    """Pipeline stages: stage 0 maps x -> hidden, stage 1 maps hidden -> logits.

    The builder names inputs after the Python parameters, hence two inner functions.
    """
    mb = _mb()
    specs = [_tensor((1, 64))]
    if stage == 0:
        w = weights(fx, (64, 64), "stage0")

        @mb.program(input_specs=specs, opset_version=fx.ct_target())
        def prog(x):
            return mb.linear(x=x, weight=w, name="hidden")

    else:
        w = weights(fx, (48, 64), "stage1")

        @mb.program(input_specs=specs, opset_version=fx.ct_target())
        def prog(hidden):
            return mb.linear(x=hidden, weight=w, name="logits")

    return prog


# --- conversion and saving ---------------------------------------------------------------


def convert(fx: Fixture, prog, precision=None):
    """Converts a pymil program the way a user would, fp16 or fp32 as the fixture says."""
    ct = _ct()
    if precision is None:
        precision = ct.precision.FLOAT16 if fx.precision == "fp16" else ct.precision.FLOAT32
    model = ct.convert(
        prog,
        convert_to="mlprogram",
        minimum_deployment_target=fx.ct_target(),
        compute_precision=precision,
    )
    # The conversion date changes daily; dropping it keeps fixtures stable in content.
    model.user_defined_metadata.pop("com.github.apple.coremltools.conversion_date", None)
    model.author = "mlpress conformance fixtures"
    model.short_description = f"fixture {fx.name}"
    return model


def converted(program: Callable, precision_fn: Callable | None = None):
    """A `make` for the fixture table: build `program(fx)`, convert it, save it."""

    def make(fx: Fixture, path: Path) -> None:
        precision = precision_fn() if precision_fn else None
        convert(fx, program(fx), precision).save(str(path))

    return make


def compressed(program: Callable, compress: Callable):
    """A `make` that converts `program(fx)` and then applies coremltools compression.

    These fixtures are inputs that already hold constexpr ops, which mlpress must carry over.
    """

    def make(fx: Fixture, path: Path) -> None:
        compress(convert(fx, program(fx))).save(str(path))

    return make


def mixed_precision():
    """fp16 everywhere except linear ops, so one model holds fp16 and fp32 weights."""
    ct = _ct()
    return ct.transform.FP16ComputePrecision(op_selector=lambda op: op.op_type != "linear")


def quantize_int8(model):
    ct = _ct()
    cfg = ct.optimize.coreml.OpLinearQuantizerConfig(mode="linear_symmetric", dtype="int8")
    return ct.optimize.coreml.linear_quantize_weights(
        model, ct.optimize.coreml.OptimizationConfig(global_config=cfg)
    )


def quantize_int4_blockwise(model):
    ct = _ct()
    cfg = ct.optimize.coreml.OpLinearQuantizerConfig(
        mode="linear", dtype="int4", granularity="per_block", block_size=16
    )
    return ct.optimize.coreml.linear_quantize_weights(
        model, ct.optimize.coreml.OptimizationConfig(global_config=cfg)
    )


def palettize_3bit(model):
    ct = _ct()
    cfg = ct.optimize.coreml.OpPalettizerConfig(mode="uniform", nbits=3)
    return ct.optimize.coreml.palettize_weights(
        model, ct.optimize.coreml.OptimizationConfig(global_config=cfg)
    )


def prune_half(model):
    ct = _ct()
    cfg = ct.optimize.coreml.OpMagnitudePrunerConfig(target_sparsity=0.5)
    return ct.optimize.coreml.prune_weights(
        model, ct.optimize.coreml.OptimizationConfig(global_config=cfg)
    )


def prune_then_palettize(model):
    """Joint compression: sparse + palettized (constexpr_lut_to_sparse)."""
    ct = _ct()
    cfg = ct.optimize.coreml.OpPalettizerConfig(mode="uniform", nbits=4)
    return ct.optimize.coreml.palettize_weights(
        prune_half(model),
        ct.optimize.coreml.OptimizationConfig(global_config=cfg),
        joint_compression=True,
    )


def make_multifunction(fx: Fixture, path: Path) -> None:
    """Two functions whose trunk weights are identical, so their blob is shared."""
    ct = _ct()
    with tempfile.TemporaryDirectory() as tmp:
        descriptor = ct.utils.MultiFunctionDescriptor()
        for head in ("head_a", "head_b"):
            src = Path(tmp) / f"{head}.mlpackage"
            convert(fx, prog_head(fx, head)).save(str(src))
            descriptor.add_function(str(src), src_function_name="main", target_function_name=head)
        descriptor.default_function_name = "head_a"
        ct.utils.save_multifunction(descriptor, str(path))


def make_pipeline(fx: Fixture, path: Path) -> None:
    """A pipeline of two ML programs: blobs live in weights/0-weight.bin and 1-weight.bin."""
    ct = _ct()
    stages = [convert(fx, prog_stage(fx, i)) for i in (0, 1)]
    pipeline = ct.utils.make_pipeline(*stages)
    pipeline.author = "mlpress conformance fixtures"
    pipeline.save(str(path))


def make_extra_items(fx: Fixture, path: Path) -> None:
    """A package with items coremltools does not write, as Xcode and other tools add them.

    Xcode adds Metadata.json as its own manifest item when model metadata is edited; another
    tool's item and a file the manifest does not list must survive a rewrite byte for byte.
    """
    converted(prog_linear)(fx, path)
    data = path / "Data"
    (data / "com.apple.CoreML" / "Metadata.json").write_text(
        json.dumps({"author": "Xcode", "license": "MIT", "version": "1.0"}, indent=2) + "\n"
    )
    (data / "com.example.tool").mkdir()
    (data / "com.example.tool" / "calibration.json").write_bytes(b'{"samples": 128}\n')
    (data / "com.example.tool" / "unlisted.txt").write_bytes(b"not in the manifest\n")
    manifest_path = path / "Manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["itemInfoEntries"]["9F4C3A26-4F4E-4C59-9D27-8E2B7C1A0B11"] = {
        "author": "com.apple.CoreML",
        "description": "CoreML Model Metadata",
        "name": "Metadata.json",
        "path": "com.apple.CoreML/Metadata.json",
    }
    manifest["itemInfoEntries"]["0C1D2E3F-4A5B-4C6D-8E9F-A0B1C2D3E4F5"] = {
        "author": "com.example.tool",
        "description": "Calibration statistics",
        "name": "calibration.json",
        "path": "com.example.tool/calibration.json",
    }
    manifest_path.write_text(json.dumps(manifest, indent=4, sort_keys=True) + "\n")


def make_dead_blob(fx: Fixture, path: Path) -> None:
    """A weight.bin holding a blob no op references, as tools that edit in place leave.

    A rewrite must drop it: the output's weight.bin holds exactly the referenced blobs.
    """
    converted(prog_linear)(fx, path)
    blob_file = path / "Data" / "com.apple.CoreML" / "weights" / "weight.bin"
    data = bytearray(blob_file.read_bytes())
    start = (len(data) + 63) // 64 * 64
    payload = weights(fx, (64, 64), "dead").astype(np.float16).tobytes()
    record = struct.pack("<IIQQQ", 0xDEADBEEF, 1, len(payload), start + 64, 0) + bytes(32)
    count = struct.unpack_from("<I", data, 0)[0]
    struct.pack_into("<I", data, 0, count + 1)
    blob_file.write_bytes(bytes(data) + bytes(start - len(data)) + record + payload)


# --- the table -----------------------------------------------------------------------------
# Adding a fixture is one line. Names are unique; they become the package directory names.

FIXTURES: tuple[Fixture, ...] = (
    Fixture("conv_ios15_fp32", converted(prog_conv), "iOS15", "fp32", ("conv",)),
    Fixture("conv_ios16_fp16", converted(prog_conv), "iOS16", "fp16", ("conv",)),
    Fixture("conv_ios17_fp16", converted(prog_conv), "iOS17", "fp16", ("conv",)),
    Fixture("conv_ios18_fp16", converted(prog_conv), "iOS18", "fp16", ("conv",)),
    Fixture("conv_transpose_ios16_fp16", converted(prog_conv_transpose), "iOS16", "fp16",
            ("conv_transpose",)),
    Fixture("conv_transpose_ios18_fp32", converted(prog_conv_transpose), "iOS18", "fp32",
            ("conv_transpose",)),
    Fixture("linear_ios15_fp16", converted(prog_linear), "iOS15", "fp16", ("linear",)),
    Fixture("linear_ios17_fp32", converted(prog_linear), "iOS17", "fp32", ("linear",)),
    Fixture("matmul_ios16_fp16", converted(prog_matmul), "iOS16", "fp16", ("matmul",)),
    Fixture("matmul_ios18_fp32", converted(prog_matmul), "iOS18", "fp32", ("matmul",)),
    Fixture("gather_ios16_fp16", converted(prog_gather), "iOS16", "fp16", ("gather",)),
    Fixture("gather_ios17_fp32", converted(prog_gather), "iOS17", "fp32", ("gather",)),
    Fixture("shared_const_ios17_fp16", converted(prog_shared_const), "iOS17", "fp16",
            ("linear",)),
    Fixture("while_loop_ios15_fp32", converted(prog_while_loop), "iOS15", "fp32",
            ("while_loop",)),
    Fixture("while_loop_ios18_fp16", converted(prog_while_loop), "iOS18", "fp16",
            ("while_loop",)),
    Fixture("mixed_precision_ios17", converted(prog_linear, mixed_precision), "iOS17", "fp16",
            ("linear",)),
    Fixture("small_weights_ios16_fp16", converted(prog_small_weights), "iOS16", "fp16",
            ("linear",)),
    Fixture("no_blobs_ios16_fp32", converted(prog_no_blobs), "iOS16", "fp32", ("linear",)),
    Fixture("extra_items_ios16_fp16", make_extra_items, "iOS16", "fp16", ("linear",)),
    Fixture("pipeline_ios16_fp16", make_pipeline, "iOS16", "fp16", ("linear",)),
    Fixture("multifunction_ios18_fp16", make_multifunction, "iOS18", "fp16", ("linear",)),
    Fixture("dead_blob_ios16_fp16", make_dead_blob, "iOS16", "fp16", ("linear",)),
    Fixture("quantized_int8_ios16", compressed(prog_conv, quantize_int8), "iOS16", "fp16",
            ("constexpr_affine_dequantize",)),
    Fixture("pruned_ios17", compressed(prog_linear, prune_half), "iOS17", "fp16",
            ("constexpr_sparse_to_dense",)),
    Fixture("quantized_int4_block_ios18", compressed(prog_linear, quantize_int4_blockwise),
            "iOS18", "fp16", ("constexpr_blockwise_shift_scale",)),
    Fixture("palettized_3bit_ios18", compressed(prog_conv, palettize_3bit), "iOS18", "fp16",
            ("constexpr_lut_to_dense",)),
    Fixture("sparse_palettized_ios18", compressed(prog_linear, prune_then_palettize), "iOS18",
            "fp16", ("constexpr_lut_to_sparse",)),
    # CoreML9 (spec 10): the iOS18 ops, but coremltools writes per-channel scale and quantized
    # LUTs in the other order (FORMAT.md §6.10).
    Fixture("conv_ios26_fp16", converted(prog_conv), "iOS26", "fp16", ("conv",)),
    Fixture("matmul_ios26_fp32", converted(prog_matmul), "iOS26", "fp32", ("matmul",)),
)


# --- building and caching ------------------------------------------------------------------


def fixture_dir() -> Path:
    return Path(os.environ.get("MLPRESS_FIXTURE_DIR", DEFAULT_FIXTURE_DIR))


def fixture_stamp() -> str:
    """What the built fixtures depend on: this file and the versions that generate them."""
    ct = _ct()
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"coremltools={ct.__version__} numpy={np.__version__}".encode())
    return digest.hexdigest()


def program_op_types(path: Path) -> set[str]:
    """Op types in every function and nested block of every ML program in a package."""
    ct = _ct()
    spec = ct.utils.load_spec(str(path))
    found: set[str] = set()

    def walk_block(block):
        for op in block.operations:
            found.add(op.type)
            for inner in op.blocks:
                walk_block(inner)

    def walk_model(model):
        kind = model.WhichOneof("Type")
        if kind == "mlProgram":
            for function in model.mlProgram.functions.values():
                for block in function.block_specializations.values():
                    walk_block(block)
        elif kind in ("pipeline", "pipelineClassifier", "pipelineRegressor"):
            pipeline = model.pipeline if kind == "pipeline" else getattr(model, kind).pipeline
            for sub in pipeline.models:
                walk_model(sub)

    walk_model(spec)
    return found


def build_fixture(fx: Fixture, out_dir: Path) -> Path:
    """Builds one fixture and checks that conversion kept the ops it is meant to exercise."""
    path = out_dir / f"{fx.name}.mlpackage"
    fx.make(fx, path)
    missing = set(fx.expect_ops) - program_op_types(path)
    if missing:
        raise RuntimeError(f"fixture {fx.name}: program lacks ops {sorted(missing)}")
    return path


def build_all(out_dir: Path) -> None:
    """Builds every fixture into a fresh directory, then swaps it in whole."""
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", dir=out_dir.parent))
    try:
        for fx in FIXTURES:
            build_fixture(fx, staging)
        (staging / STAMP_NAME).write_text(fixture_stamp() + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        staging.rename(out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_fixtures(out_dir: Path | None = None, force: bool = False) -> Path:
    """Returns the fixture directory, building it first when missing or stale."""
    out_dir = out_dir or fixture_dir()
    stamp = out_dir / STAMP_NAME
    current = stamp.exists() and stamp.read_text().strip() == fixture_stamp()
    if force or not current:
        build_all(out_dir)
    return out_dir


def fixture_path(name: str, out_dir: Path | None = None) -> Path:
    return (out_dir or fixture_dir()) / f"{name}.mlpackage"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="fixture directory")
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    args = parser.parse_args(argv)
    out_dir = ensure_fixtures(args.out, args.force)
    for fx in FIXTURES:
        print(fixture_path(fx.name, out_dir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
