"""One config reader for the plugin: CLI > environment > ini > default, with its source."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pytest

from harness.modes import (
    URL,
    CeleryMode,
    RedisMode,
    backend_kind,
    celery_mode_help,
    redis_mode_help,
    shown_mode,
)
from pipeline.settings import redis_url_problem
from pipeline.validation import SECONDS_RANGE, finite_number

__all__ = [
    "CONFIG_KEY",
    "OPTIONS",
    "JobstateConfig",
    "Option",
    "Setting",
    "add_options",
    "get_config",
    "marker_value",
    "read_config",
]


@dataclass(frozen=True)
class Option:
    """One plugin setting: its CLI flag, env var, ini key, default and help."""

    name: str
    default: str
    help: str
    choices: tuple[str, ...] = ()

    @property
    def flag(self) -> str:
        """``--jobstate-<name>``."""
        return "--jobstate-" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        """``JOBSTATE_<NAME>``."""
        return "JOBSTATE_" + self.name.upper()

    @property
    def ini(self) -> str:
        """``jobstate_<name>``."""
        return "jobstate_" + self.name


OPTIONS: tuple[Option, ...] = (
    Option("redis", RedisMode.FAKE, f"Redis for tests: {redis_mode_help()}"),
    Option("celery", CeleryMode.EAGER, f"Celery mode: {celery_mode_help()}", tuple(CeleryMode)),
    Option("redis_exec", "redis-server", "redis-server binary used by the server mode"),
    Option("browser", "auto", "Browser for UI tests: auto (Playwright's, else system) or a path"),
    Option(
        "app",
        "pipeline.celery_app:create_app",
        "Celery app factory f(settings) or app under test (module:attribute)",
    ),
    Option(
        "workflow",
        "",
        "Workflow under test (module:attribute); default: the workflow of the app's tracker",
    ),
    Option("web_app", "ui.app:create_app", "Web app factory (module:callable taking a service)"),
    Option(
        "enqueue",
        "pipeline.celery_app:enqueue",
        "Function that sends a job's first stage: f(app, job_context) (module:callable)",
    ),
    Option("timeout", "60", "Default seconds the runner waits for a status"),
    Option(
        "adapter",
        "",
        "State adapter of an app that keeps its own job state (module:Class, a "
        "harness.adapter.StateAdapter); the audit judges the app through it",
    ),
)


OPTION = {opt.name: opt for opt in OPTIONS}
"""Each option by its name."""


def spelled(name: str, source: str) -> str:
    """Option ``name`` as the user wrote it where it came from: ``JOBSTATE_TIMEOUT`` (env),
    ``jobstate_timeout`` (ini), else the flag ``--jobstate-timeout``. Every message about a
    setting names it so: the fix goes where the value was set."""
    opt = OPTION[name]
    return opt.env if source == "env" else opt.ini if source == "ini" else opt.flag


HEADER_BLANKS = {"workflow": "the app's tracker's", "adapter": "none (the app's tracker)"}
"""How the header shows an option left empty on purpose."""


@dataclass(frozen=True)
class Setting:
    """A resolved value and where it came from (cli, env, ini or default)."""

    value: str
    source: str


class JobstateConfig:
    """The resolved settings of one pytest run."""

    def __init__(self, settings: dict[str, Setting]) -> None:
        self._settings = settings

    def __getitem__(self, name: str) -> str:
        return self._settings[name].value

    def source(self, name: str) -> str:
        """Where ``name`` came from: ``cli``, ``env``, ``ini`` or ``default``."""
        return self._settings[name].source

    def spelled(self, name: str) -> str:
        """Option ``name`` as the user wrote it where it came from (:func:`spelled`)."""
        return spelled(name, self.source(name))

    def header(self) -> str:
        """One line for the pytest header."""
        parts = [
            f"{n}={s.value or HEADER_BLANKS.get(n, '')} ({s.source}{self._note(n)})"
            for n, s in self._settings.items()
            if n in {"redis", "celery", "browser", "app", "workflow", "timeout"}
            or (n in {"adapter", "redis_exec"} and s.source != "default" and s.value)
        ]
        return "jobstate: " + ", ".join(parts)

    def _note(self, name: str) -> str:
        """What the header adds to a value the run does not use as it reads."""
        redis = self._settings["redis"]
        default_fake = redis.source == "default" and redis.value == RedisMode.FAKE
        if name == "redis" and default_fake and self["celery"] != CeleryMode.EAGER:
            return "; fake-tcp for tests on real workers"
        if name == "app" and self.source("app") == "default":
            return ": the reference media pipeline; set jobstate_app to test your own"
        return ""


def add_options(parser: pytest.Parser) -> None:
    """Register every option as a CLI flag and an ini key."""
    group = parser.getgroup("jobstate", "job-state verification (pytest-jobstate)")
    for opt in OPTIONS:
        group.addoption(
            opt.flag,
            dest="jobstate_" + opt.name,
            default=None,
            help=f"{opt.help} [env {opt.env}, ini {opt.ini}, "
            f"default {opt.default or HEADER_BLANKS.get(opt.name, '')}]",
        )
        parser.addini(opt.ini, help=opt.help, default=None)


def read_config(config: pytest.Config, environ: dict[str, str] | None = None) -> JobstateConfig:
    """Resolve every option with precedence CLI > env > ini > default; validate choices."""
    env = dict(os.environ) if environ is None else environ
    resolved = {opt.name: _resolve(config, env, opt) for opt in OPTIONS}
    for opt in OPTIONS:
        value = resolved[opt.name].value
        if opt.choices and value not in opt.choices:
            raise pytest.UsageError(
                f"{spelled(opt.name, resolved[opt.name].source)}={value!r} "
                f"(from {resolved[opt.name].source}) is not one of "
                f"{', '.join(opt.choices)}"
            )
    _check_redis(resolved["redis"])
    _check_seconds("timeout", resolved["timeout"])
    return JobstateConfig(resolved)


def _resolve(config: pytest.Config, env: dict[str, str], opt: Option) -> Setting:
    cli: Any = config.getoption("jobstate_" + opt.name, default=None)
    if cli:
        return Setting(str(cli), "cli")
    if env.get(opt.env):
        return Setting(env[opt.env], "env")
    ini: Any = config.getini(opt.ini)
    if ini:
        return Setting(str(ini), "ini")
    return Setting(opt.default, "default")


def _check_redis(setting: Setting) -> None:
    value = setting.value
    try:
        kind = backend_kind(value)
    except ValueError:
        raise pytest.UsageError(
            f"{spelled('redis', setting.source)}={shown_mode(value)} (from {setting.source}) "
            f"must be {redis_mode_help()}"
        ) from None
    problem = redis_url_problem(value) if kind == URL else None
    if problem is not None:  # the URL is not shown: it may hold a password
        raise pytest.UsageError(
            f"{spelled('redis', setting.source)} (from {setting.source}) {problem}"
        )


def _check_seconds(name: str, setting: Setting) -> None:
    """A number of seconds above 0 and finite: 0 would fail every wait at once and ``inf``
    would let a lost job hang the run instead of failing its test."""
    seconds = finite_number(setting.value, from_text=True)
    if seconds is None or seconds <= 0:
        raise pytest.UsageError(
            f"{spelled(name, setting.source)}={setting.value!r} (from {setting.source}) must "
            f"be a number of seconds above 0 ({SECONDS_RANGE})"
        )


CONFIG_KEY = pytest.StashKey[JobstateConfig]()
"""Where :func:`harness.plugin.pytest_configure` keeps the run's resolved settings."""


def get_config(config: pytest.Config) -> JobstateConfig:
    """The resolved :class:`JobstateConfig` of this run."""
    return config.stash[CONFIG_KEY]


def marker_value(node: pytest.Item | pytest.FixtureRequest, name: str) -> str | None:
    """The argument of marker ``name`` on the requesting test, if any."""
    item = node.node if isinstance(node, pytest.FixtureRequest) else node
    mark = item.get_closest_marker(name)
    if mark is None:
        return None
    if len(mark.args) != 1 or not isinstance(mark.args[0], str) or mark.kwargs:
        # A second argument would be ignored: the test would run in one mode, silently.
        raise pytest.UsageError(
            f"@pytest.mark.{name} takes exactly one string argument, got "
            f"{len(mark.args)} argument(s){' and keywords' if mark.kwargs else ''}: "
            "parametrize the test to run it in several modes"
        )
    return mark.args[0]
