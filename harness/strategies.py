"""Hypothesis strategies for job state: statuses, transition sequences, inputs, text.

Every strategy that depends on a workflow takes it as an argument, so the same
strategies drive any pipeline's workflow. A sequence is a list of :class:`Step` applied
after the job's creation; :func:`as_path` turns it into the ``(kind, status)`` pairs that
:meth:`Workflow.is_legal_path` judges.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from hypothesis import strategies as st

from pipeline import validation as v
from pipeline.errors import ValidationError
from pipeline.job_input import FieldSpec, JobInput
from pipeline.workflow import Workflow

__all__ = [
    "HOSTILE_SAMPLES",
    "Step",
    "as_path",
    "error_texts",
    "first_illegal",
    "hostile_text",
    "illegal_sequences",
    "invalid_job_ids",
    "is_legal_step",
    "job_ids",
    "job_inputs",
    "legal_sequences",
    "metadata",
    "progress_values",
    "running_statuses",
    "space_ids",
    "statuses",
    "task_ids",
    "terminal_statuses",
    "urls",
]

StepKind = Literal["transition", "retry"]
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Step:
    """One move of a job: a ``transition`` to ``status`` or a ``retry`` (to the initial)."""

    kind: StepKind
    status: str

    def __str__(self) -> str:
        return f"{self.kind}->{self.status}"


def is_legal_step(workflow: Workflow, current: str, step: Step) -> bool:
    """Whether ``step`` is allowed from ``current`` (retry only from the error status)."""
    if step.kind == "retry":
        return current == workflow.error and step.status == workflow.initial
    return workflow.allowed(current, step.status)


def as_path(workflow: Workflow, steps: list[Step]) -> list[tuple[str, str]]:
    """The job's story as ``(kind, status)`` pairs, starting with its creation."""
    return [("create", workflow.initial), *((s.kind, s.status) for s in steps)]


# -- statuses and sequences ---------------------------------------------------------------


def statuses(workflow: Workflow) -> st.SearchStrategy[str]:
    """Any status of ``workflow``."""
    return st.sampled_from(sorted(workflow.statuses))


def running_statuses(workflow: Workflow) -> st.SearchStrategy[str]:
    """Any non-terminal status of ``workflow``."""
    return st.sampled_from(sorted(workflow.running))


def terminal_statuses(workflow: Workflow) -> st.SearchStrategy[str]:
    """Any terminal status of ``workflow`` (the error status included)."""
    return st.sampled_from(sorted(workflow.terminal))


def _legal_options(workflow: Workflow, current: str, retries: bool) -> list[Step]:
    options = [Step("transition", s) for s in sorted(workflow.allowed_from(current))]
    if retries and current == workflow.error:
        options.append(Step("retry", workflow.initial))
    return options


def _illegal_options(workflow: Workflow, current: str) -> list[Step]:
    options = [
        Step("transition", s) for s in sorted(workflow.statuses) if not workflow.allowed(current, s)
    ]
    if current != workflow.error:
        options.append(Step("retry", workflow.initial))
    return options


@st.composite
def _walk(
    draw: st.DrawFn, workflow: Workflow, start: str, max_steps: int, retries: bool
) -> list[Step]:
    steps: list[Step] = []
    current = start
    for _ in range(draw(st.integers(0, max_steps))):
        options = _legal_options(workflow, current, retries)
        if not options:
            break
        step = draw(st.sampled_from(options))
        steps.append(step)
        current = step.status
    return steps


def legal_sequences(
    workflow: Workflow, *, max_steps: int = 12, retries: bool = True
) -> st.SearchStrategy[list[Step]]:
    """Legal walks from the initial status that obey ``workflow.allowed``.

    A walk stops early at a terminal status; with ``retries`` it may leave the error
    status through a retry and carry on.
    """
    return _walk(workflow, workflow.initial, max_steps, retries)


def _end(workflow: Workflow, steps: list[Step]) -> str:
    return steps[-1].status if steps else workflow.initial


@st.composite
def _illegal(draw: st.DrawFn, workflow: Workflow, max_steps: int) -> list[Step]:
    prefix = draw(legal_sequences(workflow, max_steps=max_steps))
    bad = draw(st.sampled_from(_illegal_options(workflow, _end(workflow, prefix))))
    tail = draw(
        st.lists(
            st.builds(Step, st.sampled_from(["transition", "retry"]), statuses(workflow)),
            max_size=3,
        )
    )
    return [*prefix, bad, *tail]


def illegal_sequences(workflow: Workflow, *, max_steps: int = 8) -> st.SearchStrategy[list[Step]]:
    """A legal prefix, then a step the workflow forbids, then anything.

    :func:`first_illegal` finds the forbidden step; a store must reject it, and every
    later step is moot.
    """
    return _illegal(workflow, max_steps)


def first_illegal(workflow: Workflow, steps: list[Step]) -> int | None:
    """Index of the first step that is not allowed where it is taken, if any."""
    current = workflow.initial
    for index, step in enumerate(steps):
        if not is_legal_step(workflow, current, step):
            return index
        current = step.status
    return None


# -- ids and metadata ---------------------------------------------------------------------


def job_ids() -> st.SearchStrategy[str]:
    """Valid job ids: 1-64 characters of ``[A-Za-z0-9_-]`` starting alphanumeric."""
    return st.from_regex(_JOB_ID, fullmatch=True)


def invalid_job_ids() -> st.SearchStrategy[Any]:
    """Things a store must refuse as a job id (braces, spaces, too long, not text...).

    ``None`` is not among them: ``create(job_id=None)`` means "pick a fresh id".
    """
    return st.one_of(
        st.sampled_from(["", "-lead", "_lead", "a b", "{tag}", "a}b", "a:b", "é", "a" * 65]),
        st.text(min_size=1).filter(lambda t: _JOB_ID.fullmatch(t) is None),
        st.integers(),
    )


def space_ids() -> st.SearchStrategy[str]:
    """Valid space ids (1-128 characters of ``[A-Za-z0-9._:-]`` starting alphanumeric)."""
    return st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,40}", fullmatch=True)


def task_ids() -> st.SearchStrategy[str]:
    """Celery-style task ids (UUIDs, mostly) that the store accepts."""
    return st.one_of(st.uuids().map(str), st.from_regex(r"[A-Za-z0-9._:-]{1,60}", fullmatch=True))


def urls() -> st.SearchStrategy[str]:
    """http(s) URLs with a host, an optional port, path and query."""
    host = st.from_regex(
        r"[a-z][a-z0-9-]{0,20}(\.[a-z][a-z0-9-]{0,10}){0,2}\.(com|org|io)", fullmatch=True
    )
    port = st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}"))
    path = st.from_regex(r"(/[A-Za-z0-9._~%-]{0,12}){0,4}", fullmatch=True)
    query = st.one_of(st.just(""), st.from_regex(r"\?[a-z]{1,5}=[A-Za-z0-9%]{0,8}", fullmatch=True))
    scheme = st.sampled_from(["http", "https"])
    return st.builds(lambda s, h, p, pa, q: f"{s}://{h}{p}{pa}{q}", scheme, host, port, path, query)


def metadata() -> st.SearchStrategy[dict[str, str | None]]:
    """Valid PRD metadata: ``{url, space_id, task_id}`` (ids optional)."""
    return st.fixed_dictionaries(
        {
            "url": urls(),
            "space_id": st.one_of(st.none(), space_ids()),
            "task_id": st.one_of(st.none(), task_ids()),
        }
    )


def _json_values() -> st.SearchStrategy[Any]:
    scalars = st.one_of(st.none(), st.booleans(), st.integers(-1000, 1000), st.text(max_size=20))
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
        ),
        max_leaves=6,
    )


def _for_type(kind: type) -> st.SearchStrategy[Any]:
    if kind is bool:
        return st.booleans()
    if kind is int:
        return st.integers(-(2**31), 2**31)
    if kind is float:
        return st.floats(allow_nan=False, allow_infinity=False)
    if kind is str:
        return st.text(max_size=40)
    if kind is list:
        return st.lists(_json_values(), max_size=4)
    if kind is dict:
        return st.dictionaries(st.text(max_size=10), _json_values(), max_size=4)
    return st.none()


def _for_spec(key: str, spec: FieldSpec) -> st.SearchStrategy[Any]:
    if isinstance(spec, tuple):
        return st.one_of(*(_for_type(kind) for kind in spec))
    if isinstance(spec, type):
        return _for_type(spec)
    if spec is v.check_url:
        return urls()
    if spec is v.check_space_id:
        return space_ids()
    raise ValueError(
        f"job input key {key!r} is checked by {getattr(spec, '__name__', spec)!r}: "
        f"pass a strategy for it, job_inputs(workflow, {key}=st....)"
    )


def job_inputs(
    workflow: Workflow | JobInput, **overrides: st.SearchStrategy[Any]
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid job inputs for ``workflow`` (or a :class:`JobInput`), as it would store them.

    Each key is drawn from its declared type (optional keys sometimes left out); a key
    checked by a function of your own needs a strategy: ``job_inputs(flow,
    width=st.integers(1, 4096))``. Drawn inputs that the input's checks refuse are
    filtered out, so keep ``overrides`` close to what the checks accept.
    """
    spec = workflow.input if isinstance(workflow, Workflow) else workflow

    def pick(keys: Mapping[str, FieldSpec]) -> dict[str, st.SearchStrategy[Any]]:
        return {k: overrides[k] if k in overrides else _for_spec(k, s) for k, s in keys.items()}

    drawn = st.fixed_dictionaries(pick(spec.required), optional=pick(spec.optional))
    return drawn.filter(lambda data: _accepted(spec, data)).map(spec.validate)


def _accepted(spec: JobInput, data: dict[str, Any]) -> bool:
    try:
        spec.validate(data)
    except ValidationError:
        return False
    return True


def progress_values() -> st.SearchStrategy[Any]:
    """Small JSON values a worker may report as progress."""
    scalars = st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**31), 2**31),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=40),
    )
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
        ),
        max_leaves=12,
    )


# -- hostile text -------------------------------------------------------------------------

# Controls, format (bidi, zero-width), private use, combining marks, line separators.
_ODD_CATEGORIES: list[Any] = ["Cc", "Cf", "Co", "Mn", "Zl", "Zp"]

HOSTILE_SAMPLES: tuple[str, ...] = (
    "<img src=x onerror=alert(1)>",
    "</script><script>alert(1)</script>",
    "<svg/onload=alert(document.domain)>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    '"><iframe src=javascript:alert(1)>',
    "'; DROP TABLE jobs; --",
    "{{7*7}}${7*7}<%= 7*7 %>",
    "a\x00b",
    "\x00" * 8,
    "line1\r\nSet-Cookie: x=1",
    "\x1b[31mred\x1b[0m",
    "\u202eevil.exe\u202d",
    "\u200b\u200c\u200d\ufeff",
    "e\u0301\u0301\u0301",
    "\U0001f469\u200d\U0001f4bb \U0001f600",
    "\u2028\u2029",
    "\uffff\ufffe",
    "A" * 100_000,
    "",
    " ",
)


def hostile_text(*, surrogates: bool = False) -> st.SearchStrategy[str]:
    """Text that breaks naive code: HTML/script injection, ``javascript:`` URLs, control
    characters and NULs, bidi overrides, combining marks, emoji, very long strings.

    Lone surrogates (not encodable as UTF-8) are left out unless ``surrogates`` is set.
    """
    odd = _ODD_CATEGORIES + (["Cs"] if surrogates else [])
    weird = st.characters(categories=odd)
    mixed = st.text(
        alphabet=st.one_of(weird, st.characters(exclude_categories=["Cs"])), max_size=60
    )
    long = st.builds(
        lambda s, n: (s or "x") * n, st.sampled_from(HOSTILE_SAMPLES[:8]), st.integers(500, 5000)
    )
    glued = st.lists(st.sampled_from(HOSTILE_SAMPLES), min_size=2, max_size=4).map("".join)
    return st.one_of(st.sampled_from(HOSTILE_SAMPLES), mixed, long, glued)


def error_texts() -> st.SearchStrategy[str]:
    """Error messages a failing stage might produce: a plain cause, then anything hostile.

    Never blank once control characters are stripped, so a store must accept every one.
    """
    cause = st.sampled_from(["download failed", "decode error", "timeout", "ValueError"])
    return st.builds(lambda head, tail: f"{head}: {tail}", cause, hostile_text())
