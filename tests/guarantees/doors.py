"""Every door a value enters by, and every door it is read from, in one test's reach.

:class:`Doors` holds the write doors (the store, ``JobService.submit``, ``POST /api/jobs``
of the doors app and of the media pipeline, ``jobstate submit --input`` inline and from a
file, and a stage's progress, result, message and exception through eager Celery) and
the read doors (the store's get, live get, list and history, the API routes the page
calls, ``jobstate status --history``). :meth:`Doors.push` sends one payload through every
write door; :meth:`Doors.read_all` reads every job back through every read door and
returns what each answered, for the properties to judge.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
from anyio.from_thread import BlockingPortal
from click.testing import CliRunner, Result

from pipeline.cli import cli
from pipeline.errors import JobStateError
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.guarantees.hostile import Payload
from ui.app import close_reads

__all__ = ["Answer", "AsgiClient", "Doors"]

POISONS = ("surrogate", "surrogate-key", "nan", "huge-int", "not-json", "big")


class AsgiClient:
    """A blocking client calling an ASGI app in this process (no sockets, no latency)."""

    def __init__(self, app: Any, portal: BlockingPortal) -> None:
        self._portal = portal
        self._app = app
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://ui.test")

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """``GET path`` (``headers=``...)."""
        return self._portal.call(partial(self._client.get, path, **kwargs))

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """``POST path`` (``content=``, ``headers=``...)."""
        return self._portal.call(partial(self._client.post, path, **kwargs))

    def close(self) -> None:
        """Close the client and the connections the app's reads opened."""
        self._portal.call(self._client.aclose)
        self._portal.call(close_reads, self._app)


@dataclass
class Answer:
    """What one door answered: its name, HTTP status or exit code, and the text shown."""

    door: str
    code: int
    text: str


@dataclass
class Doors:
    """The write and read doors of one test (see the module docstring)."""

    store: JobStore
    service: JobService
    api: AsgiClient
    media_store: JobStore
    media_api: AsgiClient
    cli_env: dict[str, str] = field(repr=False)
    tmp: Path
    cli_runs: bool = True
    # Short repr: Hypothesis prints the fixtures with a failing example, and a repr of
    # every answer (tens of kB) makes it warn instead of showing the failure.
    answers: list[Answer] = field(default_factory=list, repr=False)
    jobs: list[str] = field(default_factory=list, repr=False)

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """Hypothesis' printer shows every field of a dataclass: show the short repr."""
        printer.text(repr(self))

    # -- writes ---------------------------------------------------------------------

    def push(self, payload: Payload, *, say: str = "", fail: str | None = None) -> None:
        """Send ``payload`` through every write door (refusals are answers too)."""
        self._store_doors(payload)
        self._stage_door(payload, say, fail)
        self._api_door(self.api, "api", payload)
        self._api_door(self.media_api, "media-api", payload)
        if self.cli_runs:
            self._cli_door(payload)

    def _try(self, door: str, fn: Any) -> Any:
        try:
            return fn()
        except JobStateError as exc:  # a refusal: its text is an answer the user sees
            self.answers.append(Answer(door, 422, str(exc)))
            return None

    def _store_doors(self, payload: Payload) -> None:
        value = payload.build()
        made = self._try("store.create", lambda: self.store.create(value))
        if made is not None:
            self.jobs.append(made.job_id)
        job_id = self.store.create({"plain": 1}).job_id
        self.jobs.append(job_id)
        self.store.set_state(job_id, "WORK", attempt=1)
        self._try("store.progress", lambda: self.store.progress(job_id, value, attempt=1))
        self._try(
            "store.message",
            lambda: self.store.progress(job_id, {"n": 1}, attempt=1, message=payload.text()),
        )
        self._try(
            "store.result",
            lambda: self.store.set_state(job_id, "DONE", attempt=1, result=value),
        )

    def _stage_door(self, payload: Payload, say: str, fail: str | None) -> None:
        """The doors app's stage writes the payload (deeper, poisoned) as progress and
        result, with ``say`` as its message, and raises ``fail`` if given."""
        spec = {"depth": payload.depth, "say": say, "poison": list(POISONS)}
        if fail is not None:
            spec["raise"] = fail
        for data in ({**payload.build(), **spec}, spec):  # the payload itself may be refused
            record = self._try("service.submit", lambda data=data: self.service.submit(data))
            if record is not None:
                self.jobs.append(record["job_id"])
                self.answers.append(Answer("service.submit", 202, json.dumps(record)))
                return

    def _api_door(self, api: AsgiClient, door: str, payload: Payload) -> None:
        body = payload.text().encode("utf-8")
        answer = api.post("/api/jobs", content=body, headers={"content-type": "application/json"})
        self.answers.append(Answer(door, answer.status_code, answer.text))
        if answer.status_code == 202 and api is self.api:
            self.jobs.append(answer.json()["job_id"])

    def _cli_door(self, payload: Payload) -> None:
        text = payload.text()
        self._cli("cli.submit", ["submit", "--input", text])
        path = self.tmp / "input.json"
        path.write_bytes(text.encode("utf-8"))
        self._cli("cli.submit@file", ["submit", "--input", f"@{path}"])

    def cli(self, args: list[str]) -> Result:
        """Run ``jobstate ARGS`` in this process on the test's Redis and app."""
        return CliRunner(env=self.cli_env).invoke(cli, args)

    def _cli(self, door: str, args: list[str]) -> None:
        result = self.cli(args)
        self.answers.append(Answer(door, result.exit_code, result.output))
        if result.exit_code == 0:
            self.jobs.append(result.output.strip().splitlines()[-1])

    # -- reads ----------------------------------------------------------------------

    def read_all(self) -> list[Answer]:
        """Every job read back through every read door; returns every answer so far."""
        for job_id in self.jobs:
            self._read_store(job_id)
            for path in (f"/api/jobs/{job_id}", f"/api/jobs/{job_id}/history"):
                answer = self.api.get(path)
                self.answers.append(Answer(f"GET {path}", answer.status_code, answer.text))
        for api, name in ((self.api, "api"), (self.media_api, "media-api")):
            for path in ("/api/jobs?limit=200", "/api/workflow", "/healthz"):
                answer = api.get(path)
                self.answers.append(Answer(f"{name} GET {path}", answer.status_code, answer.text))
        listed = self.store.list_jobs(limit=1000) + self.media_store.list_jobs(limit=1000)
        self.answers.append(Answer("store.list_jobs", 200, _shown(listed)))
        if self.cli_runs and self.jobs:
            status = self.cli(["status", self.jobs[-1], "--history"])
            self.answers.append(Answer("cli.status", status.exit_code, status.output))
        return self.answers

    def _read_store(self, job_id: str) -> None:
        reads = {
            "store.get_state": lambda: self.store.get_state(job_id),
            "store.get_live_state": lambda: self.store.get_live_state(job_id),
            "store.history": lambda: self.store.history(job_id),
            "service.get": lambda: self.service.get(job_id),
        }
        for door, read in reads.items():
            self.answers.append(Answer(door, 200, _shown(read())))


def _shown(value: Any) -> str:
    """``value`` as a JSON writer prints it (raises if no UTF-8 writer could)."""
    return json.dumps(value, ensure_ascii=False).encode("utf-8").decode("utf-8")
