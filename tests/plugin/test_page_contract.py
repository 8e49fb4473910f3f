"""The reference page keeps every test id of its page object's contract."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from harness.testing.browser.ui_view import CONTRACT, UiView

STATIC = Path(__file__).resolve().parents[2] / "ui" / "static"


def page_test_ids() -> set[str]:
    """Every test id the page's HTML declares or its scripts set."""
    ids: set[str] = set()
    for path in STATIC.glob("*.html"):
        ids |= set(re.findall(r'data-testid="([\w-]+)"', path.read_text(encoding="utf-8")))
    for path in STATIC.glob("*.js"):
        text = path.read_text(encoding="utf-8")
        ids |= set(re.findall(r'testid\s*=\s*"([\w-]+)"', text))
        ids |= set(re.findall(r'"data-testid",\s*"([\w-]+)"', text))
    return ids


@pytest.mark.parametrize("testid", sorted(CONTRACT))
def test_the_page_keeps_each_contract_test_id(testid: str) -> None:
    assert testid in page_test_ids()


def test_the_page_object_reads_only_contract_ids() -> None:
    used = {UiView.STATUS_ID, *UiView.TEXT_IDS, *UiView.VISIBILITY_IDS}
    assert used <= set(CONTRACT), used - set(CONTRACT)
