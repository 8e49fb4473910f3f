"""The audit's settings check: our own configuration passes, each seeded mistake turns its
finding red with the reason and the fix, and a real prefork worker shows the redelivery
the visibility-timeout finding warns of."""

from __future__ import annotations

import importlib
import sys
import types
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from harness.testing.audit.report.card import Finding
from harness.testing.audit.settings.settings_check import CHECKS, check_settings, stage_tasks_of
from harness.testing.audit.settings.stage_checks import redelivered_while_running
from pipeline.celery_app import celery_config
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.tracking import StageRun, Tracker
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW
from tests.audit.apps import TARGET, VISIBILITY_SECONDS, hold_file, mark
from tests.project_modules import forget_modules_under

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
STAGE = "TRANSCRIBING"
"""The stage the seeded mistakes change."""
TASKS = {status: f"audit.{status.lower()}" for status in PRD_WORKFLOW.stages}
ALL = tuple(TASKS.values())
HARD_LIMIT = Settings().stage_time_limit
APP_CHECKS = ("broker-redis", "json-only", "prefetch-multiplier", "result-expires")
STAGE_CHECKS = (
    "stage-task",
    "acks-late",
    "reject-on-worker-lost",
    "time-limits",
    "visibility-timeout",
    "queue",
)

MakeApp = Callable[..., Celery]


def _noop(ctx: dict[str, Any], run: StageRun) -> dict[str, Any]:
    return ctx


@pytest.fixture
def make_app() -> Iterator[MakeApp]:
    """Function: ``make_app(conf={...}, stage={...})``: an app configured by our
    ``celery_config(Settings())`` plus ``conf``, with our Tracker over the reference
    workflow and ``stage`` as extra task options of the :data:`STAGE` task. Teardown
    closes each app and disconnects its tracker."""
    made: list[tuple[Tracker, Celery]] = []

    def make(conf: dict[str, Any] | None = None, stage: dict[str, Any] | None = None) -> Celery:
        app = Celery("audited", set_as_current=False)
        app.conf.update(celery_config(Settings()))
        app.conf.update(conf or {})
        tracker = Tracker(app, PRD_WORKFLOW)
        for status, name in TASKS.items():
            options = (stage or {}) if status == STAGE else {}
            tracker.stage(status, name=name, **options)(_noop)
        made.append((tracker, app))
        return app

    yield make
    for tracker, app in made:
        tracker.close()
        app.close()


def _check(app: Celery, **kwargs: Any) -> list[Finding]:
    return check_settings(app, PRD_WORKFLOW, stage_tasks_of(app), **kwargs)


def _red(findings: list[Finding]) -> set[tuple[str, str]]:
    return {(f.check, f.task) for f in findings if not f.ok}


def _texts(findings: list[Finding]) -> str:
    return "\n".join(f"{f.title}\n{f.reason}\n{f.fix}\n{f.task}" for f in findings)


def _one(findings: list[Finding], check: str, task: str = "") -> Finding:
    (found,) = [f for f in findings if (f.check, f.task) == (check, task)]
    return found


# -- what passes --------------------------------------------------------------------------


def test_our_celery_config_passes_every_check(make_app: MakeApp) -> None:
    findings = _check(make_app())
    assert _red(findings) == set(), _texts(findings)
    kinds = [(f.check, f.task) for f in findings]
    expected = [(c, "") for c in APP_CHECKS] + [("connection-loss", "")]
    expected += [(c, name) for c in STAGE_CHECKS for name in ALL]
    assert sorted(kinds) == sorted(expected)  # one finding per check and stage, passed too
    assert [f.check for f in findings] == sorted(
        (f.check for f in findings), key=CHECKS.index
    )  # app-wide checks first, then the stages'
    assert all(f.reason and f.title and not f.fix for f in findings)


@pytest.fixture
def resizer_app(monkeypatch: pytest.MonkeyPatch) -> Iterator[Celery]:
    """Function: ``examples/resizer/app.py``'s own app, imported with ``examples/`` on
    ``sys.path``. Its stage functions need Pillow, the example's dependency and not this
    suite's, so ``resizer.stages`` is a stand-in (the settings check never runs a stage).
    Teardown closes the app's tracker and forgets the example's modules (only those:
    :mod:`tests.project_modules`)."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    stages = types.ModuleType("resizer.stages")
    stages.resize = stages.upload = _noop  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "resizer.stages", stages)
    before = set(sys.modules)
    app: Celery = importlib.import_module("resizer.app").app
    yield app
    Tracker.of(app).close()
    app.close()
    forget_modules_under(EXAMPLES, before, monkeypatch)


def test_the_resizer_example_passes_every_check(resizer_app: Celery) -> None:
    workflow = Tracker.of(resizer_app).workflow
    findings = check_settings(resizer_app, workflow, stage_tasks_of(resizer_app))
    assert _red(findings) == set(), _texts(findings)
    assert {f.task for f in findings if f.check == "acks-late"} == {
        "resizer.resize",
        "resizer.upload",
    }


def test_a_task_option_wins_over_the_app_setting(make_app: MakeApp) -> None:
    # The Tracker sets acks_late on each stage's task: the app's False does not apply.
    findings = _check(make_app(conf={"task_acks_late": False}))
    assert _red(findings) == set()


# -- seeded mistakes ----------------------------------------------------------------------


def _each(check: str) -> set[tuple[str, str]]:
    return {(check, name) for name in ALL}


SEEDED = [
    pytest.param(
        {},
        {"acks_late": False},
        None,
        {("acks-late", TASKS[STAGE])},
        "acknowledged as it starts",
        True,
        id="stage-opts-out-of-late-acks",
    ),
    pytest.param(
        {"broker_transport_options": {"visibility_timeout": HARD_LIMIT // 2}},
        {},
        None,
        _each("visibility-timeout"),
        "duplicate-execution trap",
        True,
        id="visibility-timeout-shorter-than-the-limit",
    ),
    pytest.param(
        {"task_time_limit": None, "task_soft_time_limit": None},
        {},
        None,
        _each("time-limits") | _each("visibility-timeout"),
        "no hard time limit",
        True,
        id="stages-without-time-limits",
    ),
    pytest.param(
        {"task_routes": {TASKS[STAGE]: "other"}},
        {},
        None,
        {("queue", TASKS[STAGE])},
        "sent to the queue 'other'",
        True,
        id="routed-where-no-worker-reads",
    ),
    pytest.param(
        {},
        {},
        ["other"],
        _each("queue"),
        "reads only 'other'",
        True,
        id="workers-read-another-queue",
    ),
    pytest.param(
        {"accept_content": ["json", "pickle"]},
        {},
        None,
        {("json-only", "")},
        "Pickle lets anyone who can write to the broker run code",
        True,
        id="pickle-accepted",
    ),
    pytest.param(
        {"accept_content": ["json", "msgpack"]},
        {},
        None,
        {("json-only", "")},
        "may not survive JSON",
        False,
        id="msgpack-accepted",
    ),
    pytest.param(
        {"task_serializer": "yaml", "accept_content": ["json", "yaml"]},
        {},
        None,
        {("json-only", "")},
        "task_serializer = ['yaml']",
        False,
        id="yaml-sent",
    ),
    pytest.param(
        {"worker_prefetch_multiplier": 0},
        {},
        None,
        {("prefetch-multiplier", "")},
        "reserves every message it can",
        False,
        id="prefetch-0-unlimited",
    ),
    pytest.param(
        {"worker_prefetch_multiplier": 2},
        {},
        None,
        {("prefetch-multiplier", "")},
        "reserves 2 messages",
        False,
        id="prefetch-2-one-past-the-bound",
    ),
    pytest.param(
        {"worker_prefetch_multiplier": 4},
        {},
        None,
        {("prefetch-multiplier", "")},
        "reserves 4 messages",
        False,
        id="prefetch-4",
    ),
    pytest.param(
        {},
        {"ignore_result": False},
        None,
        {("result-expires", "")},
        "Celery answers PENDING",
        False,
        id="results-expire-before-the-jobs",
    ),
]


@pytest.mark.parametrize(("conf", "stage", "worker_queues", "red", "reason", "fails_audit"), SEEDED)
def test_a_seeded_mistake_turns_exactly_its_finding_red(
    make_app: MakeApp,
    conf: dict[str, Any],
    stage: dict[str, Any],
    worker_queues: list[str] | None,
    red: set[tuple[str, str]],
    reason: str,
    fails_audit: bool,
) -> None:
    findings = _check(make_app(conf=conf, stage=stage), worker_queues=worker_queues)
    assert _red(findings) == red, _texts(findings)
    for found in (f for f in findings if not f.ok):
        assert reason in found.reason, found.reason
        assert found.fix, found
        assert found.failing is fails_audit


def test_the_fix_for_a_stage_option_names_the_stage(make_app: MakeApp) -> None:
    findings = _check(make_app(stage={"acks_late": False}))
    assert _one(findings, "acks-late", TASKS[STAGE]).fix == (
        f'@tracker.stage("{STAGE}", name="{TASKS[STAGE]}", acks_late=True)'
    )
    apps_own = _check(make_app(conf={"worker_prefetch_multiplier": 4}))
    assert _one(apps_own, "prefetch-multiplier").fix == "app.conf.worker_prefetch_multiplier = 1"


def test_a_stage_task_sending_pickle_fails_the_audit(make_app: MakeApp) -> None:
    findings = _check(make_app(stage={"serializer": "pickle"}))
    assert _red(findings) == {("json-only", "")}
    found = _one(findings, "json-only")
    assert found.failing
    assert f"the serializer of {TASKS[STAGE]} = ['pickle']" in found.reason
    assert found.fix == f'@tracker.stage("{STAGE}", name="{TASKS[STAGE]}", serializer="json")'


@pytest.mark.parametrize(
    ("visibility", "redelivered"),
    [(HARD_LIMIT - 1, True), (HARD_LIMIT, True), (HARD_LIMIT + 1, False)],
    ids=["a-second-less", "equal", "a-second-more"],
)
def test_visibility_timeout_at_the_hard_limit(
    make_app: MakeApp, visibility: int, redelivered: bool
) -> None:
    """Equal is unsafe, a second longer is safe, from kombu 5.7's Redis transport.

    ``QoS.restore_visible`` restores every message whose ``unacked_index`` score is at
    most ``now - visibility_timeout`` (``ZRANGE ... BYSCORE REV``, both bounds included),
    and the score is the moment the worker took the message, before the stage started.
    The hard limit counts from the start and the message is acknowledged after the kill,
    so at ``visibility == limit`` the message can come back before the stage is gone. A
    second more covers the milliseconds between taking, starting, killing and
    acknowledging (one message reserved at a time); the periodic scan only delays.
    """
    app = make_app(conf={"broker_transport_options": {"visibility_timeout": visibility}})
    findings = _check(app)
    assert _red(findings) == (_each("visibility-timeout") if redelivered else set())
    assert redelivered_while_running(visibility, HARD_LIMIT) is redelivered
    if redelivered:
        fix = _one(findings, "visibility-timeout", TASKS[STAGE]).fix
        assert f'"visibility_timeout": {max(3600, 2 * HARD_LIMIT)}' in fix


def test_an_unset_visibility_timeout_is_kombus_hour(make_app: MakeApp) -> None:
    app = make_app(conf={"broker_transport_options": {}, "task_time_limit": 7200})
    finding = _one(_check(app), "visibility-timeout", TASKS[STAGE])
    assert not finding.ok
    assert "visibility_timeout (3600 s, kombu's default: the app leaves it unset)" in (
        finding.reason
    )


def test_a_missing_soft_limit_warns_without_failing(make_app: MakeApp) -> None:
    findings = _check(make_app(conf={"task_soft_time_limit": None}))
    assert _red(findings) == _each("time-limits")
    found = _one(findings, "time-limits", TASKS[STAGE])
    assert not found.failing
    assert found.fix == f"app.conf.task_soft_time_limit = {HARD_LIMIT - 60}"


def test_a_lost_child_not_redelivered_warns(make_app: MakeApp) -> None:
    findings = _check(make_app(stage={"reject_on_worker_lost": False}))
    assert _red(findings) == {("reject-on-worker-lost", TASKS[STAGE])}
    found = _one(findings, "reject-on-worker-lost", TASKS[STAGE])
    assert "WorkerLostError" in found.reason
    assert not found.failing


def test_a_stage_without_a_task_is_named(make_app: MakeApp) -> None:
    app = make_app()
    stage_tasks = {**stage_tasks_of(app), STAGE: "audit.nowhere"}
    findings = check_settings(app, PRD_WORKFLOW, stage_tasks)
    assert _red(findings) == {("stage-task", "audit.nowhere")}
    assert STAGE in _one(findings, "stage-task", "audit.nowhere").reason


def test_results_kept_as_long_as_the_jobs_pass(make_app: MakeApp) -> None:
    keeping = make_app(stage={"ignore_result": False})
    assert _red(_check(keeping, retention_seconds=3600)) == set()  # result_expires = 3600
    for_ever = make_app(conf={"result_expires": None}, stage={"ignore_result": False})
    assert _red(_check(for_ever)) == set()


def test_connection_loss_says_what_each_value_does_to_the_job(make_app: MakeApp) -> None:
    runs_on = _one(_check(make_app()), "connection-loss")
    cancels = _one(
        _check(make_app(conf={"worker_cancel_long_running_tasks_on_connection_loss": True})),
        "connection-loss",
    )
    assert runs_on.ok
    assert cancels.ok
    assert "a stage runs on when its worker loses Redis" in runs_on.reason
    assert "cancels" in cancels.reason
    assert "error status" in cancels.reason


def test_texts_show_broker_schemes_never_urls(make_app: MakeApp) -> None:
    secret = {"broker_url": "redis://audit:s3cr3t-pw@redis.internal:6379/0"}
    app = make_app(conf={**secret, "result_backend": secret["broker_url"]})
    texts = _texts(_check(app, worker_queues=["other"]))
    assert "redis://" in texts
    assert "s3cr3t" not in texts
    assert "redis.internal" not in texts


def test_a_broker_other_than_redis_is_said_and_not_judged_as_redis(make_app: MakeApp) -> None:
    app = make_app(conf={"broker_url": "amqp://guest:hunter2@rabbit.internal//"})
    findings = _check(app)
    assert _red(findings) == {("broker-redis", "")}
    assert "amqp://" in _one(findings, "broker-redis").reason
    assert all(
        f.reason.startswith("Not checked") for f in findings if f.check == "visibility-timeout"
    )
    texts = _texts(findings)
    assert "hunter2" not in texts
    assert "rabbit.internal" not in texts


# -- the claim, on a real worker ----------------------------------------------------------


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: an app whose visibility timeout is shorter than its stages' limit."""
    return TARGET


@pytest.mark.prefork
@pytest.mark.jobstate_celery("prefork")
@pytest.mark.jobstate_redis("server")
def test_a_stage_outliving_the_visibility_timeout_is_delivered_again_while_it_runs(
    jobstate_celery_app: Celery,
    jobstate_worker_factory: Callable[..., Any],
    job_service: JobService,
    state_store: JobStore,
    pipeline_settings: Settings,
) -> None:
    first = PRD_WORKFLOW.stages[0]
    flagged = _red(_check(jobstate_celery_app))
    assert flagged == {
        ("visibility-timeout", name) for name in stage_tasks_of(jobstate_celery_app).values()
    }
    folder = pipeline_settings.work_dir
    hold = hold_file(folder, first, 1)
    hold.parent.mkdir(parents=True, exist_ok=True)
    hold.touch()  # the first run of the first stage runs until the test lets it end
    jobstate_worker_factory(concurrency=2)
    job_id = str(job_service.submit("http://127.0.0.1:9/audit")["job_id"])

    def marked(delivery: int, event: str) -> bool:
        return mark(folder, job_id, first, delivery, event).exists()

    wait_until(
        lambda: marked(2, "started"),
        timeout=VISIBILITY_SECONDS + 30,
        what=f"the second delivery of {first}",
    )
    # The first run holds until the hold file goes, so it is still running now.
    assert marked(1, "started")
    assert not marked(1, "ended")
    history = state_store.history(job_id)
    assert [e["status"] for e in history if e["kind"] == "redelivered"] == [first], history
    hold.unlink()
    wait_until(lambda: marked(1, "ended"), timeout=30, what="the end of the first run")
    wait_until(
        lambda: job_service.get(job_id)["status"] == "COMPLETE",
        timeout=30,
        what="the job's completion",
    )
    moves = Counter(e["status"] for e in state_store.history(job_id) if e["kind"] == "transition")
    assert moves == Counter(PRD_WORKFLOW.happy_path()[1:])  # the rest of the chain ran once
