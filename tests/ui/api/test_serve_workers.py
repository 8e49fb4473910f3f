"""``jobstate serve --workers N``: N uvicorn processes on one port, each with its own pool."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from pipeline.cli import cli
from pipeline.procs.redis_server import free_port
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from tests.audit.kinds_app import KINDS
from tests.audit.kinds_app import TARGET as KINDS_TARGET
from ui.workers import app_from_env

pytestmark = [pytest.mark.integration, pytest.mark.jobstate_redis("server")]

WORKERS = 2
REPO = Path(__file__).resolve().parents[3]


@dataclass
class Served:
    """A running ``jobstate serve --workers``: its supervisor process and base URL."""

    proc: subprocess.Popen[bytes]
    url: str

    def workers(self) -> list[int]:
        """Process ids of the supervisor's worker processes (Linux ``/proc``; its other
        child, multiprocessing's resource tracker, is left out)."""
        path = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        try:
            children = [int(p) for p in path.read_text().split()]
        except OSError:
            return []
        return [pid for pid in children if b"spawn_main" in _cmdline(pid)]

    def answers(self) -> bool:
        """Whether ``/healthz`` answers 200 (raises if the supervisor exited)."""
        if self.proc.poll() is not None:
            raise RuntimeError(f"jobstate serve exited with {self.proc.returncode}")
        try:
            return httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


@pytest.fixture
def serve_args() -> list[str]:
    """Function: what ``jobstate serve`` is given besides its port and workers."""
    return []


@pytest.fixture
def served(jobstate_settings: Settings, tmp_path: Path, serve_args: list[str]) -> Iterator[Served]:
    """Function: ``jobstate serve --workers 2`` on the test's Redis, answering /healthz.

    Teardown: SIGTERM to the supervisor, which stops its workers (SIGKILL after 20 s).
    """
    port = free_port()
    env = {**os.environ, **jobstate_settings.to_env()}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    env.pop("JOBSTATE_APP", None)
    argv = [sys.executable, "-m", "pipeline.cli", "serve", "--port", str(port)]
    argv += ["--workers", str(WORKERS), *serve_args]
    with (tmp_path / "serve.log").open("wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    running = Served(proc, f"http://127.0.0.1:{port}")
    try:
        wait_until(running.answers, timeout=60, what="jobstate serve --workers answering")
        wait_until(lambda: len(running.workers()) == WORKERS, 30, what="both workers up")
        yield running
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def test_workers_share_the_port_and_a_dead_one_is_replaced(
    served: Served, state_store: JobStore
) -> None:
    job_id = state_store.create("https://alice:s3cret@media.example/a.mp3").job_id
    with httpx.Client(base_url=served.url, timeout=5) as http:
        first = http.get(f"/api/jobs/{job_id}")
        assert first.status_code == 200
        assert "s3cret" not in first.text
        tag = first.headers["etag"]
        assert http.get(f"/api/jobs/{job_id}", headers={"If-None-Match": tag}).status_code == 304

        dead = served.workers()[0]
        os.kill(dead, signal.SIGKILL)
        wait_until(
            lambda: len(served.workers()) == WORKERS and dead not in served.workers(),
            timeout=30,
            what="the supervisor replacing the killed worker",
        )
        # Fresh connections, so each may land on either process: all are answered.
    for _ in range(20):
        with httpx.Client(base_url=served.url, timeout=5) as http:
            assert http.get(f"/api/jobs/{job_id}").json()["job_id"] == job_id
    workers = served.workers()
    served.proc.terminate()
    served.proc.wait(timeout=20)
    wait_until(
        lambda: not any(Path(f"/proc/{pid}").exists() for pid in workers),
        timeout=10,
        what="the workers gone with their supervisor",
    )


def test_a_bad_app_is_refused_before_any_worker_starts(jobstate_settings: Settings) -> None:
    env = jobstate_settings.to_env()
    args = ["serve", "--workers", "2", "--app", "no_such_module:app"]
    result = CliRunner(env=env).invoke(cli, args)
    assert result.exit_code == 1
    assert "--app no_such_module:app" in result.output


def test_a_serving_process_moves_what_it_built_out_of_the_collectors_sight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Slip: a worker process built without settle_heap (each full collection then scans
    # the app, its routes and schemas again, a pause in some poll).
    monkeypatch.setenv("JOBSTATE_REDIS_URL", "redis://127.0.0.1:9/0")  # never reached
    monkeypatch.delenv("JOBSTATE_APP", raising=False)
    before = gc.get_freeze_count()
    try:
        app = app_from_env()
        assert gc.get_freeze_count() > before
        assert app.state.jobstate.service is not None
    finally:
        gc.unfreeze()


@pytest.mark.parametrize("serve_args", [["--app", KINDS_TARGET]])
def test_every_worker_serves_the_app_it_was_given(served: Served) -> None:
    """``--app`` reaches each worker process: fresh connections, whichever process answers
    each, all speak the app's workflow, never the media pipeline's."""
    for _ in range(10):
        with httpx.Client(base_url=served.url, timeout=5) as http:
            shown = http.get("/api/workflow").json()
        assert (shown["name"], shown["statuses"]) == (KINDS.name, dict(KINDS.statuses)), shown
