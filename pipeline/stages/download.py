"""Download stage: stream a URL to a file through the SSRF guard, within size and time limits.

Redirects are followed by hand so that every hop goes through :func:`pipeline.netguard.check_url`
and each connection goes to the address that hop's check resolved. The body is written to a
hidden temporary file in the destination folder and renamed into place only when complete; on
any failure the partial file is removed. Error messages name the URL and the limit, never the
response body.
"""

from __future__ import annotations

import http
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import httpx

from pipeline.netguard import (
    BlockedURL,
    CheckedURL,
    PinnedTransport,
    Resolver,
    check_url,
    display_url,
)
from pipeline.stages.stage_errors import (
    DownloadBlocked,
    DownloadError,
    DownloadTimeout,
    DownloadTooLarge,
    TooManyRedirects,
    TransportFailed,
    UpstreamStatus,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_TIMEOUT",
    "MAX_REDIRECTS",
    "PROGRESS_EVERY",
    "ProgressCallback",
    "download",
    "safe_filename",
]

ProgressCallback = Callable[[int, int | None], None]
"""``on_progress(bytes_done, bytes_total_or_None)``."""

DEFAULT_MAX_BYTES = 200 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0
MAX_REDIRECTS = 5
PROGRESS_EVERY = 256 * 1024
_REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
_HEADERS = {"Accept-Encoding": "identity", "User-Agent": "jobstate-download/1"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_MAX_NAME = 100
_MAX_SUFFIX = 12


def download(
    url: str,
    dest_dir: str | os.PathLike[str],
    *,
    allow_hosts: Iterable[str] = (),
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = DEFAULT_TIMEOUT,
    on_progress: ProgressCallback | None = None,
    max_redirects: int = MAX_REDIRECTS,
    resolve: Resolver | None = None,
) -> Path:
    """Fetch ``url`` into ``dest_dir`` and return the saved file's path.

    Every hop is checked by the SSRF guard (``allow_hosts`` and ``resolve`` are passed to
    :func:`~pipeline.netguard.check_url`); at most ``max_redirects`` redirects are followed. The
    body may not exceed ``max_bytes``, and the whole download, redirects included, may not take
    longer than ``timeout`` seconds (checked between reads; a single blocked read waits at most
    the time that was left when the request started). ``on_progress`` is called with the bytes
    received so far and the declared size, about every 256 KiB and once at the end. Raises a
    :class:`~pipeline.stages.stage_errors.DownloadError` subclass on failure.
    """
    budget = _Budget.start(max_bytes, timeout)
    dest = Path(dest_dir)
    dest.mkdir(parents=True, exist_ok=True)
    allowed = tuple(allow_hosts)
    current = url
    for _ in range(max_redirects + 1):
        with _translated_errors():
            checked = check_url(current, allowed, resolve=resolve)
            with _opened(checked, budget) as response:
                target = _redirect_target(response, current)
                if target is None:
                    return _save(response, dest, checked.url, budget, on_progress)
        current = target
    raise TooManyRedirects(f"more than {max_redirects} redirects, starting at {display_url(url)}")


def safe_filename(url: str, default: str = "download") -> str:
    """A file name from the last path segment of ``url``: ``[A-Za-z0-9._-]``, no leading dot."""
    try:
        segment = httpx.URL(url).path.rsplit("/", 1)[-1]
    except (httpx.InvalidURL, TypeError, ValueError):
        segment = ""
    name = _UNSAFE.sub("_", segment).strip("._-") or default
    if len(name) > _MAX_NAME:
        stem, suffix = os.path.splitext(name)
        suffix = suffix[:_MAX_SUFFIX]
        name = stem[: _MAX_NAME - len(suffix)] + suffix
    return name


@dataclass(frozen=True)
class _Budget:
    """The size limit and the deadline shared by every hop of one download."""

    max_bytes: int
    timeout: float
    deadline: float = field(repr=False)

    @classmethod
    def start(cls, max_bytes: int, timeout: float) -> _Budget:
        if isinstance(max_bytes, bool) or not isinstance(max_bytes, int) or max_bytes <= 0:
            raise ValueError(f"max_bytes must be a positive integer, got {max_bytes!r}")
        if not timeout > 0:
            raise ValueError(f"timeout must be positive, got {timeout!r}")
        return cls(max_bytes, timeout, time.monotonic() + timeout)

    def remaining(self) -> float:
        """Seconds left; raises :class:`DownloadTimeout` once there are none."""
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise DownloadTimeout(f"download took longer than the {self.timeout:g} s limit")
        return left


class _Progress:
    """Calls the progress callback at most every ``every`` bytes, and once at the end."""

    def __init__(self, callback: ProgressCallback | None, total: int | None) -> None:
        self._callback = callback
        self._total = total
        self._reported: int | None = None

    def update(self, done: int) -> None:
        if done - (self._reported or 0) >= PROGRESS_EVERY:
            self._report(done)

    def finish(self, done: int) -> None:
        if done != self._reported:
            self._report(done)

    def _report(self, done: int) -> None:
        self._reported = done
        if self._callback is not None:
            self._callback(done, self._total)


@contextmanager
def _translated_errors() -> Iterator[None]:
    """Turn guard and httpx errors into download errors with short, body-free messages."""
    try:
        yield
    except DownloadError:
        raise
    except BlockedURL as exc:
        raise DownloadBlocked(exc.url, exc.reason) from None
    except httpx.TimeoutException as exc:
        raise DownloadTimeout(f"timed out ({type(exc).__name__})") from exc
    except httpx.TransportError as exc:
        raise TransportFailed(f"connection failed ({type(exc).__name__})") from exc
    except OSError as exc:  # the network is behind httpx, so this is the local file
        raise DownloadError(f"cannot save the download ({exc.strerror or exc})") from exc


@contextmanager
def _opened(checked: CheckedURL, budget: _Budget) -> Iterator[httpx.Response]:
    """Send one GET to the checked address, response headers read, body not yet read."""
    client = httpx.Client(
        transport=PinnedTransport(checked),
        timeout=httpx.Timeout(budget.remaining()),
        headers=_HEADERS,
        follow_redirects=False,
        trust_env=False,
    )
    with client, client.stream("GET", checked.url) as response:
        yield response


def _redirect_target(response: httpx.Response, current: str) -> str | None:
    """The absolute URL a redirect points to, or ``None`` when this is not a redirect."""
    if response.status_code not in _REDIRECT_CODES:
        return None
    location = response.headers.get("location", "")
    if not location:
        raise UpstreamStatus(response.status_code, _status_text(response, "without a Location"))
    try:
        target = httpx.URL(current).join(location).copy_with(fragment=None)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise DownloadBlocked(location, "the redirect target is not a valid URL") from None
    return str(target)


def _save(
    response: httpx.Response,
    dest: Path,
    url: str,
    budget: _Budget,
    on_progress: ProgressCallback | None,
) -> Path:
    """Check the response, stream its body to a temporary file, then rename it into place."""
    _check_response(response)
    total = _declared_size(response, budget)
    fd, part = tempfile.mkstemp(dir=dest, prefix=".download-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            _copy_body(response, out, budget, _Progress(on_progress, total))
        final = dest / safe_filename(url)
        os.replace(part, final)
    except BaseException:
        Path(part).unlink(missing_ok=True)
        raise
    return final


def _check_response(response: httpx.Response) -> None:
    if not 200 <= response.status_code < 300:
        raise UpstreamStatus(response.status_code, _status_text(response))
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise DownloadError("the server sent encoded content although identity was requested")


def _declared_size(response: httpx.Response, budget: _Budget) -> int | None:
    raw = response.headers.get("content-length", "")
    if not raw.isdigit():
        return None
    size = int(raw)
    if size > budget.max_bytes:
        raise DownloadTooLarge(
            f"the server declared {size} bytes, above the {budget.max_bytes} byte limit"
        )
    return size


def _copy_body(
    response: httpx.Response, out: BinaryIO, budget: _Budget, progress: _Progress
) -> None:
    """Copy raw body bytes, stopping as soon as the size or time limit is crossed."""
    done = 0
    # No chunk size: re-chunking would wait for a full chunk before the deadline is checked.
    for chunk in response.iter_raw():
        budget.remaining()
        done += len(chunk)
        if done > budget.max_bytes:
            raise DownloadTooLarge(f"the body is larger than the {budget.max_bytes} byte limit")
        out.write(chunk)
        progress.update(done)
    progress.finish(done)


def _status_text(response: httpx.Response, detail: str = "") -> str:
    code = response.status_code
    try:
        phrase = http.HTTPStatus(code).phrase
    except ValueError:
        phrase = "unknown status"
    suffix = f" {detail}" if detail else ""
    return f"the server answered {code} {phrase}{suffix}"
