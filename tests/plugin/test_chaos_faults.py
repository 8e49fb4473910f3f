"""The fault kinds and helpers the chaos tier uses, where no real worker is needed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from kombu import Connection, pools

from harness.fixtures.chaos_workers import relayed_url
from harness.testing.chaos.injector import (
    FaultInjector,
    FaultSetupError,
    clock_ahead_entry,
    clock_ahead_env,
    forget_pooled_connections,
)
from harness.testing.chaos.relay import TcpRelay
from harness.testing.runner import JobRunner
from harness.testing.workers.faketime_main import relative_sleep
from pipeline.faults import FAULT_KINDS, FaultPlan
from pipeline.procs.redis_server import free_port
from pipeline.store import JobStore
from tests.chaos.apps import TARGET, URL


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the chaos app (small stages, no network)."""
    return TARGET


def test_an_unknown_fault_kind_is_refused_naming_the_kinds(redis_client: redis.Redis) -> None:
    plan = FaultPlan(redis_client, "p")
    kinds = "fail, raise, unreadable, duplicate, hang, kill, exit"
    with pytest.raises(ValueError, match=f"fault kind 'boom' is not one of {kinds}"):
        plan.set("WORK", "boom")
    assert plan.describe() == {}
    assert set(FAULT_KINDS) >= {"exit", "timeout", "memory"}


@pytest.mark.parametrize(
    ("arm", "kind"),
    [("kill_child_at", "kill"), ("time_out_at", "timeout"), ("exhaust_memory_at", "memory")],
)
def test_process_faults_outside_a_prefork_child_fail_the_stage_saying_so(
    job_runner: JobRunner, fault_injector: FaultInjector, arm: str, kind: str
) -> None:
    getattr(fault_injector, arm)("TRANSCRIBING")
    record = job_runner.run(URL, timeout=30)
    assert record["status"] == "ERROR"
    assert record["error"] == (
        f"TRANSCRIBING: InjectedFault: {kind} at TRANSCRIBING needs a prefork worker child"
    )


def test_a_hang_outlasts_an_unreachable_redis() -> None:
    unreachable = redis.Redis(port=free_port(), socket_connect_timeout=0.2)
    assert FaultPlan(unreachable, "p").armed("WORK") is True


def test_worker_faults_without_a_worker_name_what_is_missing(state_store: JobStore) -> None:
    injector = FaultInjector(state_store)
    with pytest.raises(FaultSetupError, match="worker faults need a prefork worker"):
        injector.terminate_worker()
    with pytest.raises(FaultSetupError, match="Redis faults need a real redis-server"):
        injector.restart_redis()


def test_a_missing_libfaketime_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JOBSTATE_LIBFAKETIME", "/nowhere/libfaketime.so.1")
    with pytest.raises(FaultSetupError, match=r"apt-get install faketime"):
        clock_ahead_env(600)


def test_the_clock_fault_preloads_libfaketime_and_wraps_the_entry(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    lib = tmp_path / "libfaketime.so.1"
    lib.write_bytes(b"")
    monkeypatch.setenv("JOBSTATE_LIBFAKETIME", str(lib))
    assert clock_ahead_env(600) == {
        "LD_PRELOAD": str(lib),
        "FAKETIME": "+600s",
        "FAKETIME_DONT_FAKE_MONOTONIC": "1",
    }
    assert clock_ahead_entry(("pipeline.cli", "worker")) == (
        "harness.testing.workers.faketime_main",
        "pipeline.cli",
        "worker",
    )


def test_relative_sleep_waits_and_refuses_negative_lengths() -> None:
    began = time.monotonic()
    relative_sleep(0.05)
    assert time.monotonic() - began >= 0.05
    with pytest.raises(ValueError, match="non-negative"):
        relative_sleep(-1)


def test_a_relayed_url_keeps_credentials_and_database() -> None:
    with TcpRelay(("127.0.0.1", 6390)) as relay:
        url = relayed_url("redis://user:secret@10.0.0.5:6390/3", relay)
        assert url == f"redis://user:secret@127.0.0.1:{relay.port}/3"
        assert relayed_url("redis://10.0.0.5:6390", relay) == f"redis://127.0.0.1:{relay.port}"


def test_pooled_broker_connections_to_a_restarted_server_are_replaced() -> None:
    port = free_port()
    conn = Connection(f"redis://127.0.0.1:{port}/0")
    pool = pools.connections[conn]
    first = pool.acquire(block=True, timeout=1)
    first.release()
    assert forget_pooled_connections("127.0.0.1", port) == 1
    assert forget_pooled_connections("127.0.0.1", free_port()) == 0
    again = pool.acquire(block=True, timeout=1)  # still usable: a fresh connection
    assert again is not first
    again.release()
    del pools.connections[conn]
