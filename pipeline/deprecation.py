"""Old names kept working for a while: each warns once, naming its replacement (no pytest)."""

from __future__ import annotations

import functools
import importlib
import importlib.abc
import importlib.util
import sys
import warnings
from collections.abc import Callable, Mapping
from importlib.machinery import ModuleSpec
from types import ModuleType
from typing import Any, TypeVar

__all__ = ["alias_modules", "deprecated_alias", "warn_once"]

F = TypeVar("F", bound=Callable[..., Any])

_warned: set[str] = set()


def warn_once(old: str, new: str, *, stacklevel: int = 3) -> None:
    """A :class:`DeprecationWarning` saying ``old`` is now ``new``, the first time only."""
    if old in _warned:
        return
    _warned.add(old)
    warnings.warn(
        f"{old} is deprecated: use {new} (see CHANGELOG.md)",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def deprecated_alias(func: F, old: str, new: str) -> F:
    """``func`` under its old name ``old``: calling it warns once, then calls ``func``."""

    @functools.wraps(func)
    def alias(*args: Any, **kwargs: Any) -> Any:
        warn_once(old, new)
        return func(*args, **kwargs)

    alias.__doc__ = f"Deprecated alias of {new}."
    return alias  # type: ignore[return-value]


class _MovedModules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of a moved module's old name get the new module, with a warning once."""

    def __init__(self, moved: Mapping[str, str]) -> None:
        self.moved = dict(moved)
        self._specs: dict[str, ModuleSpec | None] = {}

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> ModuleSpec | None:
        if fullname not in self.moved:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        new = self.moved[spec.name]
        warn_once(f"module {spec.name}", new, stacklevel=6)
        module = importlib.import_module(new)
        self._specs[new] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        """Nothing to run: the module is the new one. Give it back its own spec, which
        the import system replaced with the old name's."""
        module.__spec__ = self._specs[module.__name__]


def alias_modules(moved: Mapping[str, str]) -> None:
    """Keep ``import old`` working for every ``old -> new`` in ``moved`` (warning once each)."""
    sys.meta_path.append(_MovedModules(moved))
