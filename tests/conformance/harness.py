"""Where things are, how mlpress is run, and which cases the tests cover.

A case is one input package; a config is one `--config` for `mlpress compress` ({} means a
lossless rewrite, run without --config). Adding a fixture is a row in fixtures.FIXTURES;
adding a config is a row in CONFIGS.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

import fixtures

REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_DIR = Path(os.environ.get("MLPRESS_REAL_FIXTURES",
                               REPO_ROOT.parent / "shared" / "fixtures" / "real"))
SAMPLE_ZIP = REPO_ROOT / "sample" / "sample.mlpackage.zip"
MLPRESS_TIMEOUT_S = 600


def mlpress_bin() -> Path:
    return Path(os.environ.get("MLPRESS_BIN", REPO_ROOT / "build" / "core" / "mlpress"))


def run_mlpress(*args: str | Path) -> subprocess.CompletedProcess:
    """Runs the binary under test; stdout and stderr are captured as text."""
    return subprocess.run([str(mlpress_bin()), *map(str, args)], capture_output=True,
                          text=True, timeout=MLPRESS_TIMEOUT_S, stdin=subprocess.DEVNULL)


def describe_run(result: subprocess.CompletedProcess) -> str:
    """The command, exit code and output, for assertion messages."""
    return (f"`{' '.join(result.args)}` exited {result.returncode}\n"
            f"stdout: {result.stdout[-2000:]}\nstderr: {result.stderr[-2000:]}")


# --- cases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """An input package: a generated fixture (a directory), the bundled sample (a zip) or a
    real package made by others (dir or zip)."""

    name: str
    kind: str  # "fixture", "sample" or "real"
    path: Path | None = None  # set for sample and real packages; fixtures are generated

    @property
    def is_zip(self) -> bool:
        return self.path is not None and self.path.suffix == ".zip"

    @property
    def id(self) -> str:
        return self.name if self.kind == "fixture" else f"{self.kind}-{self.name}"

    def input_forms(self) -> tuple[str, ...]:
        """How the package is handed to mlpress: as it is, and zipped when it is a dir.

        "zip" renames the top folder; "zip_macos" adds Finder's __MACOSX and .DS_Store junk;
        "zip_flat" has Manifest.json at the zip root and no entries for non-empty folders.
        """
        return ("zip",) if self.is_zip else ("dir", "zip", "zip_macos", "zip_flat")


# Configs for `mlpress compress`. {} is the lossless rewrite; later issues add compression
# configs here (written to a YAML file and passed as --config FILE).
CONFIGS = [pytest.param({}, id="lossless")]

OUTPUT_FORMS = ("zip", "dir")


def fixture_cases() -> list[Case]:
    return [Case(fx.name, "fixture") for fx in fixtures.FIXTURES]


def sample_cases() -> list[Case]:
    """The bundled sample (scripts/make_sample.py), which the web page offers users."""
    return [Case("sample", "sample", SAMPLE_ZIP)] if SAMPLE_ZIP.is_file() else []


def real_cases() -> list[Case]:
    if not REAL_DIR.is_dir():
        return []
    paths = sorted(p for p in REAL_DIR.iterdir()
                   if p.name.endswith(".mlpackage") or p.name.endswith(".mlpackage.zip"))
    return [Case(p.name.removesuffix(".zip").removesuffix(".mlpackage"), "real", p)
            for p in paths]


REAL_MISSING = (f"real packages not found at {REAL_DIR} (they live in the workspace's "
                f"shared/fixtures/real, beside the repository; set MLPRESS_REAL_FIXTURES)")


def all_cases() -> list[Case]:
    return fixture_cases() + sample_cases() + real_cases()


def _with_real_placeholder(params: list, arity: int) -> list:
    if real_cases():
        return params
    return params + [pytest.param(*([None] * arity), id="real-packages",
                                  marks=pytest.mark.skip(reason=REAL_MISSING))]


def case_params() -> list:
    """One param per input package (for tests that take only a case)."""
    return _with_real_placeholder([pytest.param(c, id=c.id) for c in all_cases()], 1)


def case_form_params() -> list:
    """(case, input form) pairs, for tests that read a package without rewriting it."""
    params = [pytest.param(c, form, id=f"{c.id}-{form}")
              for c in all_cases() for form in c.input_forms()]
    return _with_real_placeholder(params, 2)


def rewrite_params() -> list:
    """(case, config, input form, output form): every run of `mlpress compress`."""
    params = [
        pytest.param(c, config.values[0], in_form, out_form,
                     id=f"{c.id}-{config.id}-{in_form}-to-{out_form}")
        for c in all_cases()
        for config in CONFIGS
        for in_form in c.input_forms()
        for out_form in OUTPUT_FORMS
    ]
    return _with_real_placeholder(params, 4)
