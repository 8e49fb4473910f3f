"""``jobstate demo``: the whole pipeline on an embedded default, with the UI.

Starts Redis (a ``redis-server`` subprocess when one is on PATH, else fakeredis's TCP
server in this process), a prefork worker subprocess, a local server for the bundled
speech sample and the web UI; submits the sample and shows each status live.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from pathlib import Path

from rich.console import Console

from pipeline.assets import sample_path
from pipeline.display import render_result, watch_job
from pipeline.faults import FaultPlan
from pipeline.procs.redis_server import FakeTcpRedis, RedisServer
from pipeline.procs.worker_process import WorkerProcess
from pipeline.runtime import Runtime, build_runtime
from pipeline.sample_server import SampleServer
from pipeline.settings import Settings

__all__ = ["embedded_redis", "run_demo"]


@contextmanager
def embedded_redis(workdir: Path, console: Console) -> Iterator[str]:
    """Yield the URL of a private Redis that lives as long as the context."""
    if shutil.which("redis-server"):
        with RedisServer(data_dir=workdir / "redis") as server:
            console.print(f"redis-server on port {server.port} (AOF in {workdir / 'redis'})")
            yield server.url
        return
    with FakeTcpRedis() as fake:
        console.print(f"redis-server not found: using fakeredis's TCP server on port {fake.port}")
        yield fake.url


def _start_worker(
    settings: Settings, rt: Runtime, workdir: Path, console: Console
) -> WorkerProcess:
    worker = WorkerProcess(
        "pipeline.celery_app:create_app", settings, concurrency=2, log_dir=workdir
    )
    worker.start(rt.app)
    console.print(f"prefork worker pid {worker.pid} with children {worker.child_pids()}")
    return worker


def _run_job(rt: Runtime, url: str, console: Console) -> int:
    record = rt.service.submit(url, "demo")
    job_id = record["job_id"]
    console.print(f"submitted job {job_id}")
    final = watch_job(rt.store, job_id, console, timeout=300)
    if final is None:
        console.print("job vanished", style="red")
        return 1
    if final["status"] not in rt.store.workflow.terminal:
        console.print(f"still {final['status']} after 300 s: the job did not end", style="red")
        return 1
    if final["status"] != "COMPLETE":
        console.print(f"{final['status']}: {final['error']}", style="red", markup=False)
        return 1
    render_result(console, final)
    return 0


def _run_failing_job(rt: Runtime, url: str, stage: str, console: Console) -> int:
    FaultPlan(rt.client, rt.settings.key_prefix).set(stage, "fail", 1)
    record = rt.service.submit(url, "demo")
    job_id = record["job_id"]
    console.print(f"submitted job {job_id} with a failure injected at {stage}")
    final = watch_job(rt.store, job_id, console, timeout=300)
    if final is None or final["status"] != "ERROR":
        console.print("expected the injected failure to end in ERROR", style="red")
        return 1
    console.print(f"ERROR shown: {final['error']}", markup=False)
    console.print("retrying...")
    rt.service.retry(job_id)
    final = watch_job(rt.store, job_id, console, timeout=300, since=final["version"])
    if final is None or final["status"] != "COMPLETE":
        return 1
    console.print(f"attempt {final['attempt']} reached COMPLETE")
    render_result(console, final)
    return 0


class Stopped(Exception):
    """A stop signal arrived (SIGTERM, SIGHUP): unwind and stop what the demo started."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stopped(signum: int, _frame: object) -> None:
    raise Stopped(signum)


@contextmanager
def _stop_on_signals() -> Iterator[None]:
    """Turn SIGTERM and SIGHUP into :class:`Stopped` while the demo runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {sig: signal.signal(sig, _raise_stopped) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def run_demo(fail_at: str | None = None, ui_port: int = 0, keep_open: bool = False) -> int:
    """Run the demo; returns the exit code (0 at COMPLETE, 128+N after signal N).

    Ctrl-C, SIGTERM and SIGHUP all stop everything the demo started: UI, worker and its
    children, sample server and Redis.
    """
    console = Console()
    try:
        with _stop_on_signals():
            return _run(console, fail_at, ui_port, keep_open)
    except KeyboardInterrupt:
        console.print("interrupted: everything the demo started is stopped")
        return 130
    except Stopped as stop:
        console.print(f"{stop}: everything the demo started is stopped")
        return 128 + stop.signum


def _run(console: Console, fail_at: str | None, ui_port: int, keep_open: bool) -> int:
    with ExitStack() as stack:
        stack.callback(console.print, "stopping the demo's processes...")
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jobstate-")))
        url = stack.enter_context(embedded_redis(workdir, console))
        sample = stack.enter_context(SampleServer(sample_path()))
        settings = Settings.from_env(
            redis_url=url,
            work_dir=str(workdir / "work"),
            allow_hosts=(sample.host,),
            queue="jobstate-demo",
            heartbeat_seconds=1.0,
        )
        rt = build_runtime(settings)
        stack.callback(rt.close)
        worker = _start_worker(settings, rt, workdir, console)
        stack.callback(worker.stop)
        from ui.server import start_in_thread

        ui = start_in_thread(rt.service, port=ui_port)
        stack.callback(ui.stop)
        console.print(f"UI: {ui.url}")
        code = (
            _run_failing_job(rt, sample.url, fail_at, console)
            if fail_at
            else _run_job(rt, sample.url, console)
        )
        if keep_open:
            console.print(f"serving the UI at {ui.url} - press Ctrl-C to stop")
            with suppress(KeyboardInterrupt):
                threading.Event().wait()
        return code
    return 1  # pragma: no cover - ExitStack does not swallow exceptions
