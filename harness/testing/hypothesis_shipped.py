"""Hypothesis as it ships, for every test that is not schemathesis' own.

Importing schemathesis' pytest plugin (installed with schemathesis, so active in any
project that has it) swaps, for the whole process, Hypothesis' example printer for one
that prints nothing (a failing example then reads ``test_x(x=,)``, and a failing state
machine's steps lose their arguments) and its data buffer for one four times the size
(other examples get generated than in a project without schemathesis). Both serve
schemathesis' own API fuzzing; a state-honesty failure must show its example, and its
verdict must not depend on which other plugins happen to be installed.
:func:`hypothesis_as_shipped` puts Hypothesis' own printer and buffer size back for the
length of one test call and restores whatever was there after.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import inspect
from collections.abc import Iterator
from types import ModuleType

__all__ = ["hypothesis_as_shipped", "is_schemathesis_item", "shipped_buffer_size"]

_PRINTER, _BUFFER = "RepresentationPrinter", "BUFFER_SIZE"  # Hypothesis' module globals


@functools.cache
def shipped_buffer_size() -> int | None:
    """Hypothesis' own ``BUFFER_SIZE``, read from its source (the module's value may have
    been replaced before anyone could keep it); None if the source does not say."""
    try:
        from hypothesis.internal.conjecture import engine

        tree = ast.parse(inspect.getsource(engine))
    except (ImportError, OSError, TypeError, SyntaxError):
        return None  # another Hypothesis layout: leave its buffer alone
    for node in tree.body:
        target: ast.expr | None = None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        elif isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
        value = getattr(node, "value", None)
        if isinstance(target, ast.Name) and target.id == "BUFFER_SIZE" and value is not None:
            return _arithmetic(value)
    return None


def _arithmetic(node: ast.expr) -> int | None:
    """The value of an integer expression of literals, ``+``, ``-`` and ``*`` (as ``8 * 1024``)."""
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub | ast.Mult):
        left, right = _arithmetic(node.left), _arithmetic(node.right)
        if left is None or right is None:
            return None
        if isinstance(node.op, ast.Add):
            return left + right
        return left - right if isinstance(node.op, ast.Sub) else left * right
    return None


def _buffer_modules() -> list[ModuleType]:
    try:
        from hypothesis import core
        from hypothesis.internal.conjecture import engine
        from hypothesis.strategies._internal import collections
    except ImportError:
        return []
    return [m for m in (core, engine, collections) if hasattr(m, _BUFFER)]


def _shipped_printer() -> tuple[ModuleType, type] | None:
    """Where Hypothesis looks its printer up, and its own; None on another layout."""
    try:
        from hypothesis import core
        from hypothesis.vendor import pretty
    except ImportError:
        return None
    return (core, pretty.RepresentationPrinter) if hasattr(core, _PRINTER) else None


@contextlib.contextmanager
def hypothesis_as_shipped() -> Iterator[None]:
    """Hypothesis' own example printer and buffer size inside, what was there after
    (a Hypothesis laid out otherwise is left as it is)."""
    size = shipped_buffer_size()
    places: list[tuple[ModuleType, str, object]] = []
    printer = _shipped_printer()
    if printer is not None:
        places.append((printer[0], _PRINTER, printer[1]))
    if size is not None:
        places += [(module, _BUFFER, size) for module in _buffer_modules()]
    saved = [getattr(module, name) for module, name, _ in places]
    for module, name, shipped in places:
        setattr(module, name, shipped)
    try:
        yield
    finally:
        for (module, name, _), value in zip(places, saved, strict=True):
            setattr(module, name, value)


def is_schemathesis_item(item: object) -> bool:
    """Whether pytest collected ``item`` through schemathesis (its tests keep its tuning)."""
    return type(item).__module__.split(".", 1)[0] == "schemathesis"
