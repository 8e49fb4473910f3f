"""Pick the Chromium that UI tests launch, and its launch options (no pytest in here).

Playwright's own Chromium is used when it is installed; otherwise a system Chromium
(Debian's ``/usr/bin/chromium`` or one of the usual names on PATH). The choice comes from
the ``browser`` option: ``auto`` (detect) or a path / command name.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AUTO",
    "LAUNCH_FLAGS",
    "SYSTEM_CANDIDATES",
    "BrowserChoice",
    "BrowserNotFound",
    "choose_browser",
    "launch_options",
]

AUTO = "auto"
SYSTEM_CANDIDATES: tuple[str, ...] = (
    "/usr/bin/chromium",
    "chromium",
    "chromium-browser",
    "google-chrome",
    "google-chrome-stable",
)
# Running as root needs --no-sandbox; the rest keep a closed network quiet and fast.
LAUNCH_FLAGS: tuple[str, ...] = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
INSTALL_HINT = (
    "install one with `apt-get install chromium` (Debian/Ubuntu) or "
    "`playwright install chromium`, or point --jobstate-browser "
    "(env JOBSTATE_BROWSER, ini jobstate_browser) at a Chromium binary"
)

Which = Callable[[str], str | None]


class BrowserNotFound(RuntimeError):
    """No usable Chromium: the message says how to install or point at one."""


@dataclass(frozen=True)
class BrowserChoice:
    """The browser to launch: ``executable`` is ``None`` for Playwright's own build."""

    executable: str | None
    how: str

    def describe(self) -> str:
        """One line for logs: which binary and why it was chosen."""
        return f"{self.executable or 'playwright chromium'} ({self.how})"


def _runnable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def _resolve(name: str, which: Which) -> str | None:
    if os.sep in name:
        return name if _runnable(name) else None
    return which(name)


def _system_browser(candidates: Sequence[str], which: Which) -> str | None:
    for name in candidates:
        found = _resolve(name, which)
        if found:
            return found
    return None


def choose_browser(
    setting: str,
    bundled: str | None,
    *,
    source: str = "default",
    candidates: Sequence[str] = SYSTEM_CANDIDATES,
    which: Which = shutil.which,
) -> BrowserChoice:
    """Decide which Chromium to launch.

    ``setting`` is the ``browser`` option (``auto``, a path or a command name) and
    ``source`` where it came from; ``bundled`` is Playwright's Chromium path (it may not
    exist). Raises :class:`BrowserNotFound` with install instructions when nothing fits.
    """
    if setting != AUTO:
        found = _resolve(setting, which)
        if found is None:
            raise BrowserNotFound(
                f"--jobstate-browser={setting!r} (from {source}) is not an executable "
                f"file or a command on PATH: {INSTALL_HINT}"
            )
        return BrowserChoice(found, f"--jobstate-browser from {source}")
    if bundled and _runnable(bundled):
        return BrowserChoice(None, "playwright's own chromium")
    found = _system_browser(candidates, which)
    if found is None:
        tried = ", ".join(candidates)
        raise BrowserNotFound(f"no Chromium found (tried {tried}): {INSTALL_HINT}")
    return BrowserChoice(found, "system chromium, playwright's is not installed")


def launch_options(choice: BrowserChoice, extra_args: Sequence[str] = ()) -> dict[str, Any]:
    """Keyword arguments for ``BrowserType.launch``: headless, flags, maybe the binary."""
    options: dict[str, Any] = {"headless": True, "args": [*LAUNCH_FLAGS, *extra_args]}
    if choice.executable is not None:
        options["executable_path"] = choice.executable
    return options
