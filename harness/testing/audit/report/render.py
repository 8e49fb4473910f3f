"""The report card rendered and written: JSON, Markdown, terminal text, HTML (no pytest).

:func:`write_card` writes the three files a run leaves under ``test-results/``;
the terminal summary comes from :func:`render_text`. Each renderer lives in its own
module; this one is where callers take them from.
"""

from __future__ import annotations

from pathlib import Path

from harness.testing.audit.report.card import AuditCard
from harness.testing.audit.report.html_card import render_html
from harness.testing.audit.report.markdown_card import render_markdown
from harness.testing.audit.report.terminal_card import render_text

__all__ = ["CARD_FILES", "render_html", "render_markdown", "render_text", "write_card"]

CARD_FILES = ("audit.json", "audit.md", "audit.html")
"""The files :func:`write_card` writes, in order."""


def write_card(card: AuditCard, directory: Path) -> list[Path]:
    """Write ``audit.json``, ``audit.md`` and ``audit.html`` into ``directory`` (created
    if missing, files replaced); their paths, in :data:`CARD_FILES` order."""
    directory.mkdir(parents=True, exist_ok=True)
    texts = (card.dumps() + "\n", render_markdown(card), render_html(card))
    paths = [directory / name for name in CARD_FILES]
    for path, text in zip(paths, texts, strict=True):
        path.write_text(text, encoding="utf-8")
    return paths
