"""The web API fuzzed from its own OpenAPI schema with schemathesis.

Requests generated from ``/openapi.json`` (valid and invalid ones) go over HTTP to the app
served on a free port, backed by the ACL'd Redis as the limited user, with a real Celery
app enqueuing on it (no worker: the API's job ends at the queue). Every answer must be
something other than a 5xx that the server did not declare, and must match the schema:
its status code, content type, headers and body.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks

from harness.live_ui import LiveUi
from tests.scale.apps import TARGET
from tests.security.conftest import AclRedis

pytestmark = [pytest.mark.security, pytest.mark.jobstate_celery("prefork")]

EXAMPLES = 40
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.unsupported_method,
]
"""Every check but ``positive_data_acceptance``: the schema cannot carry the workflow's
input rules (a job id's form, a URL's scheme), so a schema-valid request may get the
declared 400 or 422 naming the bad field."""


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the short-staged scale app (no media work behind the API)."""
    return TARGET


@pytest.fixture
def api_schema(live_ui: LiveUi) -> schemathesis.BaseSchema:
    """Function: the served app's own OpenAPI schema, loaded over HTTP."""
    return schemathesis.openapi.from_url(live_ui.api_url("/openapi.json"))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_is_declared_and_matches_its_schema(
    case: schemathesis.Case, acl_redis: AclRedis
) -> None:
    case.call_and_validate(checks=CHECKS)
