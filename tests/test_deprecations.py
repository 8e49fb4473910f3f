"""Every old name still works, warns once with its replacement, and the verbs mean one thing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.deprecation import deprecated_alias, warn_once
from pipeline.procs.lifecycle import Lifecycle
from pipeline.procs.worker_process import WorkerProcess
from pipeline.settings import Settings


def _run(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (imports and warn-once state start clean)."""
    return subprocess.run(
        [sys.executable, "-W", "always::DeprecationWarning", "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        check=True,
    )


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("harness.redis_proc", "pipeline.procs.redis_server"),
        ("harness.worker_proc", "pipeline.procs.worker_process"),
        ("harness.waiting", "pipeline.waiting"),
        ("harness.faults", "harness.testing.chaos.injector"),
        ("harness.redis", "harness.fixtures.redis"),
        ("harness.chaos_tally", "harness.testing.chaos.tally"),
        ("pipeline.stages.errors", "pipeline.stages.stage_errors"),
    ],
)
def test_moved_module_is_the_new_one_and_warns_once(old: str, new: str) -> None:
    done = _run(
        f"""
        import importlib
        old = importlib.import_module({old!r})
        again = importlib.import_module({old!r})
        new = importlib.import_module({new!r})
        assert old is new is again, (old, new)
        assert new.__spec__.name == {new!r}, new.__spec__
        """
    )
    assert done.stderr.count("DeprecationWarning") == 1, done.stderr
    assert f"use {new}" in done.stderr


def test_tracker_of_warns_once_and_still_answers() -> None:
    done = _run(
        """
        from pipeline.celery_app import app, tracker_of
        from pipeline.tracking import Tracker
        assert tracker_of(app) is Tracker.of(app)
        assert tracker_of(app) is Tracker.of(app)
        """
    )
    assert done.stderr.count("DeprecationWarning") == 1, done.stderr
    assert "Tracker.of(app)" in done.stderr


def test_closing_is_the_lifecycle_base_under_its_old_name() -> None:
    done = _run(
        """
        from pipeline.procs.lifecycle import Closing, Lifecycle
        assert Closing is Lifecycle
        """
    )
    assert "Lifecycle" in done.stderr


def test_alias_warns_only_the_first_time() -> None:
    calls: list[int] = []
    alias = deprecated_alias(lambda n: calls.append(n) or n, "test_old_name_x", "new_name()")
    with pytest.warns(DeprecationWarning, match="test_old_name_x is deprecated: use new_name"):
        assert alias(1) == 1
    assert alias(2) == 2  # a second warning would fail under filterwarnings=error
    assert calls == [1, 2]


def test_warn_once_is_per_name() -> None:
    with pytest.warns(DeprecationWarning, match="test_a_once"):
        warn_once("test_a_once", "b")
    warn_once("test_a_once", "b")
    with pytest.warns(DeprecationWarning, match="test_c_once"):
        warn_once("test_c_once", "d")


class _Thing(Lifecycle):
    def __init__(self) -> None:
        self.events: list[str] = []

    def start(self) -> _Thing:
        self.events.append("start")
        return self

    def stop(self) -> None:
        self.events.append("stop")


def test_lifecycle_with_starts_then_closes_and_kill_defaults_to_stop() -> None:
    with _Thing() as thing:
        thing.kill()
    assert thing.events == ["start", "stop", "stop"]


def test_worker_process_close_is_graceful(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    worker = WorkerProcess("pipeline.celery_app:app", Settings(), log_dir=tmp_path)
    calls: list[str] = []
    monkeypatch.setattr(worker, "stop", lambda: calls.append("stop"))
    monkeypatch.setattr(worker, "kill", lambda: calls.append("kill"))
    worker.close()
    assert calls == ["stop"]
