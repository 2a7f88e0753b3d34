"""coremltools' view of a package: the reference every mlpress output is compared against.

Everything here goes through coremltools' public loaders (MLModel with skip_model_load, the
milproto loader, which re-runs type inference and reads every blob), so a package that loads
here is one coremltools accepts.
"""

from __future__ import annotations

import contextlib
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import milspec

with contextlib.redirect_stderr(io.StringIO()):  # silence the missing-runtime warnings
    import coremltools as ct
    from coremltools.converters.mil.frontend.milproto import load as milproto
    from coremltools.converters.mil.mil import types

logging.getLogger("coremltools").setLevel(logging.ERROR)

NON_NUMERIC = {"BOOL", "STRING"}


@dataclass(frozen=True)
class Tensor:
    """A value reduced to what a bit-exact comparison needs."""

    mil_dtype: str
    np_dtype: str
    shape: tuple[int, ...]
    data: bytes

    def __repr__(self) -> str:  # keep failure messages short
        return f"Tensor({self.mil_dtype}, {self.np_dtype}, {self.shape}, {len(self.data)} B)"


@dataclass
class Loaded:
    """A package as coremltools sees it."""

    root: Path
    spec: object
    weights_dir: Path | None
    programs: list[milspec.ProgramRef]
    pymil: list[object]  # one pymil Program per ProgramRef
    values: dict[tuple, dict] = field(default_factory=dict)


def load_package(root: Path) -> Loaded:
    """Loads the spec and every ML program; raises whatever coremltools raises."""
    model = ct.models.MLModel(str(root), skip_model_load=True)
    spec = model.get_spec()
    weights_dir = Path(model.weights_dir) if model.weights_dir else None
    programs = milspec.ml_programs(spec)
    pymil = [
        milproto.load(p.model, p.model.specificationVersion, str(weights_dir or ""))
        for p in programs
    ]
    loaded = Loaded(Path(root), spec, weights_dir, programs, pymil)
    loaded.values = constant_values(loaded)
    return loaded


def _pymil_ops(block):
    for op in block.operations:
        yield op
        for inner in op.blocks:
            yield from _pymil_ops(inner)


def _pymil_index(loaded: Loaded) -> dict[tuple[int, str, str], object]:
    index = {}
    for i, prog in enumerate(loaded.pymil):
        for fname, function in prog.functions.items():
            for op in _pymil_ops(function):
                index[(i, fname, op.name)] = op
    return index


def describe(var) -> Tensor | str:
    """A var's value as a Tensor, or "ref:<op>" when it is computed by another op."""
    if isinstance(var, (list, tuple)):
        return "[" + ", ".join(repr(describe(v)) for v in var) + "]"
    val = var.val
    if val is None:
        return f"ref:{var.op.name if var.op is not None else var.name}"
    mil_dtype = types.builtin_to_string(var.dtype)
    if isinstance(val, str):
        return Tensor(mil_dtype, "str", (), val.encode())
    array = np.asarray(val)
    return Tensor(mil_dtype, array.dtype.str, array.shape, array.tobytes())


def constant_values(loaded: Loaded) -> dict[tuple, dict]:
    """(program, function, op name) -> {parameter: value} for every const/constexpr op.

    Keys come from the proto so that ops pymil adds while loading are not compared; values
    come from pymil so that blobs are decoded by coremltools, not by this harness.
    """
    index = _pymil_index(loaded)
    values = {}
    for prog in loaded.programs:
        for ref in milspec.iter_ops(prog):
            kind = ref.op.type
            if kind != "const" and not kind.startswith("constexpr_"):
                continue
            key = (ref.program, ref.function, milspec.op_name(ref.op))
            op = index.get(key)
            if op is None:
                raise LookupError(f"coremltools lost op {key} while loading")
            entry = {f"in:{name}": describe(var) for name, var in op.inputs.items()}
            for i, out in enumerate(op.outputs):
                entry[f"out[{i}]"] = describe(out) if kind == "const" else (
                    types.builtin_to_string(out.dtype), tuple(out.shape))
            entry["type"] = kind
            values[key] = entry
    return values


def _const_array(loaded: Loaded, index, ref) -> np.ndarray:
    op = index[(ref.program, ref.function, milspec.op_name(ref.op))]
    return np.asarray(op.outputs[0].val)


def expected_weights(loaded: Loaded) -> dict[tuple[int, str, str], dict]:
    """What `mlpress inspect --json` must list for each plain const tensor of rank >= 1.

    Keyed by (program, function, var name); dtype names are coremltools' MIL names.
    """
    index = _pymil_index(loaded)
    users = milspec.consumers(loaded.spec)
    expected = {}
    for prog in loaded.programs:
        for ref in milspec.iter_ops(prog):
            if ref.op.type != "const":
                continue
            value = ref.op.attributes["val"]
            proto_dtype, shape = milspec.tensor_type(value.type) or ("", ())
            if proto_dtype in NON_NUMERIC or not shape:
                continue
            array = _const_array(loaded, index, ref)
            op = index[(ref.program, ref.function, milspec.op_name(ref.op))]
            var_name = ref.op.outputs[0].name
            expected[(ref.program, ref.function, var_name)] = {
                "name": var_name,
                "op_name": milspec.op_name(ref.op),
                "program": ref.program,
                "function": ref.function,
                "shape": list(shape),
                "dtype": types.builtin_to_string(op.outputs[0].dtype),
                "element_count": int(array.size),
                "sparsity": float(np.count_nonzero(array == 0)) / array.size,
                "unique_values": int(np.unique(array).size),
                "storage": _storage(value),
                "consumers": users.get((ref.program, ref.function, var_name), []),
            }
    return expected


def _storage(value) -> dict:
    if value.WhichOneof("value") == "blobFileValue":
        blob = value.blobFileValue
        return {"kind": "blob", "file": blob.fileName, "offset": blob.offset}
    return {"kind": "inline"}


def expected_compressed(loaded: Loaded) -> dict[tuple[int, str, str], dict]:
    """Outputs of constexpr ops that ordinary ops consume: the weights an input already has
    in compressed form, which inspect must list with a non-null "compression"."""
    users = milspec.consumers(loaded.spec)
    found = {}
    for prog in loaded.programs:
        for ref in milspec.iter_ops(prog):
            if not ref.op.type.startswith("constexpr_"):
                continue
            for out in ref.op.outputs:
                key = (ref.program, ref.function, out.name)
                ordinary = [u for u in users.get(key, [])
                            if not u["op_type"].startswith("constexpr_")]
                if not ordinary:
                    continue
                _, shape = milspec.tensor_type(out.type)
                found[key] = {"name": out.name, "shape": list(shape),
                              "consumers": users[key]}
    return found


def programs_summary(loaded: Loaded) -> list[list[dict]]:
    """Per program, its functions as {"name", "opset"}, in name order."""
    return [
        [{"name": name, "opset": p.model.mlProgram.functions[name].opset}
         for name in sorted(p.model.mlProgram.functions)]
        for p in loaded.programs
    ]
