"""Quote and summary stages: deterministic, extractive, no model.

Text is cleaned (control characters removed, whitespace collapsed, length capped), split into
sentences, and sentences longer than 20 words are cut into pseudo-sentences of 10-20 words, so
unpunctuated transcripts (pocketsphinx writes none) work too. Sentences are scored by the
frequency of their content words. Other backends plug in by name (:func:`register_quoter`,
:func:`register_summariser`) or by ``"module:callable"`` path.
"""

from __future__ import annotations

import itertools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.stages.registry import Registry
from pipeline.stages.stage_errors import TextError

__all__ = [
    "DEFAULT_BACKEND",
    "GAP",
    "MAX_CHUNK_WORDS",
    "MAX_PIECE_CHARS",
    "MAX_TEXT_CHARS",
    "Quoter",
    "Summariser",
    "clean_text",
    "extract_quotes",
    "extractive_quotes",
    "extractive_summary",
    "get_quoter",
    "get_summariser",
    "register_quoter",
    "register_summariser",
    "split_sentences",
    "summarise",
]

Quoter = Callable[[str, int], list[str]]
"""``quoter(text, n)`` returns at most ``n`` quotes taken from ``text``."""
Summariser = Callable[[str, int], str]
"""``summariser(text, max_sentences)`` returns a summary of ``text``."""

DEFAULT_BACKEND = "extractive"
MAX_TEXT_CHARS = 1_000_000
MAX_CHUNK_WORDS = 20
TARGET_CHUNK_WORDS = 16
MAX_PIECE_CHARS = 300
GAP = " … "
# Closing quotes and brackets (straight and typographic) stay with the sentence they end.
_SENTENCE_END = re.compile(r"([.!?…]+[\"'\u201d\u2019)\]]*)\s+")
_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_QUOTE_WORDS = range(6, 31)
_SAME_QUOTE = 0.7
_STOPWORD_TEXT = """
a about above after again against all am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just let me more most my myself no nor not now of off on once only or other our
ours ourselves out over own same she should so some such than that the their theirs them
themselves then there these they this those through to too under until up very was we were
what when where which while who whom why will with would you your yours yourself yourselves
also uh um oh ah yeah okay well like really get got going know think say said one"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_quoters: Registry[Quoter] = Registry("quoter", TextError)
_summarisers: Registry[Summariser] = Registry("summariser", TextError)


def register_quoter(name: str, quoter: Quoter) -> None:
    """Make ``quoter`` available under ``name`` (replacing any backend of that name)."""
    _quoters.register(name, quoter)


def register_summariser(name: str, summariser: Summariser) -> None:
    """Make ``summariser`` available under ``name`` (replacing any backend of that name)."""
    _summarisers.register(name, summariser)


def get_quoter(spec: str) -> Quoter:
    """The quoter registered as ``spec``, or the callable at a ``"module:callable"`` path."""
    return _quoters.get(spec)


def get_summariser(spec: str) -> Summariser:
    """The summariser registered as ``spec``, or the callable at a ``"module:callable"`` path."""
    return _summarisers.get(spec)


def extract_quotes(text: str, n: int = 3, *, backend: str = DEFAULT_BACKEND) -> list[str]:
    """At most ``n`` quotable sentences of ``text``, best first, each taken from the text.

    Raises :class:`TextError` for non-text input, a bad ``n`` or a failing backend.
    """
    count = _check_count(n, "n")
    quoter = get_quoter(backend)
    cleaned = clean_text(text)
    if not cleaned or count == 0:
        return []
    quotes = _run(backend, quoter, cleaned, count)
    if not isinstance(quotes, list) or not all(isinstance(q, str) for q in quotes):
        raise TextError(f"quoter {backend!r} did not return a list of strings")
    return quotes[:count]


def summarise(text: str, max_sentences: int = 3, *, backend: str = DEFAULT_BACKEND) -> str:
    """A summary of ``text`` of at most ``max_sentences`` sentences taken from it, in order.

    Skipped stretches between chosen sentences are marked with `` … ``. Raises
    :class:`TextError` for non-text input, a bad ``max_sentences`` or a failing backend.
    """
    count = _check_count(max_sentences, "max_sentences")
    summariser = get_summariser(backend)
    cleaned = clean_text(text)
    if not cleaned or count == 0:
        return ""
    summary = _run(backend, summariser, cleaned, count)
    if not isinstance(summary, str):
        raise TextError(f"summariser {backend!r} did not return a string")
    return summary


def clean_text(text: str) -> str:
    """``text`` normalised (NFC), without control characters, whitespace collapsed, capped.

    Text longer than :data:`MAX_TEXT_CHARS` is cut at the last space before the cap.
    """
    if not isinstance(text, str):
        raise TextError(f"text must be a string, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        head = text[:MAX_TEXT_CHARS].rsplit(None, 1)
        text = head[0] if head else ""
    kept = (
        ch if unicodedata.category(ch)[0] != "C" else " "
        for ch in unicodedata.normalize("NFC", text)
    )
    return " ".join("".join(kept).split())


def split_sentences(text: str) -> list[str]:
    """Sentences of cleaned ``text``; long or unpunctuated runs cut into ~16-word pieces."""
    marked = _SENTENCE_END.sub("\\1\n", clean_text(text))
    return [piece for line in marked.split("\n") for piece in _chunks(line.split())]


def extractive_quotes(text: str, n: int) -> list[str]:
    """The default quoter: well-scored sentences of quotable length, no near-duplicates."""
    scored = _score(split_sentences(text))
    ranked = sorted(scored, key=lambda s: (-s.score * _quote_fit(s), s.index))
    chosen: list[_Sentence] = []
    for candidate in ranked:
        if len(chosen) == n:
            break
        if not any(_similar(candidate, other) for other in chosen):
            chosen.append(candidate)
    return [_clip(s.text) for s in chosen]


def extractive_summary(text: str, max_sentences: int) -> str:
    """The default summariser: the best-scored sentences, in their original order."""
    scored = _score(split_sentences(text))
    best = sorted(scored, key=lambda s: (-s.score, s.index))[:max_sentences]
    ordered = sorted(best, key=lambda s: s.index)
    parts: list[str] = []
    for previous, sentence in zip([None, *ordered], ordered, strict=False):
        if previous is not None:
            parts.append(" " if sentence.index == previous.index + 1 else GAP)
        parts.append(_clip(sentence.text))
    return "".join(parts)


@dataclass(frozen=True)
class _Sentence:
    index: int
    text: str
    words: tuple[str, ...]
    content: frozenset[str]
    score: float


def _chunks(words: Sequence[str]) -> list[str]:
    """``words`` as one piece, or as even pieces of at most :data:`MAX_CHUNK_WORDS` words."""
    if not words:
        return []
    count = max(math.ceil(len(words) / MAX_CHUNK_WORDS), round(len(words) / TARGET_CHUNK_WORDS), 1)
    bounds = [round(i * len(words) / count) for i in range(count + 1)]
    return [" ".join(words[a:b]) for a, b in itertools.pairwise(bounds)]


def _score(sentences: Sequence[str]) -> list[_Sentence]:
    """Each sentence scored by its content words' frequency, damped by its length."""
    tokenised = [tuple(_WORD.findall(s.lower())) for s in sentences]
    frequency = Counter(w for words in tokenised for w in words if w not in _STOPWORDS)
    top = max(frequency.values(), default=1)
    result: list[_Sentence] = []
    seen: set[str] = set()
    for index, (text, words) in enumerate(zip(sentences, tokenised, strict=True)):
        if text.casefold() in seen:
            continue
        seen.add(text.casefold())
        content = frozenset(w for w in words if w in frequency)
        weight = sum(frequency[w] for w in words if w in frequency) / top
        score = weight / math.sqrt(len(words)) if words else 0.0
        result.append(_Sentence(index, text, words, content, score))
    return result


def _quote_fit(sentence: _Sentence) -> float:
    return 1.0 if len(sentence.words) in _QUOTE_WORDS else 0.5


def _similar(a: _Sentence, b: _Sentence) -> bool:
    union = a.content | b.content
    return bool(union) and len(a.content & b.content) / len(union) >= _SAME_QUOTE


def _clip(text: str) -> str:
    if len(text) <= MAX_PIECE_CHARS:
        return text
    cut = text[: MAX_PIECE_CHARS - 1]
    head = cut.rsplit(" ", 1)[0] if " " in cut else cut
    return head + "…"


def _check_count(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TextError(f"{name} must be a non-negative integer, got {value!r}")
    return value


def _run(backend: str, fn: Callable[[str, int], object], text: str, count: int) -> object:
    try:
        return fn(text, count)
    except TextError:
        raise
    except Exception as exc:
        raise TextError(f"{backend!r} failed: {type(exc).__name__}: {str(exc)[:200]}") from exc


register_quoter(DEFAULT_BACKEND, extractive_quotes)
register_summariser(DEFAULT_BACKEND, extractive_summary)
