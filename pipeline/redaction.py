"""One redaction for every output: records, API answers, CLI output, errors and log lines.

Credentials are found the way URL parsers and common secret conventions see them:

- a URL's user-info, up to the *last* ``@`` of its authority (``https://u:p@ss@host``,
  scheme-less ``//u:pw@host``, passwords with spaces): shown as ``//***@host``;
- ``name=value`` (query strings, ``?access_token=...``) and ``"name": "value"`` (JSON,
  Python reprs) where ``name`` is secret-named: the value shown as ``***``;
- in JSON values, the value under any secret-named key, at any depth.

A key is secret-named when one of its words (split at ``_``, ``-``, ``.`` and camelCase)
is in the list, or its letters end with a name on it (``X-Api-Key`` ends with ``apikey``).
The list is :data:`DEFAULT_SECRET_KEYS` unless ``JOBSTATE_SECRET_KEYS`` replaces it.
Every walk is iterative and every pattern scans in linear time, so hostile values cost
what their size does.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

__all__ = [
    "DEFAULT_SECRET_KEYS",
    "MASK",
    "Redactor",
    "install_log_redaction",
    "redact",
    "redact_text",
    "redact_url",
    "redactor_for",
]

MASK = "***"

DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "secret",
    "token",
    "api_key",
    "access_key",
    "private_key",
    "credential",
    "credentials",
    "auth",
    "authorization",
    "cookie",
    "session_id",
)
"""Key names whose values are never shown (``JOBSTATE_SECRET_KEYS`` replaces the list)."""

# Authority of a URL: from "//" up to the last "@" before the path, query or fragment.
# Anchored on "//" (no scheme scan) so text without slashes costs one pass.
_USERINFO = re.compile(r"//[^/?#\r\n]*@")
# name=value, as in query strings and environment-style text; the name is 1-64 word
# characters that no other word character precedes (one scan per word, not per position).
_PLAIN_PAIR = re.compile(r"(?<![\w.-])([\w.-]{1,64})=([^\s&#;,'\"]*)")
# "name": "value" or 'name': 'value', as in JSON and Python reprs.
_QUOTED_PAIR = re.compile(
    r"""(["'])([\w.-]{1,64})\1(\s*[:=]\s*)("(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')"""
)
# Appended to a cut text before the scan: closes a user-info, then either quote.
_CLOSE = "@\"'"
# "name": { or [ : a JSON or repr container under a name.
_QUOTED_OPEN = re.compile(r"""(["'])([\w.-]{1,64})\1\s*[:=]\s*[\[{]""")
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def _container_end(text: str, at: int) -> int:
    """Index just past the bracket closing the one at ``at`` (quoted text skipped), or
    the end of ``text`` when it never closes."""
    depth, quote, escaped = 0, "", False
    for i in range(at, len(text)):
        ch = text[i]
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
            if depth == 0:
                return i + 1
    return len(text)


def _masked(text: str, spans: list[tuple[int, int, str]]) -> str:
    """``text`` with each ``(start, end, mask)`` part replaced by its mask; parts that
    overlap or touch are one part, shown as the mask of the one that starts first."""
    spans.sort(key=lambda s: (s[0], -s[1]))
    out: list[str] = []
    done = 0
    start, end, mask = spans[0]
    for s, e, m in spans[1:]:
        if s <= end:
            end = max(end, e)
            continue
        out += (text[done:start], mask)
        done, start, end, mask = end, s, e, m
    out += (text[done:start], mask, text[end:])
    return "".join(out)


_JUDGED_KEYS = 4096


def _norm(name: str) -> str:
    return "".join(ch for ch in name.lower() if ch.isalnum())


@dataclass(frozen=True)
class Redactor:
    """Redaction with one list of secret key names (see the module docstring)."""

    secret_keys: tuple[str, ...] = DEFAULT_SECRET_KEYS

    def __post_init__(self) -> None:
        names = frozenset(n for n in (_norm(k) for k in self.secret_keys) if n)
        object.__setattr__(self, "_names", names)
        # The same few key names come back in every record and context: judge each once
        # (bounded, so hostile inputs with endless new keys cost memory only up to it).
        judged = functools.lru_cache(maxsize=_JUDGED_KEYS)(self._judge)
        object.__setattr__(self, "is_secret_key", judged)

    def is_secret_key(self, key: str) -> bool:
        """True when ``key`` names a secret (``db_password``, ``accessToken``, ``X-Api-Key``)."""
        return self._judge(key)  # replaced per instance by a cached _judge

    def _judge(self, key: str) -> bool:
        names: frozenset[str] = self._names  # type: ignore[attr-defined]
        words = [w.lower() for w in _WORDS.findall(key[:200])]
        compact = "".join(words)
        return any(w in names for w in words) or any(compact.endswith(n) for n in names)

    def text(self, text: str) -> str:
        """``text`` with URL user-info and secret-named ``name=value`` pairs masked.

        Every rule looks at the text as given and the parts they find are masked together,
        so no rule's mask can hide from another the name it keys on (a user-info running
        to a later ``@`` would otherwise swallow the ``"token": `` of the value it ends in).
        """
        spans: list[tuple[int, int, str]] = []
        if "@" in text:
            spans += [(m.start() + 2, m.end() - 1, MASK) for m in _USERINFO.finditer(text)]
        if "=" in text:
            spans += [
                (*m.span(2), MASK)
                for m in _PLAIN_PAIR.finditer(text)
                if self.is_secret_key(m.group(1))
            ]
        if ":" in text or "=" in text:
            spans += [
                (m.start(4) + 1, m.end(4) - 1, MASK)
                for m in _QUOTED_PAIR.finditer(text)
                if self.is_secret_key(m.group(2))
            ]
            spans += self._containers(text)
        return _masked(text, spans) if spans else text

    def _containers(self, text: str) -> list[tuple[int, int, str]]:
        """``"name": {...}`` or ``[...]`` under a secret name, masked whole as ``"***"``
        (a bracket scan, one pass: a container the text cuts off is masked to the end)."""
        spans: list[tuple[int, int, str]] = []
        start = 0
        for m in _QUOTED_OPEN.finditer(text):
            if m.start() < start or not self.is_secret_key(m.group(2)):
                continue
            start = _container_end(text, m.end() - 1)
            spans.append((m.end() - 1, start, f'"{MASK}"'))
        return spans

    def head(self, text: str, limit: int) -> str:
        """:meth:`text` of at most ``limit`` characters of ``text`` (``…`` when cut).

        Only the first ``limit`` characters are scanned, so a 10 MB text costs what a
        short one does; a credential the cut leaves open (``https://u:pa`` with its
        ``@`` beyond the cut) is closed before the scan, so no part of it shows.
        """
        if len(text) <= limit:
            return self.text(text)
        shown = self.text(text[:limit] + _CLOSE)
        for size in range(len(_CLOSE), 0, -1):  # what the masks left of the closer
            if shown.endswith(_CLOSE[-size:]):
                shown = shown[:-size]
                break
        return (shown if len(shown) < limit else shown[: limit - 1]) + "…"

    def _plain(self, m: re.Match[str]) -> str:
        return f"{m.group(1)}={MASK}" if self.is_secret_key(m.group(1)) else m.group(0)

    def _quoted(self, m: re.Match[str]) -> str:
        quote, name, sep, value = m.groups()
        if not self.is_secret_key(name):
            return m.group(0)
        return f"{quote}{name}{quote}{sep}{value[0]}{MASK}{value[0]}"

    def value(self, value: Any) -> Any:
        """A copy of JSON-like ``value`` safe to show: every string through :meth:`text`,
        every value under a secret-named key masked; walked without recursion."""
        root: list[Any] = [None]
        stack: list[tuple[Any, Any, Any]] = [(value, root, 0)]
        while stack:
            item, parent, slot = stack.pop()
            if isinstance(item, str):
                parent[slot] = self.text(item)
            elif isinstance(item, dict):
                out: dict[Any, Any] = {}
                parent[slot] = out
                for key, child in item.items():
                    shown = self.text(key) if isinstance(key, str) else key
                    if isinstance(key, str) and child is not None and self.is_secret_key(key):
                        out[shown] = MASK
                    else:
                        out[shown] = None
                        stack.append((child, out, shown))
            elif isinstance(item, list | tuple):
                seq: list[Any] = [None] * len(item)
                parent[slot] = seq
                stack.extend((child, seq, i) for i, child in enumerate(item))
            else:
                parent[slot] = item
        return root[0]


DEFAULT = Redactor()


@functools.lru_cache(maxsize=32)
def redactor_for(secret_keys: tuple[str, ...]) -> Redactor:
    """The :class:`Redactor` of one list of names, built once (stores and every stage
    hand-off ask for theirs)."""
    return DEFAULT if secret_keys == DEFAULT.secret_keys else Redactor(secret_keys)


def redact(value: Any, redactor: Redactor = DEFAULT) -> Any:
    """The one redaction: text or a JSON-like value, made safe to show anywhere."""
    if isinstance(value, str):
        return redactor.text(value)
    return redactor.value(value)


def redact_text(text: str, redactor: Redactor = DEFAULT) -> str:
    """:func:`redact` for text (typed for callers that hold a ``str``)."""
    return redactor.text(text)


def redact_url(url: str) -> str:
    """``url`` with its password shown as ``***``, the user name kept (settings' reprs,
    where knowing the ACL user helps) and secret query parameters masked."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return redact_text(url)
    if password is None:
        return redact_text(url)
    # The host part as written: a sentinel URL lists several host:port pairs.
    host = parts.netloc.rpartition("@")[2]
    netloc = f"{parts.username or ''}:{MASK}@{host}"
    return urlunsplit(parts._replace(netloc=netloc, query=redact_text(parts.query)))


# -- log records --------------------------------------------------------------------------

_LOG_LOCK = threading.Lock()
_LOG_STATE: dict[str, Any] = {"redactor": DEFAULT, "installed": False}
_FILTERED_LOGGERS = ("celery.app.trace",)
"""Loggers that attach structured ``extra`` data (Celery's task outcome lines)."""


def _log_redactor() -> Redactor:
    redactor: Redactor = _LOG_STATE["redactor"]
    return redactor


_ARGS_KEPT = frozenset({"uvicorn.access"})
"""Loggers whose formatters read the record's ``args`` (uvicorn's access line unpacks
them): their text arguments are redacted one by one and kept, not merged into the
message."""


def _redact_record(record: logging.LogRecord) -> None:
    """Format ``record``'s message and traceback now, redacted (never raises)."""
    redactor = _log_redactor()
    if record.name in _ARGS_KEPT and isinstance(record.args, tuple):
        record.args = tuple(redactor.text(a) if isinstance(a, str) else a for a in record.args)
        message = None
    else:
        try:
            message = record.getMessage()
        except Exception:  # a bad format: leave it for the handler to report
            message = None
    if message is not None:
        record.msg, record.args = redactor.text(message), None
    if record.exc_info and not record.exc_text:
        try:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        except Exception:
            record.exc_text = "(traceback could not be formatted)"
    if record.exc_text:
        record.exc_text = redactor.text(record.exc_text)
    if record.stack_info:
        record.stack_info = redactor.text(record.stack_info)


class _RedactExtra(logging.Filter):
    """Redacts the ``data`` Celery attaches to a task's outcome line (for JSON loggers)."""

    def filter(self, record: logging.LogRecord) -> bool:
        data = getattr(record, "data", None)
        if data is not None:
            record.data = _log_redactor().value(data)
        return True


def install_log_redaction(secret_keys: Iterable[str] = DEFAULT_SECRET_KEYS) -> None:
    """Redact every log record made in this process (Celery's, the stages', ours).

    Idempotent; each call adds ``secret_keys`` to the names redacted. Records are
    redacted as they are made (a record factory), so every handler, Celery's and
    pytest's included, sees only the redacted message and traceback; a prefork child
    inherits it from its parent.
    """
    with _LOG_LOCK:
        current = _log_redactor()
        names = tuple(dict.fromkeys((*current.secret_keys, *secret_keys)))
        if names != current.secret_keys:
            _LOG_STATE["redactor"] = Redactor(names)
        if _LOG_STATE["installed"]:
            return
        _LOG_STATE["installed"] = True
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            _redact_record(record)
            return record

        logging.setLogRecordFactory(factory)
        for name in _FILTERED_LOGGERS:
            logging.getLogger(name).addFilter(_RedactExtra())
