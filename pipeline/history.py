"""The kinds of entry a job's history holds, defined once for Python, Lua and JavaScript.

:class:`HistoryKind` is the one list. The store's Lua scripts get it as ``KIND_*`` locals
(:func:`lua_constants`) and the page as an ES module (:func:`js_module`, served at
``/static/history-kinds.js``), the way the workflow's transition table is compiled into
the scripts. The values are what Redis stores, so they never change; a member's name
may say more than its value (``GAVE_UP`` is stored as ``"redelivery"``).
"""

from __future__ import annotations

import json
from enum import StrEnum

__all__ = ["HistoryKind", "js_module", "lua_constants"]


class HistoryKind(StrEnum):
    """What a history entry records (rq's ``JobStatus`` style): equal to its stored string."""

    CREATE = "create"
    """The job was created in the workflow's initial status."""
    TRANSITION = "transition"
    """The job moved to another status (a stage entry, its result, or its error)."""
    PROGRESS = "progress"
    """Progress within the current status."""
    REDELIVERED = "redelivered"
    """A stage's message was delivered again; the status stays, its delivery count grows."""
    GAVE_UP = "redelivery"
    """A stage kept coming back past the redelivery cap: the job moved to the error status."""
    DUPLICATE = "duplicate"
    """A delivery that must not run (superseded, or a second hand-off) was refused."""
    RETRY = "retry"
    """A new attempt started from the error status, back in the initial status."""
    STALE = "stale"
    """The stale sweep moved a silent running job to the error status."""

    @property
    def keeps_status(self) -> bool:
        """Whether an entry of this kind leaves the job in the status it was in."""
        return self in _SAME_STATUS

    @property
    def moves_by_table(self) -> bool:
        """Whether an entry of this kind is a move the transition table must allow."""
        return self in _BY_TABLE


_SAME_STATUS = frozenset({HistoryKind.PROGRESS, HistoryKind.REDELIVERED, HistoryKind.DUPLICATE})
_BY_TABLE = frozenset({HistoryKind.TRANSITION, HistoryKind.STALE, HistoryKind.GAVE_UP})


def _lua_str(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def lua_constants() -> str:
    """Lua locals ``KIND_<member name>``, each its stored value (``KIND_GAVE_UP`` is
    ``'redelivery'``): constants, where a table would be rebuilt on every script call."""
    return "".join(f"local KIND_{k.name} = {_lua_str(k.value)}\n" for k in HistoryKind)


def js_module() -> str:
    """An ES module exporting ``KIND``, a frozen object of member name to stored value."""
    body = json.dumps({k.name: k.value for k in HistoryKind}, indent=2)
    return (
        "// Generated from pipeline/history.py (HistoryKind); do not edit.\n"
        f"export const KIND = Object.freeze({body});\n"
    )
