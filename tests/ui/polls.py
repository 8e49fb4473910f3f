"""Watch the page's own requests for one job's state: when, how many, how many at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from playwright.sync_api import Page, Request, Response

__all__ = ["PollLog"]


@dataclass
class PollLog:
    """Every ``GET <url>`` the page made, from Playwright's request events.

    ``spans`` holds ``(start_ms, end_ms)`` per finished request from the browser's own
    timing; ``in_flight``/``max_in_flight`` count requests between their start and end.
    """

    url: str
    started: int = 0
    finished: int = 0
    failed: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    starts_ms: list[float] = field(default_factory=list)
    spans: list[tuple[float, float]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)

    def attach(self, page: Page) -> PollLog:
        """Start listening to ``page``'s requests."""
        page.on("request", self._on_request)
        page.on("requestfinished", self._on_finished)
        page.on("requestfailed", self._on_failed)
        page.on("response", self._on_response)
        return self

    def _mine(self, request: Request) -> bool:
        return request.method == "GET" and request.url == self.url

    def _on_request(self, request: Request) -> None:
        if self._mine(request):
            self.started += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _ended(self, request: Request) -> None:
        self.in_flight -= 1
        timing = request.timing
        start = timing["startTime"]
        self.starts_ms.append(start)
        end = timing["responseEnd"]
        if end >= 0:
            self.spans.append((start, start + end))

    def _on_finished(self, request: Request) -> None:
        if self._mine(request):
            self.finished += 1
            self._ended(request)

    def _on_failed(self, request: Request) -> None:
        if self._mine(request):
            self.failed += 1
            self._ended(request)

    def _on_response(self, response: Response) -> None:
        if self._mine(response.request):
            self.statuses.append(response.status)

    def intervals_s(self, first: int = 0, last: int | None = None) -> list[float]:
        """Seconds between consecutive request starts (``starts_ms[first:last]``)."""
        starts = self.starts_ms[first:last]
        return [(b - a) / 1000 for a, b in zip(starts, starts[1:])]

    def overlaps(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        """Pairs of finished requests whose lifetimes overlapped (should be none)."""
        spans = sorted(self.spans)
        return [(a, b) for a, b in zip(spans, spans[1:]) if b[0] < a[1]]
