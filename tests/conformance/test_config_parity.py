"""The committed coremltools verdicts in tests/data/config/cases.json must still hold for the
installed coremltools (they are what tests/core/config_parity_test.cc holds mlpress to).
Regenerate with: python3 scripts/make_config_cases.py. Needs no mlpress binary."""
import importlib.util
import json
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CASES = json.loads((ROOT / "tests/data/config/cases.json").read_text())["cases"]


def _generator():
    spec = importlib.util.spec_from_file_location("make_config_cases",
                                                  ROOT / "scripts/make_config_cases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def test_table_matches_generator():
    assert len(CASES) == len(GEN.CASES), "cases.json is stale: run scripts/make_config_cases.py"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_coremltools_verdict_unchanged(case):
    now = GEN.run({k: case[k] for k in ("dict", "yaml") if k in case})
    recorded = case["coremltools"]
    assert now["accepted"] == recorded["accepted"], now.get("error")
    if now["accepted"]:
        assert now["normalized"] == recorded["normalized"]
    if "parsed" in recorded:
        assert GEN.jsonable(now["parsed"]) == recorded["parsed"]
