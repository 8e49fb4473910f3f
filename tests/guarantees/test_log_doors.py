"""Every way a secret can enter a log record, one property: none of them shows it.

A record carries text in its message, its ``%`` arguments, the traceback of the
exception it reports (the exception's own text and the chained cause's) and the
``data`` Celery attaches to a task's outcome. The redaction is installed as a
record factory, the one gate every record passes as it is made: whatever a handler
formats (Celery's, pytest's, a JSON logger's), it formats text already redacted.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.redaction import install_log_redaction
from tests.guarantees.hostile import Payload, payloads

PROPERTY = settings(max_examples=150, deadline=None)


class _Kept(logging.Handler):
    """Keeps every record, and each one as a plain formatter writes it."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def kept() -> Iterator[_Kept]:
    """Module: a handler on two loggers (one of ours, Celery's task outcome logger)."""
    install_log_redaction()
    handler = _Kept()
    loggers = [logging.getLogger("jobstate.test.doors"), logging.getLogger("celery.app.trace")]
    saved = [(lg.level, lg.propagate) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
    yield handler
    for lg, (level, propagate) in zip(loggers, saved, strict=True):
        lg.removeHandler(handler)
        lg.setLevel(level)
        lg.propagate = propagate


def _raised(text: str) -> None:
    raise RuntimeError(text)


def _chained(text: str) -> None:
    try:
        raise ValueError(text)
    except ValueError as cause:
        raise RuntimeError("the stage failed") from cause


def _log_exception(log: logging.Logger, fail: Callable[[str], None], text: str) -> None:
    try:
        fail(text)
    except RuntimeError:
        log.exception("stage failed")


DOORS: dict[str, Callable[[logging.Logger, Payload], None]] = {
    "message": lambda log, p: log.warning(p.text()),
    "text argument": lambda log, p: log.warning("input: %s", p.text()),
    "value argument": lambda log, p: log.warning("input: %r", p.build()),
    "exception": lambda log, p: _log_exception(log, _raised, p.text()),
    "chained cause": lambda log, p: _log_exception(log, _chained, p.text()),
    "error argument": lambda log, p: log.error("raised: %r", RuntimeError(p.text())),
}


@PROPERTY
@given(payload=payloads(max_depth=20), door=st.sampled_from(sorted(DOORS)))
def test_no_door_of_a_log_record_shows_a_secret(kept: _Kept, payload: Payload, door: str) -> None:
    start = len(kept.lines)
    DOORS[door](logging.getLogger("jobstate.test.doors"), payload)
    [line] = kept.lines[start:]
    for marker in payload.markers:
        assert marker not in line, f"{door}: {marker} shows in {line[:400]!r}"


@PROPERTY
@given(payload=payloads(max_depth=20))
def test_the_data_of_a_task_outcome_shows_no_secret(kept: _Kept, payload: Payload) -> None:
    """Celery's outcome line attaches the task's return value as ``data`` for JSON
    loggers, which write it whole."""
    start = len(kept.records)
    data: dict[str, Any] = {"id": "t-1", "name": "stage", "return_value": payload.build()}
    logging.getLogger("celery.app.trace").info("Task %(name)s succeeded", extra={"data": data})
    [record] = kept.records[start:]
    shown = json.dumps(record.data, default=repr)  # type: ignore[attr-defined]
    for marker in payload.markers:
        assert marker not in shown, f"{marker} shows in the outcome's data"
