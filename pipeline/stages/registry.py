"""Named, pluggable stage backends, also reachable by a ``"module:callable"`` path.

Backend names come from configuration (settings, environment), never from end users: a
``module:callable`` path imports code.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from pipeline.loading import load_object

__all__ = ["Registry"]

F = TypeVar("F", bound=Callable[..., object])
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


class Registry(Generic[F]):
    """Backends of one kind (``"transcriber"``, ``"summariser"``...) by name.

    Lookups that fail raise ``error(message)``, so each stage keeps its own error type.
    """

    def __init__(self, kind: str, error: Callable[[str], Exception]) -> None:
        self.kind = kind
        self._error = error
        self._backends: dict[str, F] = {}

    def register(self, name: str, backend: F) -> None:
        """Make ``backend`` available as ``name``, replacing any backend of that name."""
        if not _NAME.match(name):
            raise self._error(f"{self.kind} name {name!r} is not 1-64 chars of [A-Za-z0-9_.-]")
        if not callable(backend):
            raise self._error(f"{self.kind} {name!r} must be callable")
        self._backends[name] = backend

    def names(self) -> tuple[str, ...]:
        """The registered names, sorted."""
        return tuple(sorted(self._backends))

    def get(self, spec: str) -> F:
        """The backend registered as ``spec``, or the callable at ``"module:callable"``."""
        if spec in self._backends:
            return self._backends[spec]
        if isinstance(spec, str) and _PATH.match(spec):
            return self._import(spec)
        known = ", ".join(self.names()) or "(none)"
        raise self._error(
            f"unknown {self.kind} {spec!r}: use one of {known}, or a 'module:callable' path"
        )

    def _import(self, spec: str) -> F:
        try:
            target: object = load_object(spec, self.kind)
        except ValueError as exc:
            raise self._error(str(exc)) from None
        if not callable(target):
            attribute = spec.partition(":")[2]
            raise self._error(f"{self.kind} {spec!r}: {attribute} is not a callable in the module")
        return cast(F, target)
