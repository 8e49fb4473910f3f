"""The ``--input`` of ``jobstate submit``: bounded, from an argument or a regular file.

At most the workflow's input limit (plus one byte, to tell "too big") is ever read; a
device or a FIFO is refused before a byte is read (it may never end, or never start);
whatever JSON cannot become a job input is a one-line usage error (exit code 2).
"""

from __future__ import annotations

import json
import os
import stat
from typing import Any, NoReturn

import click

from pipeline import validation as v
from pipeline.errors import ValidationError, printable

__all__ = ["bad_input", "read_job_input"]


def read_job_input(url: str | None, input_json: str | None, cap: int) -> str | dict[str, Any]:
    """The job's input: a URL argument, or ``--input`` JSON (``@file`` reads a file).

    At most ``cap`` bytes (the workflow's input limit) are read, from the argument or
    the file; whatever JSON cannot become a job input is a usage error (exit code 2).
    """
    if (url is None) == (input_json is None):
        raise click.UsageError("give either a URL or --input JSON, not both or neither")
    if input_json is None:
        return str(url)
    text = _read_file(input_json[1:], cap) if input_json.startswith("@") else input_json
    if len(text.encode("utf-8", "surrogatepass")) > cap:
        bad_input(f"is larger than {cap} bytes, the input limit")
    try:
        data = json.loads(text)
    except RecursionError:
        bad_input(f"is nested deeper than {v.MAX_JSON_DEPTH} levels")
    except ValueError as exc:  # JSONDecodeError, or an integer of over 4300 digits
        bad_input(f"is not valid JSON ({exc})")
    if not isinstance(data, dict):
        bad_input("must be a JSON object")
    try:
        v.check_json_value(data, "input", max_chars=cap)
    except ValidationError as exc:
        bad_input(str(exc))
    return data


def _read_file(path: str, cap: int) -> str:
    """At most ``cap`` + 1 bytes of a regular file, as UTF-8 (never a device or a FIFO:
    they may never end, or never start)."""
    try:
        # Non-blocking: opening a FIFO must not wait for a writer.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        bad_input(f"cannot read {path}: {exc.strerror}")
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            bad_input(f"{path} is not a regular file (a device, FIFO or folder)")
        chunks, size = [], 0
        while size <= cap:
            chunk = os.read(fd, cap + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        bad_input(f"cannot read {path}: {exc.strerror}")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) > cap:
        bad_input(f"{path} is larger than {cap} bytes, the input limit")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad_input(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start})")


def bad_input(problem: str) -> NoReturn:
    """A usage error about ``--input``, in one line (exit code 2)."""
    line = printable(" ".join(problem.split()), 300)
    raise click.BadParameter(line, param_hint="--input")
