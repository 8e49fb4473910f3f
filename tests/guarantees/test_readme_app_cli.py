"""The README's own tracking app, served by our CLI alone, runs a job to its final status.

A new user's folder holds only ``mypipeline.py``, the README's "Tracking your own Celery
pipeline" block as written; the environment holds only ``JOBSTATE_REDIS_URL`` (what the
README's configuration table shows) and a fresh ``HOME``. ``jobstate worker``, ``beat``,
``serve``, ``submit`` and ``status``, each given ``--app mypipeline:app`` and run from that
folder, take the job to ``DONE``; the page's API shows it; beat's stale sweep reaches the
worker. Real ``redis-server``, real prefork worker, every part a subprocess.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from pipeline.procs.redis_server import start_redis_server
from pipeline.waiting import wait_until
from tests.test_readme import TRACKING

pytestmark = [pytest.mark.integration, pytest.mark.prefork]

JOBSTATE = str(Path(sys.executable).with_name("jobstate"))
APP = ["--app", "mypipeline:app"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class NewUser:
    """A folder with the README's app, an environment with only the README's setting."""

    def __init__(self, folder: Path, redis_url: str, home: Path) -> None:
        self.folder = folder
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "JOBSTATE_REDIS_URL": redis_url,
        }
        self.logs: dict[str, Path] = {}

    def start(self, stack: ExitStack, name: str, *args: str) -> subprocess.Popen[bytes]:
        """``jobstate ARGS`` in the background, its output in ``<name>.log``."""
        log = self.folder.parent / f"{name}.log"
        self.logs[name] = log
        out = stack.enter_context(log.open("wb"))
        proc = subprocess.Popen(
            [JOBSTATE, *args], cwd=self.folder, env=self.env, stdout=out, stderr=subprocess.STDOUT
        )
        stack.callback(_end, proc)
        return proc

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """``jobstate ARGS`` to its end."""
        return subprocess.run(
            [JOBSTATE, *args],
            cwd=self.folder,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log(self, name: str) -> str:
        """What ``name`` has written so far."""
        return self.logs[name].read_text(errors="replace")


def _ran(log: str, task: str) -> bool:
    """Whether the worker's log has Celery's success line for ``task``."""
    return any(f"Task {task}[" in line and " succeeded " in line for line in log.splitlines())


def _end(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


@pytest.fixture
def new_user(tmp_path: Path) -> Iterator[NewUser]:
    """Function: a redis-server and a new user's folder holding the README's ``mypipeline.py``."""
    folder = tmp_path / "newcomer"
    folder.mkdir()
    (folder / "mypipeline.py").write_text(TRACKING, encoding="utf-8")
    (tmp_path / "home").mkdir()
    with start_redis_server(data_dir=tmp_path / "redis") as server:
        yield NewUser(folder, server.url, tmp_path / "home")


def test_the_readme_app_runs_to_done_through_our_cli_alone(new_user: NewUser) -> None:
    # Slips: the CLI importing --app without the current folder on sys.path; an app
    # with no broker of its own sent to Celery's default AMQP; the worker reading
    # JOBSTATE_QUEUE while the app sends to its own default queue; no sweep task on it.
    port = _free_port()
    with ExitStack() as stack:
        new_user.start(stack, "beat", "beat", *APP)
        new_user.start(stack, "worker", "worker", *APP, "--concurrency", "1")
        new_user.start(stack, "serve", "serve", *APP, "--port", str(port))
        wait_until(lambda: " ready." in new_user.log("worker"), timeout=60, what="the worker")

        # The broker is the README's JOBSTATE_REDIS_URL, not Celery's default AMQP.
        [transport] = [ln for ln in new_user.log("worker").splitlines() if "transport:" in ln]
        where = new_user.env["JOBSTATE_REDIS_URL"].removeprefix("redis://")
        assert "redis://" in transport, transport
        assert transport.endswith(where), transport
        url = "https://example.com/in.mp3"
        submitted = new_user.run("submit", *APP, url, "--wait", "--timeout", "60")
        assert submitted.returncode == 0, submitted.stdout + submitted.stderr
        job_id = submitted.stdout.split()[0]
        assert "DONE: Done" in submitted.stdout
        assert json.loads(submitted.stdout.rsplit("DONE: Done", 1)[1]) == {"answer": 42}

        status = new_user.run("status", *APP, job_id, "--history")
        assert status.returncode == 0, status.stderr
        record = json.loads(status.stdout)
        assert (record["workflow"], record["status"]) == ("mine", "DONE")
        assert [e["status"] for e in record["history"] if e["kind"] != "progress"] == [
            "NEW",
            "WORK",
            "DONE",
        ]

        def page_shows_done() -> bool:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/api/jobs/{job_id}", timeout=5)
            except httpx.TransportError:
                return False  # the server is still starting
            return answer.status_code == 200 and answer.json()["status"] == "DONE"

        wait_until(page_shows_done, timeout=60, interval=0.2, what="the page's API")
        # Beat sends the stale sweep every 30 s, the worker runs it: both know the task.
        wait_until(
            lambda: _ran(new_user.log("worker"), "jobstate.sweep"),
            timeout=75,
            interval=0.5,
            what="beat's sweep to run on the worker",
        )
    assert "Traceback" not in new_user.log("worker") + new_user.log("beat")
