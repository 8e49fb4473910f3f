"""``jobstate demo`` end to end: embedded Redis, prefork worker, sample server, UI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.prefork, pytest.mark.slow]


def _demo(*args: str, path: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JOBSTATE_")}
    env["COLUMNS"] = "120"
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [sys.executable, "-m", "pipeline.cli", "demo", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        check=False,
    )


def test_demo_completes_a_real_job() -> None:
    result = _demo()
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    for status in (
        "DOWNLOADING",
        "TRANSCRIBING",
        "GENERATING_QUOTES",
        "GENERATING_SUMMARY",
        "COMPLETE",
    ):
        assert f"-> {status}" in out
    assert "UI: http://127.0.0.1:" in out
    transcript = out.split("Transcript:", 1)[1].split("Quotes:", 1)[0]
    assert transcript.strip()


def test_demo_fail_at_shows_error_then_retry() -> None:
    result = _demo("--fail-at", "TRANSCRIBING")
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "ERROR shown: TRANSCRIBING: InjectedFault" in out
    assert "attempt 2 reached COMPLETE" in out


def test_demo_without_redis_server_falls_back_to_fakeredis(tmp_path: Path) -> None:
    # PATH holds only a link to this interpreter: no redis-server to be found.
    (tmp_path / "python").symlink_to(sys.executable)
    result = _demo(path=str(tmp_path))
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "redis-server not found: using fakeredis's TCP server" in out
    assert "-> COMPLETE" in out
