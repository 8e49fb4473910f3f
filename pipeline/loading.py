"""The one loader of ``module:attribute`` names (ini options, ``--app``, backends), no pytest."""

from __future__ import annotations

import importlib
import os
from typing import Any

__all__ = ["ModuleNotOnPath", "load_object", "target_problem"]


class ModuleNotOnPath(ValueError):
    """The module named (or its package) is nowhere on ``sys.path``: the name may be
    right and the folder that holds it missing from the path."""


def target_problem(target: str) -> str | None:
    """What makes ``target`` no ``module:attribute`` name, or None (the form alone: the
    module is not imported)."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        return "must look like 'package.module:attribute'"
    return None


def load_object(target: str, option: str = "target") -> Any:
    """Import ``module:attribute`` (dots allowed in the attribute) with a clear error."""
    problem = target_problem(target)
    if problem is not None:
        raise ValueError(f"{option}={target!r} {problem}")
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        # Only the top-level package missing is "not on the path": a name wrong inside a
        # package found, or a module whose own import fails, is reported as it is.
        if isinstance(exc, ModuleNotFoundError) and exc.name == module_name.split(".")[0]:
            raise ModuleNotOnPath(
                f"{option}={target!r}: cannot import {module_name!r}: no {exc.name!r} on "
                f"sys.path (working directory {os.getcwd()}); run from the folder that holds "
                "it or add that folder to PYTHONPATH"
            ) from exc
        raise ValueError(f"{option}={target!r}: cannot import {module_name!r} ({exc})") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"{option}={target!r}: {module_name} has no {attr!r}") from None
    return obj
