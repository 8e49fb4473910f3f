"""The chaos summary, driven through pytester: rows, failures, the table and its files."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.plugin.user_project import REVERSED_ORDER, run_here

pytest_plugins = ["pytester"]

REPO = Path(__file__).resolve().parents[2]
RUN = ("-p", "no:cacheprovider", "-p", "no:benchmark", "-p", "no:xdist")

SCENARIOS = """
def test_clean(job_runner, chaos_scenario):
    scenario = chaos_scenario("two good jobs", ["none", "really none"])
    for name in ("a", "b"):
        job_runner.run(f"http://example.com/{name}.mp3", timeout=30)
    scenario.figure("p99 ms", 1.5)

def test_failed_stage(job_runner, chaos_scenario, fault_injector):
    chaos_scenario("stage fails", "fail at TRANSCRIBING")
    fault_injector.fail_at("TRANSCRIBING")
    assert job_runner.run("http://example.com/c.mp3", timeout=30)["status"] == "ERROR"

def test_stuck(job_runner, chaos_scenario, state_store):
    scenario = chaos_scenario("one left behind", "never sent")
    job_runner.run("http://example.com/a.mp3", timeout=30)
    scenario.track(state_store.create("http://example.com/b.mp3").job_id)

def test_lost(job_runner, chaos_scenario, state_store, redis_client):
    chaos_scenario("result wiped", "result field emptied")
    record = job_runner.run("http://example.com/a.mp3", timeout=30)
    redis_client.hset(state_store.keys.state(record["job_id"]), "result", "")

def test_twice(chaos_scenario):
    chaos_scenario("first", "x")
    chaos_scenario("second", "y")
"""


@pytest.fixture
def probe_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the plugin at the probe app (no network needed), importable from this repo."""
    pytester.makeini("""
        [pytest]
        jobstate_app = tests.pipeline.apps:create_probe_app
    """)
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def test_scenarios_are_judged_tabled_and_written(
    pytester: pytest.Pytester, probe_ini: None
) -> None:
    pytester.makepyfile(SCENARIOS)
    # The tests run last to first: the table still follows the order they are written in.
    pytester.makeconftest(REVERSED_ORDER)
    result = run_here(pytester, *RUN, "-p", "no:randomly")
    result.assert_outcomes(passed=2, failed=3)
    # Stuck or lost jobs fail the test that left them, naming each job and why.
    result.stdout.fnmatch_lines(
        [
            "*ChaosCheckFailed: chaos scenario 'one left behind': 1 stuck, 0 illegal, 0 lost"
            " of 2 jobs",
            "*job *: stuck in INIT",
        ]
    )
    result.stdout.fnmatch_lines(
        ["*'result wiped': 0 stuck, 0 illegal, 1 lost of 1 jobs*", "*result is gone*"]
    )
    result.stdout.fnmatch_lines(["*UsageError: chaos_scenario: one scenario per test*"])
    # The table ends the run, one row per scenario (a failed test's row too).
    result.stdout.fnmatch_lines(
        [
            "*= jobstate chaos summary =*",
            "scenario*faults injected*jobs*terminal*stuck*illegal transitions*lost results",
            "two good jobs*none, really none*2*2*0*0*0",
            "stage fails*fail at TRANSCRIBING*1*1*0*0*0",
            "one left behind*never sent*2*1*1*0*0",
            "result wiped*result field emptied*1*1*0*0*1",
            "first*x*0*0*0*0*0",
            "two good jobs: p99 ms = 1.5",
            "written: *chaos-summary.md, *chaos-summary.json",
        ]
    )
    result.stdout.fnmatch_lines(["FAILED *::test_stuck*"])
    result.stdout.fnmatch_lines(["FAILED *::test_lost*"])
    folder = pytester.path / "test-results"
    rows = json.loads((folder / "chaos-summary.json").read_text())["rows"]
    assert [(r["scenario"], r["jobs"], r["terminal"], r["stuck"], r["lost"]) for r in rows] == [
        ("two good jobs", 2, 2, 0, 0),
        ("stage fails", 1, 1, 0, 0),
        ("one left behind", 2, 1, 1, 0),
        ("result wiped", 1, 1, 0, 1),
        ("first", 0, 0, 0, 0),
    ]
    assert rows[0]["figures"] == {"p99 ms": 1.5}
    assert rows[1]["test"].endswith("::test_failed_stage")
    md = (folder / "chaos-summary.md").read_text()
    assert "| two good jobs | none, really none | 2 | 2 | 0 | 0 | 0 |" in md
    assert "- two good jobs: p99 ms = 1.5" in md


def test_no_scenario_no_table(pytester: pytest.Pytester, probe_ini: None) -> None:
    pytester.makepyfile("""
        def test_plain(job_runner):
            job_runner.run("http://example.com/a.mp3", timeout=30)
    """)
    result = run_here(pytester, *RUN)
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*jobstate chaos summary*")
    assert not (pytester.path / "test-results").exists()
