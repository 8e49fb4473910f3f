"""A 405 answer lists every method its path supports, not just one route's."""

from __future__ import annotations

import httpx
import pytest

pytestmark = pytest.mark.anyio


async def test_a_405_lists_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    answer = await client.put("/api/jobs")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, HEAD, POST"
    assert answer.json() == {"detail": "Method Not Allowed"}


async def test_the_api_documents_its_problem_answers(client: httpx.AsyncClient) -> None:
    schema = (await client.get("/openapi.json")).json()
    listing = schema["paths"]["/api/jobs"]["get"]["responses"]["422"]
    assert listing["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert "400" in schema["paths"]["/api/jobs"]["post"]["responses"]
    assert "HTTPValidationError" not in schema["components"]["schemas"]
