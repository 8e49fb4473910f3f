"""Every stored time reads as ``YYYY-MM-DDTHH:MM:SS.mmmZ``: exactly three digits of
milliseconds, so the text parses back to the same instant and sorts as time does."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pipeline.reading import flag_stale
from pipeline.records import iso_ms
from pipeline.validation import parse_timestamp

STAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z")
LAST_MS = 253_402_300_799_999  # 9999-12-31T23:59:59.999Z, the last instant the form holds
millis = st.integers(min_value=0, max_value=LAST_MS)


def _parsed_ms(text: str) -> int:
    moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert moment.tzinfo == UTC
    return round(moment.timestamp() * 1000)


@given(millis)
@example(0)
@example(7)  # one digit of milliseconds: padded, never ".7Z"
@example(42)
@example(999)
@example(1000)
@example(1_700_000_000_001)
@example(LAST_MS)
def test_a_time_reads_with_three_digits_of_milliseconds_and_parses_back(ms: int) -> None:
    text = iso_ms(ms)
    assert STAMP.fullmatch(text), text
    assert _parsed_ms(text) == ms


@given(st.lists(millis, min_size=10, max_size=40))
@example([1_700_000_000_000 + d for d in (5, 50, 500, 7, 70, 700, 9, 90, 900, 999)])
def test_times_sort_as_text_as_they_do_as_numbers(stamps: list[int]) -> None:
    assert sorted(stamps, key=iso_ms) == sorted(stamps)


# POSIX zone strings (no tz database needed): far east, far west, a half hour, UTC.
ZONES = ["UTC0", "LINT-14", "SST+11", "IST-5:30"]


@pytest.fixture(params=ZONES)
def local_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """Function: the process runs in another local time zone (then its own again)."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


NOW = 1_765_000_000_123


@pytest.mark.parametrize(("silent_ms", "stale"), [(3000, False), (3001, True)])
def test_a_stale_verdict_is_the_same_in_every_local_time_zone(
    local_zone: str, silent_ms: int, stale: bool
) -> None:
    """Stored times are UTC with a Z: where the server runs must not move them. At the
    bound: silent for exactly the 3 s threshold is not stale, one ms more is."""
    last = iso_ms(NOW - silent_ms)
    assert last == datetime.fromtimestamp((NOW - silent_ms) / 1000, UTC).isoformat(
        timespec="milliseconds"
    ).replace("+00:00", "Z")
    record = {"status": "DOWNLOADING", "updated_at": last, "heartbeat_at": last}
    flag_stale([record], NOW, frozenset({"COMPLETE", "ERROR"}), 3)
    assert record["stale"] is stale, (local_zone, last)


def test_a_timestamp_is_read_as_the_same_instant_in_every_local_time_zone(local_zone: str) -> None:
    assert parse_timestamp(iso_ms(NOW)) == datetime.fromtimestamp(NOW / 1000, UTC)
    assert _parsed_ms(iso_ms(NOW)) == NOW
