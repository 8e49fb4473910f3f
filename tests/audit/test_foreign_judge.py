"""The verdict on an app with its own state: every finding names one of the four bug kinds.

Pure tests over sampled stories and Celery logs (no Redis, no worker): each finding at
its bound, and a property over any sequence of statuses.
"""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from harness.adapter import JobReading, TaskEvent
from harness.testing.audit.foreign.judge import (
    API_LAG_SECONDS,
    WAY_OVER,
    WRITE_LATENCY_SECONDS,
    ForeignJob,
    judge_foreign_cell,
    struck_stage,
)
from harness.testing.audit.foreign.sampler import ApiSpan, Change, SampleStats
from harness.testing.audit.report.card import BUG_KINDS, Cell
from pipeline.workflow import Workflow

WF = Workflow.linear(
    "shop",
    initial=("QUEUED", "Queued"),
    stages={"RESIZING": "Resizing", "UPLOADING": "Uploading"},
    done=("DONE", "Done"),
    error=("FAILED", "Failed"),
)
TASK = "shop.resize"


def _job(
    statuses: list[str],
    *,
    events: list[TaskEvent] | None = None,
    result: bool = True,
    error: str | None = None,
    spans: list[ApiSpan] | None = None,
) -> ForeignJob:
    changes = []
    for i, status in enumerate(statuses):
        held = result and status == "DONE"
        err = error if status == "FAILED" else None
        changes.append(
            Change(i * 0.01, JobReading(status, err, {"k": 1} if held else None), 100.0 + i)
        )
    return ForeignJob("job-1", changes, spans or [], events=events or [])


def _event(event: str, at: float = 100.0, task: str = TASK, error: str = "") -> TaskEvent:
    return TaskEvent(event, task, "t-1", "job-1", '["job-1"]', error, 7, at)


def _judge(job: ForeignJob, fault: str = "exception", fired: int = 1, **kw: object) -> Cell:
    return judge_foreign_cell(WF, "RESIZING", TASK, fault, job, fired=fired, settle=3.0, **kw)  # type: ignore[arg-type]


def _kinds(cell: Cell) -> list[str]:
    return [bug["kind"] for bug in cell.bugs]


def test_a_job_that_runs_its_course_passes() -> None:
    job = _job(
        ["QUEUED", "RESIZING", "UPLOADING", "DONE"], events=[_event("started"), _event("succeeded")]
    )
    cell = _judge(job, fault="duplicate-delivery")
    assert (cell.verdict, cell.reasons, cell.bugs) == ("pass", [], [])
    assert cell.final_status == "DONE"


def test_a_job_left_running_with_no_failure_was_lost_at_a_hand_off() -> None:
    cell = _judge(_job(["QUEUED", "RESIZING"]), fault="worker-killed")
    assert _kinds(cell) == ["lost-at-handoff"]
    assert "stuck in RESIZING" in cell.reasons[0]
    assert cell.bugs[0]["way_over"] == WAY_OVER["stuck"]


def test_a_failure_celery_knows_and_the_state_does_not_is_an_error_not_propagated() -> None:
    events = [_event("started"), _event("failed", error="WorkerLostError: lost")]
    cell = _judge(_job(["QUEUED", "RESIZING"], events=events), fault="child-killed")
    assert _kinds(cell) == ["errors-not-propagated"]
    assert "WorkerLostError" in cell.reasons[0]
    assert "still says RESIZING" in cell.reasons[0]


def test_an_exception_the_task_caught_is_an_error_not_propagated_wherever_the_job_stops() -> None:
    events = [_event("started"), _event("succeeded")]
    for statuses in (["QUEUED", "RESIZING"], ["QUEUED", "RESIZING", "UPLOADING", "DONE"]):
        cell = _judge(_job(statuses, events=events), fault="exception")
        assert _kinds(cell) == ["errors-not-propagated"], statuses
        assert "caught the error" in cell.reasons[0]


def test_an_exception_that_never_fired_is_no_finding_but_says_so() -> None:
    events = [_event("started"), _event("succeeded")]
    cell = _judge(_job(["QUEUED", "RESIZING", "UPLOADING", "DONE"], events=events), fired=0)
    assert cell.bugs == []
    assert cell.reasons == [f"the fault never fired: {TASK} did not run in this cell"]


def test_a_status_after_the_final_one_is_an_inconsistent_update() -> None:
    starts = [_event("started", 100), _event("started", 100.1), _event("succeeded", 100.2)]
    job = _job(
        ["QUEUED", "RESIZING", "UPLOADING", "DONE", "RESIZING", "UPLOADING", "DONE"], events=starts
    )
    cell = _judge(job, fault="duplicate-delivery")
    assert _kinds(cell) == ["inconsistent-updates"]
    assert "from DONE back to RESIZING after it was final" in cell.reasons[0]
    assert "two runs of shop.resize were under way" in cell.reasons[0]


def test_only_the_error_status_may_go_back_to_the_initial_one() -> None:
    """FAILED -> QUEUED is a retry; DONE -> QUEUED is a finished job restarted by a late
    write, whatever it looks like."""
    retried = _judge(
        _job(["QUEUED", "RESIZING", "FAILED", "QUEUED", "RESIZING", "UPLOADING", "DONE"]),
        "redis-restart",
    )
    assert "inconsistent-updates" not in _kinds(retried), retried.reasons
    twice = ["QUEUED", "RESIZING", "UPLOADING", "DONE"] * 2
    restarted = _judge(_job(twice), "redis-restart")
    assert _kinds(restarted) == ["inconsistent-updates"], restarted.reasons
    assert "from DONE back to QUEUED after it was final" in restarted.reasons[0]


def test_a_status_moving_backwards_is_an_inconsistent_update() -> None:
    cell = _judge(
        _job(["QUEUED", "RESIZING", "UPLOADING", "RESIZING", "UPLOADING", "DONE"]), "redis-restart"
    )
    assert _kinds(cell) == ["inconsistent-updates"]
    assert "from UPLOADING back to RESIZING" in cell.reasons[0]


def test_a_status_never_shown_is_a_transition_lost_at_a_hand_off() -> None:
    cell = _judge(_job(["QUEUED", "UPLOADING", "DONE"]), fault="redis-restart")
    assert _kinds(cell) == ["lost-at-handoff"]
    assert "RESIZING never showed" in cell.reasons[0]
    assert "read" in cell.reasons[0]  # how often the store was read is part of the finding


TASKS = {"RESIZING": TASK, "UPLOADING": "shop.upload"}


def _gap_job(resize_began: float, resize_ended: float, again: float = 0.0) -> ForeignJob:
    """QUEUED read at 100.00; the next read (began then, done at 100.05) shows UPLOADING;
    ``shop.resize`` ran from ``resize_began`` to ``resize_ended`` (and began once more
    at ``again``, a redelivery, when given)."""
    reading = JobReading("QUEUED", None, None)
    changes = [
        Change(0.0, reading, 100.0),
        Change(0.05, JobReading("UPLOADING", None, None), 100.05, 100.0),
        Change(0.09, JobReading("DONE", None, {"k": 1}), 100.09, 100.08),
    ]
    events = [
        _event("started", resize_began),
        _event("succeeded", resize_ended),
        _event("started", 100.04, "shop.upload"),
        _event("succeeded", 100.08, "shop.upload"),
    ]
    if again:
        events.append(_event("started", again))
    return ForeignJob("job-1", changes, events=events)


def test_a_status_whose_task_began_between_two_reads_is_told_not_found() -> None:
    # At the bound: the run begins exactly at the earlier read, or exactly at the later
    # one; its end is logged after the job moved on (as Celery logs it, after the result
    # is written). Slip: a status the sampling could not see called a lost transition.
    # A redelivery that began after the job moved on plays no part in this step; a run
    # that began up to WRITE_LATENCY_SECONDS before the earlier read may still have
    # written its status after that read.
    for job in (
        _gap_job(100.0 - WRITE_LATENCY_SECONDS, 100.06),
        _gap_job(100.05, 100.07),
        _gap_job(100.01, 100.02, 100.2),
    ):
        cell = _judge(job, fault="redis-restart", stage_tasks=TASKS)
        assert cell.bugs == []
        assert cell.verdict == "pass", cell.reasons
        assert "RESIZING may have shown between two reads 50.0 ms apart" in cell.sampled
        assert "shop.resize began inside that gap" in cell.sampled


def test_the_allowance_for_a_late_write_grows_with_the_longest_gap_between_reads() -> None:
    # A loaded machine reads and writes slowly alike: with a longest gap of 100 ms, a run
    # that began 200 ms before the earlier read may still have written after it; 201 not.
    for began, kinds in ((99.8, []), (99.799, ["lost-at-handoff"])):
        job = _gap_job(began, 100.06)
        job.stats = SampleStats(reads=10, max_gap_ms=100.0)
        cell = _judge(job, fault="redis-restart", stage_tasks=TASKS)
        assert _kinds(cell) == kinds, (began, cell.reasons)


def test_a_status_whose_task_began_outside_the_gap_is_a_transition_lost() -> None:
    # One past the bound on each side: the task was running well before a read that showed
    # QUEUED, or began only after UPLOADING showed; no task known: no excuse either.
    for began, ended, tasks in (
        (100.0 - WRITE_LATENCY_SECONDS - 0.001, 100.04, TASKS),
        (100.051, 100.06, TASKS),
        (100.01, 100.04, {"UPLOADING": "shop.upload"}),
    ):
        cell = _judge(_gap_job(began, ended), fault="redis-restart", stage_tasks=tasks)
        assert _kinds(cell) == ["lost-at-handoff"], (began, ended, cell.reasons)
        assert "RESIZING never showed" in cell.reasons[0]


def test_an_error_that_does_not_name_its_stage_is_an_error_not_propagated() -> None:
    named = _judge(_job(["QUEUED", "RESIZING", "FAILED"], error="shop.resize: boom"), "system-exit")
    anonymous = _judge(_job(["QUEUED", "RESIZING", "FAILED"], error="boom"), "system-exit")
    empty = _judge(_job(["QUEUED", "RESIZING", "FAILED"], error=None), "system-exit")
    assert named.bugs == []
    assert _kinds(anonymous) == ["errors-not-propagated"]
    assert "does not say which stage" in anonymous.reasons[0]
    assert _kinds(empty) == ["errors-not-propagated"]


def test_a_result_held_then_dropped_is_an_inconsistent_update() -> None:
    job = _job(["QUEUED", "RESIZING", "UPLOADING", "DONE"])
    job.changes.append(Change(1.0, JobReading("DONE", None, None), 200.0))
    cell = _judge(job, fault="redis-restart")
    assert _kinds(cell) == ["inconsistent-updates"]
    assert "result is gone" in cell.reasons[0]


def test_done_with_no_result_is_a_finding_only_when_the_app_stores_results() -> None:
    job = _job(["QUEUED", "RESIZING", "UPLOADING", "DONE"], result=False)
    assert _kinds(_judge(job, fault="redis-restart")) == ["lost-at-handoff"]
    assert _judge(job, fault="redis-restart", results=False).bugs == []


def test_a_failure_logged_before_done_is_a_finding_and_after_it_is_not() -> None:
    statuses = ["QUEUED", "RESIZING", "UPLOADING", "DONE"]  # DONE seen at wall time 103
    before = _judge(
        _job(statuses, events=[_event("started", 101), _event("failed", 102.9)]), "child-killed"
    )
    after = _judge(
        _job(statuses, events=[_event("started", 101), _event("failed", 103.1)]), "child-killed"
    )
    assert _kinds(before) == ["errors-not-propagated"]
    assert after.bugs == []


def test_the_api_may_lag_up_to_its_bound_and_not_one_moment_more() -> None:
    statuses = ["QUEUED", "RESIZING", "UPLOADING", "DONE"]
    under = ApiSpan(0.5, 0.5 + API_LAG_SECONDS - 0.01, "UPLOADING", "DONE")
    at = ApiSpan(0.5, 0.5 + API_LAG_SECONDS, "UPLOADING", "DONE")
    assert _judge(_job(statuses, spans=[under]), "redis-restart").bugs == []
    cell = _judge(_job(statuses, spans=[at]), "redis-restart")
    assert _kinds(cell) == ["ui-not-truth"]
    assert "the API showed UPLOADING while the store held DONE" in cell.reasons[0]


def test_a_retry_that_does_not_complete_is_a_finding() -> None:
    failed = _job(["QUEUED", "RESIZING", "FAILED"], error="shop.resize: boom")
    ok = _judge(failed, "system-exit", retry=lambda job: JobReading("DONE", result={"k": 1}))
    bad = _judge(failed, "system-exit", retry=lambda job: JobReading("FAILED", "shop.resize: x"))
    assert ok.bugs == []
    assert _kinds(bad) == ["errors-not-propagated"]


def test_the_evidence_is_the_sampled_story_with_celerys_log_and_the_api() -> None:
    job = _job(
        ["QUEUED", "RESIZING"],
        events=[_event("started"), _event("failed", error="WorkerLostError: x")],
        spans=[ApiSpan(0.0, 2.0, "QUEUED", "RESIZING")],
    )
    rows = _judge(job, "child-killed").evidence["job-1"]
    assert [r["source"] for r in rows].count("store") == 2
    assert {r["status"] for r in rows} >= {"QUEUED", "RESIZING", "shop.resize failed"}
    assert any(r["source"] == "api" for r in rows)


STATUSES = sorted(WF.statuses)


@given(st.lists(st.sampled_from(STATUSES), min_size=1, max_size=12))
def test_every_illegal_story_is_named_as_a_bug_of_one_of_the_four_kinds(tail: list[str]) -> None:
    statuses = [WF.initial, *tail]
    steps = [s for s, _ in itertools.groupby(statuses)]
    retry = any(a == WF.error and b == WF.initial for a, b in itertools.pairwise(steps))
    cell = _judge(_job(statuses), fault="redis-restart", results=False)
    assert {bug["kind"] for bug in cell.bugs} <= set(BUG_KINDS)
    path_bugs = [
        b for b in cell.bugs if b["way_over"] in (WAY_OVER["went-back"], WAY_OVER["skipped"])
    ]
    if not retry:
        assert bool(path_bugs) == (not WF.is_legal_path(steps)), (steps, cell.reasons)
    if steps[-1] not in WF.terminal:
        assert cell.verdict == "fail"


def test_a_status_the_workflow_does_not_declare_is_named_not_guessed_at() -> None:
    cell = _judge(_job(["QUEUED", "RESIZING", "resizing!", "UPLOADING", "DONE"]), "redis-restart")
    assert cell.bugs == []
    assert cell.reasons == [
        "the store holds statuses workflow 'shop' does not declare: 'resizing!' "
        "(is the adapter's workflow the app's?)"
    ]


@given(
    st.lists(st.one_of(st.sampled_from(STATUSES), st.text(max_size=20)), max_size=12),
    st.one_of(st.none(), st.text(max_size=40)),
)
def test_any_story_the_store_tells_is_judged_without_error(
    tail: list[str], error: str | None
) -> None:
    cell = _judge(_job([WF.initial, *tail], error=error), fault="cut-off")
    assert {bug["kind"] for bug in cell.bugs} <= set(BUG_KINDS)
    assert cell.verdict == ("fail" if cell.reasons else "pass")


def test_who_ended_the_job_is_read_from_celerys_log() -> None:
    done = ["QUEUED", "RESIZING", "UPLOADING", "DONE"]
    once = [_event("started"), _event("succeeded")]
    twice = [_event("started"), _event("started", 100.1), _event("succeeded", 100.2)]
    by_parent = [_event("started"), TaskEvent("failed", TASK, "t-1", "", '["job-1"]', "x", 1, 101)]
    assert _judge(_job(done, events=once), "redis-restart").ended_by == "stage"
    assert _judge(_job(done, events=twice), "duplicate-delivery").ended_by == "redelivery"
    failed = _job(["QUEUED", "RESIZING", "FAILED"], events=by_parent, error="shop.resize: x")
    assert _judge(failed, "child-killed").ended_by == "parent"
    assert _judge(_job(["QUEUED", "RESIZING"], events=once), "worker-killed").ended_by == ""


STAGE_TASKS = {"RESIZING": TASK, "UPLOADING": "shop.upload"}


def test_the_stage_a_fault_struck_is_read_from_the_jobs_own_runs() -> None:
    """A failed run names the stage, else a run delivered twice, else where it was planted."""
    upload = STAGE_TASKS["UPLOADING"]
    failed_late = [
        _event("started"),
        _event("succeeded"),
        _event("started", task=upload),
        _event("failed", task=upload, error="InjectedFault: x"),
    ]
    rerun = [_event("started"), _event("started", 100.1), _event("succeeded", 100.2)]
    both = [*rerun, _event("started", 101, upload), _event("failed", 101, upload, "boom")]
    job = _job(["QUEUED"])
    for events, planted, struck in [
        (failed_late, "RESIZING", "UPLOADING"),
        (rerun, "UPLOADING", "RESIZING"),
        (both, "RESIZING", "UPLOADING"),
        ([_event("started"), _event("succeeded")], "UPLOADING", "UPLOADING"),
        ([_event("failed", task="other.task")], "RESIZING", "RESIZING"),
    ]:
        job.events = events
        assert struck_stage(job, STAGE_TASKS, planted) == struck, (events, planted)


@given(
    planted=st.sampled_from(sorted(STAGE_TASKS)),
    struck=st.sampled_from(sorted(STAGE_TASKS)),
    runs_before=st.integers(min_value=0, max_value=3),
)
def test_a_job_is_judged_by_the_stage_its_fault_struck_not_where_it_was_planted(
    planted: str, struck: str, runs_before: int
) -> None:
    """Several jobs in flight: a fault planted before this job's submit may strike another
    job, and one planted before another's may strike this one. An app that writes the
    error naming the stage it failed in passes wherever the fault was planted."""
    task = STAGE_TASKS[struck]
    error = f"{task}: InjectedFault('injected failure inside {task}')"
    statuses = ["QUEUED", *list(STAGE_TASKS)[: list(STAGE_TASKS).index(struck) + 1], "FAILED"]
    events = [_event("started", 99.0 + i / 10, task=task) for i in range(runs_before)]
    events += [_event("started", 100.0, task=task), _event("failed", 100.1, task, "InjectedFault")]
    job = _job(statuses, events=events, error=error)
    stage = struck_stage(job, STAGE_TASKS, planted)
    cell = judge_foreign_cell(
        WF, stage, STAGE_TASKS[stage], "machine", job, fired=1, settle=3.0, stage_tasks=STAGE_TASKS
    )
    assert stage == struck
    assert cell.bugs == [], cell.reasons
