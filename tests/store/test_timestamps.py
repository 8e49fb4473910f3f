"""Every stored time reads as ``YYYY-MM-DDTHH:MM:SS.mmmZ``: exactly three digits of
milliseconds, so the text parses back to the same instant and sorts as time does."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from hypothesis import example, given
from hypothesis import strategies as st

from pipeline.records import iso_ms

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
