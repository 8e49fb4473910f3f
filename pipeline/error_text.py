"""Describe an exception in one safe line: the text every stored error starts from."""

from __future__ import annotations

from celery.exceptions import SoftTimeLimitExceeded

from pipeline.validation import shown_text

__all__ = ["MAX_ERROR_TEXT", "sanitise_error"]

MAX_ERROR_TEXT = 300


def sanitise_error(exc: BaseException) -> str:
    """A short, single-line, control-free description of ``exc``; never raises.

    The first non-empty line of ``str(exc)`` after the exception's type name, cut before it
    is scanned, with URL credentials hidden. An exception that cannot describe itself
    (its ``__str__`` raises or returns a non-string) is named by its type alone.
    """
    try:
        if isinstance(exc, SoftTimeLimitExceeded):
            return "timed out (soft time limit)"
        name = _type_name(exc)
        text = _first_line(_describe(exc))
        return shown_text(f"{name}: {text}" if text else name, "error", MAX_ERROR_TEXT)
    except Exception:  # describing an error must never stop it being recorded
        return "error (its description could not be read)"


def _type_name(exc: BaseException) -> str:
    name = getattr(type(exc), "__name__", None)
    return name if isinstance(name, str) and name else "Exception"


def _describe(exc: BaseException) -> str:
    try:
        text = str(exc)
    except Exception:
        return "(its message could not be read)"
    return text if isinstance(text, str) else ""


def _first_line(text: str) -> str:
    """The first non-empty line, looking only as far as the error text can reach."""
    head = text[: MAX_ERROR_TEXT * 8]
    return next((line.strip() for line in head.splitlines() if line.strip()), "")
