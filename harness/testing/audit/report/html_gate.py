"""The one gate between card data and HTML, and the self-contained page around it (no pytest).

:class:`Markup` is HTML this renderer wrote itself. :func:`el` builds an element from a
literal tag name, literal attribute names and children; every child or attribute value
that is not already :class:`Markup` goes through :func:`text`, the single place where a
value becomes HTML. So no value can open a tag, add an attribute or end the page, and the
tag and attribute names are checked against the page's rules (no inline handlers, no
``style=``, no script, links only to anchors on the page).

:func:`page` wraps a body in a document whose Content-Security-Policy allows nothing but
its own ``<style>``, named by the sha256 of its text computed when the page is built.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable, Mapping

__all__ = ["Child", "Markup", "concat", "csp", "el", "page", "shown", "text"]

# Elements the card uses; anything else (script, iframe, object, img, link, form...) is
# refused, so a change to the renderer cannot bring one in unnoticed.
_TAG_NAMES = (
    "a article code dd div dl dt footer h1 h2 h3 h4 header li main meta nav ol p pre "
    "section small span strong table tbody td th thead title tr ul"
)
ALLOWED_TAGS = frozenset(_TAG_NAMES.split())
VOID_TAGS = frozenset({"meta"})
_ATTRIBUTE = re.compile(r"[a-z][a-z-]*\Z")
_REFUSED_ATTRIBUTES = re.compile(r"on|style\Z|src\Z|srcdoc\Z|formaction\Z")
# What HTML cannot carry as text: a NUL is dropped or replaced by the parser, a lone
# surrogate cannot be written as UTF-8 at all.
_UNCARRIABLE = re.compile("[\x00\ud800-\udfff]")


class Markup(str):
    """HTML written by this renderer (never by a user): passed through the gate as is."""

    __slots__ = ()


Child = Markup | str | int | float | None
"""What an element may hold: markup, or a value that the gate turns into text."""


def shown(value: object) -> str:
    """The text a reader sees for ``value``: its ``str``, with a NUL or a lone surrogate
    (which HTML cannot carry) shown as U+FFFD."""
    return _UNCARRIABLE.sub("\ufffd", str(value))


def text(value: object) -> Markup:
    """THE gate: any value as HTML text (escaped, quotes included, so it is safe in an
    attribute too). A carriage return is written as a reference, which the parser keeps
    (a raw one it would turn into a line feed)."""
    if isinstance(value, Markup):
        return value
    return Markup(html.escape(shown(value), quote=True).replace("\r", "&#13;"))


def concat(*children: Child | Iterable[Child]) -> Markup:
    """Children (or iterables of them) joined, each through the gate."""
    parts: list[str] = []
    for child in children:
        if isinstance(child, str | int | float) or child is None:
            parts.append("" if child is None else text(child))
        else:
            parts.extend("" if c is None else text(c) for c in child)
    return Markup("".join(parts))


def _attributes(attrs: Mapping[str, str]) -> str:
    for name, value in attrs.items():
        if not _ATTRIBUTE.match(name) or _REFUSED_ATTRIBUTES.match(name):
            raise ValueError(f"attribute {name!r} is not allowed on the audit page")
        if name == "href" and not value.startswith("#"):
            raise ValueError(f"link to {value!r}: the audit page links only within itself")
    return "".join(f' {name}="{text(value)}"' for name, value in attrs.items())


def el(tag: str, *children: Child | Iterable[Child], **attrs: str) -> Markup:
    """``<tag attrs>children</tag>``; ``class_`` names the class attribute and ``_`` in a
    keyword becomes ``-`` (``data_testid`` is ``data-testid``)."""
    if tag not in ALLOWED_TAGS:
        raise ValueError(f"<{tag}> is not allowed on the audit page")
    named = {key.rstrip("_").replace("_", "-"): value for key, value in attrs.items()}
    opening = f"<{tag}{_attributes(named)}>"
    if tag in VOID_TAGS:
        if children:
            raise ValueError(f"<{tag}> holds no children")
        return Markup(opening)
    return Markup(f"{opening}{concat(*children)}</{tag}>")


def csp(style: str) -> str:
    """The page's policy: nothing loads, nothing runs; only ``style`` (by its hash) applies."""
    digest = base64.b64encode(hashlib.sha256(style.encode("utf-8")).digest()).decode("ascii")
    return f"default-src 'none'; style-src 'sha256-{digest}'; base-uri 'none'; form-action 'none'"


def page(title: str, style: str, body: Markup, *, lang: str = "en") -> str:
    """A whole HTML document: the policy first, then the title, the one style, the body."""
    if "</" in style:
        raise ValueError("the page's style must not contain '</'")
    head = concat(
        el("meta", charset="utf-8"),
        el("meta", http_equiv="Content-Security-Policy", content=csp(style)),
        el("meta", name="referrer", content="no-referrer"),
        el("meta", name="viewport", content="width=device-width, initial-scale=1"),
        el("title", title),
    )
    return (
        f'<!doctype html>\n<html lang="{text(lang)}">\n<head>\n{head}\n'
        f"<style>{style}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
