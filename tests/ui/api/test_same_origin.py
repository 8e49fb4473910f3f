"""Every route that changes state refuses a request another site's page made a browser
send, and nothing changes; this server's own pages, and clients that are not browsers,
pass.

The doors are read from the app itself (every operation of its OpenAPI document that is
not GET, HEAD or OPTIONS), so a route added later is held to the same rule.
"""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.api.conftest import open_client
from ui.app import create_app
from ui.same_origin import SAFE_METHODS, cross_site

pytestmark = pytest.mark.anyio

HOST = "127.0.0.1:8000"  # the in-process client's (tests.asgi.BASE_URL)
FOREIGN = ["http://evil.example", "https://127.0.0.1.evil.example", "http://127.0.0.1:1", "null"]


def _writes(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path template) of every route that changes state, as the app's own
    OpenAPI document lists them."""
    return sorted(
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
        if method.upper() not in SAFE_METHODS
    )


def _path(template: str, job_id: str) -> str:
    return re.sub(r"\{[^}]+\}", job_id, template)


async def test_every_write_refuses_another_sites_request_and_changes_nothing(
    app: FastAPI, client: httpx.AsyncClient, state_store: JobStore
) -> None:
    writes = _writes(app)
    assert {m for m, _ in writes} >= {"POST", "DELETE"}, writes
    job_id = state_store.create("https://media.example/talk.mp3").job_id
    state_store.fail(job_id, "boom", attempt=1)
    before = (state_store.get_state(job_id), [r["job_id"] for r in state_store.list_jobs()])
    for method, template in writes:
        for headers in (
            *({"origin": origin} for origin in FOREIGN),
            {"sec-fetch-site": "cross-site"},
            {"origin": "http://evil.example", "content-type": "application/x-www-form-urlencoded"},
        ):
            answer = await client.request(
                method, _path(template, job_id), headers=headers, content=b"url=x"
            )
            assert answer.status_code == 403, (method, template, headers, answer.text)
            assert answer.json()["detail"].startswith("cross-site request refused")
            assert answer.headers["content-security-policy"]  # the policy is on it too
    after = (state_store.get_state(job_id), [r["job_id"] for r in state_store.list_jobs()])
    assert after == before


@pytest.mark.parametrize(
    "headers",
    [
        {},  # not a browser
        {"origin": f"http://{HOST}"},
        {"origin": f"http://{HOST}", "sec-fetch-site": "same-origin"},
    ],
    ids=["no-origin", "same-origin", "fetch-metadata"],
)
async def test_this_servers_pages_and_other_clients_may_write(
    client: httpx.AsyncClient, state_store: JobStore, headers: dict[str, str]
) -> None:
    job_id = state_store.create("https://media.example/talk.mp3").job_id
    state_store.fail(job_id, "boom", attempt=1)
    answer = await client.post(f"/api/jobs/{job_id}/retry", headers=headers)
    assert answer.status_code == 202, answer.text
    assert state_store.get_state(job_id)["attempt"] == 2


async def test_a_page_served_through_a_proxy_may_write(state_store: JobStore) -> None:
    # The proxy's public name is listed, as a proxy on this machine needs (ui.known_host).
    settings = state_store.settings.with_(ui_hosts=("jobs.example.com",))
    store = JobStore(state_store.client, state_store.workflow, settings)
    job_id = store.create("https://media.example/talk.mp3").job_id
    store.fail(job_id, "boom", attempt=1)
    headers = {"origin": "https://jobs.example.com", "x-forwarded-host": "jobs.example.com"}
    async with await open_client(create_app(JobService(store, lambda ctx: None))) as client:
        answer = await client.post(f"/api/jobs/{job_id}/retry", headers=headers)
    assert answer.status_code == 202, answer.text
    assert store.get_state(job_id)["attempt"] == 2


async def test_another_site_may_still_read(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/jobs", headers={"origin": "http://evil.example"})
    assert answer.status_code == 200


def _scope(method: str, headers: dict[str, str]) -> dict[str, Any]:
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    return {"type": "http", "method": method, "headers": raw}


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    method=st.sampled_from(["GET", "HEAD", "OPTIONS", "POST", "DELETE", "PUT", "PATCH"]),
    origin=st.none() | st.sampled_from([*FOREIGN, "http://ui.test"]) | st.text(max_size=30),
    host=st.sampled_from(["ui.test", "UI.TEST", "other.test", HOST]),
)
def test_a_write_passes_only_from_its_own_origin(
    method: str, origin: str | None, host: str
) -> None:
    headers = {"host": host} | ({"origin": origin} if origin is not None else {})
    try:
        latin = {k: v.encode("latin-1").decode("latin-1") for k, v in headers.items()}
    except UnicodeEncodeError:
        return  # not a header value HTTP can carry
    why = cross_site(_scope(method, latin))
    same = origin is None or origin.strip().lower() in {
        f"http://{host.lower()}",
        f"https://{host.lower()}",
    }
    assert (why is None) == (method in SAFE_METHODS or same), (method, origin, host, why)
