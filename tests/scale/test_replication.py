"""What asynchronous replication can lose on failover, and what ``WAIT`` does about it.

A primary and its replica, linked through a relay that can hold traffic (a stalled
network). The replica is promoted by hand with ``REPLICAOF NO ONE``, exactly what the
sentinels send when they fail over.

Claims, each tested below:

- Redis acknowledges a write before any replica has it. If the primary dies before the
  replica receives it and the replica is promoted, the acknowledged write is gone: the job
  is back at its previous version, a legal state with its history one entry shorter.
- ``WAIT 1 <ms>`` after a write returns how many replicas have it. When it returns 1 the
  write survives the replica's promotion. It undoes nothing: when it returns 0 the write
  stands on the primary and can still be lost; the caller only knows it is at risk.
- ``min-replicas-to-write 1`` makes the primary refuse writes while no replica is keeping
  up, so the store raises instead of acknowledging a write it could lose.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass

import pytest
import redis

from harness.testing.chaos.relay import TcpRelay
from pipeline.procs.redis_server import RedisServer
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.validation import check_record
from pipeline.waiting import wait_until
from pipeline.workflow import PRD_WORKFLOW
from tests.scale.conftest import URL

pytestmark = pytest.mark.scale

STAGE = PRD_WORKFLOW.happy_path()[1]
NO_SYNC_DELAY = {"repl-diskless-sync-delay": "0"}  # a new replica syncs at once, not after 5 s


@dataclass
class Pair:
    """A primary, a relay in front of it, and a replica replicating through the relay."""

    primary: RedisServer
    relay: TcpRelay
    replica: RedisServer
    settings: Settings

    def store(self, server: RedisServer) -> JobStore:
        """A store on ``server`` (the caller closes its client)."""
        return JobStore(server.client(), PRD_WORKFLOW, self.settings)

    def promote_replica(self) -> JobStore:
        """Kill the primary (SIGKILL), promote the replica; a store on the new primary."""
        self.primary.kill()
        with self.replica.client() as client:
            client.execute_command("REPLICAOF", "NO", "ONE")
            assert client.info("replication")["role"] == "master"
        return self.store(self.replica)


def _linked(replica: RedisServer) -> bool:
    with replica.client() as client:
        return client.info("replication").get("master_link_status") == "up"


@pytest.fixture
def pair(request: pytest.FixtureRequest) -> Iterator[Pair]:
    """Function: a fresh primary and replica linked through a relay; all closed after."""
    extra = {**NO_SYNC_DELAY, **getattr(request, "param", {})}
    with ExitStack() as stack:
        primary = stack.enter_context(RedisServer(extra_config=extra))
        relay = stack.enter_context(TcpRelay((primary.host, primary.port)))
        follow = {"replicaof": f"{relay.host} {relay.port}"}
        replica = stack.enter_context(RedisServer(extra_config=follow))
        wait_until(lambda: _linked(replica), timeout=15, what="replica linked")
        yield Pair(primary, relay, replica, Settings(key_prefix="jobstate-repl"))


def test_an_acknowledged_write_is_lost_when_the_replica_never_got_it(pair: Pair) -> None:
    store = pair.store(pair.primary)
    job_id = store.create(URL).job_id
    assert store.client.wait(1, 5000) == 1  # the job itself reached the replica
    pair.relay.hold()
    acked = store.set_state(job_id, STAGE)
    assert acked.version == 2  # acknowledged by the primary
    assert store.client.wait(1, 200) == 0  # ...and WAIT says no replica has it
    assert store.get_state(job_id)["status"] == STAGE  # WAIT undid nothing
    store.client.close()
    promoted = pair.promote_replica()
    record = promoted.get_state(job_id)
    assert (record["status"], record["version"]) == (PRD_WORKFLOW.initial, 1)
    assert [e["status"] for e in promoted.history(job_id)] == [PRD_WORKFLOW.initial]
    check_record(record, PRD_WORKFLOW)  # rolled back to an earlier, legal state
    assert promoted.set_state(job_id, STAGE).version == 2  # the job can go on from there
    promoted.client.close()


def test_a_write_that_wait_confirmed_survives_the_failover(pair: Pair) -> None:
    store = pair.store(pair.primary)
    job_id = store.create(URL).job_id
    acked = store.set_state(job_id, STAGE)
    assert store.client.wait(1, 5000) == 1
    store.client.close()
    pair.relay.hold()  # the link breaks right after: the confirmed write is already over
    promoted = pair.promote_replica()
    record = promoted.get_state(job_id)
    assert (record["status"], record["version"]) == (STAGE, acked.version)
    promoted.client.close()


@pytest.mark.parametrize(
    "pair", [{"min-replicas-to-write": "1", "min-replicas-max-lag": "1"}], indirect=True
)
def test_min_replicas_to_write_refuses_writes_it_could_lose(pair: Pair) -> None:
    store = pair.store(pair.primary)
    with pair.primary.client() as admin:
        # Linked is not yet counted: the primary counts a replica good once its ack is
        # within the lag, and refused the first write on a loaded machine.
        wait_until(
            lambda: admin.info("replication")["min_slaves_good_slaves"] == 1,
            timeout=15,
            what="the replica counted as good",
        )
    job_id = store.create(URL).job_id
    pair.relay.hold()
    with pair.primary.client() as admin:
        wait_until(
            lambda: admin.info("replication")["min_slaves_good_slaves"] == 0,
            timeout=15,
            what="the replica counted as lagging",
        )
    with pytest.raises(redis.ResponseError, match="NOREPLICAS"):
        store.set_state(job_id, STAGE)
    assert store.get_state(job_id)["version"] == 1  # nothing was written
    pair.relay.flow()
    with pair.primary.client() as admin:
        wait_until(
            lambda: admin.info("replication")["min_slaves_good_slaves"] == 1,
            timeout=15,
            what="the replica caught up",
        )
    assert store.set_state(job_id, STAGE).version == 2
    store.client.close()
