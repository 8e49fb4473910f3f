"""A request naming a host the server does not answer to is refused before it reads or
changes anything: a DNS-rebinding page (its own name resolving to 127.0.0.1) cannot use
its visitor's browser to read the API, and a server the operator exposed keeps working.

The doors are read from the app itself (every operation of its OpenAPI document, the
pages, the static files), each asked through the app as built (the poll answered first)
and through a project's middleware (the poll routed).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
import pytest
from anyio.from_thread import BlockingPortal, start_blocking_portal
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.provisional import domains
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.errors import JobNotFound
from pipeline.hostnames import ui_host_entry
from pipeline.service import JobService
from pipeline.settings import Settings, SettingsError
from pipeline.store import JobStore
from tests.asgi import AppClient
from tests.ui.api.routes import fill, gets, operations
from ui.app import create_app
from ui.security import CONTENT_SECURITY_POLICY
from ui.server import start_in_thread

URL = "https://media.example/talk.mp3"
LISTED = ("jobs.example.com", "bücher.example", "[2001:db8::7]", "10.1.2.3")
"""What ``JOBSTATE_UI_HOSTS`` lists where a name is listed."""
ARRIVALS = {"loopback": "127.0.0.1", "loopback6": "[::1]", "exposed": "192.0.2.10"}
"""The address a request arrives on (the ASGI ``server``), by what it is."""

LOOPBACK = [
    "localhost",
    "LocalHost",
    "localhost.",
    "127.0.0.1",
    "127.3.2.1",
    "[::1]",
    "[0:0:0:0:0:0:0:1]",
    "[::ffff:127.0.0.1]",
]
SPELLED_LISTED = [
    "jobs.example.com",
    "JOBS.Example.COM.",
    "xn--bcher-kva.example",
    "[2001:DB8:0::7]",
    "10.1.2.3",
]
TRICKY = [
    "127.0.0.1.evil.example",
    "localhost.evil.example",
    "evil.example@127.0.0.1",
    "localhost:80@evil.example",
    "127.0.0.1 evil.example",
    "[::1].evil.example",
    "localhost:8000:1",
    "::1",
    "[::1",
    "127.0.0.1:",
    "127.0.0.1:port",
    "jobs.example.com.evil.example",
    "*.example.com",
    "0.0.0.0",  # noqa: S104 (a Host header, not an address to bind)
    "127.000.000.001",
    "2130706433",
    "[::2]",
    "[127.0.0.1]",
    "[127.0.0.1]:8000",
    "[::1]:",
    "[::1]:abc",
    "",
]


@dataclass(frozen=True)
class Named:
    """A value for ``Host`` (or ``X-Forwarded-Host``) and what kind of host it names."""

    value: str
    kind: str  # loopback, listed, arrival or other


def _with_port(host: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    port = st.none() | st.integers(1, 65535)
    return st.builds(lambda h, p: h if p is None else f"{h}:{p}", host, port)


def _other(name: str) -> bool:
    canonical = name.lower().rstrip(".")
    return canonical not in {"localhost", *(ui_host_entry(e) for e in LISTED)}


@st.composite
def named(draw: st.DrawFn, arrived: str) -> Named:
    """A host header value of any kind, the address the request arrived on included."""
    kind = draw(st.sampled_from(["loopback", "listed", "arrival", "other"]))
    if kind == "loopback":
        return Named(draw(_with_port(st.sampled_from(LOOPBACK))), kind)
    if kind == "listed":
        return Named(draw(_with_port(st.sampled_from(SPELLED_LISTED))), kind)
    if kind == "arrival":
        return Named(draw(_with_port(st.just(arrived))), kind)
    v4 = st.ip_addresses(v=4).filter(lambda ip: not ip.is_loopback).map(str)
    v6 = st.ip_addresses(v=6).filter(lambda ip: not ip.is_loopback and ip.ipv4_mapped is None)
    others = st.one_of(
        _with_port(domains(max_length=90).filter(_other)),
        _with_port(v4.filter(lambda ip: ip not in ("192.0.2.10", "10.1.2.3"))),
        _with_port(v6.map(lambda ip: f"[{ip}]").filter(lambda ip: ip != "[2001:db8::7]")),
        st.sampled_from(TRICKY),
    )
    return Named(draw(others), "other")


def _admitted(host: Named, arrival: str, listed: bool) -> bool:
    """The rule (ui.known_host), stated by kind: loopback names always; listed names when
    listed; the arrival address itself; anything when an exposed server lists nothing."""
    if not listed and not arrival.startswith("loopback"):
        return True
    return host.kind in ("loopback", "arrival") or (host.kind == "listed" and listed)


class Routed:
    """A project's middleware: the poll then goes through the framework's stack."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


Key = tuple[bool, str, bool]  # listed?, arrival, routed?


class Clients:
    """Blocking in-process clients (an async test cannot hold Hypothesis' own stop)."""

    def __init__(self, portal: BlockingPortal) -> None:
        self.portal = portal
        self.made: dict[Key, AppClient] = {}

    def add(self, key: Key, app: FastAPI, address: str) -> None:
        """Open a client on ``app`` whose requests arrive on ``address``."""
        client = AppClient(app, base_url=f"http://{address}:8000")
        self.made[key] = self.portal.call(client.__aenter__)

    def request(self, key: Key, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """``method path`` through the client ``key``."""
        return self.portal.call(partial(self.made[key].request, method, path, **kwargs))

    def close(self) -> None:
        """Close every client (running each app's shutdown)."""
        for client in self.made.values():
            self.portal.call(client.__aexit__, None, None, None)


@pytest.fixture
def clients(state_store: JobStore) -> Iterator[Clients]:
    """Function: in-process clients on the app with and without names listed, arriving on
    each address of :data:`ARRIVALS`, through each door of the poll."""
    with start_blocking_portal() as portal:
        made = Clients(portal)
        try:
            for listed in (False, True):
                settings = _settings(state_store, LISTED if listed else ())
                store = JobStore(state_store.client, state_store.workflow, settings)
                for routed in (False, True):
                    app = create_app(JobService(store, lambda ctx: None))
                    if routed:
                        app.add_middleware(Routed)
                    for arrival, address in ARRIVALS.items():
                        made.add((listed, arrival, routed), app, address)
            yield made
        finally:
            made.close()


def _settings(store: JobStore, hosts: tuple[str, ...]) -> Settings:
    return store.settings.with_(ui_hosts=hosts)


def _doors(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every door: each operation, each page and file."""
    return sorted({*operations(app), *(("GET", path) for path in gets(app))})


@pytest.fixture
def doors(service: JobService) -> list[tuple[str, str]]:
    """Function: every door of the app as :func:`ui.app.create_app` builds it."""
    found = _doors(create_app(service))
    assert {("GET", "/api/jobs/{job_id}"), ("POST", "/api/jobs"), ("GET", "/")} <= set(found)
    assert {m for m, _ in found} >= {"GET", "POST", "DELETE"}
    return found


def _seen(store: JobStore, job_id: str) -> tuple[Any, ...]:
    try:
        record: Any = store.get_state(job_id)
    except JobNotFound:
        record = None  # deleted
    return record, [r["job_id"] for r in store.list_jobs(limit=1)]  # a submit is the newest


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_only_names_the_server_answers_to_reach_any_door(
    clients: Clients,
    doors: list[tuple[str, str]],
    state_store: JobStore,
    data: st.DataObject,
) -> None:
    listed = data.draw(st.booleans(), label="listed")
    arrival = data.draw(st.sampled_from(sorted(ARRIVALS)), label="arrival")
    api = [door for door in doors if door[1].startswith("/api/")]
    door = data.draw(st.sampled_from(api) | st.sampled_from(doors), label="door")
    host = data.draw(named(ARRIVALS[arrival]), label="Host")
    forwarded = data.draw(st.none() | named(ARRIVALS[arrival]), label="X-Forwarded-Host")
    headers = {"host": host.value} | ({"x-forwarded-host": forwarded.value} if forwarded else {})
    admitted = _admitted(host, arrival, listed) and (
        forwarded is None or _admitted(forwarded, arrival, listed)
    )
    for routed in (False, True):  # the poll answered first, and through the stack
        answer, changed = _ask(clients, (listed, arrival, routed), door, headers, state_store)
        if admitted:
            assert answer.status_code < 400, (headers, answer.status_code, answer.text)
            continue
        assert answer.status_code == 421, (routed, headers, answer.status_code, answer.text)
        assert not changed
        detail = answer.json()["detail"]
        refused = host if not _admitted(host, arrival, listed) else forwarded
        assert refused is not None
        assert (repr(refused.value) if refused.value else "(none)") in detail, detail
        assert "JOBSTATE_UI_HOSTS" in detail
        assert "\n" not in detail
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY


def _ask(
    clients: Clients, key: Key, door: tuple[str, str], headers: dict[str, str], store: JobStore
) -> tuple[httpx.Response, bool]:
    """Ask ``door`` about a new job in ERROR (so a retry, a delete or a submit would each
    change something); the answer, and whether the store changed."""
    method, template = door
    job_id = store.create(URL).job_id
    store.fail(job_id, "boom", attempt=1)
    body = {"json": {"url": URL}} if door == ("POST", "/api/jobs") else {}
    before = _seen(store, job_id)
    answer = clients.request(key, method, fill(template, job_id), headers=headers, **body)
    return answer, _seen(store, job_id) != before


def test_a_real_server_on_loopback_refuses_a_rebinding_host(
    service: JobService, state_store: JobStore
) -> None:
    job_id = state_store.create(URL).job_id
    with start_in_thread(service) as running, httpx.Client(base_url=running.url) as http:
        port = running.port
        for path in ("/api/jobs", f"/api/jobs/{job_id}", "/"):
            refused = http.get(path, headers={"Host": f"rebound.evil.example:{port}"})
            assert refused.status_code == 421, (path, refused.text)
            assert refused.json() == {
                "detail": f"Host 'rebound.evil.example:{port}' is not a name this server "
                "answers to: this server listens on a loopback address and answers to "
                "localhost, 127.0.0.1, [::1] (any port); to reach it by that name, add the "
                "name to JOBSTATE_UI_HOSTS (comma-separated)"
            }
        write = http.post("/api/jobs", json={"url": URL}, headers={"Host": "evil.example"})
        assert write.status_code == 421
        assert [j["job_id"] for j in state_store.list_jobs()] == [job_id]
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost"):
            assert http.get(f"/api/jobs/{job_id}", headers={"Host": host}).status_code == 200


@pytest.fixture
def listed_service(state_store: JobStore) -> JobService:
    """Function: a service whose settings list ``jobs.example.com``."""
    settings = _settings(state_store, ("jobs.example.com",))
    return JobService(JobStore(state_store.client, state_store.workflow, settings), lambda c: None)


def test_a_real_server_answers_to_a_listed_name_behind_a_proxy(
    listed_service: JobService,
) -> None:
    proxied = {"Host": "127.0.0.1", "X-Forwarded-Host": "jobs.example.com"}
    with start_in_thread(listed_service) as running, httpx.Client(base_url=running.url) as http:
        assert http.get("/api/jobs", headers={"Host": "jobs.example.com:443"}).status_code == 200
        assert http.get("/api/jobs", headers=proxied).status_code == 200
        rebound = {**proxied, "X-Forwarded-Host": "evil.example"}
        assert http.get("/api/jobs", headers=rebound).status_code == 421


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("*", "names no host"),
        ("*.example.com", "names no host"),
        ("10.0.0.0/8", "names no host"),
        ("jobs.example.com:8000", "has a port"),
        ("[jobs.example.com]", "names no host"),
        ("a:b:c", "names no host"),
    ],
)
def test_a_listed_entry_that_names_no_host_is_refused_naming_it(entry: str, problem: str) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"JOBSTATE_UI_HOSTS": f"jobs.example.com,{entry}"})
    assert str(refused.value).startswith(f"JOBSTATE_UI_HOSTS: ui_hosts entry {entry!r} {problem}")


def test_listed_entries_are_read_from_the_environment() -> None:
    made = Settings.from_env({"JOBSTATE_UI_HOSTS": " jobs.example.com, [::1] ,10.1.2.3"})
    assert made.ui_hosts == ("jobs.example.com", "[::1]", "10.1.2.3")
    assert Settings.from_env(made.to_env()) == made


@pytest.mark.parametrize(
    "headers",
    [
        [],
        [(b"host", b"127.0.0.1:8000"), (b"host", b"evil.example")],
        [(b"host", b"localhost"), (b"x-forwarded-host", b"127.0.0.1, evil.example")],
        [
            (b"host", b"localhost"),
            (b"x-forwarded-host", b"localhost"),
            (b"x-forwarded-host", b"evil.example"),
        ],
    ],
    ids=["no Host", "a second Host", "a forwarded list", "a second forwarded header"],
)
def test_every_name_a_request_carries_is_judged_not_only_the_first(
    headers: list[tuple[bytes, bytes]],
) -> None:
    """On a loopback arrival every ``Host`` header (none at all counts as an empty one),
    every ``X-Forwarded-Host`` header and every entry of a comma-separated one must be
    a name the server answers to: a proxy chain appending a name passes it on."""
    from ui.known_host import KnownHosts

    scope = {"type": "http", "server": ("127.0.0.1", 8000), "headers": headers}
    assert KnownHosts().refusal(scope) is not None
    fine = [(b"host", b"127.0.0.1:8000"), (b"x-forwarded-host", b"localhost, [::1]:9")]
    assert KnownHosts().refusal({**scope, "headers": fine}) is None
