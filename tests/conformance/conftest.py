"""pytest wiring: the fixture packages, the binary under test, and per-session caches."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import fixtures
import harness
import oracle
import pkg


@pytest.fixture(scope="session")
def fixture_dir() -> Path:
    """The generated fixture packages, built on first use (about half a minute)."""
    return fixtures.ensure_fixtures()


@pytest.fixture(scope="session")
def mlpress() -> Path:
    """The binary under test; a missing binary fails the tests rather than skipping them,
    so a broken build cannot pass as "nothing to test"."""
    path = harness.mlpress_bin()
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"mlpress binary not found at {path}: build it (cmake --build build) "
                    f"or point MLPRESS_BIN at it", pytrace=False)
    return path


class Packages:
    """Inputs for each case, made once per session: zipped variants, extracted originals
    and coremltools' view of each original."""

    def __init__(self, fixture_dir: Path, scratch: Path):
        self.fixture_dir = fixture_dir
        self.scratch = scratch
        self._inputs: dict[tuple[str, str], Path] = {}
        self._roots: dict[str, Path] = {}
        self._loaded: dict[str, oracle.Loaded] = {}

    def source(self, case: harness.Case) -> Path:
        """The package as stored: a fixture directory, the sample zip, a real dir or zip."""
        return case.path or fixtures.fixture_path(case.name, self.fixture_dir)

    def original_root(self, case: harness.Case) -> Path:
        """The original as a directory (a zipped real package is extracted once)."""
        if case.id not in self._roots:
            source = self.source(case)
            if case.is_zip:
                source = pkg.extract_package(source, self._dir("originals", case.id))
            self._roots[case.id] = source
        return self._roots[case.id]

    def input_path(self, case: harness.Case, form: str) -> Path:
        """The package in the given input form (see Case.input_forms)."""
        key = (case.id, form)
        if key not in self._inputs:
            self._inputs[key] = self._make_input(case, form)
        return self._inputs[key]

    def _make_input(self, case: harness.Case, form: str) -> Path:
        source = self.source(case)
        if form == "dir" or case.is_zip:
            return source
        out = self._dir("inputs", f"{case.id}-{form}")
        if form == "zip":
            return pkg.zip_package(source, out / f"{case.name}-input.zip",
                                   top=f"renamed_{case.name}.mlpackage")
        if form == "zip_macos":
            return pkg.zip_package(source, out / f"{case.name}.mlpackage.zip",
                                   top="Finder Copy.mlpackage", macos_junk=True)
        if form == "zip_flat":
            return pkg.zip_package(source, out / f"{case.name}.zip", top="",
                                   dir_entries=False)
        raise ValueError(f"unknown input form {form}")

    def loaded(self, case: harness.Case) -> oracle.Loaded:
        if case.id not in self._loaded:
            self._loaded[case.id] = oracle.load_package(self.original_root(case))
        return self._loaded[case.id]

    def _dir(self, *parts: str) -> Path:
        path = self.scratch.joinpath(*parts)
        path.mkdir(parents=True, exist_ok=True)
        return path


@pytest.fixture(scope="session")
def packages(fixture_dir: Path, tmp_path_factory) -> Packages:
    return Packages(fixture_dir, tmp_path_factory.mktemp("packages"))
