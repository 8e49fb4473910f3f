"""Hostile JSON with planted secrets, for the properties that every door must hold.

A :class:`Payload` is a JSON-like value (lone surrogates in keys and values, big strings,
huge integers, NaN, infinities, ``-0.0``) wrapped ``depth`` containers deep (up to
thousands), with secrets planted in every position: as URL user-info (to the last
``@``, scheme-less, with spaces), as token query parameters, and under secret-named keys
at any depth. Each secret carries a unique marker (:attr:`Payload.markers`) that must
appear in no answer, log line or CLI output. Deep values are built and encoded without
recursion, and a payload's repr stays short, so Hypothesis can print any of them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

__all__ = [
    "SWALLOWED_KEY",
    "Payload",
    "encode",
    "nest",
    "payloads",
    "secret_urls",
]

MARK = "Zq"
"""Every marker starts with it; a secret's marker is ``Zq`` and ten hex digits."""

SCHEMES = ("https:", "http:", "postgres:", "redis:", "amqp:", "")
SECRET_NAMES = (
    "token",
    "password",
    "db_password",
    "API_KEY",
    "apiKey",
    "X-Api-Key",
    "accessToken",
    "client-secret",
    "Authorization",
    "passwd",
    "private_key",
    "credentials",
)
QUERY_NAMES = ("access_token", "token", "api_key", "password", "client_secret", "sig_token")
# What may surround a marker in a password: what URL parsers keep in the user-info.
PASSWORD_JUNK = st.text(alphabet="ab-_.~!$@ :%", max_size=4)


@dataclass(frozen=True)
class Payload:
    """One hostile value: ``core`` wrapped ``depth`` times in ``wrapper`` containers."""

    core: Any = field(repr=False)
    depth: int
    wrapper: str
    markers: tuple[str, ...]
    summary: str

    def build(self) -> Any:
        """The value itself (built iteratively: any depth)."""
        return nest(self.core, self.depth, self.wrapper)

    def text(self) -> str:
        """The value as JSON text (``NaN``/``Infinity`` literals kept, lone surrogates
        escaped), built without recursion whatever the depth."""
        return encode(self.core, self.depth, self.wrapper)

    def __repr__(self) -> str:
        return f"Payload(depth={self.depth}, wrapper={self.wrapper!r}, {self.summary})"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """How Hypothesis prints a failing example: the short repr (its printer would
        otherwise show every field of a dataclass, megabytes of it)."""
        printer.text(repr(self))


def nest(value: Any, depth: int, wrapper: str = "dict") -> Any:
    """``value`` ``depth`` containers deep, without recursion: objects ``{"k": ...}``, or
    one object around lists (a job input is always an object)."""
    if depth == 0:
        return value
    for _ in range(depth - 1):
        value = {"k": value} if wrapper == "dict" else [value]
    return {"k": value}


def encode(value: Any, depth: int, wrapper: str = "dict") -> str:
    """JSON text of :func:`nest` (``value`` itself must be shallow)."""
    inner = json.dumps(value)
    if depth == 0:
        return inner
    opener, closer = ('{"k":', "}") if wrapper == "dict" else ("[", "]")
    return '{"k":' + opener * (depth - 1) + inner + closer * (depth - 1) + "}"


def secret_urls(marker: str) -> st.SearchStrategy[str]:
    """URLs whose user-info holds ``marker``, the way URL parsers read it."""
    return st.builds(
        lambda scheme, left, right, tail: (
            f"{scheme}//alice:{left}{marker}{right}@media.example{tail}"
        ),
        st.sampled_from(SCHEMES),
        PASSWORD_JUNK,
        PASSWORD_JUNK,
        st.sampled_from(["/x.mp3", "", "/a?b=1", ":8443/p"]),
    )


def _query_url(marker: str) -> st.SearchStrategy[str]:
    return st.builds(
        lambda name, pre: f"https://media.example/x.mp3?{pre}{name}={marker}&a=1",
        st.sampled_from(QUERY_NAMES),
        st.sampled_from(["", "a=1&", "x=y;"]),
    )


def _marker() -> st.SearchStrategy[str]:
    return st.text(alphabet="0123456789abcdef", min_size=10, max_size=10).map(MARK.__add__)


@st.composite
def _planted(draw: st.DrawFn, marker: str) -> tuple[str, Any, str]:
    """``(key, value, shape)``: one secret, as an object entry."""
    shape = draw(
        st.sampled_from(["userinfo", "query", "named", "named-nested", "url-key", "list-item"])
    )
    if shape == "list-item":
        return ("items", ["x", draw(secret_urls(marker)), {"n": draw(_query_url(marker))}], shape)
    if shape == "userinfo":
        return (draw(st.sampled_from(["url", "source", "link"])), draw(secret_urls(marker)), shape)
    if shape == "query":
        return ("href", draw(_query_url(marker)), shape)
    name = draw(st.sampled_from(SECRET_NAMES))
    if shape == "named":
        return (name, draw(PASSWORD_JUNK) + marker + draw(PASSWORD_JUNK), shape)
    if shape == "named-nested":
        return (name, {"value": marker, "list": [marker]}, shape)
    return (draw(secret_urls(marker)), 1, shape)


_CHARS = st.one_of(st.characters(), st.characters(categories=["Cs"]))


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.sampled_from([10**4000, -(10**300), 2**63, -(2**64)]),
        st.floats(),  # NaN, infinities, -0.0, subnormals
        st.sampled_from([float("nan"), float("inf"), -0.0, 5e-324, 1.7976931348623157e308]),
        st.text(alphabet=_CHARS, max_size=12),  # lone surrogates too
        st.sampled_from(["\ud800", "a\udfffb", "\udc80" * 3, "\x00\x1b[31m\u202e"]),
        st.integers(1, 40_000).map(lambda n: "A" * n),  # big strings (past every cap)
    )


def _clean_scalars() -> st.SearchStrategy[Any]:
    """JSON every writer takes (odd, still: -0.0, unicode, 64-bit edges)."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**64), 2**64),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    )


def _keys(clean: bool = False) -> st.SearchStrategy[str]:
    if clean:
        return st.text(max_size=6)
    return st.one_of(
        st.text(max_size=6),
        st.sampled_from(["\ud800", "k\udfff", "", "__proto__", "a.b", "x" * 100]),
    )


def _values(clean: bool = False) -> st.SearchStrategy[Any]:
    return st.recursive(
        _clean_scalars() if clean else _scalars(),
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(_keys(clean), inner, max_size=3)
        ),
        max_leaves=8,
    )


DEPTHS = st.one_of(
    st.sampled_from([0, 0, 0, 1, 30, 31, 32, 33, 100, 480, 500]),
    st.integers(0, 3000),
)


@st.composite
def payloads(
    draw: st.DrawFn, *, secrets: int = 3, max_depth: int = 3000, clean: bool = False
) -> Payload:
    """A hostile JSON object with up to ``secrets`` planted secrets, ``depth`` levels deep
    (its top level stays an object, the shape every job input takes). ``clean`` keeps
    to JSON that every door accepts: valid text, finite numbers, at most 30 levels."""
    markers = draw(st.lists(_marker(), min_size=1, max_size=secrets, unique=True))
    core: dict[str, Any] = draw(st.dictionaries(_keys(clean), _values(clean), max_size=3))
    shapes = []
    for marker in markers:
        key, value, shape = draw(_planted(marker))
        holder: Any = core
        for _ in range(draw(st.integers(0, 2))):  # at any depth inside
            holder = holder.setdefault(draw(st.sampled_from(["meta", "opts"])), {})
            if not isinstance(holder, dict):
                break
        if isinstance(holder, dict):
            holder[key] = value
        else:
            core[key] = value
        shapes.append(shape)
    depth = min(draw(DEPTHS), 20 if clean else max_depth)
    wrapper = draw(st.sampled_from(["dict", "list"]))
    summary = f"secrets={shapes}, keys={len(core)}"
    return Payload(core, depth, wrapper, tuple(markers), summary)


# Found by the every-door property: the URL's user-info ran on to the "@" inside the
# Authorization value and took its key along, so that value was no longer secret-named.
SWALLOWED_KEY = Payload(
    {
        "opts": {"meta": {"url": "amqp://alice:@Zqad4e776be6 a@media.example"}},
        "Authorization": "-@:_Zq242fdab9c9~",
        "meta": {"opts": {"db_password": "!Zq9c932f0862"}},
    },
    0,
    "dict",
    ("Zqad4e776be6", "Zq242fdab9c9", "Zq9c932f0862"),
    "explicit",
)
