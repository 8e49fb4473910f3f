"""One settings object, read from ``JOBSTATE_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import unquote, urlsplit

from pipeline.errors import printable
from pipeline.hostnames import ui_host_entry
from pipeline.redaction import (
    DEFAULT_SECRET_KEYS,
    Redactor,
    redact_text,
    redact_url,
    redactor_for,
)
from pipeline.validation import MAX_SECONDS, SECONDS_RANGE, finite_number

__all__ = ["Settings", "SettingsError", "redact_credentials", "redact_url"]


class SettingsError(ValueError):
    """A setting that cannot work, named by its ``JOBSTATE_*`` variable; raised when the
    settings are made (from the environment, the command line or in code), before any of
    them is used."""


def redact_credentials(text: str) -> str:
    """Credentials in ``text`` masked (:func:`pipeline.redaction.redact_text`)."""
    return redact_text(text)


def _split(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@dataclass(frozen=True)
class Settings:
    """Everything configurable, with defaults that suit a single-machine deployment.

    Build it with :meth:`from_env`; every field maps to ``JOBSTATE_<FIELD>`` in upper case.
    """

    redis_url: str = "redis://localhost:6379/0"
    broker_url: str = ""
    result_url: str = ""
    key_prefix: str = "jobstate"
    queue: str = "jobstate"
    retention_seconds: int = 7 * 24 * 3600
    archive_ttl_seconds: int = 30 * 24 * 3600
    history_maxlen: int = 1000
    stale_after_seconds: int = 120
    heartbeat_seconds: float = 5.0
    max_stage_runs: int = 3
    cluster: bool = False
    allow_hosts: tuple[str, ...] = ()
    download_max_bytes: int = 200 * 1024 * 1024
    download_timeout_seconds: float = 60.0
    stage_soft_time_limit: int = 600
    stage_time_limit: int = 660
    work_dir: str = ""
    transcriber: str = "pocketsphinx"
    summariser: str = "extractive"
    secret_keys: tuple[str, ...] = DEFAULT_SECRET_KEYS
    ui_body_timeout_seconds: float = 10.0
    ui_max_connections: int = 2000
    ui_hosts: tuple[str, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from pipeline.netguard import parse_allow_entry

        _check(self)
        for entry in self.allow_hosts:
            try:
                parse_allow_entry(entry)
            except ValueError as exc:
                raise SettingsError(f"JOBSTATE_ALLOW_HOSTS: {exc}") from None
        _check_ui_hosts(self.ui_hosts)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        """Read ``JOBSTATE_*`` variables from ``environ`` (default ``os.environ``)."""
        env = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = env.get(f"JOBSTATE_{f.name.upper()}")
            if raw is None or f.name == "extra":
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        values.update(overrides)
        return cls(**values)

    @property
    def redactor(self) -> Redactor:
        """The redaction every reader of these settings applies (``secret_keys``)."""
        return redactor_for(self.secret_keys)

    @property
    def broker(self) -> str:
        """The Celery broker URL: ``broker_url`` when set, else the Redis URL."""
        return self.broker_url or self.redis_url

    @property
    def results(self) -> str:
        """The Celery result backend URL: ``result_url`` when set, else the Redis URL."""
        return self.result_url or self.redis_url

    def to_env(self) -> dict[str, str]:
        """The ``JOBSTATE_*`` variables that rebuild these settings in another process."""
        env: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "extra":
                continue
            if isinstance(value, tuple):
                value = ",".join(value)
            elif isinstance(value, bool):
                value = "1" if value else "0"
            env[f"JOBSTATE_{f.name.upper()}"] = str(value)
        return env

    def with_(self, **changes: Any) -> Settings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def __repr__(self) -> str:
        return (
            f"Settings(redis_url={redact_url(self.redis_url)!r}, "
            f"broker_url={redact_url(self.broker_url)!r}, "
            f"result_url={redact_url(self.result_url)!r}, key_prefix={self.key_prefix!r})"
        )


_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"", "0", "false", "no", "off"}


def _convert(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind == "bool":
            word = raw.strip().lower()
            if word not in _TRUE | _FALSE:
                raise ValueError(word)
            return word in _TRUE
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        what = "yes/no (1, true, yes, on / 0, false, no, off)" if kind == "bool" else kind
        raise SettingsError(f"JOBSTATE_{name.upper()}={raw[:80]!r} is not a valid {what}") from None
    if kind.startswith("tuple"):
        return _split(raw)
    return raw


# -- what each setting must be ------------------------------------------------------------

_COUNTS = (
    "retention_seconds",
    "history_maxlen",
    "stale_after_seconds",
    "max_stage_runs",
    "download_max_bytes",
    "stage_soft_time_limit",
    "stage_time_limit",
    "ui_max_connections",
)
"""Whole numbers of at least 1: at 0 or below a finished job expires the moment it ends,
the history refuses every write, every running job is stale, redeliveries go uncapped...
and at most their ceiling (:data:`_CEILINGS`), which Redis and Celery can take."""
_CEILINGS = {
    "retention_seconds": MAX_SECONDS,
    "archive_ttl_seconds": MAX_SECONDS,
    "stale_after_seconds": MAX_SECONDS,
    "stage_soft_time_limit": MAX_SECONDS - 1,  # the hard limit must be above it
    "stage_time_limit": MAX_SECONDS,
    "history_maxlen": 10**9,
    "max_stage_runs": 10**6,
    "download_max_bytes": 2**53,
    "ui_max_connections": 10**6,
}
"""The largest value of each whole-number setting. Beyond them Redis refuses a script's
command after the script has begun writing (a lifetime that overflows, a stream cap that
is not a number it takes), so a setting above one is refused as it is read."""
_FOR_EVER = ("archive_ttl_seconds",)
"""Whole numbers of at least 0, where 0 means "no expiry"."""
_SPANS = ("heartbeat_seconds", "download_timeout_seconds", "ui_body_timeout_seconds")
"""Finite numbers of seconds above 0."""
_NAMES = ("key_prefix", "queue")
"""Names other processes must spell the same: a stray space or newline from a shell or
an env file would part a worker from the UI (another key space, another queue) silently."""
NAME_MAX = 200


def _var(name: str) -> str:
    return f"JOBSTATE_{name.upper()}"


def _check(s: Settings) -> None:
    """Refuse settings that cannot work, naming the variable and why (see the tables)."""
    for name in (*_COUNTS, *_FOR_EVER):
        value, lowest, ceiling = getattr(s, name), int(name in _COUNTS), _CEILINGS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= ceiling:
            least = "1" if lowest else "0 (for ever)"
            raise SettingsError(
                f"{_var(name)}={value!r} must be a whole number from {least} to {ceiling}"
            )
    for name in _SPANS:
        value = getattr(s, name)
        seconds = finite_number(value)
        if seconds is None or seconds <= 0:
            raise SettingsError(
                f"{_var(name)}={value!r} must be a number of seconds above 0 ({SECONDS_RANGE})"
            )
    for name in _NAMES:
        _check_name(name, getattr(s, name))
    if "{" in s.key_prefix or "}" in s.key_prefix:
        raise SettingsError(
            f"{_var('key_prefix')}={s.key_prefix!r} may not hold braces: each job's keys "
            "share a hash tag {<job id>}, and a brace in the prefix would take its place"
        )
    if not isinstance(s.cluster, bool):
        raise SettingsError(f"{_var('cluster')}={s.cluster!r} must be True or False")
    _check_redis_url(s.redis_url)
    _check_relations(s)
    _check_secret_keys(s.secret_keys)


REDIS_SCHEMES = ("redis://", "rediss://", "unix://", "redis+sentinel://")
"""The URLs the store can reach Redis by (plain, TLS, a Unix socket, through Sentinel)."""


def redis_url_problem(url: str) -> str | None:
    """What makes ``url`` no Redis URL a client could use, or None: a scheme we do not
    serve, a port out of range, an IPv6 host unclosed, a database that is not a number,
    a query option redis-py refuses. The answer never echoes the URL (it may hold a
    password). The one check of a Redis URL: ``JOBSTATE_REDIS_URL`` and the plugin's
    ``redis`` setting both ask it."""
    if not url.lower().startswith(REDIS_SCHEMES):
        scheme = url.split("://", 1)[0][:20] + "://" if "://" in url else ""
        shown = f"its scheme is {scheme!r}" if scheme else "it has no scheme"
        return (
            f"is not a Redis URL ({shown}): it must start with "
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


def _check_redis_url(url: object) -> None:
    """A Redis URL (:func:`redis_url_problem`); the URL itself is never echoed."""
    problem = redis_url_problem(url) if isinstance(url, str) else "is not text"
    if problem is None:
        return
    raise SettingsError(f"{_var('redis_url')} {problem}")


def _check_name(name: str, value: object) -> None:
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{_var(name)}={value!r} must be a non-empty name")
    if len(value) > NAME_MAX:
        raise SettingsError(f"{_var(name)} is {len(value)} characters long (at most {NAME_MAX})")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise SettingsError(
            f"{_var(name)}={value[:80]!r} holds a space or a control character "
            "(a stray newline from an env file?)"
        )


def _check_relations(s: Settings) -> None:
    if s.stale_after_seconds < 2 * s.heartbeat_seconds:
        raise SettingsError(
            f"{_var('stale_after_seconds')}={s.stale_after_seconds} must be at least twice "
            f"{_var('heartbeat_seconds')}={s.heartbeat_seconds}: a running stage beats that "
            "often, and a sweep would call it stale between two beats and write ERROR over "
            "a job that is still running"
        )
    if s.stage_time_limit <= s.stage_soft_time_limit:
        raise SettingsError(
            f"{_var('stage_time_limit')}={s.stage_time_limit} must be above "
            f"{_var('stage_soft_time_limit')}={s.stage_soft_time_limit}: the soft limit lets a "
            "stage record its error; past the hard one its process is killed"
        )


def _check_ui_hosts(hosts: object) -> None:
    """Each entry one host name or address (:func:`pipeline.hostnames.ui_host_entry`)."""
    if not isinstance(hosts, tuple) or not all(isinstance(h, str) for h in hosts):
        raise SettingsError(f"{_var('ui_hosts')} must be a list of host names")
    for entry in hosts:
        try:
            ui_host_entry(entry)
        except ValueError as exc:
            raise SettingsError(f"{_var('ui_hosts')}: {exc}") from None


def _check_secret_keys(keys: object) -> None:
    if not isinstance(keys, tuple) or not all(isinstance(k, str) for k in keys):
        raise SettingsError(f"{_var('secret_keys')} must be a list of names")
    if not keys:
        raise SettingsError(
            f"{_var('secret_keys')} is empty: no value would be hidden by its key's name; "
            "leave it unset for the defaults"
        )
    for key in keys:
        if not key or "," in key or any(c.isspace() or not c.isprintable() for c in key):
            raise SettingsError(f"{_var('secret_keys')} holds {key[:80]!r}, not a key name")
