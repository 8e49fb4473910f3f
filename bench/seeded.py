"""Seeded bugs: does the suite notice each one?

``bench/seeded_bugs.json`` lists realistic one-spot bugs of the kinds the project exists to
catch (a fencing check dropped, a history entry lost, a page that stops polling, text
rendered as HTML, a secret left in a log...). Each is planted in a scratch worktree of
the current commit, the tests it names run (``-x``), and the bug counts as *caught* when
they fail. Prints one line per bug and the share caught.

Run: ``python bench/seeded.py`` (``--only core-01,ui-04`` for some; ``--marks`` to run
fewer tiers; ``--all-tests`` to run the whole suite for each bug instead of its own
tests). A bug that no test catches is a test to write; a bug that no longer applies
(the code it seeds moved) is a line of the list to update.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BUGS = Path(__file__).with_name("seeded_bugs.json")
WIDE = "not scale and not slow"


@dataclass(frozen=True)
class Bug:
    """One seeded bug: replace ``old`` (found exactly once) by ``new`` in ``path``."""

    id: str
    path: str
    old: str
    new: str
    why: str
    tests: tuple[str, ...]

    def planted(self, text: str) -> str | None:
        """``text`` with the bug planted, or None when ``old`` is not found exactly once."""
        return text.replace(self.old, self.new) if text.count(self.old) == 1 else None


def load(path: Path = BUGS) -> list[Bug]:
    """The seeded bugs listed in ``path``."""
    raw: list[dict[str, Any]] = json.loads(path.read_text())
    return [Bug(b["id"], b["path"], b["old"], b["new"], b["why"], tuple(b["tests"])) for b in raw]


def run_one(bug: Bug, tree: Path, marks: str, whole: bool) -> tuple[str, float, str]:
    """Plant ``bug`` in ``tree``, run its tests, put the file back: (verdict, s, last line)."""
    target = tree / bug.path
    original = target.read_text()
    planted = bug.planted(original)
    if planted is None:
        return "no longer applies", 0.0, f"{bug.old[:40]!r} is not in {bug.path} once"
    target.write_text(planted)
    tests = ["tests"] if whole else list(bug.tests)
    command = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:randomly", "-m", marks]
    start = time.monotonic()
    try:
        done = subprocess.run(
            [*command, "-n", "2", *tests], cwd=tree, capture_output=True, text=True, timeout=1800
        )
    finally:
        target.write_text(original)
    # pytest's summary is its stdout's last line; stderr may end with what the interpreter
    # printed on its way out (an unraisable warning), which says nothing of the verdict.
    lines = done.stdout.strip().splitlines() or done.stderr.strip().splitlines()
    last = lines[-1] if lines else ""
    verdict = {0: "MISSED", 5: "no tests ran"}.get(done.returncode, "error")
    if done.returncode in (1, 2) and " failed" in last:  # 2: stopped by -x under xdist
        verdict = "caught"
    return verdict, time.monotonic() - start, last


def main() -> None:
    """Plant each listed bug in turn and print whether the suite caught it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="", help="comma-separated bug ids")
    parser.add_argument("--marks", default=WIDE, help=f"pytest -m (default {WIDE!r})")
    parser.add_argument("--all-tests", action="store_true", help="run all of tests/ per bug")
    args = parser.parse_args()
    bugs = load()
    if args.only:
        wanted = set(args.only.split(","))
        bugs = [b for b in bugs if b.id in wanted]
    tally: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(tree), "HEAD"],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        try:
            for bug in bugs:
                verdict, secs, last = run_one(bug, tree, args.marks, args.all_tests)
                tally[verdict] = tally.get(verdict, 0) + 1
                print(f"{bug.id:<8} {verdict:<18} {secs:6.0f} s  {bug.why[:70]}  | {last}")
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT)
    caught = tally.get("caught", 0)
    print(
        f"seeded bugs caught: {caught} of {len(bugs)} ({caught / max(len(bugs), 1):.0%}); {tally}"
    )


if __name__ == "__main__":
    main()
