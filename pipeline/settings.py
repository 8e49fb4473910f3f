"""One settings object, read from ``JOBSTATE_*`` environment variables."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from pipeline.errors import printable
from pipeline.hostnames import ui_host_entry
from pipeline.redaction import (
    DEFAULT_SECRET_KEYS,
    Redactor,
    redact_text,
    redact_url,
    redactor_for,
)
from pipeline.urls import (
    REDIS_SCHEMES,
    broker_url_problem,
    celery_results_url,
    redis_url_problem,
    result_url_problem,
)
from pipeline.validation import MAX_SECONDS, SECONDS_RANGE, finite_number

__all__ = [
    "CHECKS",
    "REDIS_SCHEMES",
    "Settings",
    "SettingsError",
    "redact_credentials",
    "redact_url",
    "redis_url_problem",
]


class SettingsError(ValueError):
    """A setting that cannot work, named by its ``JOBSTATE_*`` variable; raised when the
    settings are made (from the environment, the command line or in code), before any of
    them is used.

    Its message is masked as it is made (credentials in URLs, secret query values): a
    refusal may quote the value, and a Redis URL pasted into the wrong variable carries a
    password. Every check's words pass this one gate, whoever wrote them.
    """

    def __init__(self, message: object = "", *args: object) -> None:
        super().__init__(redact_text(str(message)), *args)


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
        _check(self)

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
        """The Celery result backend URL: ``result_url`` when set, else the Redis URL as
        Celery's result backend reads it (:func:`pipeline.urls.celery_results_url`)."""
        return self.result_url or celery_results_url(self.redis_url)

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
        raise SettingsError(
            f"JOBSTATE_{name.upper()}={_shown(raw)} is not a valid {what}"
        ) from None
    if kind.startswith("tuple"):
        return _split(raw)
    return raw


# -- what each setting must be: one check per variable ----------------------------------

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
NAME_MAX = 200
SHOWN_MAX = 80
"""How much of a refused value an error shows (credentials in it masked)."""


def _var(name: str) -> str:
    return f"JOBSTATE_{name.upper()}"


def _shown(value: object) -> str:
    """``value`` as a refusal shows it: cut, credentials masked (:func:`redact_text`)."""
    return repr(redact_text(value)[:SHOWN_MAX]) if isinstance(value, str) else repr(value)


Check = Callable[[str, Any], None]
"""``check(name, value)`` raises :class:`SettingsError` naming ``JOBSTATE_<NAME>`` and
what it takes when ``value`` cannot work."""


def _whole(lowest: int) -> Check:
    """A whole number from ``lowest`` to the setting's ceiling (:data:`_CEILINGS`): at 0
    or below a finished job expires the moment it ends, the history refuses every write,
    every running job is stale, redeliveries go uncapped... (0 where it means for ever)."""

    def check(name: str, value: Any) -> None:
        ceiling = _CEILINGS[name]
        if isinstance(value, bool) or not isinstance(value, int) or not lowest <= value <= ceiling:
            least = "1" if lowest else "0 (for ever)"
            raise SettingsError(
                f"{_var(name)}={_shown(value)} must be a whole number from {least} to {ceiling}"
            )

    return check


def _span(name: str, value: Any) -> None:
    """A finite number of seconds above 0."""
    seconds = finite_number(value)
    if seconds is None or seconds <= 0:
        raise SettingsError(
            f"{_var(name)}={_shown(value)} must be a number of seconds above 0 ({SECONDS_RANGE})"
        )


def _yes_no(name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise SettingsError(f"{_var(name)}={_shown(value)} must be True or False")


def _name(name: str, value: Any) -> None:
    """A name other processes must spell the same: a stray space or newline from a shell
    or an env file would part a worker from the UI (another key space, another queue)
    silently."""
    if not isinstance(value, str) or not value:
        raise SettingsError(f"{_var(name)}={_shown(value)} must be a non-empty name")
    if len(value) > NAME_MAX:
        raise SettingsError(f"{_var(name)} is {len(value)} characters long (at most {NAME_MAX})")
    if any(c.isspace() or not c.isprintable() for c in value):
        raise SettingsError(
            f"{_var(name)}={_shown(value)} holds a space or a control character "
            "(a stray newline from an env file?)"
        )


def _key_prefix(name: str, value: Any) -> None:
    _name(name, value)
    if "{" in value or "}" in value:
        raise SettingsError(
            f"{_var(name)}={_shown(value)} may not hold braces: each job's keys "
            "share a hash tag {<job id>}, and a brace in the prefix would take its place"
        )


def _url(problem: Callable[[str], str | None], *, optional: bool = False) -> Check:
    """A URL ``problem`` finds nothing wrong with (empty too when ``optional``: the Redis
    URL then serves); the URL itself is never echoed (it may hold a password)."""

    def check(name: str, value: Any) -> None:
        if optional and value == "":
            return
        said = problem(value) if isinstance(value, str) else "is not text"
        if said is not None:
            raise SettingsError(f"{_var(name)} {said}")

    return check


_LATE_REGISTRATION = (
    " (a name counts once it is registered: register it before the settings are read, "
    "or give the backend's module:callable path)"
)


def _backend(kind: str, module: str, getter: str) -> Check:
    """The name of a registered stage backend of ``kind``, or a ``module:callable`` path
    that imports to a callable, as ``module.getter`` finds it (the stage's own lookup)."""

    def check(name: str, value: Any) -> None:
        from pipeline.stages.stage_errors import StageError

        if not isinstance(value, str):
            raise SettingsError(f"{_var(name)}={_shown(value)} must be a {kind} name")
        try:
            getattr(importlib.import_module(module), getter)(value)
        except Exception as exc:  # a backend's module may raise anything as it imports
            said = str(exc) if isinstance(exc, StageError) else f"{type(exc).__name__}: {exc}"
            hint = "" if ":" in value else _LATE_REGISTRATION
            raise SettingsError(f"{_var(name)}: {printable(said, 300)}{hint}") from None

    return check


def _work_dir(name: str, value: Any) -> None:
    """A folder for the stages' files ("" for the temp folder's ``jobstate``)."""
    if not isinstance(value, str) or any(not c.isprintable() for c in value):
        raise SettingsError(
            f"{_var(name)}={_shown(value)} must be a folder's path, with no control "
            "character (a stray newline from an env file?)"
        )
    if value and os.path.exists(value) and not os.path.isdir(value):
        raise SettingsError(f"{_var(name)}={_shown(value)} is a file, not a folder")


def _entries(what: str, parse: Callable[[str], object]) -> Check:
    """A list of ``what`` each of which ``parse`` takes (it raises ``ValueError`` naming
    the entry otherwise)."""

    def check(name: str, value: Any) -> None:
        if not isinstance(value, tuple) or not all(isinstance(e, str) for e in value):
            raise SettingsError(f"{_var(name)} must be a list of {what}")
        for entry in value:
            try:
                parse(entry)
            except ValueError as exc:
                raise SettingsError(f"{_var(name)}: {exc}") from None

    return check


def _allow_entry(entry: str) -> object:
    from pipeline.netguard import parse_allow_entry

    return parse_allow_entry(entry)


def _secret_keys(name: str, keys: Any) -> None:
    if not isinstance(keys, tuple) or not all(isinstance(k, str) for k in keys):
        raise SettingsError(f"{_var(name)} must be a list of names")
    if not keys:
        raise SettingsError(
            f"{_var(name)} is empty: no value would be hidden by its key's name; "
            "leave it unset for the defaults"
        )
    for key in keys:
        if not key or "," in key or any(c.isspace() or not c.isprintable() for c in key):
            raise SettingsError(f"{_var(name)} holds {_shown(key)}, not a key name")


CHECKS: dict[str, Check] = {
    "redis_url": _url(redis_url_problem),
    "broker_url": _url(broker_url_problem, optional=True),
    "result_url": _url(result_url_problem, optional=True),
    "key_prefix": _key_prefix,
    "queue": _name,
    "retention_seconds": _whole(1),
    "archive_ttl_seconds": _whole(0),
    "history_maxlen": _whole(1),
    "stale_after_seconds": _whole(1),
    "heartbeat_seconds": _span,
    "max_stage_runs": _whole(1),
    "cluster": _yes_no,
    "allow_hosts": _entries("hosts", _allow_entry),
    "download_max_bytes": _whole(1),
    "download_timeout_seconds": _span,
    "stage_soft_time_limit": _whole(1),
    "stage_time_limit": _whole(1),
    "work_dir": _work_dir,
    "transcriber": _backend("transcriber", "pipeline.stages.transcribe", "get_transcriber"),
    "summariser": _backend("summariser", "pipeline.stages.text", "get_summariser"),
    "secret_keys": _secret_keys,
    "ui_body_timeout_seconds": _span,
    "ui_max_connections": _whole(1),
    "ui_hosts": _entries("host names", ui_host_entry),
}
"""The one gate: each ``JOBSTATE_*`` variable's check, run on every :class:`Settings`
made (from the environment, the command line or in code), so a value that cannot work
is refused as it is read, never where it is first used. Every field has one."""

_UNCHECKED = {f.name for f in fields(Settings)} - {"extra"} - set(CHECKS)
if _UNCHECKED:  # a new setting must say what it takes
    raise RuntimeError(f"settings without a check in CHECKS: {sorted(_UNCHECKED)}")


def _check(s: Settings) -> None:
    """Refuse settings that cannot work, naming the variable and why (:data:`CHECKS`)."""
    for name, check in CHECKS.items():
        check(name, getattr(s, name))
    _check_relations(s)


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
