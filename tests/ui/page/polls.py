"""Watch the page's own requests for one job's state: when, how many, how many at once."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import pairwise

from playwright.sync_api import Page, Request, Response

__all__ = ["Poll", "PollLog"]


@dataclass(frozen=True)
class Poll:
    """One ended request: browser start time (ms since the epoch), end time, HTTP status.

    ``end_ms`` is ``None`` and ``status`` 0 when the request failed (timeout, abort).
    """

    start_ms: float
    end_ms: float | None
    status: int


@dataclass
class PollLog:
    """Every ``GET <url>`` the page made, from Playwright's request events."""

    url: str
    started: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    polls: list[Poll] = field(default_factory=list)
    _status: dict[Request, int] = field(default_factory=dict)
    _seen: set[Request] = field(default_factory=set)

    def attach(self, page: Page) -> PollLog:
        """Start listening to ``page``'s requests."""
        page.on("request", self._on_request)
        page.on("response", self._on_response)
        page.on("requestfinished", self._on_ended)
        page.on("requestfailed", self._on_ended)
        return self

    @property
    def finished(self) -> int:
        """Requests that got an answer."""
        return sum(1 for p in self.polls if p.status)

    @property
    def failed(self) -> int:
        """Requests that ended without an answer."""
        return sum(1 for p in self.polls if not p.status)

    @property
    def statuses(self) -> list[int]:
        """HTTP status of each answered request, in order."""
        return [p.status for p in self.polls if p.status]

    def _mine(self, request: Request) -> bool:
        return request.method == "GET" and request.url == self.url

    def _on_request(self, request: Request) -> None:
        if self._mine(request):
            self._seen.add(request)
            self.started += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _on_response(self, response: Response) -> None:
        if self._mine(response.request):
            self._status[response.request] = response.status

    def _on_ended(self, request: Request) -> None:
        if request not in self._seen:
            return  # started before the log was attached
        self._seen.discard(request)
        self.in_flight -= 1
        timing = request.timing
        start, end = timing["startTime"], timing["responseEnd"]
        status = self._status.pop(request, 0)
        self.polls.append(Poll(start, start + end if end >= 0 and status else None, status))

    def gaps_s(self, polls: list[Poll] | None = None) -> list[float]:
        """Seconds between the starts of consecutive polls."""
        chosen = self.polls if polls is None else polls
        return [(b.start_ms - a.start_ms) / 1000 for a, b in pairwise(chosen)]

    def overlaps(self) -> list[tuple[Poll, Poll]]:
        """Consecutive answered polls whose lifetimes overlapped (should be none)."""
        done = sorted((p for p in self.polls if p.end_ms is not None), key=lambda p: p.start_ms)
        return [(a, b) for a, b in pairwise(done) if a.end_ms and b.start_ms < a.end_ms]
