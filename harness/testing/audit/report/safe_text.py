"""User-written text made safe for a terminal and for Markdown (no pytest).

A stage name, an error text or a history entry can hold anything: escape sequences that
recolour or clear a terminal, bidi overrides that reorder what a reader sees, NULs, lone
surrogates a file cannot encode, line breaks that would end a table row, and Markdown or
HTML syntax. :func:`visible` shows every such character as a Python-style escape,
:func:`one_line` also folds line breaks, and :func:`md_inline` escapes what Markdown
would read as syntax, so user text is shown as text and never as structure.
"""

from __future__ import annotations

import re

__all__ = [
    "LINE_BREAK_MARK",
    "clip",
    "code_lines",
    "md_fence",
    "md_inline",
    "one_line",
    "visible",
]

LINE_BREAK_MARK = " \u21b5 "
"""What a line break inside one-line text is shown as (a return arrow between spaces)."""

# Bidi controls reorder the text around them: an error text could make "exe.live"
# read as "evil.exe", so they are shown, not obeyed. With the C0 and C1 controls and the
# lone surrogates they are what :func:`visible` escapes.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_HIDDEN = re.compile(f"[\x00-\x1f\x7f-\x9f\ud800-\udfff{_BIDI}]")
_LINE_BREAKS = re.compile("\r\n|[\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Characters Markdown reads as inline syntax (code, emphasis, links, HTML, entities,
# tables, strikethrough, heading closers) and the backslash that escapes them.
_MD_INLINE = str.maketrans({char: "\\" + char for char in "\\`*_[]<>|&~#"})
# A list item's text that starts like a block (a nested list, a quote, a rule, a
# numbered item) would become that block.
_MD_BLOCK_START = re.compile(r"^(?:([-+=])|(\d+)([.)]))")


def _escape_char(char: str) -> str:
    code = ord(char)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(text: str) -> str:
    """``text`` with control characters, bidi controls and lone surrogates shown as
    escapes (``\\x1b``, ``\\u202e``, ``\\udc80``); a tab becomes a space."""
    return _HIDDEN.sub(lambda m: _escape_char(m.group()), text.replace("\t", " "))


def one_line(text: str) -> str:
    """:func:`visible` text on one line: each line break shown as :data:`LINE_BREAK_MARK`."""
    return visible(_LINE_BREAKS.sub(LINE_BREAK_MARK, text))


def code_lines(text: str) -> list[str]:
    """The lines of a multi-line text (source code, a settings line), each :func:`visible`."""
    return [visible(line) for line in _LINE_BREAKS.split(text)]


def clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "\u2026"


def md_inline(text: str) -> str:
    """One-line text for a Markdown table cell, heading or list item: shown as written,
    never read as Markdown (its syntax characters backslash-escaped, ``|`` included, so
    a table keeps its columns)."""
    escaped = one_line(text).strip().translate(_MD_INLINE)
    return _MD_BLOCK_START.sub(_block_escape, escaped)


def _block_escape(match: re.Match[str]) -> str:
    marker, number, dot = match.groups()
    # A marker is escaped itself; "1." stays a plain number when its dot is escaped.
    return "\\" + marker if marker else f"{number}\\{dot}"


def md_fence(text: str, language: str = "") -> list[str]:
    """A fenced Markdown code block holding ``text``: its fence is longer than any run of
    backticks inside, so the text cannot close it."""
    runs = [len(run) for run in re.findall("`+", text)]
    fence = "`" * max(3, max(runs, default=0) + 1)
    lines = code_lines(text)
    if len(lines) > 1 and lines[-1] == "":
        lines.pop()  # the text's final line break ends its last line; it adds no line
    return [fence + language, *lines, fence]
