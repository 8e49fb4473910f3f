"""Every ``JOBSTATE_*`` variable is checked as it is read, by one gate, naming itself.

The settings' variables go through one table (:data:`pipeline.settings.CHECKS`), run
whenever settings are made; the command line's own variables (``--workers``, ``--faults``,
``--app``... falling back to theirs) go through :class:`pipeline.cli.EnvOption`. Before,
``JOBSTATE_BROKER_URL=garbage`` was accepted until Celery tried to connect, an unknown
``JOBSTATE_TRANSCRIBER`` until a job reached its stage, a work folder that is a file until
a stage wrote there, and ``JOBSTATE_UI_WORKERS=abc`` was an error naming ``--workers``,
which nobody had typed. Now garbage in any one variable is one error naming that variable
(never a traceback, never a password from a URL), and every value it documents passes.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from dataclasses import fields
from pathlib import Path
from unittest import mock

import click
import pytest
from celery import Celery
from hypothesis import example, given, settings
from hypothesis import strategies as st
from kombu import Connection

from pipeline.cli import EnvOption, cli, main
from pipeline.settings import _CEILINGS, CHECKS, Settings, SettingsError
from pipeline.validation import MAX_SECONDS

PROPERTY = settings(max_examples=300, deadline=None)
SECRET = "pw-7c1q"
NOWHERE = {"JOBSTATE_REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing answers: nothing is reached

SETTINGS_VARS = {
    f"JOBSTATE_{f.name.upper()}": f.name for f in fields(Settings) if f.name != "extra"
}
CLI_VARS = sorted(
    {
        (param.envvar, name)
        for name, command in cli.commands.items()
        for param in command.params
        if isinstance(param, click.Option) and isinstance(param.envvar, str)
    }
)
"""Each command-line variable with each command that reads it."""
ARGS = {"status": ["some-job"], "retry": ["some-job"], "submit": ["https://media.example/a"]}
"""What each command needs besides its options (``audit`` an app, when it is not the
variable under test)."""


def _argv(variable: str, command: str) -> list[str]:
    if command == "audit" and variable != "JOBSTATE_APP":
        return [command, "--app", "mine:app"]
    return [command, *ARGS.get(command, [])]


def _no_pytest(*args: object, **kwargs: object) -> int:
    raise AssertionError("jobstate audit started pytest: the variable was not checked")


# Garbage for any variable: a word with a control character inside (no ':', so no
# module is ever imported), as a stray byte from an env file or a paste would leave.
CONTROL = st.sampled_from(["\x01", "\x07", "\x1b", "\x7f", "\x08"])
WORD = st.text(st.sampled_from("abcdefxyz0123456789._-/"), min_size=1, max_size=12)
GARBAGE = st.builds(
    lambda w, c, i: w[: i % (len(w) + 1)] + c + w[i % (len(w) + 1) :],
    WORD,
    CONTROL,
    st.integers(0, 12),
)
# Garbage for a URL variable, each holding a password that no refusal may show.
BAD_URLS = st.builds(
    lambda scheme, port, path: f"{scheme}u:{SECRET}@h{port}{path}",
    st.sampled_from(["", "nope://", "http://", "redis+nope://", "REDIS+x://", "unix+x://", "u:"]),
    st.sampled_from(["", ":6379", ":99999"]),
    st.sampled_from(["", "/0", "/abc"]),
) | st.builds(
    lambda scheme: f"{scheme}u:{SECRET}@h:70000/0",
    st.sampled_from(["redis://", "rediss://", "amqp://", "sqs://", "db+postgresql://"]),
)
URL_VARS = ("JOBSTATE_REDIS_URL", "JOBSTATE_BROKER_URL", "JOBSTATE_RESULT_URL")


def _cli(argv: list[str], env: dict[str, str]) -> tuple[int, list[str]]:
    """``jobstate <argv>`` under ``env`` in this process: exit code and stderr lines."""
    err = io.StringIO()
    with (
        mock.patch.dict(os.environ, {**NOWHERE, **env}),
        mock.patch.object(sys, "argv", ["jobstate", *argv]),
        mock.patch("subprocess.call", _no_pytest),
        contextlib.redirect_stderr(err),
        contextlib.redirect_stdout(io.StringIO()),
        pytest.raises(SystemExit) as ended,
    ):
        main()
    return int(ended.value.code or 0), err.getvalue().strip().splitlines()


def test_every_setting_has_a_check_and_every_command_line_variable_names_itself() -> None:
    """The gate is whole: a new setting without a check, or a new option falling back to
    a variable without :class:`EnvOption`, fails here (and the module refuses to import)."""
    assert set(CHECKS) == set(SETTINGS_VARS.values())
    plain = [
        f"{name} {param.name}"
        for name, command in cli.commands.items()
        for param in command.params
        if isinstance(param, click.Option) and param.envvar and not isinstance(param, EnvOption)
    ]
    assert plain == []
    assert CLI_VARS, "no command-line variable found"


@PROPERTY
@given(variable=st.sampled_from(sorted(SETTINGS_VARS)), data=st.data())
@example(variable="JOBSTATE_BROKER_URL", data=None)
@example(variable="JOBSTATE_TRANSCRIBER", data=None)
def test_garbage_in_any_setting_is_one_error_naming_it_never_its_password(
    variable: str, data: st.DataObject | None
) -> None:
    if data is None:  # the examples: the holes named when this gate was made
        value = "garbage"
    else:
        value = data.draw(GARBAGE | BAD_URLS if variable in URL_VARS else GARBAGE, "value")
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({variable: value})
    said = str(refused.value)
    assert said.startswith(variable), said
    assert SECRET not in said
    code, lines = _cli(["status", "some-job"], {variable: value})
    assert code == 2, lines
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"Error: {variable}"), lines
    assert SECRET not in lines[0]


@PROPERTY
@given(pair=st.sampled_from(CLI_VARS), value=GARBAGE)
@example(pair=("JOBSTATE_UI_WORKERS", "serve"), value="abc")
def test_garbage_in_any_command_line_variable_is_an_error_naming_it(
    pair: tuple[str, str], value: str
) -> None:
    variable, command = pair
    code, lines = _cli(_argv(variable, command), {variable: value})
    assert code in (1, 2), lines
    assert lines, "nothing said"
    assert lines[-1].startswith("Error: "), lines
    assert variable in lines[-1], lines
    assert "Traceback" not in "\n".join(lines)


def test_a_value_typed_on_the_command_line_is_still_named_by_its_flag() -> None:
    for argv in (["serve", "--workers", "abc"], ["status", "some-job", "--app", "garbage"]):
        code, lines = _cli(argv, {})
        assert code == 2, lines
        assert f"Invalid value for '{argv[-2]}'" in lines[-1], lines


# -- every value the README documents passes -----------------------------------------------

HOSTS = st.sampled_from(["h", "cache.internal", "127.0.0.1", "[::1]"])
PORTS = st.sampled_from(["", ":0", ":6379", ":65535"])
AUTH = st.sampled_from(["", f"u:{SECRET}@", f":{SECRET}@"])
REDIS = st.builds(
    lambda scheme, auth, host, port, db: f"{scheme}{auth}{host}{port}{db}",
    st.sampled_from(["redis://", "rediss://"]),
    AUTH,
    HOSTS,
    PORTS,
    st.sampled_from(["", "/", "/0", "/15"]),
)
BROKERS = (
    st.builds(
        lambda scheme, auth, host, port, vhost: f"{scheme}{auth}{host}{port}{vhost}",
        st.sampled_from(["amqp://", "amqps://", "pyamqp://", "AMQP://"]),
        AUTH,
        HOSTS,
        PORTS,
        st.sampled_from(["", "/", "//", "/jobs"]),
    )
    | REDIS
    | st.sampled_from(["memory://", "redis+socket:///run/redis.sock", "amqp://a//;amqp://b//"])
)
RESULTS = (
    REDIS.filter(lambda url: url.startswith("redis://"))
    | REDIS.filter(lambda url: url.startswith("rediss://")).map(
        lambda url: f"{url}?ssl_cert_reqs=required"
    )
    | st.just("rpc://")
)
NAMES = st.text(st.sampled_from("abcxyz0123-_.:"), min_size=1, max_size=40)


def _whole(low: int, name: str) -> st.SearchStrategy[str]:
    return st.integers(low, _CEILINGS[name]).map(str)


def _seconds(low: float, high: float) -> st.SearchStrategy[str]:
    return st.floats(low, high, exclude_min=True).map(repr)


VALID: dict[str, st.SearchStrategy[str]] = {
    "redis_url": REDIS | st.sampled_from(["unix:///run/redis.sock", "redis+sentinel://s:26379/m"]),
    "broker_url": st.just("") | BROKERS,
    "result_url": st.just("") | RESULTS,
    "key_prefix": NAMES,
    "queue": NAMES,
    "retention_seconds": _whole(1, "retention_seconds"),
    "archive_ttl_seconds": _whole(0, "archive_ttl_seconds"),
    "history_maxlen": _whole(1, "history_maxlen"),
    "stale_after_seconds": st.integers(10, MAX_SECONDS).map(str),  # twice the 5 s beat
    "heartbeat_seconds": _seconds(0, 60),  # half the 120 s stale threshold
    "max_stage_runs": _whole(1, "max_stage_runs"),
    "cluster": st.sampled_from(["1", "true", "yes", "on", "0", "false", "no", "off", ""]),
    "allow_hosts": st.lists(
        st.sampled_from(["media.local", "media.local:8000", "[::1]:*", "10.0.0.7", "h:*"]),
        max_size=4,
    ).map(",".join),
    "download_max_bytes": _whole(1, "download_max_bytes"),
    "download_timeout_seconds": _seconds(0, MAX_SECONDS),
    "stage_soft_time_limit": st.integers(1, 659).map(str),  # below the 660 s hard limit
    "stage_time_limit": st.integers(601, MAX_SECONDS).map(str),  # above the 600 s soft one
    "work_dir": st.sampled_from(["", "/var/lib/jobstate/work", "work", "/tmp/job state"]),
    "transcriber": st.sampled_from(["pocketsphinx", "textwrap:shorten", "os.path:basename"]),
    "summariser": st.sampled_from(["extractive", "textwrap:shorten"]),
    "secret_keys": st.lists(st.sampled_from(["password", "token", "pin", "x_key"]), min_size=1).map(
        ",".join
    ),
    "ui_body_timeout_seconds": _seconds(0, MAX_SECONDS),
    "ui_max_connections": _whole(1, "ui_max_connections"),
    "ui_hosts": st.lists(
        st.sampled_from(["jobs.example.com", "10.1.2.3", "[2001:db8::7]", "bücher.example"]),
        max_size=3,
    ).map(",".join),
}


def test_every_setting_has_valid_values_here() -> None:
    assert set(VALID) == set(SETTINGS_VARS.values())


@PROPERTY
@given(data=st.data(), name=st.sampled_from(sorted(VALID)))
def test_every_documented_kind_of_value_passes_and_celery_can_use_its_urls(
    data: st.DataObject, name: str
) -> None:
    text = data.draw(VALID[name], "value")
    made = Settings.from_env({f"JOBSTATE_{name.upper()}": text})
    assert Settings.from_env(made.to_env()) == made
    if name == "broker_url" and text:
        for url in text.split(";"):
            Connection(url).close()  # kombu reads it (no connection is made)
    if name == "result_url" and text:
        app = Celery("results", broker="memory://", backend=text, set_as_current=False)
        try:
            assert app.backend is not None  # Celery builds its backend from it, offline
        finally:
            app.close()


@PROPERTY
@given(
    variable=st.sampled_from(sorted(SETTINGS_VARS)),
    scheme=st.sampled_from(["redis", "rediss", "amqp", "https"]),
    tail=st.sampled_from(["", "\n", " ", "\x01", ",x", ":*"]),
)
def test_a_url_pasted_into_any_variable_never_shows_its_password(
    variable: str, scheme: str, tail: str
) -> None:
    """A URL with a password set in the wrong variable (a host list, a name, a number):
    wherever the refusal quotes it, the password is masked, in the error and in what
    ``jobstate`` prints. Slip: a host-list entry was quoted whole."""
    value = f"{scheme}://user:{SECRET}@h.example:6379/0{tail}"
    said = _refusal(variable, value)
    if said is None:
        return  # a value this variable takes (a name, a relative folder): nothing quoted
    assert SECRET not in said, said
    code, lines = _cli(["status", "some-job"], {variable: value})
    assert code == 2, lines
    assert not any(SECRET in line for line in lines), lines


def _refusal(variable: str, value: str) -> str | None:
    """What reading ``variable=value`` is refused with, or None when it is taken."""
    try:
        Settings.from_env({variable: value})
    except SettingsError as refused:
        return str(refused)
    return None


@PROPERTY
@given(bad=BAD_URLS, first=st.sampled_from(["redis://h.example:6379/0", "amqp://h.example//"]))
def test_every_url_of_a_broker_fail_over_list_is_checked(bad: str, first: str) -> None:
    """kombu tries the URLs after a ``;`` only when the first broker is down: the worst
    moment to learn one of them cannot work. Each is checked as the settings are read."""
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"JOBSTATE_BROKER_URL": f"{first};{bad}"})
    assert str(refused.value).startswith("JOBSTATE_BROKER_URL"), refused.value
    assert SECRET not in str(refused.value)


def test_a_work_folder_that_is_a_file_is_refused_naming_it(tmp_path: Path) -> None:
    """A file where the stages' folder should be is refused as it is read, not when a
    stage first writes there."""
    file = tmp_path / "work"
    file.write_text("not a folder", encoding="utf-8")
    with pytest.raises(SettingsError, match=r"^JOBSTATE_WORK_DIR=.* is a file, not a folder"):
        Settings.from_env({"JOBSTATE_WORK_DIR": str(file)})
    assert Settings.from_env({"JOBSTATE_WORK_DIR": str(tmp_path)}).work_dir == str(tmp_path)


@pytest.mark.parametrize("source", ["variable", "flag"])
def test_an_app_that_does_not_load_is_named_where_it_was_set(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A well-formed app target that does not import is blamed on where it came from:
    ``JOBSTATE_APP=...`` when the variable set it, ``--app ...`` when typed."""
    target = "no_such_module_zq:app"
    if source == "variable":
        code, lines = _cli(["status", "some-job"], {"JOBSTATE_APP": target})
        said = f"Error: JOBSTATE_APP={target}"
    else:
        code, lines = _cli(["status", "--app", target, "some-job"], {})
        said = f"Error: --app {target}"
    assert code != 0, lines
    assert lines[-1].startswith(said), lines


@pytest.mark.parametrize("name", ["ui_hosts", "allow_hosts"])
@pytest.mark.parametrize("blank", ["", "  "])
def test_a_blank_host_entry_made_in_code_is_refused_naming_it(name: str, blank: str) -> None:
    """The environment drops empty entries as it splits the list; a list made in code
    keeps them, and a blank one names no host."""
    with pytest.raises(SettingsError, match=f"^JOBSTATE_{name.upper()}: "):
        Settings(**{name: ("jobs.example.com", blank)})
