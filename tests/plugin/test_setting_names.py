"""Every message about a plugin setting names it as the user wrote it where it was set.

A value from the environment is ``JOBSTATE_REDIS``, from an ini file ``jobstate_redis``,
from the command line ``--jobstate-redis``: a message naming the flag for a value set in
the environment sent the user to fix a flag they never passed. One spelling
(:func:`harness.config.spelled`) feeds every message; the property below goes through
every door that judges a setting: the choices and bounds checked as options are read,
the Redis the run cannot use, and the ``module:attribute`` options that do not import.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.config import OPTIONS, JobstateConfig, Setting, read_config, spelled
from harness.plugin import _check_targets
from harness.testing.redis.reachable import redis_problem
from pipeline.loading import ModuleNotOnPath, load_object

SOURCES = ("cli", "env", "ini")


class _Given:
    """A run given ``values`` for its options on the command line or in its ini file."""

    def __init__(self, values: dict[str, str], source: str) -> None:
        self.values, self.source = values, source

    def getoption(self, name: str, default: object = None) -> object:
        key = name.removeprefix("jobstate_")
        return self.values.get(key) if self.source == "cli" else default

    def getini(self, name: str) -> str:
        key = name.removeprefix("jobstate_")
        return self.values.get(key, "") if self.source == "ini" else ""


def _read(values: dict[str, str], source: str) -> str:
    """The usage error of reading ``values`` set in ``source``."""
    environ = {f"JOBSTATE_{k.upper()}": v for k, v in values.items()} if source == "env" else {}
    with pytest.raises(pytest.UsageError) as refused:
        read_config(cast(pytest.Config, _Given(values, source)), environ)
    return str(refused.value)


def _config(source: str, **values: str) -> JobstateConfig:
    resolved = {opt.name: Setting(opt.default, "default") for opt in OPTIONS}
    resolved.update({name: Setting(value, source) for name, value in values.items()})
    return JobstateConfig(resolved)


def _refusals(source: str) -> dict[str, str]:
    """Each door's message for a bad value of the setting it judges, set in ``source``."""
    found = {
        "celery": _read({"celery": "threads"}, source),
        "redis": _read({"redis": "mongodb://db"}, source),
        "timeout": _read({"timeout": "0"}, source),
    }
    unusable = redis_problem(_config(source, redis="fake", celery="thread"))
    assert unusable is not None
    found["celery+redis"] = unusable
    missing = redis_problem(_config(source, redis="server", redis_exec="/nope/redis-server"))
    assert missing is not None
    found["redis_exec"] = missing
    silent = redis_problem(_config(source, redis="redis://127.0.0.1:1/0"))
    assert silent is not None
    found["redis_url"] = silent
    for name, value in [("app", "no_such_top_package:app"), ("workflow", "json:no_such_name")]:
        with pytest.raises(pytest.UsageError) as refused:
            _check_targets(_config(source, **{name: value}))
        found[name] = str(refused.value)
    return found


NAMED = {
    "celery": ["celery"],
    "redis": ["redis"],
    "timeout": ["timeout"],
    "celery+redis": ["celery", "redis"],
    "redis_exec": ["redis", "redis_exec"],
    "redis_url": ["redis"],
    "app": ["app"],
    "workflow": ["workflow"],
}


@pytest.mark.parametrize("source", SOURCES)
def test_every_door_names_a_setting_as_it_was_set(source: str) -> None:
    refusals = _refusals(source)
    assert set(refusals) == set(NAMED)
    for door, message in refusals.items():
        for name in NAMED[door]:
            assert spelled(name, source) in message, (door, message)
            others = {spelled(name, s) for s in (*SOURCES, "default")} - {spelled(name, source)}
            assert not any(
                f"{other}=" in message or f"fix {other}" in message for other in others
            ), (
                door,
                message,
            )


@settings(max_examples=60, deadline=None)
@given(
    source=st.sampled_from(SOURCES),
    name=st.sampled_from(["celery", "timeout"]),
    value=st.text(min_size=1, max_size=12).filter(lambda t: "\x00" not in t),
)
def test_any_refused_value_is_named_as_it_was_set(source: str, name: str, value: str) -> None:
    values = {name: value}
    environ = {f"JOBSTATE_{name.upper()}": value} if source == "env" else {}
    config = cast(pytest.Config, _Given(values, source))
    try:
        read_config(config, environ)
    except pytest.UsageError:
        message = _read(values, source)
        assert message.startswith(f"{spelled(name, source)}={value!r} (from {source})"), message


def test_a_module_nowhere_on_the_path_is_told_apart_from_a_typo_and_a_missing_dependency(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only a top-level package missing from ``sys.path`` is "not on the path": a name
    that is wrong inside a package found, or a module whose own import fails, is not."""
    (tmp_path / "needs_a_dependency.py").write_text("import no_such_dependency_anywhere\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotOnPath, match=r"no 'no_such_top_package' on sys\.path"):
        load_object("no_such_top_package.sub:app", "jobstate_app")
    for target, shown in [
        ("pipeline.celery_ap:create_app", "No module named 'pipeline.celery_ap'"),
        ("needs_a_dependency:app", "No module named 'no_such_dependency_anywhere'"),
    ]:
        with pytest.raises(ValueError, match="cannot import") as refused:
            load_object(target, "jobstate_app")
        assert not isinstance(refused.value, ModuleNotOnPath), target
        assert shown in str(refused.value)
    sys.modules.pop("needs_a_dependency", None)


def test_a_module_not_on_the_path_says_how_pytest_finds_it() -> None:
    with pytest.raises(pytest.UsageError) as refused:
        _check_targets(_config("ini", app="no_such_top_package:app"))
    message = str(refused.value)
    assert "no 'no_such_top_package' on sys.path" in message
    assert "`pythonpath = .` in its ini file" in message
    assert "fix jobstate_app" not in message


def test_the_header_says_when_the_run_tests_the_reference_pipeline_not_yours() -> None:
    """Left unset, ``jobstate_app`` is our media pipeline: a user's repo that forgot it
    sees why its own jobs fail validation before the first test does."""
    default = _config("ini").header()
    chosen = _config("ini", app="mine:app").header()
    assert "app=pipeline.celery_app:create_app (default: the reference media pipeline; " in default
    assert "set jobstate_app to test your own" in default
    assert "app=mine:app (ini)" in chosen
    assert "reference media pipeline" not in chosen
