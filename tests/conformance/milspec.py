"""Walks Core ML model protos (as parsed by coremltools' generated classes).

Works on the proto rather than on coremltools' pymil program, because pymil renames and adds
ops while loading (auto-named consts for inline values, dummy ops for nested blocks); the
names and bindings the tests compare must be the ones in the file.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Iterator

from coremltools.proto import MIL_pb2

PIPELINE_KINDS = ("pipeline", "pipelineClassifier", "pipelineRegressor")


@dataclass(frozen=True)
class ProgramRef:
    """An ML program in a package: the root model, or a sub-model of a pipeline.

    Programs are numbered depth first in pipeline order, which is how mlpress inspect numbers
    its "programs" array.
    """

    index: int
    model: object  # CoreML.Specification.Model holding an mlProgram


@dataclass(frozen=True)
class OpRef:
    program: int
    function: str
    block: str  # "" for a function's main block, else e.g. "loop/1" (op name / block index)
    op: object  # MILSpec.Operation


def _sub_models(model) -> list:
    kind = model.WhichOneof("Type")
    if kind == "pipeline":
        return list(model.pipeline.models)
    if kind in PIPELINE_KINDS:
        return list(getattr(model, kind).pipeline.models)
    return []


def _program_models(model) -> Iterator[object]:
    if model.WhichOneof("Type") == "mlProgram":
        yield model
    for sub in _sub_models(model):
        yield from _program_models(sub)


def ml_programs(spec) -> list[ProgramRef]:
    return [ProgramRef(i, m) for i, m in enumerate(_program_models(spec))]


def op_name(op) -> str:
    """The op name: the rank-0 string tensor in attributes["name"].

    Programs written by older converters (ESPCN, spec 6) have ops without a "name"
    attribute; those are known by their first output, as in Core ML's MIL text.
    """
    value = op.attributes.get("name")
    if value is None:
        return op.outputs[0].name if op.outputs else ""
    return value.immediateValue.tensor.strings.values[0]


def function_blocks(function) -> list:
    """Every block specialization of a function; writers emit one, keyed by its opset."""
    specs = function.block_specializations
    return [specs[key] for key in sorted(specs)]


def _walk_block(program: int, function: str, block, path: str) -> Iterator[OpRef]:
    for op in block.operations:
        yield OpRef(program, function, path, op)
        for i, inner in enumerate(op.blocks):
            inner_path = f"{path}/{op_name(op)}[{i}]" if path else f"{op_name(op)}[{i}]"
            yield from _walk_block(program, function, inner, inner_path)


def iter_ops(ref: ProgramRef) -> Iterator[OpRef]:
    """Every op of every function, nested blocks included, functions in name order."""
    functions = ref.model.mlProgram.functions
    for fname in sorted(functions):
        for block in function_blocks(functions[fname]):
            yield from _walk_block(ref.index, fname, block, "")


def op_values(op) -> Iterator[tuple[str, object]]:
    """(parameter label, Value) for every value an op carries: attributes and bound values."""
    for key in sorted(op.attributes):
        if key != "name":
            yield key, op.attributes[key]
    for key in sorted(op.inputs):
        for i, binding in enumerate(op.inputs[key].arguments):
            if binding.WhichOneof("binding") == "value":
                yield f"{key}[{i}]", binding.value


def tensor_type(value_type) -> tuple[str, tuple[int, ...]] | None:
    """(MIL DataType name, shape) of a tensor ValueType; None for other types."""
    if value_type.WhichOneof("type") != "tensorType":
        return None
    tensor = value_type.tensorType
    shape = tuple(d.constant.size for d in tensor.dimensions)
    return MIL_pb2.DataType.Name(tensor.dataType), shape


@dataclass(frozen=True)
class BlobRef:
    """One BlobFileValue in a program, with what the blob must hold."""

    program: int
    function: str
    op_name: str
    param: str
    file: str  # basename: coremltools resolves every fileName to weights/<basename>
    offset: int
    dtype: str
    shape: tuple[int, ...]


def blob_refs(spec) -> list[BlobRef]:
    refs = []
    for prog in ml_programs(spec):
        for ref in iter_ops(prog):
            for param, value in op_values(ref.op):
                if value.WhichOneof("value") != "blobFileValue":
                    continue
                dtype, shape = tensor_type(value.type)
                blob = value.blobFileValue
                refs.append(BlobRef(ref.program, ref.function, op_name(ref.op), param,
                                    blob.fileName.rsplit("/", 1)[-1], blob.offset, dtype,
                                    shape))
    return refs


def consumers(spec) -> dict[tuple[int, str, str], list[dict]]:
    """(program, function, var name) -> ops binding that name, nested blocks included."""
    found: dict[tuple[int, str, str], list[dict]] = {}
    for prog in ml_programs(spec):
        for ref in iter_ops(prog):
            for param in sorted(ref.op.inputs):
                for binding in ref.op.inputs[param].arguments:
                    if binding.WhichOneof("binding") != "name":
                        continue
                    key = (ref.program, ref.function, binding.name)
                    found.setdefault(key, []).append(
                        {"op_type": ref.op.type, "op_name": op_name(ref.op), "parameter": param})
    return found


def without_blob_offsets(spec):
    """A copy with every BlobFileValue offset zeroed, to compare programs modulo layout."""
    spec = copy.deepcopy(spec)
    for prog in ml_programs(spec):
        for ref in iter_ops(prog):
            for _, value in op_values(ref.op):
                if value.WhichOneof("value") == "blobFileValue":
                    value.blobFileValue.offset = 0
    return spec


def without_programs(spec):
    """A copy with every ML program removed: description, metadata, versions remain."""
    spec = copy.deepcopy(spec)
    for model in _program_models(spec):
        model.ClearField("mlProgram")
    return spec
