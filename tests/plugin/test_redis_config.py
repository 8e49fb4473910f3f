"""The Redis switch, driven through pytester in subprocesses: precedence and its header,
usage errors, the per-test marker, ``--fixtures``, xdist and a shared Redis URL."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator

import pytest

from harness.config import spelled
from harness.modes import backend_kind
from pipeline.procs.redis_server import RedisServer
from tests.plugin.user_project import run_here
from tests.silent import closed_port_url, silent_redis_url

pytestmark = pytest.mark.usefixtures("clean_env")

MODE_TEST = """
def test_mode(redis_backend, jobstate_settings, state_store, redis_client):
    assert redis_backend.mode == {expected!r}
    assert jobstate_settings.key_prefix.startswith("jobstate-test-")
    assert jobstate_settings.queue.startswith(jobstate_settings.key_prefix)
    state_store.create("https://media.example.com/a.mp3", job_id="j1")
    assert redis_client.exists(state_store.keys.state("j1"))
"""


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Function: no ``JOBSTATE_REDIS`` leaks in from the outer run's environment."""
    monkeypatch.delenv("JOBSTATE_REDIS", raising=False)


def _ini(pytester: pytest.Pytester, redis: str | None) -> None:
    line = f"jobstate_redis = {redis}\n" if redis else ""
    pytester.makeini(f"[pytest]\n{line}")


@pytest.mark.parametrize(
    ("cli", "env", "ini", "expected", "source"),
    [
        (None, None, None, "fake", "default"),
        (None, None, "fake-tcp", "fake-tcp", "ini"),
        (None, "fake", "fake-tcp", "fake", "env"),
        ("fake", "fake-tcp", "fake-tcp", "fake", "cli"),
    ],
)
def test_precedence_is_cli_env_ini_default_and_shown_in_the_header(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    cli: str | None,
    env: str | None,
    ini: str | None,
    expected: str,
    source: str,
) -> None:
    _ini(pytester, ini)
    if env:
        monkeypatch.setenv("JOBSTATE_REDIS", env)
    pytester.makepyfile(MODE_TEST.format(expected=expected))
    args = [f"--jobstate-redis={cli}"] if cli else []
    result = run_here(pytester, *args)
    result.stdout.fnmatch_lines([f"jobstate: redis={expected} ({source})*"])
    result.assert_outcomes(passed=1)


@pytest.mark.parametrize(("where", "source"), [("cli", "cli"), ("env", "env"), ("ini", "ini")])
def test_a_bad_value_is_a_usage_error_naming_its_source(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, where: str, source: str
) -> None:
    _ini(pytester, "mongodb://db" if where == "ini" else None)
    if where == "env":
        monkeypatch.setenv("JOBSTATE_REDIS", "mongodb://db")
    pytester.makepyfile(MODE_TEST.format(expected="fake"))
    args = ["--jobstate-redis=mongodb://db"] if where == "cli" else []
    result = run_here(pytester, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*{spelled('redis', source)}='mongodb://db' (from {source}) "
            "must be fake, fake-tcp, server*"
        ]
    )


def test_the_marker_forces_a_backend_for_one_test(pytester: pytest.Pytester) -> None:
    _ini(pytester, None)
    pytester.makepyfile("""
        import pytest

        def test_configured(redis_backend):
            assert (redis_backend.mode, redis_backend.url) == ("fake", None)

        @pytest.mark.jobstate_redis("fake-tcp")
        def test_forced(redis_backend, state_store):
            assert redis_backend.mode == "fake-tcp"
            assert redis_backend.url.startswith("redis://127.0.0.1:")
            other = redis_backend.make_client()
            state_store.create("https://media.example.com/a.mp3", job_id="seen")
            assert other.exists(state_store.keys.state("seen"))

        @pytest.mark.jobstate_redis("carrier-pigeon")
        def test_bad_marker(redis_backend):
            pass

        @pytest.mark.jobstate_redis("fake", "server")
        def test_two_modes(redis_backend):
            pass

        @pytest.mark.jobstate_celery("eager", "thread")
        def test_two_celery_modes(jobstate_celery_mode):
            pass
    """)
    result = run_here(pytester, "-rE")
    result.assert_outcomes(passed=2, errors=3)
    result.stdout.fnmatch_lines(["*jobstate redis mode 'carrier-pigeon' must be fake*"])
    # A second mode was ignored: the test ran in the first, silently.
    for name in ("jobstate_redis", "jobstate_celery"):
        result.stdout.fnmatch_lines(
            [f"*@pytest.mark.{name} takes exactly one string argument, got 2 argument(s)*"]
        )


def test_fake_mode_clients_share_one_fresh_server_per_test(pytester: pytest.Pytester) -> None:
    _ini(pytester, None)
    pytester.makepyfile("""
        def test_first(redis_backend):
            redis_backend.client.set("left-behind", "1")
            assert redis_backend.make_client().get("left-behind") == b"1"

        def test_second(redis_backend):
            assert redis_backend.client.dbsize() == 0
    """)
    run_here(pytester).assert_outcomes(passed=2)


FIXTURES = {
    "redis_server [session scope]": "Session: a real ``redis-server``",
    "fake_tcp_server [session scope]": "Session: fakeredis served over TCP",
    "redis_backend": "Function: this test's isolated :class:`RedisBackend`",
    "redis_client": "Function: a redis-py client",
    "jobstate_settings": "Function: :class:`Settings` for this test",
    "jobstate_workflow [session scope]": "Session: the :class:`Workflow` named by",
    "state_store": "Function: a :class:`JobStore` for the configured workflow",
}


def test_fixtures_are_listed_with_their_docstrings(pytester: pytest.Pytester) -> None:
    _ini(pytester, None)
    result = run_here(pytester, "--fixtures", "-v")
    for name, doc in FIXTURES.items():
        result.stdout.re_match_lines(
            [rf"{re.escape(name)} -- .*harness/fixtures/redis\.py:\d+$", rf"    {re.escape(doc)}"]
        )
    result.stdout.fnmatch_lines(["*Teardown: with a URL, deletes only this test's*"])


@pytest.mark.integration
def test_each_xdist_worker_gets_its_own_server(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    _ini(pytester, "server")
    record = pytester.path / "ports.jsonl"
    monkeypatch.setenv("PORTS_FILE", str(record))
    pytester.makepyfile("""
        import json, os

        def test_where(redis_backend, redis_server):
            worker = os.environ["PYTEST_XDIST_WORKER"]
            with open(os.environ["PORTS_FILE"], "a") as out:
                out.write(json.dumps([worker, redis_server.port]) + "\\n")
            assert redis_backend.server is redis_server
            assert redis_backend.url == redis_server.url
    """)
    result = pytester.runpytest_subprocess("-n", "2", "--dist", "each", "-p", "no:benchmark")
    result.assert_outcomes(passed=2)
    ports = dict(json.loads(line) for line in record.read_text().splitlines())
    assert len(ports) == 2, ports
    assert len(set(ports.values())) == 2, ports


@pytest.mark.integration
def test_a_shared_redis_url_is_never_flushed_and_keeps_others_keys(
    pytester: pytest.Pytester,
) -> None:
    """On a redis-server of its own, whose every key the test knows: the session's server
    also serves other tests' Celery workers, whose kombu bindings (``_kombu.binding.*``)
    appear there whenever a worker declares them, so a scan of it judged what ran before."""
    with RedisServer() as own:
        outside = own.client()
        try:
            outside.set("someone-else:key", "precious")
            pytester.makepyfile("""
                def test_writes(redis_backend, state_store, redis_client):
                    assert redis_backend.mode == "url"
                    assert redis_client.get("someone-else:key") == b"precious"
                    state_store.create("https://media.example.com/a.mp3", job_id="mine")
                    redis_client.set(redis_backend.settings.queue, "queued")
            """)
            result = pytester.runpytest_subprocess(f"--jobstate-redis={own.url}")
            result.assert_outcomes(passed=1)
            assert outside.get("someone-else:key") == b"precious"
            assert sorted(outside.scan_iter()) == [b"someone-else:key"]
        finally:
            outside.close()


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        ("fake", "fake"),
        ("server", "server"),
        ("redis://127.0.0.1:6379/0", "url"),
        ("rediss://user:pw@cache.example:6380/0", "url"),  # TLS, as in production
        ("unix:///run/redis.sock?db=0", "url"),
        ("http://127.0.0.1:6379", None),
        ("redis:/127.0.0.1", None),
        ("sever", None),
        ("", None),
    ],
)
def test_every_redis_url_scheme_is_a_backend_and_nothing_else_is(
    value: str, kind: str | None
) -> None:
    if kind is None:
        with pytest.raises(ValueError, match="must be"):
            backend_kind(value)
    else:
        assert backend_kind(value) == kind


@pytest.fixture
def nobody_at() -> Iterator[dict[str, str]]:
    """Function: two Redis URLs nothing serves: a closed port, and a port that accepts and
    never answers (reached only by its timeout)."""
    with silent_redis_url() as silent:
        yield {"closed": closed_port_url("alice:s3cret@"), "silent": silent}


@pytest.mark.parametrize("kind", ["closed", "silent"])
@pytest.mark.parametrize(("where", "source"), [("cli", "cli"), ("env", "env"), ("ini", "ini")])
def test_a_redis_url_nobody_answers_at_is_one_usage_error_before_any_test(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    nobody_at: dict[str, str],
    kind: str,
    where: str,
    source: str,
) -> None:
    """Not an error per test at setup and again at teardown: one line naming the option,
    where it was set and what was wrong, the password masked, exit code 4."""
    url = nobody_at[kind]
    _ini(pytester, url if where == "ini" else None)
    if where == "env":
        monkeypatch.setenv("JOBSTATE_REDIS", url)
    pytester.makepyfile(MODE_TEST.format(expected="url"))
    result = run_here(pytester, *([f"--jobstate-redis={url}"] if where == "cli" else []))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    shown = url.replace("s3cret", "***")
    result.stderr.fnmatch_lines(
        [f"*{spelled('redis', source)}={shown} (from {source}): no Redis answers*"]
    )
    output = result.stdout.str() + result.stderr.str()
    assert output.count("no Redis answers") == 1, output
    assert "s3cret" not in output
    assert "Traceback" not in output
    assert "passed" not in output


@pytest.mark.parametrize(
    ("exe", "problem"),
    [
        ("/nope/redis-server", "/nope/redis-server does not exist: fix --jobstate-redis-exec"),
        ("no-such-redis-server", "no-such-redis-server not found on PATH: install it"),
    ],
)
def test_a_redis_server_that_cannot_be_found_is_one_usage_error_before_any_test(
    pytester: pytest.Pytester, exe: str, problem: str
) -> None:
    """A path given is checked as a path (not looked up on PATH); a name on PATH."""
    _ini(pytester, None)
    pytester.makepyfile(MODE_TEST.format(expected="server"))
    result = run_here(pytester, "--jobstate-redis=server", f"--jobstate-redis-exec={exe}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*--jobstate-redis=server (cli): {problem}*"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_the_header_shows_every_setting_a_run_uses_as_it_uses_it(
    pytester: pytest.Pytester,
) -> None:
    _ini(pytester, None)
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = run_here(
        pytester,
        "--jobstate-celery=thread",
        "--jobstate-timeout=30",
        f"--jobstate-redis-exec={shutil.which('redis-server')}",
    )
    result.assert_outcomes(passed=1)
    header = next(line for line in result.stdout.lines if line.startswith("jobstate: "))
    assert "redis=fake (default; fake-tcp for tests on real workers)" in header, header
    assert "timeout=30 (cli)" in header
    assert f"redis_exec={shutil.which('redis-server')} (cli)" in header


def test_only_tests_on_real_workers_leave_the_in_process_fake(pytester: pytest.Pytester) -> None:
    """Under --jobstate-celery=thread with no Redis chosen: a test that runs no worker keeps
    the in-process fake (several times faster), one that uses the Celery app gets a
    fake Redis its worker can reach."""
    _ini(pytester, None)
    pytester.makepyfile("""
        def test_no_worker(redis_backend):
            assert redis_backend.mode == "fake"

        def test_on_a_worker(redis_backend, jobstate_celery_app):
            assert redis_backend.mode == "fake-tcp"
    """)
    result = run_here(pytester, "--jobstate-celery=thread")
    result.assert_outcomes(passed=2)
