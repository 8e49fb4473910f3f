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
    from hypothesis.internal.conjecture import engine

    try:
        tree = ast.parse(inspect.getsource(engine))
    except (OSError, TypeError, SyntaxError):
        return None
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
    from hypothesis import core
    from hypothesis.internal.conjecture import engine
    from hypothesis.strategies._internal import collections

    return [m for m in (core, engine, collections) if hasattr(m, _BUFFER)]


@contextlib.contextmanager
def hypothesis_as_shipped() -> Iterator[None]:
    """Hypothesis' own example printer and buffer size inside, what was there after."""
    from hypothesis import core
    from hypothesis.vendor import pretty

    size = shipped_buffer_size()
    modules = _buffer_modules() if size is not None else []
    saved_printer = getattr(core, _PRINTER)
    saved_sizes = [getattr(m, _BUFFER) for m in modules]
    setattr(core, _PRINTER, pretty.RepresentationPrinter)
    for module in modules:
        setattr(module, _BUFFER, size)
    try:
        yield
    finally:
        setattr(core, _PRINTER, saved_printer)
        for module, saved in zip(modules, saved_sizes, strict=True):
            setattr(module, _BUFFER, saved)


def is_schemathesis_item(item: object) -> bool:
    """Whether pytest collected ``item`` through schemathesis (its tests keep its tuning)."""
    return type(item).__module__.split(".", 1)[0] == "schemathesis"
