"""Quote and summary stages: deterministic, drawn from the text, robust to hostile input."""

from __future__ import annotations

import time
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.stages.stage_errors import TextError
from pipeline.stages.text import (
    GAP,
    MAX_CHUNK_WORDS,
    MAX_PIECE_CHARS,
    clean_text,
    extract_quotes,
    register_quoter,
    register_summariser,
    split_sentences,
    summarise,
)

ARTICLE = (
    "Redis keeps the state of every job. A worker picks a job from the queue and runs one stage. "
    "When the worker crashes, the heartbeat goes silent and the sweeper marks the job as failed. "
    "The state machine only allows legal transitions, so the job state stays honest. "
    "Lunch was pasta today. "
    "Every transition of the job state is written by one atomic script in Redis. "
    "Thanks for listening."
)
TRANSCRIPT = (
    "hello and welcome to the pod cast today we talk about state machines and how they keep "
    "every job honest when a worker crashes the state machine still tells the truth and the "
    "user interface shows the state of the job within a second because the page polls the "
    "server every second and the worker writes its state to redis after every stage"
)


def pieces(summary: str) -> list[str]:
    """The runs of text a summary was assembled from."""
    return [p for p in summary.split(GAP) if p]


def test_sentences_of_punctuated_text() -> None:
    sentences = split_sentences('He said "stop." Then he left! Did he? Yes\u2026 ok')
    assert sentences == ['He said "stop."', "Then he left!", "Did he?", "Yes\u2026", "ok"]


def test_unpunctuated_text_becomes_pseudo_sentences() -> None:
    sentences = split_sentences(TRANSCRIPT)
    assert len(sentences) > 2
    assert all(10 <= len(s.split()) <= MAX_CHUNK_WORDS for s in sentences)
    assert " ".join(sentences) == TRANSCRIPT


def test_quotes_are_sentences_of_the_text() -> None:
    quotes = extract_quotes(ARTICLE, 3)
    sentences = split_sentences(ARTICLE)
    assert len(quotes) == 3
    assert len(set(quotes)) == 3
    assert all(q in sentences for q in quotes)
    assert "Lunch was pasta today." not in quotes


def test_summary_keeps_original_order_and_marks_gaps() -> None:
    summary = summarise(ARTICLE, 2)
    parts = pieces(summary)
    sentences = split_sentences(ARTICLE)
    assert 1 <= len(parts) <= 2
    assert all(p in ARTICLE for p in parts)
    positions = [ARTICLE.index(p) for p in parts]
    assert positions == sorted(positions)
    assert sum(p.count(".") for p in parts) == 2
    assert "Lunch" not in summary
    assert summary != " ".join(sentences[:2])


def test_summary_of_a_transcript_is_drawn_from_it() -> None:
    summary = summarise(TRANSCRIPT, 2)
    assert summary
    assert all(p in TRANSCRIPT for p in pieces(summary))
    assert len(summary.split()) <= 2 * MAX_CHUNK_WORDS


def test_everything_when_asked_for_more_than_there_is() -> None:
    text = "State machines are useful. Workers crash."
    assert summarise(text, 10) == text
    assert sorted(extract_quotes(text, 10)) == sorted(split_sentences(text))


def test_results_are_deterministic() -> None:
    assert extract_quotes(ARTICLE) == extract_quotes(ARTICLE)
    assert summarise(TRANSCRIPT) == summarise(TRANSCRIPT)


def test_duplicate_sentences_are_quoted_once() -> None:
    text = "The job is done. The job is done. The job is done. Redis stores state."
    quotes = extract_quotes(text, 3)
    assert quotes.count("The job is done.") == 1


@pytest.mark.parametrize(
    "text",
    ["", "   \n\t ", "\x00\x01\x1b\x7f", "\u200b\u200e", " " * 2_000_000, "\x00" * 2_000_000],
)
def test_empty_input_gives_empty_output(text: str) -> None:
    assert extract_quotes(text) == []
    assert summarise(text) == ""


def test_control_characters_are_removed() -> None:
    text = "The worker\x00 crashed.\x1b[31m Redis kept\r\nthe state.\x07 Done\u2028now."
    for out in [*extract_quotes(text), summarise(text)]:
        assert not any(unicodedata.category(ch)[0] == "C" for ch in out)
        assert "\x1b" not in out
    assert clean_text(text) == "The worker crashed. [31m Redis kept the state. Done now."


def test_huge_input_is_bounded_in_time_and_output() -> None:
    text = (ARTICLE + " ") * 5_000 + TRANSCRIPT * 2_000
    started = time.monotonic()
    quotes = extract_quotes(text, 5)
    summary = summarise(text, 3)
    assert time.monotonic() - started < 30
    assert 1 <= len(quotes) <= 5
    assert len(summary) <= 3 * (MAX_PIECE_CHARS + len(GAP))


def test_giant_word_is_clipped() -> None:
    text = "x" * 500_000
    [quote] = extract_quotes(text, 3)
    assert len(quote) == MAX_PIECE_CHARS
    assert quote.endswith("\u2026")
    assert len(summarise(text)) == MAX_PIECE_CHARS


@pytest.mark.parametrize("bad", [None, b"bytes", 42, ["a list"]])
def test_non_text_is_refused(bad: object) -> None:
    with pytest.raises(TextError, match="must be a string"):
        extract_quotes(bad)  # type: ignore[arg-type]
    with pytest.raises(TextError, match="must be a string"):
        summarise(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("count", [-1, True, 2.5, "3"])
def test_bad_counts_are_refused(count: object) -> None:
    with pytest.raises(TextError, match="non-negative integer"):
        extract_quotes(ARTICLE, count)  # type: ignore[arg-type]
    with pytest.raises(TextError, match="non-negative integer"):
        summarise(ARTICLE, count)  # type: ignore[arg-type]


def test_zero_count() -> None:
    assert extract_quotes(ARTICLE, 0) == []
    assert summarise(ARTICLE, 0) == ""


def test_unknown_backend_names_the_choices() -> None:
    with pytest.raises(TextError, match=r"unknown summariser 'gpt'.*extractive"):
        summarise(ARTICLE, backend="gpt")
    with pytest.raises(TextError, match=r"unknown quoter 'gpt'.*extractive"):
        extract_quotes(ARTICLE, backend="gpt")


def test_registered_backends_are_used() -> None:
    register_summariser("test-first-words", lambda text, n: " ".join(text.split()[:n]))
    register_quoter("test-shout", lambda text, n: [text.upper()] * n)
    assert summarise(ARTICLE, 2, backend="test-first-words") == "Redis keeps"
    assert extract_quotes("hi there", 2, backend="test-shout") == ["HI THERE", "HI THERE"]


def test_dotted_path_backends() -> None:
    assert summarise(ARTICLE, 30, backend="textwrap:shorten") == "Redis keeps the state of [...]"
    lines = extract_quotes(ARTICLE, 40, backend="textwrap:wrap")
    assert lines[0] == "Redis keeps the state of every job. A"


def test_backend_output_is_checked() -> None:
    register_quoter("test-not-list", lambda text, n: "a string")  # type: ignore[arg-type,return-value]
    with pytest.raises(TextError, match="did not return a list of strings"):
        extract_quotes(ARTICLE, backend="test-not-list")


def test_backend_failure_is_typed() -> None:
    def broken(text: str, n: int) -> str:
        raise ZeroDivisionError("boom")

    register_summariser("test-broken", broken)
    with pytest.raises(TextError, match="ZeroDivisionError: boom"):
        summarise(ARTICLE, backend="test-broken")


@settings(max_examples=200, deadline=None)
@given(st.text(), st.integers(min_value=0, max_value=6))
def test_any_text_gives_quotes_and_summary_from_it(text: str, n: int) -> None:
    cleaned = clean_text(text)
    quotes = extract_quotes(text, n)
    summary = summarise(text, n)
    assert len(quotes) <= n
    assert all(q.removesuffix("\u2026") in cleaned for q in quotes)
    assert all(p.removesuffix("\u2026") in cleaned for p in pieces(summary))
    assert bool(summary) == bool(cleaned and n and split_sentences(text))


@pytest.mark.parametrize(("returned", "kept"), [(2, 2), (3, 3), (4, 3), (40, 3)])
def test_a_quoters_output_is_cut_at_the_count_asked_for(returned: int, kept: int) -> None:
    """A plugged-in quoter may return more than asked: the job's result holds at most n."""
    register_quoter("test-too-many", lambda text, n: [f"q{i}" for i in range(returned)])
    assert extract_quotes(ARTICLE, 3, backend="test-too-many") == [f"q{i}" for i in range(kept)]
