"""`mlpress compress IN OUT`: the output is a package coremltools loads, equal to the input.

One test per (package, config, input form, output form). Each run goes through every check
in checks.py and reports all problems at once.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import yaml

import checks
import harness
import oracle
import pkg


def _fingerprint(path: Path) -> dict[str, str]:
    """Digests of a file or of a directory's files, to prove the input was not touched."""
    if path.is_dir():
        return pkg.file_digests(path)
    return {path.name: hashlib.sha256(path.read_bytes()).hexdigest()}


def compress(src: Path, config: dict, out_form: str, work: Path):
    """Runs `mlpress compress`; returns the result and the output path."""
    out = work / ("rewritten.mlpackage.zip" if out_form == "zip" else "rewritten.mlpackage")
    args = ["compress", src, out]
    if config:
        config_file = work / "config.yaml"
        config_file.write_text(yaml.safe_dump(config))
        args += ["--config", config_file]
    return harness.run_mlpress(*args), out


def open_output(out: Path, work: Path) -> tuple[Path, list[str]]:
    """The output as a package directory, plus zip layout problems when it is a zip."""
    if out.is_dir():
        return out, []
    problems = pkg.zip_layout_problems(out)
    return pkg.extract_package(out, work / "unzipped"), problems


def checks_for(config: dict) -> tuple[checks.Check, ...]:
    """A lossless rewrite must keep every program op and value; a compressing one keeps
    the rest of the package intact (value checks for compression live with its configs)."""
    if not config:
        return checks.LOSSLESS_CHECKS
    return (checks.check_blob_files, checks.check_manifest, checks.check_other_files)


@pytest.mark.parametrize("case, config, in_form, out_form", harness.rewrite_params())
def test_compress(case, config, in_form, out_form, packages, mlpress, tmp_path):
    src = packages.input_path(case, in_form)
    before = _fingerprint(src)
    work = tmp_path / "work"
    work.mkdir()
    result, out = compress(src, config, out_form, work)
    assert result.returncode == 0, harness.describe_run(result)
    assert out.exists(), f"exit 0 but no output at {out}\n{harness.describe_run(result)}"
    assert _fingerprint(src) == before, "mlpress modified its input"
    leftovers = sorted(p.name for p in work.iterdir() if p not in (out, work / "config.yaml"))
    assert not leftovers, f"files left beside the output: {leftovers}"

    root, problems = open_output(out, tmp_path)
    try:
        rewritten = oracle.load_package(root)
    except Exception as exc:
        pytest.fail(f"coremltools cannot load the output: {type(exc).__name__}: {exc}\n"
                    + "\n".join(problems), pytrace=False)
    problems += checks.run_checks(packages.loaded(case), rewritten, checks_for(config))
    assert not problems, "\n".join(problems)
