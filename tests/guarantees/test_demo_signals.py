"""``jobstate demo`` stopped by a signal stops everything it started (no orphans).

``timeout``, a container stop and service managers send SIGTERM, a closed terminal SIGHUP:
each must unwind like Ctrl-C, stopping the prefork worker, its children and redis-server.
Slip this catches: handling only KeyboardInterrupt, so SIGTERM kills the demo's own
process and leaves the worker (started in its own session) and Redis running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.waiting import wait_until

pytestmark = [pytest.mark.prefork]


def _children(pid: int) -> set[int]:
    """Every live descendant of ``pid`` (read from /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier}
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_signalled_demo_leaves_no_process_behind(tmp_path: Path, sig: signal.Signals) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTATE_")}
    env["COLUMNS"] = "200"
    log = tmp_path / "demo.log"
    with log.open("w") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "demo", "--keep-open"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_until(lambda: "UI: http" in log.read_text(), timeout=120, what="the demo's UI")
        started = _children(demo.pid)
        names = {Path(f"/proc/{p}/comm").read_text().strip() for p in started if _alive(p)}
        assert "redis-server" in names, names
        assert len(started) >= 4, names  # redis-server, worker parent, two pool children
        demo.send_signal(sig)
        code = demo.wait(timeout=60)
    finally:
        if demo.poll() is None:
            demo.kill()
    assert code != 0, log.read_text()
    wait_until(
        lambda: not [p for p in started if _alive(p)], timeout=30, what="the demo's processes"
    )
    assert "stopping" in log.read_text().lower()
