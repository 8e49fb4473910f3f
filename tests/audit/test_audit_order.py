"""The audit's verdict does not depend on which cells ran before a cell.

Celery caches a task's send options (its time limits among them) at the task's first
send. A time-limit cell after any other cell once sent its first stage with the app's
long limit, and the stage outlasted the short one: a red cell that depended on order.
"""

from __future__ import annotations

import json

import pytest

from tests.audit import user_apps
from tests.plugin.user_project import clear_jobstate_env, run, write_module

pytestmark = pytest.mark.prefork


@pytest.mark.parametrize("order", ["exception first", "time-limit first"])
def test_the_time_limit_cells_pass_whatever_ran_before_them(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    clear_jobstate_env(monkeypatch)
    write_module(pytester.path, "mine", user_apps.HONEST)
    pytester.makeini("[pytest]\njobstate_app = mine:app\n")
    limit_last = order == "exception first"
    reorder = (
        "def pytest_collection_modifyitems(items):\n"
        f"    items.sort(key=lambda item: ('TestTimeLimit' in item.nodeid) == {limit_last})\n"
    )
    pytester.makeconftest(reorder)
    result = run(
        pytester,
        "-p",
        "no:randomly",
        "--jobstate-audit",
        "--jobstate-audit-faults=exception,time-limit",
        "-k",
        "fault_at",
    )
    card = json.loads((pytester.path / "test-results" / "audit.json").read_text("utf-8"))
    limited = [c for c in card["cells"] if c["fault"] == "time-limit"]
    assert [(c["verdict"], c["ended_by"]) for c in limited] == [("pass", "parent")] * 2, limited
    assert result.ret == 0
