"""Which Chromium the UI tests launch, and the error when there is none."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.testing.browser.choice import (
    LAUNCH_FLAGS,
    BrowserChoice,
    BrowserNotFound,
    choose_browser,
    launch_options,
)


def _exe(tmp_path: Path, name: str) -> str:
    path = tmp_path / name
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


def _nothing_on_path(_: str) -> None:
    return None


def test_auto_prefers_playwrights_own_chromium(tmp_path: Path) -> None:
    bundled = _exe(tmp_path, "chrome")
    choice = choose_browser("auto", bundled, which=_nothing_on_path)
    assert choice == BrowserChoice(None, "playwright's own chromium")
    assert "executable_path" not in launch_options(choice)


def test_auto_falls_back_to_a_system_chromium(tmp_path: Path) -> None:
    system = _exe(tmp_path, "chromium")
    missing = str(tmp_path / "not-installed" / "chrome")
    choice = choose_browser(
        "auto",
        missing,
        candidates=("/nope/chromium", "chromium"),
        which=lambda name: system if name == "chromium" else None,
    )
    assert choice.executable == system
    options = launch_options(choice)
    assert options["executable_path"] == system
    assert options["headless"] is True
    assert options["args"] == list(LAUNCH_FLAGS)
    assert {"--no-sandbox", "--disable-gpu"} <= set(options["args"])


def test_an_explicit_path_wins(tmp_path: Path) -> None:
    mine = _exe(tmp_path, "my-chrome")
    bundled = _exe(tmp_path, "chrome")
    choice = choose_browser(mine, bundled, source="env", which=_nothing_on_path)
    assert choice.executable == mine
    assert "env" in choice.how


def test_no_browser_is_an_error_that_says_how_to_install_one(tmp_path: Path) -> None:
    with pytest.raises(BrowserNotFound) as caught:
        choose_browser(
            "auto", str(tmp_path / "none"), candidates=("chromium",), which=_nothing_on_path
        )
    text = str(caught.value)
    assert "apt-get install chromium" in text
    assert "playwright install chromium" in text


def test_a_wrong_explicit_path_names_the_setting(tmp_path: Path) -> None:
    with pytest.raises(BrowserNotFound, match=r"--jobstate-browser='/no/such' \(from cli\)"):
        choose_browser("/no/such", None, source="cli", which=_nothing_on_path)
