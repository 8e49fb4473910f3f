"""Input validation: every check raises :class:`ValidationError` naming the field."""

from __future__ import annotations

import ipaddress
import json
import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from pipeline.errors import ValidationError
from pipeline.redaction import DEFAULT, Redactor

if TYPE_CHECKING:  # workflow.py imports job_input.py, which imports this module
    from pipeline.workflow import Workflow

__all__ = [
    "MAX_ERROR",
    "MAX_JSON_DEPTH",
    "MAX_MESSAGE",
    "MAX_SECONDS",
    "SECONDS_RANGE",
    "check_attempt",
    "check_job_id",
    "check_json_value",
    "check_metadata",
    "check_record",
    "check_seconds",
    "check_space_id",
    "check_status",
    "check_timestamp",
    "clean_text",
    "encode_json",
    "finite_number",
    "parse_timestamp",
    "shown_text",
]

MAX_MESSAGE = 500
MAX_ERROR = 2000
MAX_URL = 2048
MAX_JSON_DEPTH = 32
CLOCK_SKEW = timedelta(seconds=5)
# Matched whole (fullmatch): "^...$" with match() let a final newline through.
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_SPACE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
_TASK_ID = re.compile(r"[A-Za-z0-9._:-]{1,155}")
_HOST_LABEL = re.compile(r"[\w-]{1,63}")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})")


def check_job_id(job_id: object) -> str:
    """A job id is 1-64 characters of ``[A-Za-z0-9_-]`` (no braces: they are hash tags)."""
    if not isinstance(job_id, str) or not _JOB_ID.fullmatch(job_id):
        raise ValidationError("job_id", f"{_show(job_id)} is not 1-64 chars of [A-Za-z0-9_-]")
    return job_id


MAX_SECONDS = 100 * 365 * 24 * 3600
"""The longest span any setting, sweep, wait or option may name: 100 years. More is a
slip, and Redis refuses a lifetime whose milliseconds overflow (after part of a write)."""
SECONDS_RANGE = "at most 100 years"


def finite_number(value: object, *, from_text: bool = False) -> float | None:
    """``value`` as a finite number of at most :data:`MAX_SECONDS` either way, else None:
    the one reading of a number of seconds (settings, sweeps, waits, the command line and
    the plugin's options). A bool is not a number here; ``from_text`` also reads a text
    such as ``"1.5"``."""
    if from_text and isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int) and abs(value) > MAX_SECONDS:
        return None  # before float(): a huge int would not fit one
    return float(value) if math.isfinite(value) and abs(value) <= MAX_SECONDS else None


def check_seconds(value: object, field: str) -> float:
    """An age or a lifetime: a finite number of seconds, at least 0. ``nan`` or ``inf``
    would fail deep in a sweep or never match; a negative age would match every job."""
    number = finite_number(value)
    if number is not None and number >= 0:
        return number
    raise ValidationError(
        field, f"{_show(value)} is not a finite number of seconds >= 0 ({SECONDS_RANGE})"
    )


def check_status(workflow: Workflow, status: object) -> str:
    """``status`` must be one of the workflow's statuses."""
    if not isinstance(status, str) or status not in workflow.statuses:
        allowed = ", ".join(workflow.statuses)
        raise ValidationError("status", f"{_show(status)} is not one of {allowed}")
    return status


def check_attempt(attempt: object) -> int:
    """An attempt is a positive integer (0 means: whatever is current, unfenced)."""
    if isinstance(attempt, bool) or not isinstance(attempt, int) or attempt < 0:
        raise ValidationError("attempt", f"{_show(attempt)} is not a non-negative integer")
    return attempt


def clean_text(value: object, field: str, limit: int) -> str:
    """Strip control characters, normalise and cap length; ``None`` becomes ``""``."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError(field, f"must be text, got {type(value).__name__}")
    # Cut before scanning: a 10 MB error must cost what a 300-character one does. Twice the
    # limit leaves room for the control characters and combining marks removed below.
    text = "".join(
        " " if ch in "\t\n\r" else ch
        for ch in unicodedata.normalize("NFC", value[: 2 * limit])
        if ch in "\t\n\r" or unicodedata.category(ch)[0] != "C"
    ).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def shown_text(value: object, field: str, limit: int, redactor: Redactor = DEFAULT) -> str:
    """A message or error as it may be stored and shown: :func:`clean_text`, then
    credentials masked (a credential the length cap cuts in two is masked whole)."""
    return redactor.head(clean_text(value, field, 2 * limit), limit)


def check_url(url: object, field: str = "metadata.url") -> str:
    """An http(s) URL with a host, at most 2048 characters."""
    if not isinstance(url, str) or not url:
        raise ValidationError(field, "is required and must be text")
    if len(url) > MAX_URL:
        raise ValidationError(field, f"is longer than {MAX_URL} characters")
    if any(unicodedata.category(ch)[0] == "C" or ch == " " for ch in url):
        raise ValidationError(field, "contains spaces or control characters")
    try:
        parts = urlsplit(url)
        host = parts.hostname
        port = parts.port
    except ValueError as exc:
        raise ValidationError(field, f"is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in {"http", "https"}:
        raise ValidationError(field, f"scheme {parts.scheme or '(none)'!r} is not http or https")
    if not host:
        raise ValidationError(field, "has no host")
    if port is not None and not 0 < port < 65536:
        raise ValidationError(field, f"port {port} is not between 1 and 65535")
    _check_host(host, field)
    return url


def _check_host(host: str, field: str) -> None:
    """A DNS name of letters, digits and hyphens (IDN allowed) or an IP address."""
    if ":" in host:  # only an IPv6 literal (from ``[...]``) has a colon here
        try:
            ipaddress.IPv6Address(host.split("%", 1)[0])
        except ValueError:
            raise ValidationError(field, f"host {_show(host)} is not an IPv6 address") from None
        return
    labels = host.rstrip(".").split(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in labels):
        raise ValidationError(field, f"host {_show(host)} is not a valid host name")


def check_json_value(value: Any, field: str, max_chars: int | None = None) -> None:
    """The write gate: ``value`` must be JSON a reader can always show again.

    Only JSON types (objects with text keys, arrays, text, numbers, true/false/null),
    floats finite, at most :data:`MAX_JSON_DEPTH` containers deep, every key and string
    valid UTF-8 (a lone surrogate such as ``"\\ud800"`` survives ``json.dumps`` as an
    escape but no UTF-8 writer can ever print it again). With ``max_chars``, refused as
    soon as its text alone passes that many characters, before any more of it is read.
    Walks iteratively: a hostile depth cannot exhaust the stack. Errors name ``field``
    and where inside it, escaped.
    """
    stack: list[tuple[Any, int, str]] = [(value, 0, field)]
    budget = max_chars if max_chars is not None else -1
    while stack:
        item, depth, where = stack.pop()
        if isinstance(item, str):
            _check_utf8(item, field, where)
            budget -= len(item)
        elif isinstance(item, dict | list | tuple):
            if depth >= MAX_JSON_DEPTH:
                raise ValidationError(field, f"is nested deeper than {MAX_JSON_DEPTH} levels")
            stack.extend(_children(item, depth, where, field))
            budget -= len(item)
        else:
            _check_scalar(item, field, where)
        if max_chars is not None and budget < 0:
            raise ValidationError(field, f"is larger than {max_chars} bytes of JSON")


def _children(item: Any, depth: int, where: str, field: str) -> list[tuple[Any, int, str]]:
    pairs = item.items() if isinstance(item, dict) else enumerate(item)
    out = []
    for key, child in pairs:
        if isinstance(item, dict):
            if not isinstance(key, str):
                raise ValidationError(field, f"key {_show(key)} in {where} is not text")
            _check_utf8(key, field, f"key {_show(key)} in {where}")
        name = f"{where}.{key}" if isinstance(key, str) else f"{where}[{key}]"
        out.append((child, depth + 1, name if len(name) <= 80 else where))
    return out


def _check_scalar(item: Any, field: str, where: str) -> None:
    if item is None or isinstance(item, bool | int):
        return
    if isinstance(item, float):
        if item != item or item in (float("inf"), float("-inf")):
            raise ValidationError(field, f"{where} is {item}, which is not JSON")
        return
    raise ValidationError(field, f"{where} is a {type(item).__name__}, which is not JSON")


def _check_utf8(text: str, field: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            field, f"{where} is not valid UTF-8 text (it holds a lone surrogate)"
        ) from None


_PLAIN_SCALARS = frozenset({str, int, float, bool, type(None)})
# ``json.dumps`` with any option builds a new encoder per call; this one is made once.
_COMPACT = json.JSONEncoder(allow_nan=False, ensure_ascii=False, separators=(",", ":"))


def _flat(value: Any) -> bool:
    """``value`` is a dict of text keys to scalars of the exact JSON types (no nesting)."""
    return type(value) is dict and all(
        type(k) is str and type(x) in _PLAIN_SCALARS for k, x in value.items()
    )


def encode_json(value: Any, field: str, limit: int) -> str:
    """Compact JSON of ``value`` after the write gate (:func:`check_json_value`), refused
    above ``limit`` bytes of UTF-8: the one way a stored value is encoded."""
    if _flat(value):
        # A flat object of plain scalars (a stage's progress) has nothing left for the
        # walk to find that encoding does not: a lone surrogate fails the UTF-8 encode and
        # a non-finite float ``allow_nan``; either way the walk then names the culprit.
        try:
            text = _COMPACT.encode(value)
            data = text.encode("utf-8")
        except (UnicodeEncodeError, ValueError):
            pass
        else:
            if len(data) > limit:
                raise ValidationError(
                    field, f"is {len(data)} bytes of JSON, above the {limit} limit"
                )
            return text
    check_json_value(value, field)
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:  # e.g. an integer of more than 4300 digits
        raise ValidationError(field, f"is not JSON-serialisable ({exc})") from None
    size = len(text.encode("utf-8"))
    if size > limit:
        raise ValidationError(field, f"is {size} bytes of JSON, above the {limit} limit")
    return text


def check_space_id(space_id: object, field: str = "metadata.space_id") -> str:
    """A space id: 1-128 characters of ``[A-Za-z0-9._:-]`` starting alphanumeric."""
    if not isinstance(space_id, str) or not _SPACE_ID.fullmatch(space_id):
        raise ValidationError(field, f"{_show(space_id)} is not a valid space id")
    return space_id


def check_metadata(metadata: object, *, require_url: bool = True) -> dict[str, str]:
    """``{url, space_id, task_id}``: url http(s), space_id an id, task_id a Celery id.

    Without ``require_url`` an empty url passes (a workflow whose input has no URL).
    """
    if not isinstance(metadata, dict):
        raise ValidationError("metadata", "must be an object with url, space_id, task_id")
    unknown = set(metadata) - {"url", "space_id", "task_id"}
    if unknown:
        raise ValidationError("metadata", f"unknown keys {sorted(unknown)}")
    url = check_url(metadata.get("url")) if require_url or metadata.get("url") else ""
    space_id = metadata.get("space_id") or ""
    if space_id and (not isinstance(space_id, str) or not _SPACE_ID.fullmatch(space_id)):
        raise ValidationError("metadata.space_id", f"{_show(space_id)} is not a valid space id")
    task_id = metadata.get("task_id") or ""
    if task_id and (not isinstance(task_id, str) or not _TASK_ID.fullmatch(task_id)):
        raise ValidationError("metadata.task_id", f"{_show(task_id)} is not a valid task id")
    return {"url": url, "space_id": space_id, "task_id": task_id}


def check_task_id(task_id: object) -> str:
    """A Celery task id (empty means: keep the current one)."""
    if task_id is None or task_id == "":
        return ""
    if not isinstance(task_id, str) or not _TASK_ID.fullmatch(task_id):
        raise ValidationError("metadata.task_id", f"{_show(task_id)} is not a valid task id")
    return task_id


def parse_timestamp(value: object, field: str = "updated_at") -> datetime:
    """Parse an ISO-8601 timestamp with a timezone into an aware UTC datetime."""
    if not isinstance(value, str) or not _ISO.fullmatch(value):
        raise ValidationError(field, f"{_show(value)} is not an ISO-8601 UTC timestamp")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValidationError(field, f"{_show(value)} is not a real date ({exc})") from None
    return parsed.astimezone(UTC)


def check_timestamp(value: object, field: str = "updated_at", now: datetime | None = None) -> str:
    """A parseable timestamp not in the future by more than a small clock skew."""
    parsed = parse_timestamp(value, field)
    now = now or datetime.now(UTC)
    if parsed > now + CLOCK_SKEW:
        raise ValidationError(field, f"{value} is in the future")
    return str(value)


def _show(value: object) -> str:
    """A value as an error quotes it: its repr, at most 60 characters, credentials masked."""
    return DEFAULT.head(repr(value), 60)


def check_record(
    record: dict[str, Any], workflow: Workflow, now: datetime | None = None
) -> dict[str, Any]:
    """Check a whole state record as :meth:`JobStore.get_state` returns it.

    Status known to the workflow, timestamps real and not in the future, ``created_at``
    no later than ``updated_at``, metadata and the job's input valid for the workflow,
    ``error`` set exactly in the error status, ``version`` and ``attempt`` positive.
    Returns the record.
    """
    check_status(workflow, record.get("status"))
    stamps = {
        f: parse_timestamp(check_timestamp(record.get(f), f, now), f)
        for f in ("created_at", "updated_at", "heartbeat_at")
    }
    if stamps["created_at"] > stamps["updated_at"]:
        raise ValidationError("updated_at", "is earlier than created_at")
    meta = dict(record.get("metadata") or {})
    url_input = "url" in workflow.input.metadata_keys
    prd = {k: v or "" for k, v in meta.items() if k in {"url", "space_id", "task_id"}}
    check_metadata(prd, require_url=url_input)  # other mirrored input keys: checked below
    if record.get("input") is not None:
        workflow.input.validate(record["input"])
    for field in ("version", "attempt"):
        value = record.get(field)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValidationError(field, f"{_show(value)} is not a positive integer")
    failed = record["status"] == workflow.error
    if failed != bool(record.get("error")):
        raise ValidationError("error", f"must be set exactly when status is {workflow.error}")
    return record
