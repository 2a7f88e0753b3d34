#!/usr/bin/env python3
"""Writes tests/data/config/cases.json: config dicts and YAML texts, each run through
coremltools' OptimizationConfig.from_dict / from_yaml, recording whether coremltools accepts
it, its error, and (when accepted) the normalised configs. The C++ test
tests/core/config_parity_test.cc checks that mlpress accepts and refuses the same ones.

Each case may carry:
  field      a word the mlpress error must contain (refusals): the offending field
  deviation  why mlpress deliberately refuses a config coremltools accepts

Run: python3 scripts/make_config_cases.py   (needs coremltools; see tests/conformance)
"""
import copy
import io
import json
import logging
import math
import os
import sys

logging.disable(logging.CRITICAL)

L = "OpLinearQuantizerConfig"
P = "OpPalettizerConfig"
T = "OpThresholdPrunerConfig"
M = "OpMagnitudePrunerConfig"


def g(config_type, glob, field=None, deviation=None, id=None):
    return {"id": id, "dict": {"config_type": config_type, "global_config": glob},
            "field": field, "deviation": deviation}


def d(dct, field=None, deviation=None, id=None):
    return {"id": id, "dict": dct, "field": field, "deviation": deviation}


def y(text, field=None, deviation=None, id=None):
    return {"id": id, "yaml": text, "field": field, "deviation": deviation}


CASES = [
    # --- top level -----------------------------------------------------------------------------
    d({"config_type": L}),
    d({"config_type": L, "global_config": None, "op_type_configs": None,
       "op_name_configs": None}),
    d({"global_config": {}}, field="config_type"),
    d({"config_type": 5}, field="config_type"),
    d({"config_type": None}, field="config_type"),
    d({"config_type": L, "foo": 1}, field="foo"),
    d({"config_type": L, "op_name_config": {}}, field="op_name_config"),
    d({"config_type": "Foo", "global_config": {}}, field="Foo"),
    d({"config_type": "Foo"}, field="Foo",
      deviation="coremltools only looks config_type up when an entry needs it"),
    d({"config_type": "OptimizationConfig", "global_config": {}}, field="OptimizationConfig"),
    d({"config_type": L, "global_config": 5}, field="global_config"),
    d({"config_type": L, "global_config": [1]}, field="global_config"),
    d({"config_type": L, "global_config": "x"}, field="global_config"),
    d({"config_type": L, "op_type_configs": [1]}, field="op_type_configs"),
    d({"config_type": L, "op_name_configs": "x"}, field="op_name_configs"),
    d({"config_type": L, "op_type_configs": {"conv": None, "linear": {"dtype": "int4"}},
       "op_name_configs": {"conv_1": {"mode": "linear"}, "w": None}}),
    d({"config_type": L, "global_config": {"config_type": T}}),
    d({"config_type": L, "global_config": {"config_type": None}}, field="config_type"),
    d({"config_type": L, "global_config": {"config_type": "Foo"}}, field="Foo"),
    d({"config_type": T, "global_config": {"threshold": 0.01},
       "op_type_configs": {"conv": {"config_type": M, "n_m_ratio": [3, 4]}},
       "op_name_configs": {"conv_1": None}}),
    d({"config_type": L, "op_type_configs": {"conv": {"config_type": P, "nbits": 2}}}),
    d({"config_type": L, "op_type_configs": {"conv": {"config_type": 5}}}, field="config_type"),
    # --- OpLinearQuantizerConfig ---------------------------------------------------------------
    g(L, {}),
    g(L, {"mode": "Linear"}),
    g(L, {"mode": "linear_symmetric"}),
    g(L, {"mode": "xx"}, field="mode"),
    g(L, {"mode": 5}, field="mode"),
    g(L, {"mode": None}, field="mode"),
    g(L, {"dtype": "int4"}),
    g(L, {"dtype": "uint4"}),
    g(L, {"dtype": "uint8"}),
    g(L, {"dtype": "int16"}, field="dtype"),
    g(L, {"dtype": "int32"}, field="dtype"),
    g(L, {"dtype": "fp16"}, field="dtype"),
    g(L, {"dtype": "float32"}, field="dtype"),
    g(L, {"dtype": "int3"}, field="dtype"),
    g(L, {"dtype": "INT8"}, field="dtype"),
    g(L, {"dtype": "bool"}, field="dtype"),
    g(L, {"dtype": 8}, field="dtype"),
    g(L, {"dtype": None}, field="dtype"),
    g(L, {"granularity": "per_tensor"}),
    g(L, {"granularity": "per_block"}),
    g(L, {"granularity": "per_block", "block_size": 64}),
    g(L, {"granularity": "per_block", "block_size": [1, 0]}),
    g(L, {"granularity": "per_block", "block_size": [0, 0, 1, 1]}),
    g(L, {"granularity": "PER_BLOCK"}, field="granularity"),
    g(L, {"granularity": "per_grouped_channel"}, field="granularity"),
    g(L, {"granularity": 3}, field="granularity"),
    g(L, {"granularity": None}, field="granularity"),
    g(L, {"block_size": 0}),
    g(L, {"block_size": True}),
    g(L, {"block_size": []}),
    g(L, {"block_size": 32.0}, field="block_size"),
    g(L, {"block_size": "32"}, field="block_size"),
    g(L, {"block_size": [1, -1]}, field="block_size"),
    g(L, {"block_size": [1, 2.0]}, field="block_size"),
    g(L, {"block_size": -1}, field="block_size"),
    g(L, {"block_size": None}, field="block_size"),
    g(L, {"weight_threshold": 0}),
    g(L, {"weight_threshold": None}),
    g(L, {"weight_threshold": 10.7}),
    g(L, {"weight_threshold": "10"}),
    g(L, {"weight_threshold": True}),
    g(L, {"weight_threshold": "abc"}, field="weight_threshold"),
    g(L, {"weight_threshold": -1}, field="weight_threshold"),
    g(L, {"weight_threshold": [1]}, field="weight_threshold"),
    g(L, {"foo": 1}, field="foo"),
    g(L, {"nbits": 4}, field="nbits"),
    # --- OpPalettizerConfig --------------------------------------------------------------------
    g(P, {"nbits": 4}),
    g(P, {"mode": "UnIfOrM", "nbits": 4}),
    g(P, {"mode": "unique"}),
    g(P, {"mode": "unique", "nbits": None}),
    g(P, {}, field="nbits"),
    g(P, {"nbits": 5}, field="nbits"),
    g(P, {"nbits": 0}, field="nbits"),
    g(P, {"nbits": "4"}),
    g(P, {"nbits": 4.0}),
    g(P, {"nbits": 4.5}),
    g(P, {"nbits": "four"}, field="nbits"),
    g(P, {"mode": "unique", "nbits": 4}, field="nbits"),
    g(P, {"mode": "foo", "nbits": 4}, field="mode"),
    g(P, {"mode": "custom"}, field="lut_function"),
    g(P, {"nbits": 4, "lut_function": None}, field="lut_function"),
    g(P, {"nbits": 4, "granularity": "per_grouped_channel", "group_size": 16,
          "channel_axis": 1}),
    g(P, {"nbits": 4, "granularity": "per_channel"}, field="granularity"),
    g(P, {"nbits": 4, "cluster_dim": 2, "enable_per_channel_scale": True,
          "num_kmeans_workers": 4}),
    g(P, {"nbits": 4, "cluster_dim": 2.0}),
    g(P, {"nbits": 4, "cluster_dim": 0}, field="cluster_dim",
      deviation="coremltools accepts cluster_dim <= 0 and fails later"),
    g(P, {"nbits": 4, "group_size": -3}, field="group_size",
      deviation="coremltools accepts a negative group_size (undefined behaviour)"),
    g(P, {"nbits": 4, "group_size": None}, field="group_size"),
    g(P, {"nbits": 4, "channel_axis": -1}),
    g(P, {"nbits": 4, "enable_per_channel_scale": 1}),
    g(P, {"nbits": 4, "enable_per_channel_scale": "false"}, field="enable_per_channel_scale",
      deviation="cattrs applies bool(): the string 'false' becomes True"),
    g(P, {"nbits": 4, "enable_per_channel_scale": None}, field="enable_per_channel_scale",
      deviation="cattrs applies bool(): None becomes False"),
    g(P, {"nbits": 4, "num_kmeans_workers": "x"}, field="num_kmeans_workers"),
    g(P, {"nbits": 4, "weight_threshold": 100}),
    # --- OpThresholdPrunerConfig ---------------------------------------------------------------
    g(T, {}),
    g(T, {"threshold": 0.01, "minimum_sparsity_percentile": 0.1}),
    g(T, {"threshold": 1}),
    g(T, {"threshold": "0.5"}),
    g(T, {"threshold": "1e-3"}),
    g(T, {"threshold": True}),
    g(T, {"threshold": None}, field="threshold"),
    g(T, {"threshold": [1]}, field="threshold"),
    g(T, {"threshold": "abc"}, field="threshold"),
    g(T, {"threshold": -1.0}, field="threshold"),
    g(T, {"minimum_sparsity_percentile": 2}, field="minimum_sparsity_percentile"),
    g(T, {"minimum_sparsity_percentile": -0.1}, field="minimum_sparsity_percentile"),
    g(T, {"target_sparsity": 0.5}, field="target_sparsity"),
    # --- OpMagnitudePrunerConfig ---------------------------------------------------------------
    g(M, {"target_sparsity": 0.5}),
    g(M, {"target_sparsity": 1}),
    g(M, {"n_m_ratio": [3, 4]}),
    g(M, {"n_m_ratio": [3, 4], "dim": 0}),
    g(M, {"n_m_ratio": [3.5, 4]}),
    g(M, {"target_sparsity": 0.5, "block_size": 2}),
    g(M, {"target_sparsity": 0.5, "block_size": 2, "dim": 1}),
    g(M, {"target_sparsity": 0.5, "block_size": 2.5}),
    g(M, {}, field="target_sparsity"),
    g(M, {"target_sparsity": 0.5, "n_m_ratio": [1, 2]}, field="n_m_ratio"),
    g(M, {"target_sparsity": 1.5}, field="target_sparsity"),
    g(M, {"target_sparsity": 0.5, "block_size": 1}, field="block_size"),
    g(M, {"n_m_ratio": [1, 2], "block_size": 4}, field="block_size"),
    g(M, {"target_sparsity": 0.5, "dim": 0}, field="dim"),
    g(M, {"target_sparsity": 0.5, "block_size": 2, "dim": 2}, field="dim"),
    g(M, {"n_m_ratio": [3]}, field="n_m_ratio"),
    g(M, {"n_m_ratio": [3, 4, 5]}, field="n_m_ratio"),
    g(M, {"n_m_ratio": 3}, field="n_m_ratio"),
    g(M, {"n_m_ratio": [5, 4]}, field="n_m_ratio"),
    g(M, {"n_m_ratio": ["a", 2]}, field="n_m_ratio"),
    g(M, {"n_m_ratio": "12"}, field="n_m_ratio",
      deviation="cattrs splits the string '12' into (1, 2)"),
    g(M, {"n_m_ratio": [-1, 2]}, field="n_m_ratio",
      deviation="coremltools accepts a negative n"),
    g(M, {"n_m_ratio": [0, 0]}, field="n_m_ratio", deviation="coremltools accepts m = 0"),
    d({"config_type": M, "op_type_configs": {"add": {"target_sparsity": 0.5, "block_size": 2}}},
      field="add"),
    d({"config_type": M, "op_type_configs": {"linear": {"n_m_ratio": [1, 4]},
                                             "conv": {"target_sparsity": 0.5, "block_size": 4}}}),
    d({"config_type": M, "op_type_configs": {"add": {"target_sparsity": 0.5}}}),
    d({"config_type": M, "op_name_configs": {"add": {"target_sparsity": 0.5, "block_size": 2}}}),
    d({"config_type": M, "op_type_configs": {"const": {"target_sparsity": 0.5}}}),
    # --- YAML ----------------------------------------------------------------------------------
    y("config_type: OpThresholdPrunerConfig\n"
      "global_config: {threshold: 0.01}\n"
      "op_type_configs:\n"
      "  conv: {config_type: OpMagnitudePrunerConfig, n_m_ratio: [3, 4]}\n"
      "op_name_configs:\n"
      "  conv_1: null\n"),
    y("# palettize\n---\nconfig_type: OpPalettizerConfig\nglobal_config:\n  mode: kmeans\n"
      "  nbits: 4  # bits\n  granularity: per_grouped_channel\n  group_size: 16\n"
      "op_type_configs:\n  linear: ~\n  conv:\n    mode: uniform\n    nbits: 2\n"
      "op_name_configs:\n  'conv_1': {mode: unique}\n  \"lin 2\":\n    nbits: 8\n"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config:\n  dtype: int4\n"
      "  granularity: per_block\n  block_size:\n  - 1\n  - 32\n"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config:\n  granularity: per_block\n"
      "  block_size:\n    - 0\n    - 0\n"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config: {weight_threshold: 1e3}\n",
      field="weight_threshold"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config: {weight_threshold: 1_000}\n"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config: {weight_threshold: 0x10}\n"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config: {weight_threshold: 010}\n"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config: {weight_threshold: 1:30}\n"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config: {weight_threshold: 1000.}\n"),
    y("config_type: OpThresholdPrunerConfig\nglobal_config: {threshold: 1e-12}\n"),
    y("config_type: OpThresholdPrunerConfig\nglobal_config: {threshold: 1.0e-3}\n"),
    y("config_type: OpThresholdPrunerConfig\nglobal_config: {threshold: .5}\n"),
    y("config_type: OpThresholdPrunerConfig\nglobal_config: {threshold: -.inf}\n",
      field="threshold"),
    y("config_type: OpPalettizerConfig\nglobal_config: {nbits: 4, enable_per_channel_scale: yes}\n"),
    y("config_type: OpPalettizerConfig\nglobal_config: {nbits: 4, enable_per_channel_scale: Off}\n"),
    y("config_type: OpPalettizerConfig\nglobal_config: {nbits: 4, enable_per_channel_scale: 'no'}\n",
      field="enable_per_channel_scale",
      deviation="cattrs applies bool(): the string 'no' becomes True"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config: {mode: on}\n", field="mode"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config:\n", id="yaml_empty_global"),
    y("config_type: OpLinearQuantizerConfig\nglobal_config: {}\n"),
    y("config_type: OpPalettizerConfig\nop_name_configs:\n  w: {nbits: 4}\n  w: {nbits: 2}\n"),
    y("config_type: OpLinearQuantizerConfig\nop_type_configs: [conv]\n",
      field="op_type_configs"),
    y("config_type: OpPalettizerConfig\nglobal_config: {nbits: 4,\n  mode: uniform,\n}\n"),
    y("config_type: OpMagnitudePrunerConfig\nop_type_configs:\n  conv:\n"
      "    n_m_ratio:\n    - 2\n    - 4\n    dim: 0\n"),
]


def normalise(cfg):
    import coremltools.optimize.coreml as oc
    from coremltools.converters.mil.mil import types

    if cfg is None:
        return None

    def num(v):
        if v is None:
            return None
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return float(v)

    def bs(v):
        if isinstance(v, (list, tuple)):
            return [int(x) for x in v]
        return int(v)

    out = {"config_type": type(cfg).__name__}
    if isinstance(cfg, oc.OpLinearQuantizerConfig):
        out.update(mode=cfg.mode, dtype=types.builtin_to_string(cfg.dtype),
                   granularity=cfg.granularity.name.lower(), block_size=bs(cfg.block_size),
                   weight_threshold=cfg.weight_threshold)
    elif isinstance(cfg, oc.OpPalettizerConfig):
        out.update(mode=cfg.mode, nbits=cfg.nbits, granularity=cfg.granularity.name.lower(),
                   group_size=cfg.group_size, channel_axis=cfg.channel_axis,
                   cluster_dim=cfg.cluster_dim,
                   enable_per_channel_scale=cfg.enable_per_channel_scale,
                   num_kmeans_workers=cfg.num_kmeans_workers,
                   weight_threshold=cfg.weight_threshold)
    elif isinstance(cfg, oc.OpThresholdPrunerConfig):
        out.update(threshold=num(cfg.threshold),
                   minimum_sparsity_percentile=num(cfg.minimum_sparsity_percentile),
                   weight_threshold=cfg.weight_threshold)
    else:
        out.update(target_sparsity=num(cfg.target_sparsity), block_size=cfg.block_size,
                   n_m_ratio=list(cfg.n_m_ratio) if cfg.n_m_ratio is not None else None,
                   dim=cfg.dim, weight_threshold=cfg.weight_threshold)
    return out


def jsonable(v):
    """YAML values as JSON; non-finite floats become {"__float__": "inf" | "-inf" | "nan"}."""
    if isinstance(v, float) and not math.isfinite(v):
        return {"__float__": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if isinstance(v, dict):
        return {str(k): jsonable(x) for k, x in v.items()}
    if isinstance(v, list):
        return [jsonable(x) for x in v]
    return v


def error_text(e):
    if isinstance(e, BaseExceptionGroup):
        return "; ".join(error_text(x) for x in e.exceptions)
    return f"{type(e).__name__}: {e}"


def run(case):
    import yaml
    import coremltools.optimize.coreml as oc

    result = {}
    try:
        if "yaml" in case:
            result["parsed"] = jsonable(yaml.safe_load(io.StringIO(case["yaml"])))
            cfg = oc.OptimizationConfig.from_yaml(io.StringIO(case["yaml"]))
        else:
            cfg = oc.OptimizationConfig.from_dict(copy.deepcopy(case["dict"]))
        result["accepted"] = True
        result["normalized"] = {
            "global_config": normalise(cfg.global_config),
            "op_type_configs": {str(k): normalise(v) for k, v in cfg.op_type_configs.items()},
            "op_name_configs": {str(k): normalise(v) for k, v in cfg.op_name_configs.items()},
        }
    except Exception as e:  # noqa: BLE001 - any refusal counts
        result["accepted"] = False
        result["error"] = error_text(e)
    return result


def main():
    import coremltools

    out = []
    for n, case in enumerate(CASES):
        entry = {k: v for k, v in case.items() if v is not None}
        entry.setdefault("id", f"case{n:03d}")
        entry["coremltools"] = run(case)
        if entry["coremltools"]["accepted"] and "field" in case and case["field"] \
                and not case.get("deviation"):
            sys.exit(f"{entry['id']}: coremltools accepts it but the case expects a refusal")
        out.append(entry)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data",
                        "config", "cases.json")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    doc = {"generator": "scripts/make_config_cases.py",
           "coremltools": coremltools.__version__, "cases": out}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(out)} cases to {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
