"""Security headers on every kind of response, and pages without inline script."""

from __future__ import annotations

import re

import httpx
import pytest

from pipeline.history import js_module
from ui.security import CONTENT_SECURITY_POLICY

pytestmark = pytest.mark.anyio

PATHS = [
    "/",
    "/jobs/abc",
    "/docs",
    "/static/app.js",
    "/static/style.css",
    "/openapi.json",
    "/api/jobs",
    "/api/jobs/abc",
    "/api/jobs/bad%20id",
    "/healthz",
    "/nowhere",
]
API = ("/api/", "/healthz", "/openapi.json")


@pytest.mark.parametrize("path", PATHS)
async def test_every_response_carries_the_policy(client: httpx.AsyncClient, path: str) -> None:
    response = await client.get(path)
    headers = response.headers
    assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    for part in (
        "default-src 'self'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
    ):
        assert part in headers["content-security-policy"]
    assert "unsafe-inline" not in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    if path.startswith(API):
        assert headers["cache-control"] == "no-store"


@pytest.mark.parametrize("page", ["/", "/docs"])
async def test_pages_have_no_inline_script_or_handlers(
    client: httpx.AsyncClient, page: str
) -> None:
    html = (await client.get(page)).text
    scripts = re.findall(r"<script\b[^>]*>(.*?)</script>", html, flags=re.S | re.I)
    assert scripts
    assert all(body.strip() == "" for body in scripts)
    assert all('src="/static/' in tag for tag in re.findall(r"<script\b[^>]*>", html))
    assert not re.search(r"\son[a-z]+\s*=", html, flags=re.I)
    assert "javascript:" not in html
    assert " style=" not in html


async def test_scripts_never_write_html(client: httpx.AsyncClient) -> None:
    spec = await client.get("/openapi.json")
    assert spec.status_code == 200
    for name in (
        "app.js",
        "view.js",
        "list.js",
        "results.js",
        "steps.js",
        "poller.js",
        "http.js",
        "progress.js",
        "docs.js",
    ):
        source = (await client.get(f"/static/{name}")).text
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            assert sink not in source, f"{name} uses {sink}"
        assert "setInterval" not in source, f"{name} polls with setInterval"


async def test_history_kinds_module_is_generated_from_the_enum(client: httpx.AsyncClient) -> None:
    response = await client.get("/static/history-kinds.js")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/javascript")
    assert response.text == js_module()
    assert "content-security-policy" in response.headers
