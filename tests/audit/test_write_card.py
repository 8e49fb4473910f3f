"""write_card leaves the three files of a card, and audit.json reads back as the same card."""

from __future__ import annotations

import json
from pathlib import Path

from harness.testing.audit.report.card import AuditCard
from harness.testing.audit.report.render import render_html, render_markdown, write_card
from tests.audit.cards import mixed_card, own_state_card, realistic_card


def test_writes_json_markdown_and_html_into_a_new_folder(tmp_path: Path) -> None:
    folder = tmp_path / "test-results" / "audit"
    card = mixed_card()
    paths = write_card(card, folder)
    assert paths == [folder / "audit.json", folder / "audit.md", folder / "audit.html"]
    assert paths[1].read_text(encoding="utf-8") == render_markdown(card)
    assert paths[2].read_text(encoding="utf-8") == render_html(card)


def test_audit_json_round_trips_through_from_json(tmp_path: Path) -> None:
    for card in (mixed_card(), realistic_card(), own_state_card()):
        path = write_card(card, tmp_path)[0]
        data = json.loads(path.read_text(encoding="utf-8"))
        assert AuditCard.from_json(data) == card
        assert data["version"] == card.version


def test_a_second_write_replaces_the_first(tmp_path: Path) -> None:
    write_card(realistic_card(), tmp_path)
    card = mixed_card()
    paths = write_card(card, tmp_path)
    assert AuditCard.from_json(json.loads(paths[0].read_text(encoding="utf-8"))) == card
    assert "shop.tasks:app" in paths[2].read_text(encoding="utf-8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.html", "audit.json", "audit.md"]


def test_the_bugs_sampling_and_adapter_are_in_audit_json(tmp_path: Path) -> None:
    data = json.loads(write_card(own_state_card(), tmp_path)[0].read_text(encoding="utf-8"))
    assert data["adapter"] == "naive_resizer.audit:NaiveAdapter"
    assert data["machine"] is None
    killed = data["cells"][1]
    assert [bug["kind"] for bug in killed["bugs"]] == ["errors-not-propagated", "lost-at-handoff"]
    assert killed["bugs"][1]["finding"] in killed["reasons"]
    assert killed["sampled"].startswith("read 5210 times")


def test_a_card_written_before_bugs_and_adapters_still_reads(tmp_path: Path) -> None:
    data = mixed_card().to_json()
    del data["adapter"]
    for cell in data["cells"]:
        del cell["bugs"], cell["sampled"]
    card = AuditCard.from_json(data)
    assert card == mixed_card()
    assert card.adapter == ""
    assert all(cell.bugs == [] and cell.sampled == "" for cell in card.cells)
