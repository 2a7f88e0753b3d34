"""Compares `mlpress inspect --json` output with coremltools' view of the same package.

The schema is docs/inspect-json.md; these are the fields the conformance tests pin down.
"""

from __future__ import annotations

import oracle

TOP_LEVEL_KEYS = {"path", "package", "model", "programs", "weights", "totals"}
WEIGHT_KEYS = {"name", "op_name", "program", "function", "shape", "dtype", "element_count",
               "sparsity", "unique_values", "storage", "consumers", "compression"}
EXACT_FIELDS = ("op_name", "shape", "dtype", "element_count", "unique_values")
SPARSITY_TOLERANCE = 1e-9


def _consumer_key(c: dict) -> tuple:
    return (c.get("op_type"), c.get("op_name"), c.get("parameter"))


def _same_consumers(a: list, b: list) -> bool:
    return sorted(map(_consumer_key, a)) == sorted(map(_consumer_key, b))


def _basename(path) -> str:
    return str(path).rsplit("/", 1)[-1]


def inspect_problems(report: dict, loaded: oracle.Loaded) -> list[str]:
    """Everything in the report that disagrees with coremltools; [] when all agree."""
    missing = TOP_LEVEL_KEYS - set(report)
    if missing:
        return [f"top-level keys missing: {sorted(missing)}"]
    problems = _model_problems(report, loaded) + _program_problems(report, loaded)
    weights, dup = _index_weights(report["weights"], _program_ids(report["programs"]))
    problems += dup
    problems += _plain_weight_problems(weights, oracle.expected_weights(loaded))
    problems += _compressed_weight_problems(weights, oracle.expected_compressed(loaded))
    known = set(oracle.expected_weights(loaded)) | set(oracle.expected_compressed(loaded))
    for key, entry in sorted(weights.items(), key=str):
        if key not in known and entry.get("compression") is None:
            problems.append(f"weight {key} is listed but is no numeric const of rank >= 1")
    return problems


def _model_problems(report: dict, loaded: oracle.Loaded) -> list[str]:
    version = report["model"].get("specification_version")
    if version != loaded.spec.specificationVersion:
        return [f"model.specification_version {version!r}, "
                f"expected {loaded.spec.specificationVersion}"]
    return []


def _program_problems(report: dict, loaded: oracle.Loaded) -> list[str]:
    expected = oracle.programs_summary(loaded)
    programs = report["programs"]
    if len(programs) != len(expected):
        return [f"{len(programs)} programs listed, expected {len(expected)}"]
    problems = []
    for i, (entry, functions) in enumerate(zip(programs, expected)):
        got = sorted((f.get("name"), f.get("opset")) for f in entry.get("functions", []))
        want = sorted((f["name"], f["opset"]) for f in functions)
        if got != want:
            problems.append(f"programs[{i}].functions {got}, expected {want}")
    return problems


def _program_ids(programs: list) -> dict:
    """A weight's "program" is the program's "id" (or its index when programs have none)."""
    return {p.get("id", i): i for i, p in enumerate(programs)}


def _index_weights(entries: list, program_ids: dict) -> tuple[dict, list[str]]:
    """Weights keyed like coremltools' view: (program index, function, var name)."""
    index, problems = {}, []
    for entry in entries:
        absent = WEIGHT_KEYS - set(entry)
        if absent:
            problems.append(f"weight {entry.get('name')!r} lacks keys {sorted(absent)}")
        program = program_ids.get(entry.get("program"), entry.get("program"))
        key = (program, entry.get("function"), entry.get("name"))
        if key in index:
            problems.append(f"weight {key} listed twice")
        index[key] = entry
    return index, problems


def _plain_weight_problems(weights: dict, expected: dict) -> list[str]:
    problems = []
    for key, want in sorted(expected.items(), key=str):
        got = weights.get(key)
        if got is None:
            problems.append(f"weight {key} is missing")
            continue
        for field in EXACT_FIELDS:
            if got.get(field) != want[field]:
                problems.append(f"weight {key} {field}: {got.get(field)!r}, "
                                f"expected {want[field]!r}")
        sparsity = got.get("sparsity")
        if not isinstance(sparsity, (int, float)) or \
                abs(sparsity - want["sparsity"]) > SPARSITY_TOLERANCE:
            problems.append(f"weight {key} sparsity {sparsity!r}, expected {want['sparsity']}")
        problems += _storage_problems(key, got.get("storage") or {}, want["storage"])
        if not _same_consumers(got.get("consumers") or [], want["consumers"]):
            problems.append(f"weight {key} consumers {got.get('consumers')!r}, "
                            f"expected {want['consumers']!r}")
        if got.get("compression") is not None:
            problems.append(f"weight {key} is a plain const but compression is "
                            f"{got.get('compression')!r}")
    return problems


def _storage_problems(key, got: dict, want: dict) -> list[str]:
    if got.get("kind") != want["kind"]:
        return [f"weight {key} storage.kind {got.get('kind')!r}, expected {want['kind']!r}"]
    if want["kind"] != "blob":
        return []
    problems = []
    if _basename(got.get("file")) != _basename(want["file"]):
        problems.append(f"weight {key} storage.file {got.get('file')!r}, "
                        f"expected {want['file']!r}")
    if got.get("offset") != want["offset"]:
        problems.append(f"weight {key} storage.offset {got.get('offset')!r}, "
                        f"expected {want['offset']}")
    return problems


def _compressed_weight_problems(weights: dict, expected: dict) -> list[str]:
    problems = []
    for key, want in sorted(expected.items(), key=str):
        got = weights.get(key)
        if got is None:
            problems.append(f"compressed weight {key} is missing")
            continue
        if not isinstance(got.get("compression"), dict):
            problems.append(f"weight {key} comes from a constexpr op but compression is "
                            f"{got.get('compression')!r}")
        if got.get("shape") != want["shape"]:
            problems.append(f"weight {key} shape {got.get('shape')!r}, expected {want['shape']}")
        if not _same_consumers(got.get("consumers") or [], want["consumers"]):
            problems.append(f"weight {key} consumers {got.get('consumers')!r}, "
                            f"expected {want['consumers']!r}")
    return problems


def reference_report(loaded: oracle.Loaded) -> dict:
    """A report that agrees with coremltools in every checked field.

    Used by the harness self-tests to show the comparison passes a correct report and
    catches each kind of deviation.
    """
    weights = [dict(w, compression=None) for w in oracle.expected_weights(loaded).values()]
    weights += [dict(w, op_name=w["name"], program=k[0], function=k[1], dtype="fp16",
                     element_count=0, sparsity=0.0, unique_values=0,
                     storage={"kind": "inline"}, compression={"kind": "constexpr"})
                for k, w in oracle.expected_compressed(loaded).items()]
    return {
        "path": str(loaded.root),
        "package": {},
        "model": {"specification_version": loaded.spec.specificationVersion},
        "programs": [{"functions": f} for f in oracle.programs_summary(loaded)],
        "weights": weights,
        "totals": {},
    }
