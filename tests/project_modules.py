"""Forget a project's modules after a test imported it, and only those.

A test that imports a user's project (an inner pytest run, an example app) forgets what
it imported so the next one imports the project afresh. Forgetting a *library* module
first imported there (``multiprocessing.connection``, say) is another matter: the next
import makes a second copy whose classes and functions are not the first copy's, while
the first copy's stay registered (a pickler's reducers, a registry) and its package still
points to it. A later test then failed or passed by the order the tests ran in ("Can't
pickle <function rebuild_connection>: it's not the same object as
multiprocessing.connection.rebuild_connection"). Every door goes through :func:`is_under`:
an inner run (:class:`SharedModulesKept`), the ``pytester`` fixture's own teardown
(:func:`put_back_libraries`, from ``tests/conftest.py``) and a fixture that imports an
example (:func:`forget_modules_under`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from types import ModuleType

import pytest

__all__ = ["SharedModulesKept", "forget_modules_under", "is_under", "put_back_libraries"]


def is_under(module: ModuleType | None, folder: Path) -> bool:
    """Whether ``module`` was loaded from a file inside ``folder``."""
    path = getattr(module, "__file__", None)
    root = os.path.realpath(folder) + os.sep
    return bool(path) and os.path.realpath(str(path)).startswith(root)


def forget_modules_under(folder: Path, before: set[str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Forget the modules imported since ``before`` that live in ``folder``."""
    for name in set(sys.modules) - before:
        if is_under(sys.modules.get(name), folder):
            monkeypatch.delitem(sys.modules, name, raising=False)


def put_back_libraries(present: dict[str, ModuleType], project: Path) -> None:
    """Put back the modules of ``present`` that something dropped from ``sys.modules``,
    except the project's own (under ``project``)."""
    for name, module in present.items():
        if module is not None and name not in sys.modules and not is_under(module, project):
            sys.modules[name] = module


class SharedModulesKept:
    """An inner-run plugin: pytester drops every module the inner run imported; this
    notes the ones outside the project's folder and puts them back afterwards."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.before = set(sys.modules)
        self.shared: dict[str, ModuleType] = {}

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """Note the library modules the run imported first, before pytester drops them."""
        for name, module in list(sys.modules.items()):
            if (
                name not in self.before
                and module is not None
                and not is_under(module, self.project)
            ):
                self.shared[name] = module

    def put_back(self) -> None:
        """Put the noted modules back in ``sys.modules`` (those still missing)."""
        put_back_libraries(self.shared, self.project)
