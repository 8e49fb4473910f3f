"""Hostile text from users and workers is shown as text: nothing runs, nothing is injected."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Dialog, expect

from harness.testing.browser.ui_view import UiView
from pipeline.service import JobService
from pipeline.store import JobStore
from tests.ui.page.story import advance

pytestmark = pytest.mark.ui

IMG = "<img src=x onerror=alert(1)>"
SCRIPT = "</script><script>alert(1)</script>"
JS_URL = "javascript:alert(1)"
HOSTILE_URL = "http://media.example/</script><script>alert(1)</script><img/src=x/onerror=alert(1)>"
COUNT_ELEMENTS = "() => ({img: document.images.length, script: document.scripts.length})"


def _watch_dialogs(view: UiView) -> list[str]:
    opened: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    view.page.on("dialog", on_dialog)
    return opened


def test_hostile_url_message_and_error_are_inert(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    dialogs = _watch_dialogs(view)
    before: dict[str, Any] = view.page.evaluate(COUNT_ELEMENTS)
    job_id = scripted_service.submit(HOSTILE_URL)["job_id"]
    advance(state_store, job_id, "DOWNLOADING", message=IMG)
    view.open_job(job_id)
    view.wait_for_status("DOWNLOADING")
    expect(view.by_testid("job-message")).to_have_text(IMG)
    expect(view.by_testid("job-url")).to_have_text(HOSTILE_URL)

    error = f"{SCRIPT} {IMG} {JS_URL}"
    state_store.fail(job_id, error, attempt=1)
    view.wait_for_status("ERROR")
    expect(view.by_testid("job-error")).to_have_text(error)
    view.wait_until(lambda: job_id in view.job_list_ids(), what="job listed")
    expect(view.by_testid("job-list")).to_contain_text(HOSTILE_URL)

    assert view.page.evaluate(COUNT_ELEMENTS) == before
    assert view.page.locator('a[href^="javascript:"]').count() == 0
    assert dialogs == []
    assert view.csp_violations() == []


def test_hostile_results_are_inert(
    scripted_page: UiView, scripted_service: JobService, state_store: JobStore
) -> None:
    view = scripted_page
    dialogs = _watch_dialogs(view)
    job_id = scripted_service.submit("https://media.example/talk.mp3")["job_id"]
    view.open_job(job_id)
    view.wait_for_status("INIT")
    before: dict[str, Any] = view.page.evaluate(COUNT_ELEMENTS)
    for status in ("DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"):
        advance(state_store, job_id, status)
    result = {"transcript": SCRIPT, "quotes": [IMG, JS_URL], "summary": f"{IMG}{SCRIPT}"}
    advance(state_store, job_id, "COMPLETE", result=result)
    view.wait_for_status("COMPLETE")
    expect(view.by_testid("transcript")).to_have_text(SCRIPT)
    expect(view.by_testid("quotes").locator("li")).to_have_text([IMG, JS_URL])
    expect(view.by_testid("summary")).to_have_text(f"{IMG}{SCRIPT}")
    assert view.page.evaluate(COUNT_ELEMENTS) == before
    assert dialogs == []
    assert view.csp_violations() == []


def test_hostile_form_input_is_refused_and_echoed_as_text(scripted_page: UiView) -> None:
    view = scripted_page
    dialogs = _watch_dialogs(view)
    before: dict[str, Any] = view.page.evaluate(COUNT_ELEMENTS)
    said = view.submit_expecting_error(JS_URL)
    assert "scheme 'javascript' is not http or https" in said
    said = view.submit_expecting_error("https://media.example/a.mp3", IMG)
    assert said == f"space_id: '{IMG}' is not a valid space id"
    url = f"https://media.example/{SCRIPT}"
    view.submit(url, "space-1")  # a valid URL with markup in its path: stored, shown as text
    view.wait_for_status("INIT")
    expect(view.by_testid("job-url")).to_have_text(url)
    assert view.page.evaluate(COUNT_ELEMENTS) == before
    assert view.page.locator('a[href^="javascript:"]').count() == 0
    assert dialogs == []
    assert view.csp_violations() == []
