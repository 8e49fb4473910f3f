"""Without the ``media`` extra everything imports, and transcribing names the extra."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from pipeline.assets import sample_path
from pipeline.stages.stage_errors import TranscriptionError
from pipeline.stages.transcribe import MEDIA_EXTRA, decode_audio, transcribe

ROOT = Path(__file__).resolve().parents[2]
MEDIA = ("av", "numpy", "pocketsphinx")


@pytest.mark.parametrize("missing", MEDIA)
def test_transcribing_without_the_extra_names_it(
    missing: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, missing, None)  # "import av" now raises ImportError
    with pytest.raises(TranscriptionError) as caught:
        transcribe(sample_path())
    assert f"({missing} is not installed)" in str(caught.value)
    assert str(caught.value).endswith("pip install 'pytest-jobstate[media]'")


def test_decoding_without_av_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "av", None)
    with pytest.raises(TranscriptionError, match=r"media extra \(av is not installed\)"):
        decode_audio(sample_path())


def test_the_plugin_the_library_and_the_ui_import_without_the_media_stack() -> None:
    blocker = (
        "import sys\n"
        "class Block:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name.partition('.')[0] in {MEDIA!r}:\n"
        "            raise ImportError(f'no module named {name}')\n"
        "sys.meta_path.insert(0, Block())\n"
        "import pipeline, pipeline.celery_app, pipeline.cli, pipeline.media, pipeline.demo\n"
        "import harness.plugin, harness.machines, harness.strategies, ui.app\n"
        f"print('imported', sorted(m for m in sys.modules if m in {MEDIA!r}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", blocker], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imported []"


def test_the_base_install_has_no_media_stack_and_the_extra_does() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = {_name(req) for req in project["dependencies"]}
    assert base.isdisjoint(MEDIA)
    assert {"pytest", "fakeredis", "hypothesis", "celery", "redis"} <= base
    assert {_name(req) for req in project["optional-dependencies"]["media"]} == set(MEDIA)
    assert "pytest-jobstate[media]" in MEDIA_EXTRA


def _name(requirement: str) -> str:
    for stop in "[<>=!~ ;":
        requirement = requirement.split(stop, 1)[0]
    return requirement.strip().lower()


def test_the_demo_without_the_extra_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from click.testing import CliRunner

    from pipeline.cli import cli

    monkeypatch.setitem(sys.modules, "pocketsphinx", None)
    out = CliRunner().invoke(cli, ["demo"])
    assert out.exit_code == 1
    assert "jobstate demo: transcribing needs the media extra (pocketsphinx" in out.output
    assert "pip install 'pytest-jobstate[media]'" in out.output
