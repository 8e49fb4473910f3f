"""The seeded-bug list (bench/seeded_bugs.json) still seeds the code as it is today.

``python bench/seeded.py`` plants each bug and runs the tests it names; a bug whose code
moved would be skipped there as "no longer applies" and the suite's reach would shrink
unseen. Here every bug must still plant, once, into a file that still compiles.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.seeded import ROOT, Bug, load

BUGS = load()


def test_the_list_names_each_bug_once() -> None:
    ids = [b.id for b in BUGS]
    assert len(ids) == len(set(ids))
    assert len(BUGS) >= 110


@pytest.mark.parametrize("bug", BUGS, ids=[b.id for b in BUGS])
def test_each_seeded_bug_still_plants_into_code_that_compiles(bug: Bug) -> None:
    source = (ROOT / bug.path).read_text()
    planted = bug.planted(source)
    assert planted is not None, f"{bug.id}: {bug.old[:60]!r} is not in {bug.path} exactly once"
    assert planted != source
    if bug.path.endswith(".py"):
        compile(planted, bug.path, "exec")
    for test in bug.tests:
        assert (ROOT / test.split("::")[0]).exists(), f"{bug.id}: no {test}"
    assert Path(bug.path).parts[0] in {"pipeline", "ui", "harness"}
