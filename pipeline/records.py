"""Turn the raw Redis hash and stream entries into the public record dicts."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pipeline.settings import redact_credentials

__all__ = ["decode", "history_entry", "iso_ms", "record_from_hash", "redact_record"]


def decode(value: Any) -> str:
    """Bytes from a non-decoding client become text; text stays text."""
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return "" if value is None else str(value)


def iso_ms(ms: int) -> str:
    """Milliseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    stamp = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{ms % 1000:03d}Z"


_LONE_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _json_or_none(text: str) -> Any:
    """Stored JSON, made safe to print: a damaged value never breaks a reader."""
    if not text:
        return None
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if _LONE_SURROGATE_ESCAPE.search(text):
        value = _replace_surrogates(value)
    return value


def _replace_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate replaced by U+FFFD (pairs were joined by json)."""
    if isinstance(value, str):
        return "".join("\ufffd" if 0xD800 <= ord(ch) <= 0xDFFF else ch for ch in value)
    if isinstance(value, list):
        return [_replace_surrogates(x) for x in value]
    if isinstance(value, dict):
        return {_replace_surrogates(k): _replace_surrogates(x) for k, x in value.items()}
    return value


def record_from_hash(raw: Mapping[Any, Any], *, reveal: bool = False) -> dict[str, Any]:
    """The PRD record (plus version, attempt and times) from a job's hash.

    A URL's user-info is shown as ``***@`` unless ``reveal`` (only the code that hands
    the URL to a worker asks for it): every other reader gets a record safe to display.
    """
    h = {decode(k): decode(v) for k, v in raw.items()}
    record = {
        "job_id": h["job_id"],
        "workflow": h.get("workflow", ""),
        "status": h["status"],
        "message": h.get("message", ""),
        "error": h.get("error") or None,
        "updated_at": iso_ms(int(h["updated_ms"])),
        "created_at": iso_ms(int(h["created_ms"])),
        "heartbeat_at": iso_ms(int(h["heartbeat_ms"])),
        "metadata": {
            "url": h.get("url", ""),
            "space_id": h.get("space_id") or None,
            "task_id": h.get("task_id") or None,
        },
        "input": _json_or_none(h.get("input", "")),
        "version": int(h["version"]),
        "attempt": int(h["attempt"]),
        "progress": _json_or_none(h.get("progress", "")),
        "result": _json_or_none(h.get("result", "")),
    }
    return record if reveal else redact_record(record)


def redact_record(record: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` safe to display: URL user-info in its metadata and its input
    (``None`` for jobs stored before inputs were kept) shown as ``***@``."""
    meta = record["metadata"]
    return {
        **record,
        "metadata": {**meta, "url": redact_credentials(meta["url"])},
        "input": _redacted(record["input"]),
    }


def _redacted(value: Any) -> Any:
    """``value`` with the user-info of every URL in its text shown as ``***@``."""
    if isinstance(value, str):
        return redact_credentials(value)
    if isinstance(value, list):
        return [_redacted(x) for x in value]
    if isinstance(value, dict):
        return {k: _redacted(x) for k, x in value.items()}
    return value


def history_entry(entry_id: Any, fields: Mapping[Any, Any]) -> dict[str, Any]:
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
        "message": f.get("message", ""),
        "error": f.get("error") or None,
        "task_id": f.get("task_id") or None,
    }
