"""Host names: what counts as one, the one spelling two of them compare in, and which
name this machine itself (loopback).

The downloader's allow-list (``JOBSTATE_ALLOW_HOSTS``) and the names the web UI answers
to (``JOBSTATE_UI_HOSTS``, and a request's ``Host`` header) are all read here, so a name
is one host by the same rule wherever it is written.
"""

from __future__ import annotations

import ipaddress
import re

__all__ = ["LOOPBACK_NAMES", "host_of", "is_host", "is_loopback", "ui_host_entry"]

_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_PORT = re.compile(r"^[0-9]{1,5}$")

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
"""How a loopback host is shown (every ``127.x.y.z`` and ``::1`` counts)."""


def is_host(host: str) -> bool:
    """Whether ``host`` names one host: an IP address or a DNS name (IDNA allowed). A
    wildcard (``*.example.com``), a network (``10.0.0.0/8``) or a stray colon is none."""
    return _canonical(host) is not None


def _canonical(host: str) -> str | None:
    """``host`` in the one spelling two names compare in (lower case, no trailing dot,
    IDNA as ASCII, an IP address in its short form), or None when it names no host."""
    name = host.strip().lower().rstrip(".")
    try:
        return ipaddress.ip_address(name).compressed
    except ValueError:
        pass
    try:
        ascii_name = name.encode("idna").decode("ascii")
    except UnicodeError:
        return None
    labels = ascii_name.split(".")
    if ascii_name and len(ascii_name) <= 253 and all(_LABEL.match(x) for x in labels):
        return ascii_name
    return None


def is_loopback(host: str) -> bool:
    """Whether the canonical ``host`` (:func:`host_of`) names this machine itself:
    ``localhost`` or a loopback address (an IPv4-mapped one too)."""
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return bool((mapped or ip).is_loopback)


def host_of(authority: str) -> str | None:
    """The canonical host of a ``Host`` header value (``name``, ``name:port``,
    ``[v6]:port``), or None when it is no such value."""
    text = authority.strip()
    if text.startswith("["):
        inside, closed, rest = text[1:].partition("]")
        if not closed or (rest and not (rest.startswith(":") and _PORT.match(rest[1:]))):
            return None
        host = _canonical(inside)
        return host if host is not None and ":" in host else None  # brackets hold IPv6
    name, colon, port = text.partition(":")
    if colon and not _PORT.match(port):
        return None  # a bare IPv6 address too: it needs brackets here
    return _canonical(name)


def ui_host_entry(entry: str) -> str:
    """A ``JOBSTATE_UI_HOSTS`` entry in its canonical spelling: one host name or address
    (an IPv6 address bare or in brackets), any port of it. Anything else raises
    :class:`ValueError` naming the entry: a typo must never allow a name by accident."""
    text = entry.strip()
    bracketed = text.startswith("[") and text.endswith("]")
    host = _canonical(text[1:-1] if bracketed else text)
    if host is not None and (not bracketed or ":" in host):
        return host
    if text.count(":") == 1 and is_host(text.partition(":")[0]):
        raise ValueError(
            f"ui_hosts entry {entry!r} has a port: name the host alone (any port of it is allowed)"
        )
    raise ValueError(
        f"ui_hosts entry {entry!r} names no host: give a DNS name or an IP address "
        "(a wildcard or a network matches no Host header; name each host)"
    )
