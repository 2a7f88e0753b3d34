"""op_name_configs keys that name part of an existing constexpr chain, in joint compression.

coremltools looks a weight's config up by the name of the op it visits, then (when that op only
feeds constexpr ops) by the name of the first constexpr it feeds, and so on down the chain, then
by the ops using the decoded weight. Joint palettization and quantization visit the payload
const they compress (a pruned weight's nonzero_data, quantized codes, a LUT), so a key naming
that const, or a constexpr between it and the chain's end, selects the weight; joint pruning
visits the chain's last constexpr, so keys naming its payload consts select nothing.

coremltools writes every payload inline, so a payload has no op name in the file: its loader
names it "<constexpr op name>_<parameter>_<n>", n counting the loads of that program in the
process (0 in a fresh one: the name a user sees and the one mlpress accepts). Each case runs
coremltools' earlier steps (global configs) and saves the package, then runs the last step with
a single op_name_configs key through coremltools in a fresh process and through mlpress on that
same saved package; both must compress the same weights into the same ops and values (op names
aside: coremltools names the new ops after the payload's load-time name).

The fresh processes are forked, one per case, from a server process that has imported
coremltools and loaded nothing (importing it anew for every case took most of the time): each
child starts with the counts a new process has."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import fixtures
import harness
import parity

API = {"OpLinearQuantizerConfig": "linear_quantize_weights",
       "OpPalettizerConfig": "palettize_weights",
       "OpMagnitudePrunerConfig": "prune_weights"}

PRUNE = {"config_type": "OpMagnitudePrunerConfig", "target_sparsity": 0.5}
PALETTIZE = {"config_type": "OpPalettizerConfig", "nbits": 4, "mode": "uniform"}
UNIQUE = {"config_type": "OpPalettizerConfig", "mode": "unique"}
QUANTIZE = {"config_type": "OpLinearQuantizerConfig", "dtype": "int8",
            "mode": "linear_symmetric", "granularity": "per_channel"}
QUANTIZE_LUT = {**QUANTIZE, "granularity": "per_tensor"}
QUANTIZE_UINT8 = {**QUANTIZE, "dtype": "uint8", "mode": "linear"}


def _config(step: dict, key: str | None) -> dict:
    spec = {k: v for k, v in step.items() if k != "config_type"}
    spec["weight_threshold"] = 500
    if key is None:
        return {"config_type": step["config_type"], "global_config": spec}
    return {"config_type": step["config_type"], "op_name_configs": {key: spec}}


def _earlier(src: Path, steps: list[dict], out: Path) -> Path:
    """coremltools' earlier steps (global configs, the second and later ones joint), saved."""
    import coremltools as ct
    model = ct.models.MLModel(str(src), skip_model_load=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, step in enumerate(steps):
            model = getattr(ct.optimize.coreml, API[step["config_type"]])(
                model, ct.optimize.coreml.OptimizationConfig.from_dict(_config(step, None)),
                joint_compression=i > 0)
    model.save(str(out))
    return out


def _chain(package: Path, consumer: str, param: str) -> dict[str, str]:
    """Names along the chain feeding `consumer`'s `param`, read from the file (no MIL loader,
    whose names depend on earlier loads), by role: "consumer", "end" (the chain's last op) and,
    per constexpr,
    "<op type>.<parameter>": the op bound to that parameter, or for an inline value the name
    coremltools' loader gives it in a fresh process."""
    import coremltools as ct
    spec = ct.utils.load_spec(str(package))
    block = next(iter(spec.mlProgram.functions["main"].block_specializations.values()))
    ops = {out.name: op for op in block.operations for out in op.outputs}

    def name_of(op):
        return op.attributes["name"].immediateValue.tensor.strings.values[0]

    use = next(op for op in block.operations if name_of(op) == consumer)
    head = ops[use.inputs[param].arguments[0].name]
    names = {"consumer": consumer, "end": name_of(head)}
    pending = [head]
    while pending:
        op = pending.pop()
        for param, arg in op.inputs.items():
            binding = arg.arguments[0]
            if binding.WhichOneof("binding") == "value":
                names[f"{op.type}.{param}"] = f"{name_of(op)}_{param}_0"
            elif binding.name in ops:
                names[f"{op.type}.{param}"] = name_of(ops[binding.name])
                if ops[binding.name].type.startswith("constexpr_"):
                    pending.append(ops[binding.name])
    return names


# A process that imports coremltools and nothing of ours, then for each request (a JSON line on
# stdin) forks a child that runs coremltools' step, its output in the request's log file, and
# answers with the child's exit status. The server itself never loads a program, so each child
# starts from the state of a process that has just imported coremltools.
_FORK_SERVER = """
import json, os, sys, traceback, warnings
warnings.simplefilter("ignore")
import coremltools as ct
sys.stdout.write("ready\\n")
sys.stdout.flush()
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(log, 1)
            os.dup2(log, 2)
            model = ct.models.MLModel(request["src"], skip_model_load=True)
            config = ct.optimize.coreml.OptimizationConfig.from_dict(request["config"])
            getattr(ct.optimize.coreml, request["api"])(
                model, config, joint_compression=True).save(request["out"])
            status = 0
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(status)
    _, wait_status = os.waitpid(pid, 0)
    sys.stdout.write(json.dumps(os.waitstatus_to_exitcode(wait_status)) + "\\n")
    sys.stdout.flush()
"""


class _FreshCoremltools:
    """The fork server above, started once for the module."""

    def __init__(self):
        import subprocess
        import sys
        self._server = subprocess.Popen([sys.executable, "-c", _FORK_SERVER],
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, text=True)
        assert self._answer(600) == "ready", "the coremltools fork server did not start"

    def _answer(self, timeout: float) -> str:
        import select
        ready, _, _ = select.select([self._server.stdout], [], [], timeout)
        assert ready, f"no answer from the coremltools fork server in {timeout} s"
        answer = self._server.stdout.readline()
        assert answer, "the coremltools fork server ended"
        return answer.strip()

    def run(self, api: str, src: Path, config: dict, out: Path, log: Path) -> int:
        """The exit status of a child that ran coremltools' `api` with `config` on `src`."""
        request = {"api": api, "src": str(src), "config": config, "out": str(out),
                   "log": str(log)}
        self._server.stdin.write(json.dumps(request) + "\n")
        self._server.stdin.flush()
        return int(self._answer(600))

    def close(self):
        self._server.stdin.close()
        self._server.wait(timeout=60)


@pytest.fixture(scope="module")
def fresh_coremltools():
    server = _FreshCoremltools()
    yield server
    server.close()


def _fresh_reference(fresh: _FreshCoremltools, src: Path, step: dict, key: str,
                     out: Path) -> Path:
    """coremltools' joint `step` keyed by `key`, in a process that has loaded nothing yet."""
    log = out.with_suffix(".log")
    status = fresh.run(API[step["config_type"]], src, _config(step, key), out, log)
    assert status == 0, log.read_text()[-3000:]
    return out


def _ops(package: Path) -> list:
    """Every constexpr op's type and parameter dtypes/shapes, without names."""
    return sorted((v["type"], sorted(v["params"].items())) for k, v in
                  parity.constexprs(package).items() if k != "spec_version")


CONV = ("conv", "conv_cast_fp16", "weight")
INT8 = ("int8", "g8_cast_uint16_cast_uint16", "x")  # test_prune's int8 gather table (iOS18)
UINT8 = ("int8", "gu8_cast_uint16", "x")  # and its uint8 one

# (case id, package and the op / parameter using the weight, earlier steps, last step, role of
#  the key, whether coremltools then compresses that weight again)
CASES = [
    # Joint palettization visits a pruned weight's nonzero_data const.
    ("prune-palettize-nonzero_data", CONV, [PRUNE], PALETTIZE,
     "constexpr_sparse_to_dense.nonzero_data", True),
    ("prune-palettize-mask", CONV, [PRUNE], PALETTIZE, "constexpr_sparse_to_dense.mask", False),
    ("prune-palettize-end", CONV, [PRUNE], PALETTIZE, "end", True),
    ("prune-quantize-nonzero_data", CONV, [PRUNE], QUANTIZE,
     "constexpr_sparse_to_dense.nonzero_data", True),
    # Joint quantization visits a LUT const, through a lut_to_sparse on a pruned weight.
    ("palettize-quantize-lut", CONV, [PALETTIZE], QUANTIZE_LUT, "constexpr_lut_to_dense.lut", True),
    ("prune-palettize-quantize-lut", CONV, [PRUNE, PALETTIZE], QUANTIZE_LUT,
     "constexpr_lut_to_sparse.lut", True),
    ("prune-palettize-quantize-lut_to_sparse", CONV, [PRUNE, PALETTIZE], QUANTIZE_LUT,
     "constexpr_sparse_to_dense.nonzero_data", True),
    # int8 / uint8 codes of a quantized weight, palettized jointly.
    ("quantize-palettize-int8-data", CONV, [QUANTIZE], UNIQUE,
     "constexpr_blockwise_shift_scale.data", True),
    ("quantize-palettize-uint8-data", CONV, [QUANTIZE_UINT8], UNIQUE,
     "constexpr_blockwise_shift_scale.data", True),
    ("quantize-palettize-scale", CONV, [QUANTIZE], UNIQUE, "constexpr_blockwise_shift_scale.scale",
     False),
    # Joint pruning visits the chain's last constexpr: its payload consts' names select nothing.
    ("quantize-prune-int8-data", CONV, [QUANTIZE], PRUNE, "constexpr_blockwise_shift_scale.data",
     False),
    ("palettize-prune-indices", CONV, [PALETTIZE], PRUNE, "constexpr_lut_to_dense.indices", False),
    ("palettize-prune-end", CONV, [PALETTIZE], PRUNE, "end", True),
    # int8 / uint8 consts palettized (an integer LUT), then pruned jointly.
    ("int8-palettize-prune-end", INT8, [UNIQUE], PRUNE, "end", True),
    ("int8-palettize-prune-consumer", INT8, [UNIQUE], PRUNE, "consumer", True),
    ("uint8-palettize-prune-lut", UINT8, [UNIQUE], PRUNE, "constexpr_lut_to_dense.lut", False),
]


@pytest.fixture(scope="module")
def int_package(tmp_path_factory):
    import test_prune
    root = tmp_path_factory.mktemp("int-consts")
    return test_prune._int_package(root / "iOS18-wide.mlpackage", "iOS18", 40.0)


@pytest.mark.parametrize("where,earlier,last,role,selects", [
    pytest.param(w, e, l, r, s, id=c) for c, w, e, l, r, s in CASES])
def test_joint_key_names_chain_op(where, earlier, last, role, selects, fixture_dir, int_package,
                                  fresh_coremltools, mlpress, tmp_path):
    source, consumer, param = where
    src = (fixtures.fixture_path("conv_ios18_fp16", fixture_dir) if source == "conv"
           else int_package)
    before = _earlier(src, earlier, tmp_path / "before.mlpackage")
    key = _chain(before, consumer, param)[role]
    ref = _fresh_reference(fresh_coremltools, before, last, key, tmp_path / "ref.mlpackage")
    job = tmp_path / "job.json"
    job.write_text(json.dumps({"steps": [{"config": _config(last, key),
                                          "joint_compression": True}]}))
    out = tmp_path / "out.mlpackage"
    run = harness.run_mlpress("compress", before, out, "--config", job, "--json")
    assert run.returncode == 0, harness.describe_run(run)
    assert _ops(out) == _ops(ref)
    # The weights (coremltools' save may rename small consts such as axes).
    want = {k: v for k, v in parity.decompressed(ref, tmp_path / "ref_d.mlpackage").items()
            if v.ndim >= 2}
    got = {k: v for k, v in parity.decompressed(out, tmp_path / "out_d.mlpackage").items()
           if v.ndim >= 2}
    assert sorted(got) == sorted(want)
    for name in want:
        assert np.array_equal(got[name], want[name], equal_nan=want[name].dtype.kind == "f"), name
    # coremltools compressed the keyed weight again exactly when the case says it does.
    assert (_ops(before) != _ops(ref)) == selects
