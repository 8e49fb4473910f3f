"""Read a Markdown card's shape back: its tables' cells (split as GitHub splits them) and
the kind of every line outside code blocks."""

from __future__ import annotations

import re

__all__ = ["code_blocks", "skeleton", "split_row", "tables"]

_FENCE = re.compile(r"(`{3,})(\w*)\Z")


# A row's pieces: an escaped character, a run of plain text, or a separator.
_PIECE = re.compile(r"\\.|[^\\|]+|\\\Z|\|", re.S)


def split_row(line: str) -> list[str]:
    """A table row's cells: split at each ``|`` that no backslash escapes."""
    cells: list[str] = []
    cell: list[str] = []
    for piece in _PIECE.findall(line.strip()[1:-1]):
        if piece == "|":
            cells.append("".join(cell).strip())
            cell = []
        else:
            cell.append(piece)
    return [*cells, "".join(cell).strip()]


def _fenced(markdown: str) -> list[tuple[str, str]]:
    """Each line with where it is: ``text``, ``fence`` or ``code``."""
    found: list[tuple[str, str]] = []
    fence = ""
    for line in markdown.split("\n"):
        if fence:
            closing = line.startswith(fence) and line.strip("`") == ""
            found.append((line, "fence" if closing else "code"))
            fence = "" if closing else fence
        elif match := _FENCE.match(line):
            fence = match.group(1)
            found.append((line, "fence"))
        else:
            found.append((line, "text"))
    assert not fence, "a code block is never closed"
    return found


def _lines_outside_code(markdown: str) -> list[str | None]:
    """Each line, or ``None`` for a line of a fenced code block (fences included)."""
    return [line if where == "text" else None for line, where in _fenced(markdown)]


def code_blocks(markdown: str) -> list[list[str]]:
    """The contents of each fenced code block, as lines."""
    blocks: list[list[str]] = []
    inside = False
    for line, where in _fenced(markdown):
        if where == "fence":
            inside = not inside
            if inside:
                blocks.append([])
        elif where == "code":
            blocks[-1].append(line)
    return blocks


def tables(markdown: str) -> list[list[list[str]]]:
    """Every table outside code blocks, as rows of cells (the alignment row left out)."""
    found: list[list[list[str]]] = []
    previous = ""
    for line in _lines_outside_code(markdown):
        if line is not None and line.startswith("|"):
            if not previous.startswith("|"):
                found.append([])
            if not re.fullmatch(r"\|( ?-+:? \|)+", line):
                found[-1].append(split_row(line))
        previous = line or ""
    return found


def skeleton(markdown: str) -> list[str]:
    """The kind of each line: ``table:<cells>``, ``h<level>``, ``item``, ``code`` or
    ``text`` (a paragraph line, or a blank one: a blank text only adds a paragraph break,
    while a line the renderer leaves blank after a table stays blank whatever the text).
    User text can change none of them."""
    kinds = []
    for line in _lines_outside_code(markdown):
        if line is None:
            kinds.append("code")
        elif line.startswith("|"):
            kinds.append(f"table:{len(split_row(line))}")
        elif match := re.match(r"(#+) ", line):
            kinds.append(f"h{len(match.group(1))}")
        elif line.startswith("- "):
            kinds.append("item")
        else:
            kinds.append("text")
    return kinds
