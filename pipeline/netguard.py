"""SSRF guard: decide whether a URL may be fetched, and connect only where it was checked.

:func:`check_url` accepts only ``http``/``https`` URLs whose host resolves exclusively to public
addresses. Loopback, private, link-local, multicast, reserved, unspecified and cloud-metadata
addresses are refused, also when wrapped in IPv6 (IPv4-mapped, 6to4, Teredo, NAT64), and so are
ambiguous numeric spellings such as ``0x7f000001``, ``2130706433``, ``017700000001`` or
``127.1``. A host named in ``allow_hosts`` skips the address checks on the scheme's default
port only; ``host:port`` names one other port and ``host:*`` every port.

Check and connect share one resolution: :class:`PinnedTransport` sends each request to the
addresses recorded in the :class:`CheckedURL` (keeping the ``Host`` header and the TLS server name
of the original host), and refuses any request for another origin. A DNS answer that changes
between check and connect (DNS rebinding) therefore cannot redirect the connection.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import httpx

from pipeline.hostnames import is_host

__all__ = [
    "ANY_PORT",
    "METADATA_ADDRESSES",
    "BlockedURL",
    "CheckedURL",
    "PinnedTransport",
    "Resolver",
    "address_problem",
    "check_url",
    "display_url",
    "parse_allow_entry",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""``resolve(host, port)`` returns every address the host resolves to, as text."""

METADATA_ADDRESSES: frozenset[IPAddress] = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200")
)
_SCHEMES = {"http": 80, "https": 443}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_HOST_CHARS = re.compile(r"^[a-z0-9._-]+$")
_IPV6_CHARS = re.compile(r"^[0-9a-f:.]+$")
_NUMERIC_LABEL = re.compile(r"^(0x[0-9a-f]*|[0-9]+)$")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/?#]*@")
_MAX_SHOWN = 200
_FIX = "add the host to allow_hosts to permit it"


def display_url(url: str) -> str:
    """``url`` made safe to show: credentials removed, unprintables replaced, length capped."""
    text = _USERINFO.sub(r"\1", url)
    text = "".join(ch if ch.isprintable() and not ch.isspace() else "?" for ch in text)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 1] + "…"


class BlockedURL(ValueError):
    """The guard refused a URL; ``reason`` says why in a few words.

    ``url`` is kept in its displayable form (no credentials). ``args`` are the constructor's
    arguments, so the error survives pickling and Celery's JSON exception transport.
    """

    def __init__(self, url: str, reason: str) -> None:
        self.url = display_url(url)
        self.reason = reason
        super().__init__(self.url, reason)

    def __str__(self) -> str:
        return f"refused {self.url}: {self.reason}"


@dataclass(frozen=True)
class CheckedURL:
    """A URL that passed the guard, with the addresses a connection may use.

    ``host`` is the ASCII (IDNA) host without brackets, ``port`` the effective port and
    ``addresses`` every address the host resolved to, all of them checked.
    """

    url: str
    scheme: str
    host: str
    port: int
    addresses: tuple[str, ...]
    allowed_by_list: bool = False


def check_url(
    url: str, allow_hosts: Iterable[str] = (), *, resolve: Resolver | None = None
) -> CheckedURL:
    """Check ``url`` and return what a connection to it may use, or raise :class:`BlockedURL`.

    ``allow_hosts`` entries are ``host`` (the scheme's default port only), ``host:port``,
    ``host:*`` (every port), ``[v6]``, ``[v6]:port`` or ``[v6]:*`` (see
    :func:`parse_allow_entry`); a listed host and port is resolved but its addresses are not
    checked. ``resolve`` replaces the system resolver.
    """
    parsed = _parse(url)
    scheme, host, port = parsed.scheme, _host_of(url, parsed), _port_of(url, parsed)
    allowed = _is_allowed(host, port, scheme, allow_hosts)
    if not allowed:
        _refuse_ambiguous_number(url, host)
    addresses = _resolve(url, host, port, resolve or _system_resolve)
    if not allowed:
        _refuse_addresses(url, addresses)
    return CheckedURL(str(parsed), scheme, host, port, addresses, allowed)


def address_problem(address: str | IPAddress) -> str | None:
    """Why ``address`` may not be contacted (e.g. ``"a loopback address"``), or ``None``."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    for candidate, wrapper in _unwrapped(ip):
        problem = _classify(candidate)
        if problem is not None:
            return f"{problem} ({wrapper} {candidate})" if wrapper else problem
    return None


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport bound to one :class:`CheckedURL`.

    Requests for the checked origin connect to its checked addresses, in order, while the
    ``Host`` header and TLS server name (SNI and certificate check) stay those of the original
    host. Requests for any other origin raise :class:`BlockedURL`. ``inner`` (default: a plain
    :class:`httpx.HTTPTransport`) must not use a proxy, since a proxy would resolve the host
    itself; an httpx client given a transport does not add environment proxies.
    """

    def __init__(self, checked: CheckedURL, inner: httpx.BaseTransport | None = None) -> None:
        self._checked = checked
        self._inner = inner if inner is not None else httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Send ``request`` to the first checked address that accepts a connection."""
        self._refuse_other_origin(request)
        failure: httpx.ConnectError | None = None
        for address in self._checked.addresses:
            try:
                return self._inner.handle_request(self._pinned(request, address))
            except httpx.ConnectError as exc:
                failure = exc
        assert failure is not None  # CheckedURL always carries at least one address
        raise failure

    def close(self) -> None:
        """Close the underlying connection pool."""
        self._inner.close()

    def _refuse_other_origin(self, request: httpx.Request) -> None:
        url = request.url
        origin = (url.scheme, url.raw_host.decode("ascii"), url.port or _SCHEMES.get(url.scheme))
        checked = self._checked
        if origin != (checked.scheme, checked.host, checked.port):
            raise BlockedURL(str(url), "not the origin that was checked")

    def _pinned(self, request: httpx.Request, address: str) -> httpx.Request:
        extensions = dict(request.extensions)
        if not _is_ip_literal(self._checked.host):
            extensions["sni_hostname"] = self._checked.host
        return httpx.Request(
            request.method,
            request.url.copy_with(host=address),
            headers=request.headers,
            stream=request.stream,
            extensions=extensions,
        )


def _parse(url: str) -> httpx.URL:
    if not isinstance(url, str) or not url:
        raise BlockedURL(str(url), "the URL must be non-empty text")
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise BlockedURL(url, "not a valid URL") from None
    if parsed.scheme not in _SCHEMES:
        shown = parsed.scheme or "(none)"
        raise BlockedURL(url, f"scheme {shown!r} is not allowed: only http and https are")
    return parsed


def _host_of(url: str, parsed: httpx.URL) -> str:
    host = parsed.raw_host.decode("ascii").lower()
    if not host:
        raise BlockedURL(url, "the URL has no host")
    charset = _IPV6_CHARS if ":" in host else _HOST_CHARS
    if not charset.match(host):
        raise BlockedURL(url, "the host contains characters that are not allowed")
    return host


def _port_of(url: str, parsed: httpx.URL) -> int:
    port = parsed.port or _SCHEMES[parsed.scheme]
    if not 0 < port < 65536:
        raise BlockedURL(url, f"port {port} is out of range")
    return port


ANY_PORT = -1
"""The port of an ``allow_hosts`` entry written ``host:*``."""


def _is_allowed(host: str, port: int, scheme: str, allow_hosts: Iterable[str]) -> bool:
    bare = host.rstrip(".")
    for entry in allow_hosts:
        allowed_host, allowed_port = parse_allow_entry(entry)
        wanted = _SCHEMES[scheme] if allowed_port is None else allowed_port
        if allowed_host == bare and wanted in (ANY_PORT, port):
            return True
    return False


def parse_allow_entry(entry: str) -> tuple[str, int | None]:
    """Split an ``allow_hosts`` entry into ``(host, port)``.

    ``host`` or ``[v6]`` (or a bare IPv6 address) allows only the URL's default port (80 for
    http, 443 for https): port ``None``. ``host:8000`` allows that port, ``host:*`` every
    port (:data:`ANY_PORT`). Anything else raises :class:`ValueError` naming the entry: a
    typo must never widen what the downloader may reach.
    """
    text = entry.strip().lower()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise ValueError(f"allow_hosts entry {entry!r}: text after ']' must be ':port'")
        port_text = rest[1:] if rest else None
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, None
    host = host.rstrip(".")
    if not host:
        raise ValueError(f"allow_hosts entry {entry!r} names no host")
    if text.startswith("[") and not _is_ipv6(host):
        raise ValueError(f"allow_hosts entry {entry!r}: brackets hold an IPv6 address")
    _check_allow_host(entry, host)
    return host, _allow_port(entry, port_text)


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False


def _check_allow_host(entry: str, host: str) -> None:
    """``host`` must be one host (:func:`pipeline.hostnames.is_host`). A wildcard (``*``),
    a network (``10.0.0.0/8``) or anything else would match no URL's host, so the entry
    would silently allow nothing: it is refused, naming the entry."""
    if is_host(host):
        return
    raise ValueError(
        f"allow_hosts entry {entry!r} names no host: give an IP address or a DNS name "
        "(a wildcard or a network matches no URL; name each host)"
    )


def _allow_port(entry: str, port_text: str | None) -> int | None:
    if port_text is None:
        return None
    if port_text == "*":
        return ANY_PORT
    if port_text.isdigit() and 0 < int(port_text) < 65536:
        return int(port_text)
    raise ValueError(f"allow_hosts entry {entry!r}: the port must be 1-65535 or '*' (any port)")


def _refuse_ambiguous_number(url: str, host: str) -> None:
    """A host whose last label is numeric is an IPv4 address and must be dotted decimal."""
    if ":" in host:
        return
    labels = host.rstrip(".").split(".")
    if not _NUMERIC_LABEL.match(labels[-1]):
        return
    try:
        canonical = str(ipaddress.IPv4Address(host.rstrip(".")))
    except ValueError:
        canonical = ""
    if canonical != host.rstrip("."):
        raise BlockedURL(url, f"{host!r} is an ambiguous IP address spelling; use dotted decimal")


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.rstrip("."))
    except ValueError:
        return False
    return True


def _system_resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def _resolve(url: str, host: str, port: int, resolve: Resolver) -> tuple[str, ...]:
    try:
        literal = ipaddress.ip_address(host.rstrip("."))
    except ValueError:
        pass
    else:
        return (str(literal),)
    try:
        found = tuple(dict.fromkeys(resolve(host, port)))
    except (OSError, UnicodeError):
        raise BlockedURL(url, f"the host {host!r} does not resolve") from None
    if not found:
        raise BlockedURL(url, f"the host {host!r} resolved to no address")
    return found


def _refuse_addresses(url: str, addresses: Iterable[str]) -> None:
    for address in addresses:
        try:
            problem = address_problem(address)
        except ValueError:
            problem = "not an IP address"
        if problem is not None:
            raise BlockedURL(url, f"{address} is {problem}; {_FIX}")


def _unwrapped(ip: IPAddress) -> Iterator[tuple[IPAddress, str]]:
    """Any IPv4 address an IPv6 address carries inside it (the precise reason), then ``ip``."""
    if isinstance(ip, ipaddress.IPv6Address):
        yield from _embedded_ipv4(ip)
    yield ip, ""


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> Iterator[tuple[IPAddress, str]]:
    if ip.ipv4_mapped is not None:
        yield ip.ipv4_mapped, "IPv4-mapped"
    if ip.sixtofour is not None:
        yield ip.sixtofour, "6to4"
    if ip.teredo is not None:
        yield ip.teredo[1], "Teredo"
    if ip in _NAT64:
        yield ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF), "NAT64"


def _classify(ip: IPAddress) -> str | None:
    checks: tuple[tuple[bool, str], ...] = (
        (ip in METADATA_ADDRESSES, "a cloud metadata address"),
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_private, "a private address"),
        (ip.is_reserved, "a reserved address"),
        (not ip.is_global, "a non-public address"),
    )
    return next((problem for hit, problem in checks if hit), None)
