"""A test that imports a user's project forgets the project's modules, never a library's.

Both doors (an in-process inner pytest run, an example app imported by a fixture) forget
only modules loaded from the project's folder; a library module first imported there
stays the one copy every later test imports.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pytest

from tests.plugin.user_project import run_here
from tests.project_modules import forget_modules_under


def _module(folder: Path, body: str = "") -> str:
    name = f"jobstate_probe_{uuid.uuid4().hex[:10]}"
    (folder / f"{name}.py").write_text(body)
    return name


def test_only_the_projects_modules_are_forgotten(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library, project = tmp_path / "lib", tmp_path / "project"
    library.mkdir()
    project.mkdir()
    lib = _module(library)
    mine = _module(project, f"import {lib}\n")
    monkeypatch.syspath_prepend(str(library))
    monkeypatch.syspath_prepend(str(project))
    before = set(sys.modules)
    __import__(mine)
    first = sys.modules[lib]
    forget_modules_under(project, before, monkeypatch)
    assert mine not in sys.modules
    assert sys.modules[lib] is first
    monkeypatch.delitem(sys.modules, lib)


def test_an_inner_run_keeps_the_one_copy_of_a_library_it_imported_first(
    pytester: pytest.Pytester, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    library = tmp_path / "lib"
    library.mkdir()
    lib = _module(library, "MADE = []\n")
    monkeypatch.syspath_prepend(str(library))
    pytester.makepyfile(
        test_inner=f"""
        import {lib}

        def test_uses_the_library():
            {lib}.MADE.append("inner")
        """
    )
    run_here(pytester).assert_outcomes(passed=1)
    kept = sys.modules[lib]
    assert kept.MADE == ["inner"]  # the inner run's own copy, not a fresh import
    assert "test_inner" not in sys.modules
    monkeypatch.delitem(sys.modules, lib)
