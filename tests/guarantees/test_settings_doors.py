"""A setting that cannot work is refused where settings are made, whichever door it came in.

Settings come in through code (``Settings(...)``, ``.with_(...)``), the environment
(``Settings.from_env``: the CLI, a worker, the web server) and a worker's environment
built from another process's settings (``to_env``). Before, a retention of 0 made every
finished job vanish the moment it ended, a negative history length failed every write
with Redis' own words, a stale threshold below the heartbeat wrote ERROR over running
jobs, ``JOBSTATE_CLUSTER=ture`` read as "no", and a queue name with a stray newline parted
a worker from its producers, each silently or late. Now each is a
:class:`~pipeline.settings.SettingsError` naming its ``JOBSTATE_*`` variable, before
anything is read or written.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
from collections.abc import Callable
from dataclasses import fields
from typing import Any
from unittest import mock

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.cli import main
from pipeline.settings import NAME_MAX, Settings, SettingsError

PROPERTY = settings(max_examples=200, deadline=None)

COUNTS = (
    "retention_seconds",
    "history_maxlen",
    "max_stage_runs",
    "download_max_bytes",
    "ui_max_connections",
)
SPANS = ("download_timeout_seconds", "ui_body_timeout_seconds")
NAMES = ("key_prefix", "queue")
BAD_CHARS = st.sampled_from([" ", "\n", "\t", "\r", "\x00", "\x1b", "\u2028", "\xa0"])


def _var(name: str) -> str:
    return f"JOBSTATE_{name.upper()}"


def _env_text(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


@st.composite
def bad_settings(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    """One change that cannot work, and the variable its refusal must name."""
    kind = draw(
        st.sampled_from(
            ["count", "for-ever", "span", "name", "brace", "relation", "secrets", "hosts"]
        )
    )
    if kind == "count":
        name = draw(st.sampled_from([*COUNTS, "stale_after_seconds", "stage_soft_time_limit"]))
        value: Any = draw(st.integers(max_value=0) | st.booleans())
        change = {name: value}
        if name == "stage_soft_time_limit":
            change["stage_time_limit"] = 660  # only the soft limit is wrong
        return change, name
    if kind == "for-ever":
        return {"archive_ttl_seconds": draw(st.integers(max_value=-1))}, "archive_ttl_seconds"
    if kind == "span":
        name = draw(st.sampled_from([*SPANS, "heartbeat_seconds"]))
        value = draw(
            st.floats(max_value=0) | st.sampled_from([math.nan, math.inf, -math.inf, True])
        )
        return {name: value}, name
    if kind == "name":
        name = draw(st.sampled_from(NAMES))
        good = draw(st.text(st.characters(categories=["L", "N"]), min_size=0, max_size=20))
        bad = draw(BAD_CHARS)
        where = draw(st.integers(0, len(good)))
        value = draw(st.sampled_from(["", "x" * (NAME_MAX + 1), good[:where] + bad + good[where:]]))
        return {name: value}, name
    if kind == "brace":
        prefix = draw(st.sampled_from(["{", "}", "a{b}", "jobs{", "}jobs"]))
        return {"key_prefix": prefix}, "key_prefix"
    if kind == "relation":
        if draw(st.booleans()):
            beat = draw(st.floats(min_value=0.5, max_value=500))
            stale = draw(st.integers(1, max(1, math.ceil(2 * beat) - 1)))
            if stale >= 2 * beat:
                stale = 1  # beat 0.5 exactly: 1 s is allowed, so take a beat just above
                beat = 0.5000001
            return {"heartbeat_seconds": beat, "stale_after_seconds": stale}, "stale_after_seconds"
        soft = draw(st.integers(1, 10_000))
        hard = draw(st.integers(1, soft))
        return {"stage_soft_time_limit": soft, "stage_time_limit": hard}, "stage_time_limit"
    if kind == "hosts":
        bad_host = draw(
            st.sampled_from(["*", "*.example.com", "10.0.0.0/8", "jobs.example.com:8000", "a:b:c"])
        )
        return {"ui_hosts": ("jobs.example.com", bad_host)}, "ui_hosts"
    # (An env list is split at commas and each name stripped: "token, pin\n" is two names.)
    keys = draw(st.sampled_from([(), ("",), ("pass word",), ("token", "p\x1bin")]))
    return {"secret_keys": keys}, "secret_keys"


DOORS: dict[str, Callable[[dict[str, Any]], Settings]] = {
    "code": lambda change: Settings(**change),
    "copy": lambda change: Settings().with_(**change),
    "env": lambda change: Settings.from_env({_var(k): _env_text(v) for k, v in change.items()}),
}


def _cli(change: dict[str, Any]) -> tuple[int, str]:
    """``jobstate status`` under the change's variables: exit code and what it printed."""
    env = {_var(k): _env_text(v) for k, v in change.items()}
    if any("\x00" in text for text in env.values()):
        env = {k: v.replace("\x00", "\x01") for k, v in env.items()}  # no NUL in an env
    err = io.StringIO()
    with (
        mock.patch.dict(os.environ, env),
        mock.patch.object(sys, "argv", ["jobstate", "status", "some-job"]),
        contextlib.redirect_stderr(err),
        pytest.raises(SystemExit) as ended,
    ):
        main()
    return int(ended.value.code or 0), err.getvalue()


@PROPERTY
@given(bad=bad_settings())
@example(bad=({"retention_seconds": 0}, "retention_seconds"))
@example(bad=({"history_maxlen": -1}, "history_maxlen"))
@example(bad=({"queue": "jobs\n"}, "queue"))
def test_a_setting_that_cannot_work_is_refused_at_every_door(
    bad: tuple[dict[str, Any], str],
) -> None:
    change, name = bad
    for door, make in DOORS.items():
        with pytest.raises(SettingsError) as refused:
            make(change)
        assert _var(name) in str(refused.value), (door, str(refused.value))
    code, said = _cli(change)
    assert code == 2, said
    assert said.startswith("Error: JOBSTATE_"), said
    assert "Traceback" not in said


@PROPERTY
@given(
    name=st.sampled_from([f.name for f in fields(Settings) if f.name != "extra"]),
    text=st.text(max_size=30) | st.sampled_from(["0", "-1", "1", "1e400", "nan", "ture", " "]),
)
def test_any_text_in_any_variable_makes_working_settings_or_names_the_variable(
    name: str, text: str
) -> None:
    refusal = ""
    try:
        made = Settings.from_env({_var(name): text})
    except SettingsError as exc:
        refusal = str(exc)
    except Exception as exc:  # any other error type is the slip this test is for
        pytest.fail(f"{_var(name)}={text!r}: {type(exc).__name__}: {exc}")
    if refusal:
        assert _var(name) in refusal
        return
    # What a process accepted, the worker it starts with ``to_env`` accepts the same.
    assert Settings.from_env(made.to_env()) == made


@pytest.mark.parametrize(
    ("change", "works"),
    [
        ({"retention_seconds": 1}, True),
        ({"retention_seconds": 0}, False),
        ({"archive_ttl_seconds": 0}, True),  # archived jobs kept for ever
        ({"archive_ttl_seconds": -1}, False),
        ({"heartbeat_seconds": 0.5, "stale_after_seconds": 1}, True),
        ({"heartbeat_seconds": 0.5000001, "stale_after_seconds": 1}, False),
        ({"heartbeat_seconds": 60.0, "stale_after_seconds": 120}, True),
        ({"heartbeat_seconds": 60.5, "stale_after_seconds": 120}, False),
        ({"stage_soft_time_limit": 10, "stage_time_limit": 11}, True),
        ({"stage_soft_time_limit": 10, "stage_time_limit": 10}, False),
        ({"queue": "q" * NAME_MAX}, True),
        ({"queue": "q" * (NAME_MAX + 1)}, False),
        ({"heartbeat_seconds": sys.float_info.min}, True),
        ({"heartbeat_seconds": 0.0}, False),
        ({"secret_keys": ("pin",)}, True),
        ({"secret_keys": ()}, False),
    ],
)
def test_each_bound_holds_exactly_and_one_step_past_it_is_refused(
    change: dict[str, Any], works: bool
) -> None:
    if works:
        assert all(getattr(Settings(**change), k) == v for k, v in change.items())
    else:
        with pytest.raises(SettingsError):
            Settings(**change)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1", True),
        ("TRUE", True),
        (" yes ", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("No", False),
        ("off", False),
        ("", False),
    ],
)
def test_a_yes_or_no_is_read_as_written(text: str, value: bool) -> None:
    assert Settings.from_env({"JOBSTATE_CLUSTER": text}).cluster is value


@pytest.mark.parametrize("text", ["ture", "y", "2", "enabled", "yes please"])
def test_a_yes_or_no_that_is_neither_is_refused_not_read_as_no(text: str) -> None:
    # Slip: anything but a known "yes" read as "no" (a typo turned cluster mode off).
    with pytest.raises(SettingsError, match="JOBSTATE_CLUSTER"):
        Settings.from_env({"JOBSTATE_CLUSTER": text})


@pytest.mark.parametrize(
    ("url", "works"),
    [
        ("redis://cache:6379/0", True),
        ("rediss://app:s3cret@cache:6380/0", True),
        ("unix:///run/redis.sock?db=1", True),
        ("redis+sentinel://s1:26379,s2:26379/mymaster/0", True),
        ("REDIS://cache:6379/0", True),  # schemes are read case-blind, as redis-py does
        ("nope", False),
        ("cache:6379", False),
        ("http://app:s3cret@cache:6379/0", False),
        ("redis:/cache:6379", False),
        ("", False),
    ],
)
def test_the_redis_url_is_one_redis_can_be_reached_by_never_echoed(url: str, works: bool) -> None:
    """Every command used to try a URL redis-py cannot read and print redis-py's error,
    exit 1; now it is a setting that cannot work, named, with its password left out."""
    if works:
        assert Settings.from_env({"JOBSTATE_REDIS_URL": url}).redis_url == url
        return
    with pytest.raises(SettingsError, match="JOBSTATE_REDIS_URL is not a Redis URL") as refused:
        Settings.from_env({"JOBSTATE_REDIS_URL": url})
    assert "s3cret" not in str(refused.value)
    code, printed = _cli({"redis_url": url})
    assert code == 2
    assert printed.startswith("Error: JOBSTATE_REDIS_URL is not a Redis URL"), printed
    assert "s3cret" not in printed
