"""The web API fuzzed from its own OpenAPI schema with schemathesis.

Requests generated from ``/openapi.json`` (valid and invalid ones) go over HTTP to the app
served on a free port, backed by the ACL'd Redis as the limited user, with a real Celery
app enqueuing on it (no worker: the API's job ends at the queue). No answer may be a
server error (5xx); every answer must match the schema (status code, content type, headers
and body); invalid requests must be refused and undeclared methods answered 405.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode, checks

from harness.testing.browser.live_ui import LiveUi
from tests.scale.apps import TARGET

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


def _fuzz(operation: schemathesis.APIOperation, mode: GenerationMode) -> None:
    """Run ``EXAMPLES`` generated requests of ``operation``; raise on the first failure."""

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(checks=CHECKS)

    call()


@pytest.mark.parametrize("mode", list(GenerationMode), ids=lambda m: m.value)
def test_every_answer_is_declared_and_matches_its_schema(
    api_schema: schemathesis.BaseSchema, mode: GenerationMode
) -> None:
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert {"POST /api/jobs", "GET /api/jobs/{job_id}"} <= {op.label for op in operations}
    failures: dict[str, Exception] = {}
    fuzzed = []
    for operation in operations:
        try:
            _fuzz(operation, mode)
        except Unsatisfiable:
            # No request can break this operation's schema (e.g. one free-form string in
            # the path): there is nothing negative to send.
            assert mode is GenerationMode.NEGATIVE, f"{operation.label} has no valid request"
            continue
        except Exception as exc:  # gather every operation's failure, then report them all
            failures[operation.label] = exc
        fuzzed.append(operation.label)
    assert not failures, "\n\n".join(f"{label}:\n{exc}" for label, exc in failures.items())
    assert {"POST /api/jobs", "GET /api/jobs"} <= set(fuzzed)
