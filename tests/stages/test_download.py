"""The download stage: guarded hops, size and time limits, progress, clean failure."""

from __future__ import annotations

import errno
import itertools
import json
import os
import pickle
import time
from pathlib import Path

import pytest

from pipeline.netguard import BlockedURL
from pipeline.stages.download import PROGRESS_EVERY, download, safe_filename
from pipeline.stages.stage_errors import (
    DownloadBlocked,
    DownloadError,
    DownloadTimeout,
    DownloadTooLarge,
    TooManyRedirects,
    UpstreamStatus,
)
from tests.stages.conftest import ENDLESS_TOTAL, SECRET_BODY, MediaServer

MiB = 1024 * 1024


def files_in(folder: Path) -> list[str]:
    """Every entry in ``folder``, hidden temporary files included."""
    return sorted(p.name for p in folder.iterdir())


def test_downloads_the_sample(media_server: MediaServer, tmp_path: Path) -> None:
    path = download(media_server.url("/sample.ogg"), tmp_path, allow_hosts=[media_server.netloc])
    assert path == tmp_path / "sample.ogg"
    assert path.read_bytes() == media_server.state.sample
    assert files_in(tmp_path) == ["sample.ogg"]


def test_progress_is_increasing_and_spaced(media_server: MediaServer, tmp_path: Path) -> None:
    size = 3 * MiB + 12345
    calls: list[tuple[int, int | None]] = []
    path = download(
        media_server.url(f"/blob/{size}"),
        tmp_path,
        allow_hosts=[media_server.netloc],
        on_progress=lambda done, total: calls.append((done, total)),
    )
    done = [d for d, _ in calls]
    assert path.stat().st_size == size
    assert done == sorted(set(done))
    assert calls[-1] == (size, size)
    assert all(b - a >= PROGRESS_EVERY for a, b in itertools.pairwise(done[:-1]))
    assert len(calls) <= size // PROGRESS_EVERY + 1


def test_follows_relative_redirects(media_server: MediaServer, tmp_path: Path) -> None:
    path = download(media_server.url("/hop/5/x"), tmp_path, allow_hosts=[media_server.netloc])
    assert path.read_bytes() == media_server.state.sample
    assert media_server.state.hits[0] == "/hop/5/x"
    assert len(media_server.state.hits) == 6


def test_too_many_redirects(media_server: MediaServer, tmp_path: Path) -> None:
    with pytest.raises(TooManyRedirects, match="more than 5 redirects"):
        download(media_server.url("/hop/6/x"), tmp_path, allow_hosts=[media_server.netloc])
    assert len(media_server.state.hits) == 6
    assert files_in(tmp_path) == []


def test_redirect_loop_stops(media_server: MediaServer, tmp_path: Path) -> None:
    with pytest.raises(TooManyRedirects):
        download(
            media_server.url("/loop"), tmp_path, allow_hosts=[media_server.netloc], max_redirects=2
        )
    assert media_server.state.hits == ["/loop"] * 3


def test_allowed_host_redirecting_to_internal_port_is_refused(
    media_server: MediaServer, internal_server: MediaServer, tmp_path: Path
) -> None:
    target = internal_server.url("/sample.ogg")
    with pytest.raises(DownloadBlocked, match="loopback address") as caught:
        download(
            media_server.url(f"/away?to={target}"), tmp_path, allow_hosts=[media_server.netloc]
        )
    assert isinstance(caught.value, BlockedURL)
    assert str(internal_server.port) in str(caught.value)
    assert internal_server.state.hits == []
    assert files_in(tmp_path) == []


def test_a_portless_allow_entry_does_not_open_the_hosts_other_ports(
    media_server: MediaServer, internal_server: MediaServer, tmp_path: Path
) -> None:
    # Both servers live on 127.0.0.1; allowing the media server's host:port must not let a
    # redirect reach another local service, and a bare "127.0.0.1" allows only port 80.
    target = internal_server.url("/sample.ogg", host="127.0.0.1")
    with pytest.raises(DownloadBlocked, match="loopback"):
        download(
            media_server.url(f"/away?to={target}", host="127.0.0.1"),
            tmp_path,
            allow_hosts=[f"127.0.0.1:{media_server.port}"],
        )
    with pytest.raises(DownloadBlocked, match="loopback"):
        download(
            media_server.url("/sample.ogg", host="127.0.0.1"), tmp_path, allow_hosts=["127.0.0.1"]
        )
    assert internal_server.state.hits == []


def test_redirect_to_another_spelling_of_an_allowed_host_is_refused(
    media_server: MediaServer, tmp_path: Path
) -> None:
    target = media_server.url("/sample.ogg", host="127.0.0.1")
    with pytest.raises(DownloadBlocked, match="loopback"):
        download(
            media_server.url(f"/away?to={target}", host="localhost"),
            tmp_path,
            allow_hosts=[f"localhost:{media_server.port}"],
        )
    assert media_server.state.hits == ["/away"]


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://10.0.0.8/admin", "private"),
        ("http://0x7f000001/", "ambiguous"),
        ("http://[::1]/", "loopback"),
        ("file:///etc/passwd", "scheme 'file'"),
        ("gopher://127.0.0.1:6379/_FLUSHALL", "scheme 'gopher'"),
    ],
)
def test_redirect_hops_are_checked(
    media_server: MediaServer, tmp_path: Path, target: str, reason: str
) -> None:
    for status in ("301", "307"):
        with pytest.raises(DownloadBlocked, match=reason):
            download(
                media_server.url(f"/away?status={status}&to={target}"),
                tmp_path,
                allow_hosts=[media_server.netloc],
            )
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/a.mp3",
        "http://10.0.0.1/a.mp3",
        "http://192.168.0.10/a.mp3",
        "http://172.16.3.4/a.mp3",
        "http://169.254.10.10/a.mp3",
        "http://169.254.169.254/latest/meta-data/",
        "http://0x7f000001/a.mp3",
        "http://[::1]/a.mp3",
        "file:///etc/passwd",
        "gopher://localhost:70/",
    ],
)
def test_first_hop_is_checked(tmp_path: Path, url: str) -> None:
    with pytest.raises(DownloadBlocked, match="refused"):
        download(url, tmp_path)
    assert files_in(tmp_path) == []


def test_unlisted_port_on_allowed_host_is_refused(
    media_server: MediaServer, tmp_path: Path
) -> None:
    with pytest.raises(DownloadBlocked):
        download(media_server.url("/sample.ogg"), tmp_path, allow_hosts=["127.0.0.1:1"])
    assert media_server.state.hits == []


def test_declared_oversize_is_refused_before_reading(
    media_server: MediaServer, tmp_path: Path
) -> None:
    with pytest.raises(DownloadTooLarge, match="declared 1000000000000 bytes"):
        download(
            media_server.url("/declared-huge"),
            tmp_path,
            allow_hosts=[media_server.netloc],
            max_bytes=MiB,
        )
    assert files_in(tmp_path) == []


def test_streamed_oversize_stops_at_the_limit(media_server: MediaServer, tmp_path: Path) -> None:
    seen: list[int] = []
    with pytest.raises(DownloadTooLarge, match=f"larger than the {MiB} byte limit"):
        download(
            media_server.url("/endless"),
            tmp_path,
            allow_hosts=[media_server.netloc],
            max_bytes=MiB,
            on_progress=lambda done, total: seen.append(done),
        )
    assert files_in(tmp_path) == []
    assert max(seen) <= MiB
    assert media_server.state.done("endless").wait(10)
    # The server stops once the client hangs up; only socket buffers hold more than the limit.
    assert media_server.state.sent["endless"] < 32 * MiB < ENDLESS_TOTAL


def test_slow_body_hits_the_total_time_limit(media_server: MediaServer, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(DownloadTimeout, match=r"0\.5 s limit"):
        download(
            media_server.url("/trickle"), tmp_path, allow_hosts=[media_server.netloc], timeout=0.5
        )
    assert time.monotonic() - started < 5
    assert files_in(tmp_path) == []


def test_stalled_body_times_out(media_server: MediaServer, tmp_path: Path) -> None:
    started = time.monotonic()
    with pytest.raises(DownloadTimeout):
        download(
            media_server.url("/stall"), tmp_path, allow_hosts=[media_server.netloc], timeout=0.5
        )
    assert time.monotonic() - started < 5
    assert files_in(tmp_path) == []


@pytest.mark.parametrize(("route", "status"), [("/secret-404", 404), ("/secret-500", 500)])
def test_error_status_never_echoes_the_body(
    media_server: MediaServer, tmp_path: Path, route: str, status: int
) -> None:
    with pytest.raises(UpstreamStatus) as caught:
        download(media_server.url(route), tmp_path, allow_hosts=[media_server.netloc])
    assert caught.value.status_code == status
    assert str(status) in str(caught.value)
    assert SECRET_BODY.decode() not in str(caught.value)
    assert files_in(tmp_path) == []


def test_redirect_without_location_is_an_error(media_server: MediaServer, tmp_path: Path) -> None:
    with pytest.raises(UpstreamStatus, match="302 Found without a Location"):
        download(media_server.url("/no-location"), tmp_path, allow_hosts=[media_server.netloc])


def test_encoded_body_is_refused(media_server: MediaServer, tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="encoded content"):
        download(media_server.url("/gzipped"), tmp_path, allow_hosts=[media_server.netloc])
    assert files_in(tmp_path) == []


def test_connection_refused_is_a_download_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="connection failed"):
        download("http://127.0.0.1:1/a.mp3", tmp_path, allow_hosts=["127.0.0.1:1"])


def test_limits_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="max_bytes"):
        download("http://127.0.0.1/", tmp_path, max_bytes=0)
    with pytest.raises(ValueError, match="timeout"):
        download("http://127.0.0.1/", tmp_path, timeout=0)


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://h/media/episode-12.mp3?sig=abc", "episode-12.mp3"),
        ("http://h/a/../../etc/passwd", "passwd"),
        ("http://h/%2e%2e%2f%2e%2e%2fetc%2fpasswd", "passwd"),
        ("http://h/..", "download"),
        ("http://h/", "download"),
        ("http://h/.hidden", "hidden"),
        ("http://h/we%20ird%00na\u00efve;rm -rf.ogg", "we_ird_na_ve_rm_-rf.ogg"),
        ("http://h/" + "a" * 300 + ".mp3", "a" * 96 + ".mp3"),
    ],
)
def test_safe_filename(url: str, name: str) -> None:
    assert safe_filename(url) == name


@pytest.mark.parametrize(
    "error",
    [
        DownloadBlocked("http://user:pw@10.0.0.1/x", "10.0.0.1 is a private address"),
        BlockedURL("http://10.0.0.1/x", "10.0.0.1 is a private address"),
        UpstreamStatus(404, "the server answered 404 Not Found"),
        DownloadTooLarge("the body is larger than the 10 byte limit"),
    ],
)
def test_errors_survive_pickle_and_json_transport(error: Exception) -> None:
    copy = pickle.loads(pickle.dumps(error))  # noqa: S301 - our own bytes, made just above
    rebuilt = type(error)(*json.loads(json.dumps(error.args)))
    assert type(copy) is type(error)
    assert str(copy) == str(rebuilt) == str(error)
    assert "pw" not in str(error)


def test_disk_failure_is_a_download_error_and_leaves_nothing(
    media_server: MediaServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(src: str, dst: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    with pytest.raises(DownloadError, match="No space left on device"):
        download(media_server.url("/sample.ogg"), tmp_path, allow_hosts=[media_server.netloc])
    assert files_in(tmp_path) == []
