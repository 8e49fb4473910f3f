"""The SSRF guard refuses internal targets and pins connections to the checked address."""

from __future__ import annotations

import socket
import ssl

import httpx
import pytest
import trustme

from pipeline.netguard import (
    BlockedURL,
    CheckedURL,
    PinnedTransport,
    address_problem,
    check_url,
    display_url,
)
from tests.stages.conftest import TLS_HOST, MediaServer

PUBLIC = "93.184.216.34"


class FixedResolver:
    """A resolver that always answers ``addresses`` and records the hosts it was asked for."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = list(addresses)
        self.calls: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.addresses


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://127.0.0.1/", "loopback"),
        ("http://127.8.9.10:8080/x", "loopback"),
        ("http://10.0.0.1/", "private"),
        ("http://192.168.1.20/", "private"),
        ("http://172.16.0.5/", "private"),
        ("http://169.254.1.1/", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/", "cloud metadata"),
        ("http://100.100.100.200/", "cloud metadata"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://224.0.0.1/", "multicast"),
        ("http://100.64.0.1/", "non-public"),
        ("http://[::1]/", "loopback"),
        ("http://[::ffff:127.0.0.1]/", "loopback address (IPv4-mapped 127.0.0.1)"),
        ("http://[::ffff:169.254.169.254]/", "cloud metadata"),
        ("http://[2002:7f00:1::]/", "6to4 127.0.0.1"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0x7f000001/", "ambiguous IP address spelling"),
        ("http://2130706433/", "ambiguous IP address spelling"),
        ("http://017700000001/", "ambiguous IP address spelling"),
        ("http://127.1/", "ambiguous IP address spelling"),
        ("http://0177.0.0.1/", "not a valid URL"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("gopher://127.0.0.1:6379/_INFO", "scheme 'gopher' is not allowed"),
        ("ftp://example.com/a.mp3", "scheme 'ftp' is not allowed"),
        ("http:///no-host", "no host"),
        ("http://%31%32%37.0.0.1/", "characters that are not allowed"),
        ("not a url", "scheme"),
        ("", "non-empty"),
    ],
)
def test_refuses_internal_and_odd_targets(url: str, reason: str) -> None:
    with pytest.raises(BlockedURL, match="refused") as caught:
        check_url(url, resolve=FixedResolver(PUBLIC))
    assert reason in caught.value.reason


def test_block_is_a_value_error_naming_the_fix() -> None:
    with pytest.raises(ValueError, match="allow_hosts"):
        check_url("http://127.0.0.1:8000/a.mp3")


def test_every_resolved_address_is_checked() -> None:
    resolve = FixedResolver(PUBLIC, "10.1.2.3")
    with pytest.raises(BlockedURL, match=r"10\.1\.2\.3 is a private address"):
        check_url("https://media.example/a.mp3", resolve=resolve)


def test_hostname_resolving_inside_is_refused() -> None:
    with pytest.raises(BlockedURL, match="cloud metadata"):
        check_url("http://metadata.example/", resolve=FixedResolver("169.254.169.254"))


def test_public_hostname_passes_with_its_addresses() -> None:
    checked = check_url(
        "https://Media.Example/ep%201.mp3?x=1", resolve=FixedResolver(PUBLIC, PUBLIC)
    )
    assert checked.host == "media.example"
    assert checked.port == 443
    assert checked.addresses == (PUBLIC,)
    assert not checked.allowed_by_list


def test_unresolvable_host_is_refused() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(BlockedURL, match="does not resolve"):
        check_url("http://nowhere.invalid/", resolve=fail)


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://127.0.0.1/a", ["127.0.0.1"]),
        ("https://127.0.0.1/a", ["127.0.0.1"]),
        ("http://127.0.0.1:80/a", ["127.0.0.1"]),
        ("http://127.0.0.1:8000/a", ["127.0.0.1:8000"]),
        ("http://127.0.0.1:8000/a", ["127.0.0.1:*"]),
        ("http://LOCALHOST/a", ["localhost"]),
        ("http://LOCALHOST:8000/a", ["Localhost:*"]),
        ("http://[::1]:9000/a", ["[::1]:9000"]),
        ("http://[::1]:9000/a", ["[::1]:*"]),
        ("http://[::1]/a", ["::1"]),
    ],
)
def test_allow_list_admits_named_hosts(url: str, allow: list[str]) -> None:
    checked = check_url(url, allow, resolve=FixedResolver("127.0.0.1"))
    assert checked.allowed_by_list


@pytest.mark.parametrize(
    ("url", "allow"),
    [
        ("http://127.0.0.1:8001/a", ["127.0.0.1:8000"]),
        ("http://localhost:8000/a", ["127.0.0.1"]),
        # A port-less entry means the scheme's default port, not every port of the host:
        # an allowed 127.0.0.1 must not let a redirect reach Redis on 6379.
        ("http://127.0.0.1:6379/a", ["127.0.0.1"]),
        ("http://127.0.0.1:443/a", ["127.0.0.1"]),
        ("https://127.0.0.1:80/a", ["127.0.0.1"]),
        ("http://[::1]:9000/a", ["::1"]),
        ("http://[::1]:9000/a", ["[::1]"]),
        ("http://2130706433:8000/a", ["127.0.0.1"]),
        ("http://127.0.0.2/a", ["127.0.0.1"]),
    ],
)
def test_allow_list_is_exact(url: str, allow: list[str]) -> None:
    with pytest.raises(BlockedURL):
        check_url(url, allow, resolve=FixedResolver("127.0.0.1"))


def test_address_problem_accepts_public_addresses() -> None:
    assert address_problem(PUBLIC) is None
    assert address_problem("2606:4700:4700::1111") is None
    assert address_problem("127.0.0.1") == "a loopback address"


def test_display_url_hides_credentials_and_control_characters() -> None:
    shown = display_url("http://user:hunter2@host.example/\x1b[31mred" + "a" * 500)
    assert "hunter2" not in shown
    assert "\x1b" not in shown
    assert len(shown) <= 200


def test_pinned_transport_connects_to_the_checked_address() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, content=b"ok")

    resolve = FixedResolver(PUBLIC)
    checked = check_url("https://media.example/a.mp3", resolve=resolve)
    transport = PinnedTransport(checked, inner=httpx.MockTransport(record))
    with httpx.Client(transport=transport) as client:
        assert client.get("https://media.example/a.mp3").content == b"ok"
    [sent] = seen
    assert sent.url.host == PUBLIC
    assert sent.headers["host"] == "media.example"
    assert sent.extensions["sni_hostname"] == "media.example"
    assert resolve.calls == ["media.example"]


def test_pinned_transport_refuses_other_origins() -> None:
    checked = check_url("https://media.example/a.mp3", resolve=FixedResolver(PUBLIC))
    inner = httpx.MockTransport(lambda request: httpx.Response(200))
    with (
        httpx.Client(transport=PinnedTransport(checked, inner=inner)) as client,
        pytest.raises(BlockedURL, match="not the origin that was checked"),
    ):
        client.get("http://media.example/a.mp3")


def test_pinned_connection_ignores_dns(media_server: MediaServer) -> None:
    # The name does not exist in DNS: only the pinned address can make this work.
    host = "media.jobstate.invalid"
    checked = CheckedURL(
        url=f"http://{host}:{media_server.port}/sample.ogg",
        scheme="http",
        host=host,
        port=media_server.port,
        addresses=("127.0.0.2", "127.0.0.1"),  # first refuses the connection, second serves
    )
    with httpx.Client(transport=PinnedTransport(checked)) as client:
        response = client.get(checked.url)
    assert response.content == media_server.state.sample
    assert media_server.state.hosts == [f"{host}:{media_server.port}"]


def pinned_tls_client(ca: trustme.CA, server: MediaServer, host: str) -> httpx.Client:
    """A client whose only route is ``host`` pinned to the TLS server's address."""
    checked = CheckedURL(
        url=f"https://{host}:{server.port}/sample.ogg",
        scheme="https",
        host=host,
        port=server.port,
        addresses=("127.0.0.1",),
    )
    verify = ssl.create_default_context()
    ca.configure_trust(verify)
    return httpx.Client(transport=PinnedTransport(checked, httpx.HTTPTransport(verify=verify)))


def test_pinned_tls_verifies_the_original_host_name(
    tls_ca: trustme.CA, tls_server: MediaServer
) -> None:
    with pinned_tls_client(tls_ca, tls_server, TLS_HOST) as client:
        response = client.get(f"https://{TLS_HOST}:{tls_server.port}/sample.ogg")
    assert response.content == tls_server.state.sample
    assert tls_server.state.hosts == [f"{TLS_HOST}:{tls_server.port}"]


def test_pinned_tls_refuses_a_certificate_for_another_name(
    tls_ca: trustme.CA, tls_server: MediaServer
) -> None:
    other = "other.jobstate.test"
    with (
        pinned_tls_client(tls_ca, tls_server, other) as client,
        pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"),
    ):
        client.get(f"https://{other}:{tls_server.port}/sample.ogg")
    assert tls_server.state.hits == []


@pytest.mark.parametrize(
    "entry",
    [
        "127.0.0.1:abc",
        "127.0.0.1:0",
        "127.0.0.1:65536",
        "[::1]x",
        ":8000",
        "h:-1",
        "*",
        "*.example.com",
        "0.0.0.0/0",
        "10.0.0.0/8:*",
        "a:b:c",
        "[not-v6]",
        "-bad.example",
        "a" * 64 + ".example",
        "sp ace.example",
    ],
)
def test_a_malformed_allow_entry_is_refused_not_widened(entry: str) -> None:
    # Slip: reading an unparsable port as "no port" (which once meant every port).
    with pytest.raises(ValueError, match="allow_hosts entry"):
        check_url("http://127.0.0.1:8000/a", [entry], resolve=FixedResolver("127.0.0.1"))


def test_allow_entries_parse_to_host_and_port() -> None:
    from pipeline.netguard import parse_allow_entry

    assert parse_allow_entry("Example.COM.") == ("example.com", None)
    assert parse_allow_entry("[::1]:*") == ("::1", -1)
    assert parse_allow_entry("h:8080") == ("h", 8080)
    assert parse_allow_entry("::1") == ("::1", None)
    assert parse_allow_entry("media_01.internal:*") == ("media_01.internal", -1)
    assert parse_allow_entry("b\u00fccher.example") == ("b\u00fccher.example", None)
    assert parse_allow_entry("a" * 63 + ".example") == ("a" * 63 + ".example", None)


def test_settings_refuse_a_malformed_allow_entry_at_start() -> None:
    from pipeline.settings import Settings

    with pytest.raises(ValueError, match=r"JOBSTATE_ALLOW_HOSTS: allow_hosts entry 'media:http'"):
        Settings.from_env({"JOBSTATE_ALLOW_HOSTS": "ok.example,media:http"})
    assert Settings.from_env({"JOBSTATE_ALLOW_HOSTS": "a, b:3 ,c:*"}).allow_hosts == (
        "a",
        "b:3",
        "c:*",
    )
