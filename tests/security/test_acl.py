"""Redis with ACLs: the limited user runs everything; nobody else gets in.

The store, the sweeps, prefork workers (Redis as broker and result backend) and the web
API all connect as the ``jobstate`` user; afterwards the server's ACL log must hold no
refusal of that user, so its rules are exactly enough.
"""

from __future__ import annotations

import httpx
import pytest
import redis
from celery import Celery

from harness.testing.browser.live_ui import LiveUi
from harness.testing.chaos.injector import FaultInjector
from harness.testing.redis.backend import RedisBackend
from pipeline.celery_app import SWEEP_TASK
from pipeline.cleanup import archive_completed, mark_stale, purge_errors
from pipeline.errors import StoreUnavailable
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import Workflow
from tests.scale.apps import TARGET
from tests.security.conftest import USER, AclRedis
from tests.store.conftest import wait_for_redis_time

pytestmark = pytest.mark.security

URL = "https://media.example.com/talks/acl.mp3"


def test_a_client_without_credentials_is_refused(acl_redis: AclRedis) -> None:
    with acl_redis.anonymous() as anonymous:
        with pytest.raises(redis.AuthenticationError):
            anonymous.ping()
        with pytest.raises(StoreUnavailable):
            JobStore(anonymous).create(URL)
    wrong = acl_redis.anonymous(username=USER, password="not-the-password")
    with wrong, pytest.raises(redis.AuthenticationError):
        wrong.ping()
    with acl_redis.admin() as admin:
        assert not list(admin.scan_iter(match="jobstate:*"))  # nothing was written


@pytest.mark.parametrize(
    "command",
    [
        ("SET", "someone-else:key", "x"),
        ("GET", "celery"),
        ("FLUSHALL",),
        ("FLUSHDB",),
        ("KEYS", "*"),
        ("CONFIG", "GET", "requirepass"),
        ("CLIENT", "LIST"),
        ("ACL", "LIST"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_the_user_stays_in_its_keys_and_off_admin_commands(
    redis_client: redis.Redis, acl_redis: AclRedis, command: tuple[str, ...]
) -> None:
    with pytest.raises(redis.exceptions.NoPermissionError):
        redis_client.execute_command(*command)
    assert acl_redis.denials(), "the refusal should be in the ACL log"


def test_the_store_and_sweeps_work_as_the_limited_user(
    state_store: JobStore, jobstate_workflow: Workflow, acl_redis: AclRedis
) -> None:
    happy, store = jobstate_workflow.happy_path(), state_store
    done = store.create(URL, space_id="s1").job_id
    for status in happy[1:]:
        store.set_state(done, status)
    failed = store.create(URL).job_id
    store.set_state(failed, happy[1])
    store.fail(failed, "boom", stage=happy[1])
    assert store.retry(failed).attempt == 2
    silent = store.create(URL).job_id
    store.set_state(silent, happy[1])
    store.progress(silent, {"percent": 5}, status=happy[1])
    store.heartbeat(silent)
    gone = store.create(URL).job_id
    assert store.clear_state(gone)
    assert store.get_live_state(done)["status"] == happy[-1]
    assert {r["job_id"] for r in store.list_jobs()} == {done, failed, silent}
    assert [e["status"] for e in store.history(done)] == happy
    wait_for_redis_time(store.client, store.now_ms() + 2)
    assert sorted(mark_stale(store, older_than=0)) == sorted([failed, silent])
    wait_for_redis_time(store.client, store.now_ms() + 2)
    assert sorted(purge_errors(store, older_than=0)) == sorted([failed, silent])
    assert archive_completed(store, older_than=0) == [done]
    assert store.get_archived(done)["status"] == happy[-1]
    assert acl_redis.denials() == []


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the short-staged scale app (no media work)."""
    return TARGET


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    """Running jobs count as stale after 2 s of silence (heartbeats every 0.5 s)."""
    return pipeline_settings.with_(stale_after_seconds=2)


def _status(http: httpx.Client, job_id: str) -> tuple[str, int]:
    body = http.get(f"/api/jobs/{job_id}").json()
    return body["status"], body["attempt"]


@pytest.mark.jobstate_celery("prefork")
def test_workers_api_and_sweep_task_work_as_the_limited_user(
    job_service: JobService,
    jobstate_worker: object,
    live_ui: LiveUi,
    jobstate_celery_app: Celery,
    fault_injector: FaultInjector,
    redis_backend: RedisBackend,
    acl_redis: AclRedis,
) -> None:
    assert jobstate_celery_app.conf.broker_url.startswith(f"redis://{USER}:")
    with httpx.Client(base_url=live_ui.url, timeout=10) as http:
        created = http.post("/api/jobs", json={"url": URL})
        assert created.status_code == 202
        ok = created.json()["job_id"]
        wait_until(lambda: _status(http, ok) == ("COMPLETE", 1), 60, what="job COMPLETE")
        fault_injector.fail_at("TRANSCRIBING")
        bad = http.post("/api/jobs", json={"url": URL}).json()["job_id"]
        wait_until(lambda: _status(http, bad) == ("ERROR", 1), 60, what="job in ERROR")
        assert http.post(f"/api/jobs/{bad}/retry").status_code == 202
        wait_until(lambda: _status(http, bad) == ("COMPLETE", 2), 60, what="retry COMPLETE")
        assert {ok, bad} <= {j["job_id"] for j in http.get("/api/jobs").json()}
        assert http.delete(f"/api/jobs/{ok}").status_code == 204
        assert http.get(f"/api/jobs/{ok}").status_code == 404
    store = job_service.store
    silent = store.create(URL).job_id
    since = store.set_state(silent, "DOWNLOADING").ms
    wait_for_redis_time(store.client, since + 2000 + 5, timeout=10)
    jobstate_celery_app.send_task(SWEEP_TASK)  # what beat sends every 30 s
    wait_until(lambda: store.get_state(silent)["status"] == "ERROR", 30, what="swept")
    assert "stale" in store.get_state(silent)["error"]
    assert acl_redis.denials() == []
