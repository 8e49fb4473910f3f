"""The audit page parsed back with the standard library: its events, and a small tree.

``events`` is what a structural comparison needs (every tag with its attributes, every
run of text, every comment or declaration); ``tree`` finds elements by class, id or
``data-testid`` for the unit tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

__all__ = ["Event", "Node", "events", "tree"]

VOID = frozenset({"meta"})

Event = tuple[Any, ...]
"""``("start", tag, ((name, value), ...))``, ``("end", tag)``, ``("text", text)``, ..."""


class _Events(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[Event] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found.append(("start", tag, tuple(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.found.append(("selfclosed", tag))

    def handle_endtag(self, tag: str) -> None:
        self.found.append(("end", tag))

    def handle_data(self, data: str) -> None:
        if self.found and self.found[-1][0] == "text":
            data = self.found.pop()[1] + data
        self.found.append(("text", data))

    def handle_comment(self, data: str) -> None:
        self.found.append(("comment", data))

    def handle_decl(self, decl: str) -> None:
        self.found.append(("decl", decl))

    def handle_pi(self, data: str) -> None:
        self.found.append(("pi", data))

    def unknown_decl(self, data: str) -> None:
        self.found.append(("unknown", data))


def events(page: str) -> list[Event]:
    """Every event of ``page`` in order; consecutive text runs are merged into one."""
    parser = _Events()
    parser.feed(page)
    parser.close()
    return parser.found


@dataclass
class Node:
    """An element: its tag, attributes and children (nodes, or strings of text)."""

    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All the text inside, as a browser's ``textContent`` gives it."""
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    @property
    def classes(self) -> list[str]:
        """The element's classes."""
        return self.attrs.get("class", "").split()

    def walk(self) -> Iterator[Node]:
        """This element and every element inside it, in document order."""
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.walk()

    def all(self, tag: str | None = None, cls: str | None = None) -> list[Node]:
        """The elements inside (this one included) with this tag and/or class."""
        return [
            n
            for n in self.walk()
            if (tag is None or n.tag == tag) and (cls is None or cls in n.classes)
        ]

    def by(self, attr: str, value: str) -> Node:
        """The one element whose ``attr`` is ``value``."""
        found = [n for n in self.walk() if n.attrs.get(attr) == value]
        assert len(found) == 1, f"{len(found)} elements with {attr}={value!r}"
        return found[0]


def tree(page: str) -> Node:
    """``page`` as a tree under a root node (``<meta>`` is the only void element)."""
    root = Node("#root", {})
    stack = [root]
    for event in events(page):
        kind = event[0]
        if kind == "start":
            node = Node(event[1], {name: value or "" for name, value in event[2]})
            stack[-1].children.append(node)
            if event[1] not in VOID:
                stack.append(node)
        elif kind == "end":
            assert stack[-1].tag == event[1], f"</{event[1]}> closes <{stack[-1].tag}>"
            stack.pop()
        elif kind == "text":
            stack[-1].children.append(event[1])
    assert stack == [root], "unclosed elements"
    return root
