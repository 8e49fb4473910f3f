"""Answers say what happened: a refusal stores nothing (4xx, exit 2), a stored job whose
work could not be queued is the only 502 (exit 1), a queued job is always 202 (exit 0),
and nothing is ever a 5xx of the server's own over the input it was sent.

A Hypothesis property over the service, the API and the CLI, on hostile inputs for a
workflow whose input check raises ``KeyError`` (an input without ``need``), with a broker
that accepts or fails. Fast tier: fakeredis, the API in process, the CLI in process.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from anyio.from_thread import start_blocking_portal
from click.testing import CliRunner
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from harness.testing.redis.backend import RedisBackend
from pipeline import runtime
from pipeline.cli import cli
from pipeline.errors import EnqueueFailed, ValidationError
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from tests.guarantees.apps import PICKY
from tests.guarantees.doors import AsgiClient
from tests.guarantees.hostile import Payload, payloads
from ui.app import create_app

FAST = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@dataclass
class Broker:
    """Records every job context it is given; raises (naming a secret URL) when down."""

    down: bool = False
    sent: list[str] = field(default_factory=list)

    def __call__(self, ctx: dict[str, Any]) -> None:
        self.sent.append(ctx["job_id"])
        if self.down:
            raise ConnectionError("cannot reach amqp://mq:Mq-Pw-4471@broker:5672//")


@dataclass
class Picky:
    """The picky workflow's store, service, API and CLI, all sending to one broker."""

    store: JobStore
    service: JobService
    api: AsgiClient
    env: dict[str, str]
    broker: Broker

    def count(self) -> int:
        """How many jobs are stored."""
        return int(self.store.client.zcard(self.store.keys.jobs))


@pytest.fixture
def picky(
    redis_backend: RedisBackend, jobstate_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Picky]:
    """Function: the doors of the picky workflow on the test's Redis."""
    broker = Broker()
    store = redis_backend.store(PICKY)
    service = JobService(store, broker)
    monkeypatch.setattr(runtime, "redis_client", lambda *a, **k: redis_backend.make_client())
    monkeypatch.setattr(runtime, "enqueue", lambda app, ctx: broker(ctx))
    env = {**jobstate_settings.to_env(), "JOBSTATE_APP": "tests.guarantees.apps:picky_app"}
    with start_blocking_portal() as portal:
        api = AsgiClient(create_app(service), portal)
        yield Picky(store, service, api, env, broker)
        api.close()


def _judge(picky: Picky, door: str, outcome: str, job_id: str | None, before: int) -> None:
    """One door's answer against what the store and the broker say happened."""
    sent = picky.broker.sent
    if outcome == "refused":
        assert picky.count() == before, f"{door}: refused, yet a job was stored"
        assert sent == [], f"{door}: refused, yet work was sent"
        return
    assert job_id is not None
    assert picky.count() == before + 1, f"{door}: one job stored"
    assert sent == [job_id], f"{door}: its work sent once"
    record = picky.store.get_state(job_id)
    if outcome == "queued":
        assert not picky.broker.down, f"{door}: the broker failed, yet it said queued"
        assert record["status"] == "NEW"
    else:
        assert picky.broker.down, f"{door}: the broker took it, yet it said not queued"
        assert record["status"] == "FAILED"
        assert record["error"].startswith("could not enqueue: ConnectionError")


def _service(picky: Picky, value: Any) -> tuple[str, str | None]:
    try:
        return "queued", picky.service.submit(value)["job_id"]
    except ValidationError:
        return "refused", None
    except EnqueueFailed as exc:
        told = str(exc)
        job_id = exc.job_id
    assert "Mq-Pw-4471" not in told
    return "not-queued", job_id


def _api(picky: Picky, text: str) -> tuple[str, str | None]:
    answer = picky.api.post(
        "/api/jobs", content=text.encode(), headers={"content-type": "application/json"}
    )
    # 413: a body past the server's limit (a deep payload of long hostile text reaches it).
    assert answer.status_code in (202, 400, 413, 422, 502), f"{answer.status_code}: {answer.text}"
    assert "Mq-Pw-4471" not in answer.text
    if answer.status_code in (400, 413, 422):
        return "refused", None
    if answer.status_code == 502:
        return "not-queued", answer.json()["detail"].split()[1]
    return "queued", answer.json()["job_id"]


def _cli(picky: Picky, text: str) -> tuple[str, str | None]:
    result = CliRunner(env=picky.env).invoke(cli, ["submit", "--input", text])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output
    assert "Mq-Pw-4471" not in result.output
    if result.exit_code == 2:
        return "refused", None
    if result.exit_code == 1:
        assert "could not be queued" in result.output, result.output
        return "not-queued", result.output.split("job ", 1)[1].split()[0]
    return "queued", result.output.strip()


DOORS = {"service": _service, "api": _api, "cli": _cli}


@FAST
@given(
    payload=st.one_of(payloads(secrets=1, clean=True), payloads(secrets=1, max_depth=40)),
    need=st.booleans(),
    down=st.booleans(),
    door=st.sampled_from(sorted(DOORS)),
)
@example(
    payload=Payload({"url": "https://media.example/a.mp3"}, 0, "dict", (), ""),
    need=False,
    down=False,
    door="api",
)
@example(payload=Payload({"tags": 1}, 480, "dict", (), ""), need=True, down=False, door="api")
@example(payload=Payload({"tags": 1}, 500, "dict", (), ""), need=True, down=False, door="api")
@example(payload=Payload({"a": 1}, 0, "dict", (), ""), need=True, down=True, door="api")
@example(
    payload=Payload({"a": "x" * 70_000}, 0, "dict", (), ""), need=False, down=False, door="api"
)
def test_every_answer_says_what_happened(
    picky: Picky, payload: Payload, need: bool, down: bool, door: str
) -> None:
    # Slips: mapping any exception of submit to 502 "stored" (a KeyError from the input
    # check, a failure after a successful enqueue); a 5xx for an input the server refused.
    picky.broker.sent.clear()
    picky.broker.down = down
    value = payload.build()
    if need:
        value = {**value, "need": 1}
        text = payload.text()[:-1] + (',"need":1}' if value.keys() - {"need"} else '"need":1}')
    else:
        text = payload.text()
    before = picky.count()
    outcome, job_id = DOORS[door](picky, value if door == "service" else text)
    event(f"{door}: {outcome}")
    _judge(picky, door, outcome, job_id, before)
