"""One settings object, read from ``JOBSTATE_*`` environment variables."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any

from pipeline.redaction import (
    DEFAULT_SECRET_KEYS,
    Redactor,
    redact_text,
    redact_url,
    redactor_for,
)

__all__ = ["Settings", "redact_credentials", "redact_url"]


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
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        from pipeline.netguard import parse_allow_entry

        for entry in self.allow_hosts:
            try:
                parse_allow_entry(entry)
            except ValueError as exc:
                raise ValueError(f"JOBSTATE_ALLOW_HOSTS: {exc}") from None

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


def _convert(name: str, kind: Any, raw: str) -> Any:
    kind = str(kind)
    try:
        if kind == "bool":
            return raw.strip().lower() in {"1", "true", "yes", "on"}
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
    except ValueError:
        raise ValueError(f"JOBSTATE_{name.upper()}={raw!r} is not a valid {kind}") from None
    if kind.startswith("tuple"):
        return _split(raw)
    return raw
