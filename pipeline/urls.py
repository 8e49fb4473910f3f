"""Whether a URL can reach what it is for: the job store's Redis, Celery's broker, Celery's
result backend. One check per role, each answering what is wrong (or None) without ever
echoing the URL, which may carry a password.

The schemes Celery knows are read from Celery and kombu themselves (kombu's transport
aliases, Celery's result backend aliases and the backends packages add), so a scheme
either library learns is accepted here too.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from pipeline.errors import printable

__all__ = [
    "REDIS_SCHEMES",
    "broker_url_problem",
    "celery_results_url",
    "redis_url_problem",
    "result_url_problem",
]

REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://")
"""The URLs the store can reach Redis by (plain, TLS, a Unix socket, through Sentinel)."""

_CELERY_REDIS = ("redis", "rediss")
"""Schemes Celery and kombu serve with redis-py: their URLs are checked as Redis URLs."""
_REDIS_SOCKET = "socket"
"""kombu's and Celery's Redis over a Unix socket: ``redis+socket:///path``."""


def redis_url_problem(url: str) -> str | None:
    """What makes ``url`` no Redis URL a client could use, or None: a scheme we do not
    serve, a port out of range, an IPv6 host unclosed, a database that is not a number,
    a query option redis-py refuses. The answer never echoes the URL (it may hold a
    password). The one check of a Redis URL: ``JOBSTATE_REDIS_URL``, the Redis URLs of
    the broker and result backend and the plugin's ``redis`` setting all ask it."""
    if not url.lower().startswith(REDIS_SCHEMES):
        return (
            f"is not a Redis URL ({_scheme_shown(url)}): it must start with "
            + ", ".join(REDIS_SCHEMES[:-1])
            + f" or {REDIS_SCHEMES[-1]}"
        )
    if url.lower().startswith("redis+sentinel://"):
        return None  # read by pipeline.connection.parse_sentinel_url, which says what is wrong
    from redis.connection import parse_url

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (reading it checks the range)
        parse_url(url)  # type: ignore[no-untyped-call,unused-ignore]
    except ValueError as exc:
        return f"is not a Redis URL a client can use ({printable(str(exc), 120)})"
    db = unquote(parts.path).strip("/")
    if parts.scheme.lower() != "unix" and db and not db.isdigit():
        return f"names a database that is not a number ({printable(db, 20)!r})"
    return None


@functools.lru_cache(maxsize=256)
def broker_url_problem(url: str) -> str | None:
    """What makes ``url`` no broker URL Celery can use, or None. kombu reads it: a
    scheme its transports know (``amqp://``, ``redis://``, ``sqs://``..., or
    ``<transport>+<url>`` such as ``sqla+postgresql://``), case-blind as kombu parses it,
    a well-formed URL, and then kombu itself must take it (offline: no connection is
    made), query options and the transport's own library included; several URLs joined
    by ``;`` are kombu's fail-over list, each checked. Never echoes the URL."""
    from kombu.transport import TRANSPORT_ALIASES

    for one in url.split(";"):
        problem = _celery_url_problem(one, "broker transport", TRANSPORT_ALIASES, str.lower)
        if problem is None:
            problem = _refused_by("kombu", _kombu_reads, one)
        if problem is not None:
            return problem
    return None


@functools.lru_cache(maxsize=256)
def result_url_problem(url: str) -> str | None:
    """What makes ``url`` no result backend URL Celery can use, or None: a scheme Celery's
    result backends know (``redis://``, ``rpc://``, ``db+postgresql://``...), spelled as
    Celery looks it up (exactly: ``REDIS://`` names no backend), a well-formed URL, and
    then Celery must build its backend from it (offline), which a ``rediss://`` URL
    without ``ssl_cert_reqs`` or a backend whose library is missing fails. Never echoes
    the URL."""
    from celery.app.backends import BACKEND_ALIASES
    from celery.utils.imports import load_extension_class_names

    added: Any = load_extension_class_names("celery.result_backends")  # (name, class) pairs
    known = {*BACKEND_ALIASES, *(name for name, _ in added)}
    problem = _celery_url_problem(url, "result backend", known, str)
    if problem is None:
        problem = _refused_by("Celery's result backend", _celery_builds, url)
    return problem


def _kombu_reads(url: str) -> None:
    from kombu import Connection

    Connection(url).close()


def _celery_builds(url: str) -> None:
    from celery import Celery

    app = Celery("jobstate-url-check", broker="memory://", backend=url, set_as_current=False)
    try:
        app.backend  # noqa: B018 (building it is the check)
    finally:
        app.close()


def _refused_by(reader: str, read: Callable[[str], None], url: str) -> str | None:
    """What ``reader`` said when ``read(url)`` failed, or None (its text masked and cut:
    it may quote the URL)."""
    try:
        read(url)
    except Exception as exc:  # a library's refusal may be of any type
        said = printable(" ".join(_masked(str(exc), url).split()), 200)
        return f"is not a URL {reader} can use ({type(exc).__name__}: {said})"
    return None


def _masked(text: str, url: str) -> str:
    """``text`` with ``url``'s password (and any secret query value) masked wherever it
    appears, whole or as a part: a library's message may quote the URL it refused."""
    from pipeline.redaction import MASK, redact_text

    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    for spelled in sorted({password, unquote(password)} if password else (), key=len)[::-1]:
        text = text.replace(spelled, MASK)  # as written in the URL, and decoded
    return redact_text(text)


def celery_results_url(redis_url: str) -> str:
    """The job store's Redis URL as Celery's result backend must be given it: the scheme
    in lower case (Celery looks it up exactly) and, on ``rediss://``, the
    ``ssl_cert_reqs=required`` Celery requires where the URL says nothing of it, which is
    what redis-py does for the store itself (results are checked as strictly as jobs)."""
    scheme, sep, rest = redis_url.partition("://")
    if not sep or "+" in scheme:
        return redis_url
    url = f"{scheme.lower()}://{rest}"
    if scheme.lower() == "rediss" and "ssl_cert_reqs" not in parse_qs(urlsplit(url).query):
        url += ("&" if urlsplit(url).query else "?") + "ssl_cert_reqs=required"
    return url


def _celery_url_problem(
    url: str, role: str, known: Iterable[str], spelled: Callable[[str], str]
) -> str | None:
    """Celery's and kombu's reading of ``scheme://...``: a ``+`` in the scheme names the
    backend before it and a URL after it (``sqla+postgresql://``); ``spelled`` is how the
    library compares a plain scheme with its names."""
    if any(not ch.isprintable() or ch.isspace() for ch in url):
        return "holds a space or a control character (a stray newline from an env file?)"
    if "://" not in url:
        return f"is not a URL ({_scheme_shown(url)}): it must start with <scheme>://"
    scheme = url.split("://", 1)[0]
    name, plus, inner = url.partition("+") if "+" in scheme else (spelled(scheme), "", url)
    if name not in set(known):
        return f"names no {role} Celery knows ({_scheme_shown(url)}): use one of " + ", ".join(
            f"{n}://" for n in sorted({spelled(n) for n in known})
        )
    if name.lower() in _CELERY_REDIS:
        if not plus:
            return redis_url_problem(url)
        if inner.split("://", 1)[0].lower() != _REDIS_SOCKET:
            return (
                f"names no Redis URL Celery can use ({_scheme_shown(url)}): use "
                "redis://, rediss:// or redis+socket://"
            )
        return None
    return _url_form_problem(inner)


def _url_form_problem(url: str) -> str | None:
    """A URL whose host and port can be read (a port in range, an IPv6 host closed)."""
    if "://" not in url:
        return f"has no URL after its backend name ({_scheme_shown(url)})"
    try:
        urlsplit(url).port  # noqa: B018 (reading it checks the range and the brackets)
    except ValueError as exc:
        return f"is not a well-formed URL ({printable(str(exc), 120)})"
    return None


def _scheme_shown(url: str) -> str:
    """The scheme of ``url`` as an error may show it (never the rest: it may hold a
    password)."""
    if "://" not in url:
        return "it has no scheme"
    return f"its scheme is {printable(url.split('://', 1)[0][:20], 20) + '://'!r}"
