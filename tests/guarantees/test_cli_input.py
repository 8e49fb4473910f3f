"""``jobstate submit --input`` takes at most the input cap, from an argument or a regular
file, and whatever it cannot take is a one-line usage error (exit code 2), never a
traceback, a hang or a read of the whole of an endless file; nothing is stored then.

A Hypothesis property over hostile JSON texts and raw bytes, inline and from a file (fast
tier, in process); devices and FIFOs in a subprocess, so a blocking read fails the test
by its timeout instead of hanging the run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from harness.testing.redis.backend import RedisBackend
from pipeline import runtime
from pipeline.cli import cli
from pipeline.job_input import MAX_INPUT_BYTES
from pipeline.settings import Settings
from pipeline.store import JobStore
from tests.guarantees.apps import DOORS
from tests.guarantees.hostile import payloads

ROOT = Path(__file__).resolve().parents[2]
FAST = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
TEXTS = st.one_of(
    payloads(secrets=1).map(lambda p: p.text()),
    payloads(secrets=1, clean=True).map(lambda p: p.text()),
    st.text(max_size=200),
    st.binary(max_size=200).map(lambda b: b.decode("utf-8", "surrogateescape")),
    st.integers(1, 100_000).map(lambda n: "[" * n + "]" * n),
    st.integers(1, 50_000).map(lambda n: '{"k":' * n + "1" + "}" * n),
    st.sampled_from(
        ["", "null", "[]", "1e999", '{"a": NaN}', "9" * 5000, '{"a":' + "9" * 5000 + "}"]
    ),
)


@pytest.fixture
def submit(
    redis_backend: RedisBackend, jobstate_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> tuple[JobStore, dict[str, str]]:
    """Function: the doors app's store and the CLI's environment (its work goes nowhere)."""
    monkeypatch.setattr(runtime, "redis_client", lambda *a, **k: redis_backend.make_client())
    monkeypatch.setattr(runtime, "enqueue", lambda app, ctx: None)
    env = {**jobstate_settings.to_env(), "JOBSTATE_APP": "tests.guarantees.apps:doors_app"}
    return redis_backend.store(DOORS), env


def _count(store: JobStore) -> int:
    return int(store.client.zcard(store.keys.jobs))


def _judge(result: Result, store: JobStore, before: int) -> None:
    out = result.output
    assert "Traceback" not in out
    assert result.exit_code in (0, 2), out
    if result.exit_code == 2:
        assert result.exception is None or isinstance(result.exception, SystemExit)
        [error] = [line for line in out.splitlines() if line.startswith("Error:")]
        assert error.startswith("Error: Invalid value for --input: "), out
        assert out.rstrip().endswith(error)  # the reason is that one line
        assert _count(store) == before, "refused, yet stored"
    else:
        assert _count(store) == before + 1
        store.get_state(out.strip())


@FAST
@given(text=TEXTS, from_file=st.booleans())
@example(text='{"url": "https://media.example/talk.mp3", "\\ud800": 1}', from_file=False)
@example(text='{"k": "\udcff"}', from_file=False)  # an undecodable argv byte
@example(text="[" * 100_000 + "]" * 100_000, from_file=True)
@example(text='{"k":' * 500 + "1" + "}" * 500, from_file=True)
def test_any_json_text_is_taken_or_a_one_line_usage_error(
    submit: tuple[JobStore, dict[str, str]], tmp_path: Path, text: str, from_file: bool
) -> None:
    # Slips: read_text() of the whole file; json.loads' RecursionError or ValueError
    # escaping as a traceback; the gate's refusal reported as a store error (exit 1).
    store, env = submit
    before = _count(store)
    arg = text
    if from_file:
        path = tmp_path / "job.json"
        path.write_bytes(text.encode("utf-8", "surrogateescape"))
        arg = f"@{path}"
    result = CliRunner(env=env).invoke(cli, ["submit", "--input", arg])
    event(f"exit {result.exit_code}")
    _judge(result, store, before)


def test_a_big_sparse_file_is_read_only_to_the_cap(
    submit: tuple[JobStore, dict[str, str]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, env = submit
    sparse = tmp_path / "sparse.json"
    with sparse.open("wb") as out:
        out.truncate(1 << 30)  # 1 GiB of holes: a whole read would take a GiB of memory
    reads: list[int] = []
    real_read = os.read

    def counted(fd: int, size: int) -> bytes:
        data = real_read(fd, size)
        reads.append(len(data))
        return data

    monkeypatch.setattr(os, "read", counted)
    result = CliRunner(env=env).invoke(cli, ["submit", "--input", f"@{sparse}"])
    assert result.exit_code == 2, result.output
    assert f"larger than {MAX_INPUT_BYTES} bytes" in result.output
    assert sum(reads) == MAX_INPUT_BYTES + 1


@pytest.mark.parametrize(("size", "taken"), [(MAX_INPUT_BYTES, True), (MAX_INPUT_BYTES + 1, False)])
def test_a_file_is_taken_up_to_exactly_the_cap(
    submit: tuple[JobStore, dict[str, str]], tmp_path: Path, size: int, taken: bool
) -> None:
    store, env = submit
    text = '{"k": 1}'
    path = tmp_path / "input.json"
    path.write_text(text + " " * (size - len(text)), encoding="utf-8")  # JSON allows the pad
    before = _count(store)
    result = CliRunner(env=env).invoke(cli, ["submit", "--input", f"@{path}"])
    _judge(result, store, before)
    assert (result.exit_code == 0) is taken, result.output
    if not taken:
        assert f"larger than {MAX_INPUT_BYTES} bytes" in result.output


def test_a_folder_is_refused(submit: tuple[JobStore, dict[str, str]], tmp_path: Path) -> None:
    _, env = submit
    result = CliRunner(env=env).invoke(cli, ["submit", "--input", f"@{tmp_path}"])
    assert result.exit_code == 2
    assert "is not a regular file" in result.output


def _run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "JOBSTATE_REDIS_URL": "redis://127.0.0.1:1/0",  # never reached: refused first
        "JOBSTATE_APP": "tests.guarantees.apps:doors_app",
        "PYTHONPATH": str(ROOT),
    }
    command = [sys.executable, "-m", "pipeline.cli", "submit", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT, check=False
    )


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_devices_and_fifos_are_refused_without_reading(tmp_path: Path, kind: str) -> None:
    # Slip: open() without O_NONBLOCK (a FIFO with no writer blocks for ever) or reading
    # a device (/dev/zero never ends). The timeout turns a hang into a failure.
    target = tmp_path / "fifo" if kind == "fifo" else Path("/dev/zero")
    if kind == "fifo":
        os.mkfifo(target)
    done = _run_cli("--input", f"@{target}")
    assert done.returncode == 2, done.stderr
    assert "is not a regular file" in done.stderr
    assert "Traceback" not in done.stderr
