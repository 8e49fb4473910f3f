"""The store and the pipeline on a real 3-primary Redis Cluster (``RedisCluster`` client).

The rest of the store and pipeline suite runs on the cluster in the ``scale`` tier with
``--jobstate-redis=cluster``; these tests prove the topology is real and that a job's keys
stay in one slot on one node.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from redis.cluster import RedisCluster
from redis.exceptions import MovedError, RedisClusterException

from harness.testing.recorder import StateRecorder
from harness.testing.redis.backend import RedisBackend
from harness.testing.redis.cluster import CLUSTER_SLOTS, RedisClusterServers, cluster_info
from harness.testing.runner import JobRunner
from pipeline.cleanup import archive_completed
from pipeline.store import JobStore
from pipeline.waiting import wait_until
from pipeline.workflow import Workflow
from tests.pipeline.conftest import HAPPY
from tests.scale.conftest import URL

pytestmark = [pytest.mark.scale, pytest.mark.jobstate_redis("cluster")]


def _cluster(backend: RedisBackend) -> RedisClusterServers:
    assert isinstance(backend.topology, RedisClusterServers)
    return backend.topology


def _slot_owner(client: RedisCluster, slot: int) -> str:
    node = client.nodes_manager.get_node_from_slot(slot)
    return f"{node.host}:{node.port}"


def test_the_cluster_is_three_real_primaries(
    redis_backend: RedisBackend, report: Callable[[str], None]
) -> None:
    cluster = _cluster(redis_backend)
    assert isinstance(redis_backend.client, RedisCluster)
    assert redis_backend.settings.cluster
    for index in range(3):
        with cluster.node_client(index) as node:
            info = cluster_info(node)
        assert info["cluster_state"] == "ok"
        assert info["cluster_slots_ok"] == str(CLUSTER_SLOTS)
        assert info["cluster_known_nodes"] == "3"
    ranges = _slot_ranges(redis_backend.client.cluster_slots())
    assert {f"{host}:{port}" for _, _, (host, port) in ranges} == set(cluster.addresses)
    assert sum(last - first + 1 for first, last, _ in ranges) == CLUSTER_SLOTS
    report(f"cluster: 3 primaries {cluster.addresses}, cluster_state:ok, 16384 slots")


def _slot_ranges(reply: object) -> list[tuple[int, int, tuple[str, int]]]:
    """``CLUSTER SLOTS`` as (first, last, primary) whatever shape redis-py returns."""
    rows: list[tuple[int, int, tuple[str, int]]] = []
    if isinstance(reply, dict):
        for (first, last), nodes in reply.items():
            primary = nodes["primary"]
            rows.append((int(first), int(last), (str(primary[0]), int(primary[1]))))
    else:
        for first, last, primary, *_ in reply:  # type: ignore[attr-defined]
            host = primary[0].decode() if isinstance(primary[0], bytes) else primary[0]
            rows.append((int(first), int(last), (str(host), int(primary[1]))))
    return rows


def test_a_jobs_keys_share_one_slot_on_one_node(
    state_store: JobStore,
    redis_backend: RedisBackend,
    jobstate_workflow: Workflow,
    report: Callable[[str], None],
) -> None:
    client = redis_backend.client
    assert isinstance(client, RedisCluster)
    job_id = state_store.create(URL, space_id="space-1").job_id
    for status in jobstate_workflow.happy_path()[1:]:
        done = state_store.set_state(job_id, status)
    # A sweep takes jobs finished before its cutoff, never in the same millisecond.
    wait_until(lambda: state_store.now_ms() > done.ms, timeout=5, what="the clock to move on")
    live = [state_store.keys.state(job_id), state_store.keys.history(job_id)]
    assert archive_completed(state_store, older_than=0) == [job_id]
    archived = [state_store.keys.archived(job_id), state_store.keys.archived_history(job_id)]
    keys = [*live, *archived]
    slots = {int(client.execute_command("CLUSTER KEYSLOT", key)) for key in keys}
    assert len(slots) == 1, f"a job's keys span slots {slots}"
    (slot,) = slots
    owner = _slot_owner(client, slot)
    cluster = _cluster(redis_backend)
    for index, address in enumerate(cluster.addresses):
        with cluster.node_client(index) as node:
            for key in archived:
                if address == owner:  # the data is on this node, no redirection needed
                    assert node.exists(key) == 1
                else:  # every other node redirects to the owner
                    with pytest.raises(MovedError, match=f"^{slot} {owner}$"):
                        node.exists(key)
    assert state_store.get_archived(job_id)["status"] == jobstate_workflow.happy_path()[-1]
    names = ", ".join(key.split("}", 1)[1] for key in keys)
    report(f"slot check: job {{{job_id}}} keys {names} -> CLUSTER KEYSLOT {slot} on {owner}")


def test_jobs_spread_over_every_primary(
    state_store: JobStore, redis_backend: RedisBackend, report: Callable[[str], None]
) -> None:
    client = redis_backend.client
    assert isinstance(client, RedisCluster)
    ids = [state_store.create(URL).job_id for _ in range(30)]
    owners = {_slot_owner(client, client.keyslot(state_store.keys.state(j))) for j in ids}
    assert owners == set(_cluster(redis_backend).addresses)
    listed = {r["job_id"] for r in state_store.list_jobs(limit=50)}
    assert listed == set(ids)  # the index lives in one slot, the records in all three
    report(f"30 jobs spread over {len(owners)} primaries; list_jobs reads them all")


def test_the_single_node_key_layout_is_refused_by_the_cluster(
    redis_backend: RedisBackend, jobstate_workflow: Workflow
) -> None:
    # Without cluster mode a write script also names the cross-job indexes, in other slots.
    single = JobStore(
        redis_backend.client, jobstate_workflow, redis_backend.settings.with_(cluster=False)
    )
    with pytest.raises(RedisClusterException, match="same key slot"):
        single.create(URL)
    assert not list(redis_backend.client.scan_iter(match=f"{single.settings.key_prefix}*"))


@pytest.mark.jobstate_celery("prefork")
def test_prefork_workers_run_the_pipeline_on_the_cluster(
    job_runner: JobRunner,
    state_recorder: StateRecorder,
    redis_backend: RedisBackend,
    report: Callable[[str], None],
) -> None:
    ids = [job_runner.submit(URL) for _ in range(10)]
    for job_id in ids:
        assert job_runner.wait_for(job_id, "COMPLETE", timeout=120)["attempt"] == 1
        state_recorder.assert_path(job_id, HAPPY)
    state_recorder.assert_all_legal()
    state_recorder.assert_nothing_stuck()
    completed = redis_backend.client.zcard(job_runner.service.store.keys.completed)
    assert completed == len(ids)  # the cluster-mode index updates came from the workers
    report(f"prefork worker on the cluster: {len(ids)} jobs COMPLETE on the legal path")
