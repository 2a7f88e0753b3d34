"""`mlpress inspect PKG [--json]` agrees with coremltools about every weight."""

from __future__ import annotations

import json

import pytest

import harness
import inspect_checks


@pytest.mark.parametrize("case, form", harness.case_form_params())
def test_inspect_json(case, form, packages, mlpress):
    result = harness.run_mlpress("inspect", packages.input_path(case, form), "--json")
    assert result.returncode == 0, harness.describe_run(result)
    try:
        report = json.loads(result.stdout)
    except json.JSONDecodeError as exc:
        pytest.fail(f"stdout is not JSON ({exc}): {result.stdout[:500]!r}", pytrace=False)
    problems = inspect_checks.inspect_problems(report, packages.loaded(case))
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("case", harness.case_params())
def test_inspect_text(case, packages, mlpress):
    """The human-readable form works on every package and names its weights."""
    result = harness.run_mlpress("inspect", packages.input_path(case, case.input_forms()[0]))
    assert result.returncode == 0, harness.describe_run(result)
    assert result.stdout.strip(), "inspect printed nothing"
    assert not result.stderr.strip(), f"inspect wrote to stderr: {result.stderr[:500]}"
