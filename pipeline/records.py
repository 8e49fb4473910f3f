"""Turn the raw Redis hash and stream entries into the public record dicts.

Readers take whatever bytes are stored, from this version, an older one or a hand edit:
text is decoded with replacement, stored JSON that is unreadable (invalid, deeper than
:data:`~pipeline.validation.MAX_JSON_DEPTH`, lone surrogates) is shown as ``None`` or
repaired, and every walk is iterative. Every record is redacted
(:mod:`pipeline.redaction`) unless its owner asks to reveal it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pipeline.errors import DamagedRecord
from pipeline.redaction import DEFAULT, Redactor
from pipeline.validation import MAX_JSON_DEPTH

__all__ = [
    "decode",
    "history_entry",
    "iso_ms",
    "load_json",
    "record_from_hash",
    "redact_record",
    "report_once",
]

log = logging.getLogger(__name__)


_REPORTED: OrderedDict[Hashable, None] = OrderedDict()
_REPORTED_MAX = 1024
_REPORTED_LOCK = threading.Lock()


def report_once(key: Hashable, message: str, *args: Any) -> None:
    """Log a damaged record once per ``key`` (a job and its version), not at every poll."""
    with _REPORTED_LOCK:
        if key in _REPORTED:
            return
        _REPORTED[key] = None
        if len(_REPORTED) > _REPORTED_MAX:
            _REPORTED.popitem(last=False)
    log.warning(message, *args)


def decode(value: Any) -> str:
    """Bytes from a non-decoding client become text; text stays text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    stamp = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z"


class Unreadable(ValueError):
    """Stored JSON that no reader can show (invalid, or nested too deep)."""


def load_json(text: str) -> Any:
    """Stored JSON made safe to show: lone surrogates become U+FFFD, and a value that is
    not JSON or is nested deeper than the write gate allows raises :class:`Unreadable`."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise Unreadable(f"not readable JSON ({type(exc).__name__})") from None
    return _repaired(value)


def _repaired(value: Any) -> Any:
    """``value`` with lone surrogates replaced, checked for depth, without recursion."""
    root: list[Any] = [None]
    stack: list[tuple[Any, Any, Any, int]] = [(value, root, 0, 0)]
    while stack:
        item, parent, slot, depth = stack.pop()
        if isinstance(item, str):
            parent[slot] = _no_surrogates(item)
        elif isinstance(item, dict | list):
            if depth >= MAX_JSON_DEPTH:
                raise Unreadable(f"nested deeper than {MAX_JSON_DEPTH} levels")
            if isinstance(item, dict):
                out: dict[str, Any] = {}
                for key, child in item.items():
                    shown = _no_surrogates(key)
                    out[shown] = None
                    stack.append((child, out, shown, depth + 1))
                parent[slot] = out
            else:
                seq: list[Any] = [None] * len(item)
                stack.extend((child, seq, i, depth + 1) for i, child in enumerate(item))
                parent[slot] = seq
        else:
            parent[slot] = item
    return root[0]


def _no_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in text)
    return text


def _field_json(h: Mapping[str, str], name: str, damaged: list[str]) -> Any:
    try:
        return load_json(h.get(name, ""))
    except Unreadable as exc:
        damaged.append(f"{name}: {exc}")
        return None


def record_from_hash(
    raw: Mapping[Any, Any],
    *,
    reveal: bool = False,
    redactor: Redactor = DEFAULT,
    mirrored: Sequence[str] = ("url", "space_id"),
    job_id: str = "",
) -> dict[str, Any]:
    """The PRD record (plus version, attempt and times) from a job's hash.

    A hash missing a field every record has, or holding one the store never writes
    (not a whole number, not a time), raises :class:`DamagedRecord` naming the job (its
    stored id, else ``job_id``, the id it was read under) and the field.

    ``metadata`` holds ``task_id`` and the input keys the workflow mirrors there
    (``mirrored``: the media pipeline's ``url`` and ``space_id``; none for a workflow
    whose input declares no ``metadata_keys``).

    Credentials are masked everywhere in it unless ``reveal`` (only the code that hands
    the job to a worker asks for it): every other reader gets a record safe to display.
    A stored JSON field no reader could show is ``None`` (and logged).
    """
    h = {decode(k): decode(v) for k, v in raw.items()}
    damaged: list[str] = []
    job_id = _present(h, "job_id", h.get("job_id") or job_id or "(no id)")
    record = {
        "job_id": job_id,
        "workflow": h.get("workflow", ""),
        "status": _present(h, "status", job_id),
        "message": h.get("message", ""),
        "error": h.get("error") or None,
        "updated_at": _stamp(h, "updated_ms", job_id),
        "created_at": _stamp(h, "created_ms", job_id),
        "heartbeat_at": _stamp(h, "heartbeat_ms", job_id),
        "metadata": {
            **{key: _metadata_value(h, key) for key in mirrored},
            "task_id": h.get("task_id") or None,
        },
        "input": _field_json(h, "input", damaged),
        "version": _whole(h, "version", job_id),
        "attempt": _whole(h, "attempt", job_id),
        "progress": _field_json(h, "progress", damaged),
        "result": _field_json(h, "result", damaged),
    }
    if damaged:
        report_once(
            (h["job_id"], h["version"]),
            "job %s: stored values shown as null (%s)",
            h["job_id"],
            "; ".join(damaged),
        )
    return record if reveal else redact_record(record, redactor)


def _present(h: Mapping[str, str], name: str, job_id: str) -> str:
    """A text field every record has; :class:`DamagedRecord` when it is missing."""
    value = h.get(name)
    if not value:
        raise DamagedRecord(job_id, name, "is missing")
    return value


def _whole(h: Mapping[str, str], name: str, job_id: str) -> int:
    """A whole-number field every record has; :class:`DamagedRecord` when it is missing
    or not a whole number."""
    text = _present(h, name, job_id)
    try:
        return int(text)
    except ValueError:
        raise DamagedRecord(job_id, name, "is not a whole number") from None


def _stamp(h: Mapping[str, str], name: str, job_id: str) -> str:
    """A time field (milliseconds) as the record shows it; :class:`DamagedRecord` when
    it is missing or no date."""
    try:
        return iso_ms(_whole(h, name, job_id))
    except (OverflowError, OSError, ValueError):
        raise DamagedRecord(job_id, name, "is not a time") from None


def _metadata_value(h: Mapping[str, str], key: str) -> Any:
    """A mirrored input key as the PRD shows it: ``url`` as text, ``space_id`` or null,
    another key as the input holds it."""
    if key == "url":
        return h.get("url", "")
    if key == "space_id":
        return h.get(key) or None
    try:
        data = json.loads(h.get("input") or "{}")
    except ValueError:
        return None
    return data.get(key) if isinstance(data, dict) else None


_SHOWN = ("message", "error", "input", "progress", "result")


def redact_record(record: dict[str, Any], redactor: Redactor = DEFAULT) -> dict[str, Any]:
    """A copy of ``record`` safe to display: credentials masked in its metadata URL,
    messages, input, progress and result (:mod:`pipeline.redaction`)."""
    meta = record["metadata"]
    shown = {k: redactor.value(record.get(k)) for k in _SHOWN}
    if "url" in meta:
        meta = {**meta, "url": redactor.text(meta["url"])}
    return {**record, **shown, "metadata": meta}


def history_entry(
    entry_id: Any, fields: Mapping[Any, Any], redactor: Redactor = DEFAULT
) -> dict[str, Any]:
    """One history stream entry as a dict (``from`` is ``None`` for the create)."""
    f = {decode(k): decode(v) for k, v in fields.items()}
    ms = int(f["ms"])
    return {
        "id": decode(entry_id),
        "version": int(f["v"]),
        "attempt": int(f["attempt"]),
        "kind": f["kind"],
        "from": f["from"] or None,
        "status": f["to"],
        "at": iso_ms(ms),
        "ms": ms,
        "message": redactor.text(f.get("message", "")),
        "error": redactor.text(f.get("error", "")) or None,
        "task_id": f.get("task_id") or None,
    }
