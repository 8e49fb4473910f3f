"""``jobstate serve``'s numbers at their bounds, and settings Celery cannot use named in
one line by every command that builds the app."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
from click.testing import CliRunner

import ui.server
from pipeline import cli as cli_module
from pipeline.cli import MAX_UI_WORKERS, cli

NOWHERE = {"JOBSTATE_REDIS_URL": "redis://127.0.0.1:1/0"}


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """Function: what ``jobstate serve`` would start, recorded instead of served."""
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr(ui.server, "serve", lambda service, host, port: calls.append(("one", port)))
    monkeypatch.setattr(
        ui.server, "serve_workers", lambda n, host, port, **_: calls.append(("many", (n, port)))
    )

    class Closing:
        service = None

        def close(self) -> None:
            pass

    monkeypatch.setattr(cli_module, "_runtime", lambda target: Closing())
    return calls


@pytest.mark.parametrize(
    ("args", "started"),
    [
        (["--port", "0"], ("one", 0)),
        (["--port", "65535"], ("one", 65535)),
        (["--port", "65536"], None),
        (["--port", "-1"], None),
        (["--workers", str(MAX_UI_WORKERS)], ("many", (MAX_UI_WORKERS, 8000))),
        (["--workers", str(MAX_UI_WORKERS + 1)], None),
        (["--workers", "0"], None),
    ],
)
def test_serve_takes_its_numbers_up_to_their_bound_and_no_further(
    served: list[tuple[str, Any]], args: list[str], started: tuple[str, Any] | None
) -> None:
    result = CliRunner().invoke(cli, ["serve", *args], env=NOWHERE)
    if started is None:
        assert result.exit_code == 2, result.output
        assert f"Invalid value for '{args[0]}'" in result.output
        assert served == []
    else:
        assert result.exit_code == 0, result.output
        assert served == [started]


@pytest.mark.parametrize(
    "env",
    [
        {"JOBSTATE_CLUSTER": "1"},
        {"JOBSTATE_REDIS_URL": "redis+sentinel://:pw@127.0.0.1:1/mymaster"},
    ],
    ids=["cluster", "sentinel"],
)
@pytest.mark.parametrize("command", [["status", "abc"], ["submit", "https://example.com/a"]])
def test_a_store_celery_cannot_share_is_one_error_line_naming_what_to_set(
    env: dict[str, str], command: list[str]
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pipeline.cli", *command],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("JOBSTATE_")}, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stdout + done.stderr
    lines = (done.stdout + done.stderr).strip().splitlines()
    assert len(lines) == 1, lines
    assert "set JOBSTATE_BROKER_URL and JOBSTATE_RESULT_URL" in lines[0]
    assert "pw" not in lines[0]
