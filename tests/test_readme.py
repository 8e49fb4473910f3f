"""The README's Python examples run as written: the store and tracking ones on fakeredis,
the plugin one through pytester against the tracking example's app, in every mode."""

from __future__ import annotations

import re
from pathlib import Path

import fakeredis
import pytest
import redis

from tests.plugin.user_project import clear_jobstate_env, run, write_module

README = Path(__file__).resolve().parents[1] / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)
INI_BLOCKS = re.findall(r"```ini\n(.*?)```", TEXT, re.S)
TRACKING = next((b for b in BLOCKS if "Tracker(" in b), "")
PLUGIN_TESTS = [b for b in BLOCKS if "def test_" in b]
DEFAULT_APP = "mypipeline:app"

MODES = [
    pytest.param("eager", id="eager"),
    pytest.param("thread", id="thread", marks=pytest.mark.integration),
    pytest.param("prefork", id="prefork", marks=pytest.mark.prefork),
]


def test_readme_has_the_store_tracking_and_plugin_examples() -> None:
    assert any("JobStore(" in b for b in BLOCKS)
    assert TRACKING
    assert PLUGIN_TESTS


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


def _plugin_ini() -> str:
    """The README's pytest settings for the plugin, else the app named by the default."""
    for block in INI_BLOCKS:
        if "jobstate_app" in block:
            return block if block.lstrip().startswith("[") else f"[pytest]\n{block}"
    return f"[pytest]\njobstate_app = {DEFAULT_APP}\n"


def _app_module(ini: str) -> str:
    found = re.search(r"jobstate_app\s*=\s*([\w.]+):", ini)
    assert found, f"no jobstate_app = module:attribute in {ini!r}"
    return found.group(1)


@pytest.mark.parametrize("mode", MODES)
def test_readme_plugin_example_runs_under_the_plugin(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    clear_jobstate_env(monkeypatch)
    ini = _plugin_ini()
    write_module(pytester.path, _app_module(ini), TRACKING)
    (pytester.path / "pytest.ini").write_text(ini, encoding="utf-8")
    for i, block in enumerate(PLUGIN_TESTS):
        pytester.makepyfile(**{f"test_readme_{i}": block})
    args = [f"--jobstate-celery={mode}"]
    if mode != "eager":
        args.append("--jobstate-redis=server")
    result = run(pytester, *args)
    tests = sum(len(re.findall(r"^def test_", b, re.M)) for b in PLUGIN_TESTS)
    result.assert_outcomes(passed=tests)
