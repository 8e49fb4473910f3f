"""The README's Python examples run as written (on fakeredis)."""

from __future__ import annotations

import re
from pathlib import Path

import fakeredis
import pytest
import redis

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_the_store_and_tracking_examples() -> None:
    assert any("JobStore(" in b for b in BLOCKS)
    assert any("Tracker(" in b for b in BLOCKS)


@pytest.mark.parametrize("block", [b for b in BLOCKS if "def test_" not in b])
def test_readme_example_runs(
    block: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    server = fakeredis.FakeServer()
    monkeypatch.setattr(redis, "Redis", lambda *a, **k: fakeredis.FakeRedis(server=server))
    exec(compile(block, str(README), "exec"), {})  # noqa: S102 - our own documentation
    if "JobStore(" in block:
        out = capsys.readouterr().out
        assert "'status': 'INIT'" in out
        assert "'attempt': 2" in out
