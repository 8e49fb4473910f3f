"""Every string a worker or a user wrote is shown by the page as exactly that text, and
nothing in it becomes an element, runs or is blocked by the policy.

The fields: the status message, the progress line (a note and a key a worker chose), the
error, the job's URL (in the job view and the recent-jobs list), the status changes said
in the live region, each timeline row's error and Celery task id (a row shows no entry
message: the one written with each status must make nothing either), and a job id typed
into the page's address. Each example writes one hostile string into all of them
through the store (each field in the form its own validation lets through) and reads
the page back in one browser page. The expected text is what the API holds, put
together as the page's own rules say (``ui/static/progress.js``, ``app.js``).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from playwright.sync_api import Dialog

from harness.strategies import hostile_text
from harness.testing.browser.ui_view import UiView
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.page.story import advance

pytestmark = pytest.mark.ui

TIMEOUT_MS = 15_000
IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"
RTL = "\u202etxt.exe\u202d file"
LONG = "<svg/onload=alert(1)>" * 300  # 6300 characters, no space
CONTROLS = "bell\x07 back\x08 esc\x1b[31m red\x1b[0m\r\nSet-Cookie: x=1\x7f\x85"

# Elements a hostile string could make if any field were parsed as HTML: none may appear.
MADE = (
    "img, svg, iframe, object, embed, b, i, script:not([src]), a[href^='javascript:' i], "
    "[onerror], [onload], [onclick]"
)

READ_FIELDS = """
jobId => {
  const one = (id) => document.querySelector(`[data-testid="${id}"]`);
  const rows = [...document.querySelectorAll('[data-testid="timeline-row"]')];
  const item = [...document.querySelectorAll('[data-testid="job-item"]')]
    .find((li) => li.dataset.jobId === jobId);
  const fields = {
    message: one("job-message"),
    progress: one("progress-text"),
    url: one("job-url"),
    listed_url: item?.querySelector(".item-url"),
    error: one("job-error"),
    announced: one("announcer"),
    not_found: one("not-found-text"),
    row_errors: rows.map((row) => row.querySelector('[data-testid="row-error"]')),
    task_ids: rows.map((row) => row.querySelector('[data-testid="row-task"] code')),
  };
  // Each field's text, and whether the element holds text nodes alone.
  const textOnly = (el) => [...el.childNodes].every((n) => n.nodeType === Node.TEXT_NODE);
  const read = (el) => (el ? [el.textContent, textOnly(el)] : null);
  return Object.fromEntries(
    Object.entries(fields).map(([k, v]) => [k, Array.isArray(v) ? v.map(read) : read(v)]),
  );
}
"""

SHOWN = """
([jobId, version, rows, status]) => {
  const view = document.querySelector('[data-testid="job-view"]');
  const shown = [...document.querySelectorAll('[data-testid="timeline-row"]')];
  const listed = [...document.querySelectorAll('[data-testid="job-item"]')]
    .some((li) => li.dataset.jobId === jobId && li.dataset.status === status);
  return view.dataset.jobId === jobId && view.dataset.version === String(version)
    && shown.length === rows && shown.at(-1)?.dataset.status === status && listed;
}
"""


def _no_nul(text: str) -> str:
    return text.replace("\x00", "")


def _url_of(text: str) -> str:
    """A URL the store takes (no space, no control character) with ``text`` in its path."""
    path = "".join(c for c in text if c != " " and unicodedata.category(c)[0] != "C")
    return f"https://media.example/{path[:1900]}"


def _task_of(text: str) -> str:
    """A Celery task id (its own characters only) made from ``text``."""
    return "javascript:" + re.sub(r"[^A-Za-z0-9._:-]", "", text)[:140]


def _progress_text(progress: dict[str, Any]) -> str:
    """What ``describeProgress`` shows for the two forms written here."""
    if "percent" in progress:
        return " · ".join(p for p in (f"{progress['percent']}%", progress["detail"]) if p)
    [(key, value)] = progress.items()
    return f"{key}: {value}"


def _announced(status: str, detail: str) -> str:
    """What ``app.js`` says in the live region when the job moves to ``status``."""
    return f"Job status {status}: {detail}" if detail else f"Job status {status}"


def _text(shown: list[Any] | None) -> str:
    assert shown is not None, "the field is not on the page"
    text, text_only = shown
    assert text_only, f"the field holds an element: {text!r}"
    return str(text)


class Check:
    """One browser page, reading the fields of one job at a time."""

    def __init__(self, view: UiView, store: JobStore) -> None:
        self.view, self.store = view, store
        self.dialogs: list[str] = []
        self.errors: list[str] = []

        def on_dialog(dialog: Dialog) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        view.page.on("dialog", on_dialog)
        view.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.made = self.count_made()

    def count_made(self) -> int:
        """Elements of :data:`MADE` on the page."""
        return int(self.view.page.evaluate(f"() => document.querySelectorAll({MADE!r}).length"))

    def shown(self, job_id: str, rows: int, status: str) -> dict[str, Any]:
        """Wait until the page shows the job's stored version, ``rows`` timeline rows the
        last in ``status``, and lists it so; every field then."""
        version = self.store.get_state(job_id)["version"]
        self.view.page.wait_for_function(
            SHOWN, arg=[job_id, version, rows, status], timeout=TIMEOUT_MS
        )
        fields: dict[str, Any] = self.view.page.evaluate(READ_FIELDS, job_id)
        return fields

    def inert(self) -> None:
        """Nothing was made, ran, was blocked or broke."""
        assert self.count_made() == self.made
        assert self.dialogs == []
        assert self.errors == []
        assert self.view.csp_violations() == []


@pytest.fixture
def check(scripted_page: UiView, state_store: JobStore) -> Check:
    """Function: the page, watched for dialogs, errors and made elements from now on."""
    return Check(scripted_page, state_store)


@settings(
    max_examples=4,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # a page example takes seconds: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(hostile=hostile_text().map(_no_nul))
@example(hostile=IMG)
@example(hostile=SCRIPT)
@example(hostile=RTL)
@example(hostile=LONG)
@example(hostile=CONTROLS)
def test_every_written_field_is_shown_as_its_exact_text(
    check: Check, scripted_service: JobService, state_store: JobStore, hostile: str
) -> None:
    store, view = state_store, check.view
    job_id = scripted_service.submit(_url_of(hostile))["job_id"]
    note = {"percent": 40, "detail": hostile[:600]}
    advance(store, job_id, "DOWNLOADING", message=hostile, task_id=_task_of(hostile))
    store.progress(job_id, note, attempt=1)
    view.page.evaluate("id => { location.hash = `#/jobs/${encodeURIComponent(id)}`; }", job_id)

    shown, record = check.shown(job_id, 2, "DOWNLOADING"), store.get_state(job_id)
    assert _text(shown["message"]) == record["message"]
    assert _text(shown["progress"]) == _progress_text(record["progress"])
    assert _text(shown["url"]) == _text(shown["listed_url"]) == record["metadata"]["url"]
    assert _text(shown["announced"]) == _announced("DOWNLOADING", record["message"])
    assert [_text(t) for t in shown["task_ids"] if t is not None] == [_task_of(hostile)]

    # A key it chose ("k" first: never one the page reads as an amount or a note).
    store.progress(job_id, {f"k{hostile[:300]}": hostile[:300]}, attempt=1)
    shown, record = check.shown(job_id, 2, "DOWNLOADING"), store.get_state(job_id)
    assert _text(shown["progress"]) == _progress_text(record["progress"])

    store.fail(job_id, f"decode error: {hostile}", attempt=1, stage="DOWNLOADING")
    shown, record = check.shown(job_id, 3, "ERROR"), store.get_state(job_id)
    assert _text(shown["error"]) == _text(shown["row_errors"][-1]) == record["error"]
    assert _text(shown["announced"]) == _announced("ERROR", record["error"])

    typed = f"x{hostile[:300]}"  # a job id typed into the address: none, or a malformed one
    answered = httpx.get(view.live.api_url(f"/api/jobs/{quote(typed, safe='')}")).status_code
    view.page.evaluate("id => { location.hash = `#/jobs/${encodeURIComponent(id)}`; }", typed)
    view.wait_visible("not-found")
    said = _text(view.page.evaluate(READ_FIELDS, typed)["not_found"])
    if answered == 400:
        assert said == f"“{typed}” is not a valid job id."
    else:
        assert (answered, said) == (
            404,
            f"There is no job with id “{typed}”. It may have been cleared or expired.",
        )
    check.inert()
