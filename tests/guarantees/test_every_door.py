"""Each class of hole closed at the layer every door goes through, proved over all doors.

Hostile JSON (lone surrogates in keys and values, thousands of levels, big strings, huge
integers, NaN, ``-0.0``) with secrets planted in every position goes in by every write
door (:mod:`tests.guarantees.doors`); then every read door must answer (no 5xx, no
traceback, printable by any UTF-8 writer) and no secret may show in any answer, log
record or CLI output. The concrete holes once found are kept as ``@example``\\ s.

Fast tier: fakeredis and eager Celery, the web app called in process through its ASGI
interface, the CLI run in process on the same fake Redis (its broker in memory).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from anyio.from_thread import start_blocking_portal
from celery import Celery
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from harness.testing.redis.backend import RedisBackend
from pipeline import runtime
from pipeline.service import JobService, job_context
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.tracking import Tracker
from pipeline.workflow import PRD_WORKFLOW, Workflow
from tests.guarantees.apps import DOORS
from tests.guarantees.doors import Answer, AsgiClient, Doors
from tests.guarantees.hostile import SWALLOWED_KEY, Payload, payloads, secret_urls
from ui.app import create_app

FAST = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

URL = "https://media.example/talk.mp3"
LEAKY = "https://alice:pa@ss-Leak9@media.example/x.mp3"


def _payload(core: dict[str, object], depth: int = 0, markers: tuple[str, ...] = ()) -> Payload:
    return Payload(core, depth, "dict", markers, "explicit")


SURROGATE_KEY = _payload({"url": URL, "\ud800": 1})
DEEP_INPUT = _payload({"url": URL, "tags": 1}, depth=500)
LAST_AT = _payload({"url": LEAKY}, markers=("ss-Leak9",))
DB_URL = _payload(
    {"db": {"url": "postgres://dbuser:DbPw-7731@db.internal/app"}, "token": "Tk-5519x"},
    markers=("DbPw-7731", "Tk-5519x"),
)
ODD_SECRETS = _payload(
    {
        "a": "https://u:pa ss-Sp4ce@h/x",
        "b": "//u:Schemeless-pw9@h/x",
        "c": "https://h/x?access_token=Qtok-8812&b=1",
        "api_key": "Ak-7745",
        "nested": [{"client_secret": {"x": "Cs-9931"}}],
    },
    markers=("Sp4ce", "Schemeless-pw9", "Qtok-8812", "Ak-7745", "Cs-9931"),
)


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the app whose jobs take any JSON object and echo it from a stage."""
    return "tests.guarantees.apps:doors_app"


@pytest.fixture
def jobstate_workflow() -> Workflow:
    """Function: the doors app's workflow."""
    return DOORS


@pytest.fixture
def doors(
    state_store: JobStore,
    job_service: JobService,
    redis_backend: RedisBackend,
    jobstate_settings: Settings,
    jobstate_app_target: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Doors]:
    """Function: every write and read door on the test's Redis (see ``doors.py``)."""
    media_store = redis_backend.store(PRD_WORKFLOW, key_prefix=f"{state_store.keys.prefix}-m")
    media = JobService(media_store, lambda ctx: None)
    # The CLI builds its own runtime from JOBSTATE_* as a user's would; only its Redis
    # client is the test's (any mode) and its broker an in-memory one (nobody consumes).
    monkeypatch.setattr(runtime, "redis_client", lambda *a, **k: redis_backend.make_client())
    env = {
        **jobstate_settings.to_env(),
        "JOBSTATE_APP": jobstate_app_target,
        "JOBSTATE_BROKER_URL": "memory://",
        "JOBSTATE_RESULT_URL": "cache+memory://",
    }
    with start_blocking_portal() as portal:
        api = AsgiClient(create_app(job_service), portal)
        media_api = AsgiClient(create_app(media), portal)
        yield Doors(state_store, job_service, api, media_store, media_api, env, tmp_path)
        api.close()
        media_api.close()


def _fresh(doors: Doors, caplog: pytest.LogCaptureFixture) -> None:
    """Hypothesis reuses the function's fixtures: start each example's record anew."""
    doors.answers.clear()
    doors.jobs.clear()
    caplog.clear()


def _assert_answered(answers: list[Answer]) -> None:
    for answer in answers:
        assert answer.code < 500, f"{answer.door} answered {answer.code}: {answer.text[:300]}"
        assert "Traceback" not in answer.text, f"{answer.door}: {answer.text[:2000]}"
        answer.text.encode("utf-8")  # printable by any UTF-8 writer
        if answer.door.startswith("cli."):  # a usage error is one line, exit code 2
            assert answer.code in (0, 2), f"{answer.door}: {answer.text}"


def _assert_hidden(markers: tuple[str, ...], answers: list[Answer], logs: str) -> None:
    for marker in markers:
        for answer in answers:
            assert marker not in answer.text, f"{answer.door} shows {marker}: {answer.text[:500]}"
        assert marker not in logs, f"a log record shows {marker}"


def _logs(caplog: pytest.LogCaptureFixture) -> str:
    """Every record's text, traceback and extra data; but the fake Redis server's own
    wire log (it stands for Redis, which keeps the input as the worker needs it)."""
    ours = [r for r in caplog.records if not r.name.startswith("fakeredis")]
    formatter = logging.Formatter()
    return "\n".join(formatter.format(r) + repr(getattr(r, "data", "")) for r in ours)


@FAST
@given(payload=payloads())
@example(payload=SURROGATE_KEY)
@example(payload=DEEP_INPUT)
@example(payload=_payload({"n": 10**4000, "f": -0.0, "big": "A" * 40_000}))
def test_no_value_breaks_a_reader(
    doors: Doors, caplog: pytest.LogCaptureFixture, payload: Payload
) -> None:
    # Slips: a recursive walk on the read side; a listing that skips only KeyError; a
    # write door without the gate (a surrogate key, 500 levels, NaN reach the store).
    _fresh(doors, caplog)
    doors.push(payload, say="progress", fail=None)
    _assert_answered(doors.read_all())


@FAST
@given(payload=payloads(), say=st.builds("fetching {}".format, secret_urls("ZqSayMarker")))
@example(payload=LAST_AT, say="fetching " + LEAKY)
@example(payload=DB_URL, say="db at postgres://dbuser:DbPw-7731@db.internal/app")
@example(payload=ODD_SECRETS, say="?access_token=Qtok-8812")
@example(payload=SWALLOWED_KEY, say="fetching amqp://alice:_ZqSayMarker.@media.example")
def test_no_secret_reaches_an_output(
    doors: Doors, caplog: pytest.LogCaptureFixture, payload: Payload, say: str
) -> None:
    # Slips: user-info redacted to the first "@"; a read (progress, result, list) or a
    # log line (Celery's "succeeded" and "raised unexpected") without the redaction.
    _fresh(doors, caplog)
    caplog.set_level(logging.DEBUG)
    doors.push(payload, say=say, fail=f"cannot reach {say}")
    answers = doors.read_all()
    _assert_answered(answers)
    _assert_hidden((*payload.markers, "ZqSayMarker", *_markers_in(say)), answers, _logs(caplog))


def _markers_in(say: str) -> tuple[str, ...]:
    return tuple(m for m in ("ss-Leak9", "DbPw-7731", "Qtok-8812") if m in say)


def test_a_stage_task_returns_only_where_the_job_went(
    jobstate_celery_app: Celery, state_store: JobStore
) -> None:
    # Slip: a stage task returning its context, input and all (Celery logs a task's
    # return value at INFO; the log redaction would then be the only guard).
    job_id = state_store.create({"token": "Tk-5519x", "url": LEAKY}).job_id
    ctx = job_context(state_store.get_state(job_id, reveal_credentials=True))
    outcome = Tracker.of(jobstate_celery_app).tasks["WORK"].apply(args=[ctx]).get()
    assert outcome == {"job_id": job_id, "attempt": 1, "stage": "WORK", "next": "DONE"}
    assert state_store.get_state(job_id)["status"] == "DONE"
