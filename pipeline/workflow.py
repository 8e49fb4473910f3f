"""Workflows as data: statuses, their default messages and the allowed transitions."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pipeline.history import HistoryKind
from pipeline.job_input import URL_INPUT, JobInput

__all__ = ["PRD_WORKFLOW", "Workflow"]

_STATUS_RE = re.compile(r"^[A-Z][A-Z0-9_]{0,39}$")


@dataclass(frozen=True)
class Workflow:
    """A job workflow: which statuses exist and which moves between them are legal.

    ``transitions`` maps a status to the statuses it may move to. Every non-terminal
    status may always move to ``error`` (added automatically), terminal statuses never
    move, and the only way out of ``error`` is a retry back to ``initial``.

    ``input`` declares what a job takes (a :class:`~pipeline.job_input.JobInput`); by
    default the reference pipeline's ``{url, space_id}``.
    """

    name: str
    statuses: Mapping[str, str]
    initial: str
    terminal: frozenset[str]
    error: str
    transitions: Mapping[str, frozenset[str]] = field(default_factory=dict)
    stages: tuple[str, ...] = ()
    input: JobInput = URL_INPUT

    def __post_init__(self) -> None:
        self._check_names()
        if not isinstance(self.input, JobInput):
            raise ValueError(f"workflow {self.name!r}: input must be a JobInput")
        full = {s: frozenset(self.transitions.get(s, ())) for s in self.statuses}
        for status in self.running:
            full[status] = full[status] | {self.error}
        for status in self.terminal:
            if full[status]:
                raise ValueError(f"workflow {self.name!r}: terminal status {status} has exits")
        object.__setattr__(self, "transitions", full)
        for stage in self.stages:
            if stage not in self.running:
                raise ValueError(f"workflow {self.name!r}: stage {stage} is not a running status")

    def _check_names(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9_-]{0,39}", self.name):
            raise ValueError(f"workflow name {self.name!r} must be lowercase [a-z0-9_-]")
        for status in self.statuses:
            if not _STATUS_RE.match(status):
                raise ValueError(f"workflow {self.name!r}: bad status name {status!r}")
        named = {self.initial, self.error, *self.terminal}
        named |= set(self.transitions) | {t for ts in self.transitions.values() for t in ts}
        unknown = named - set(self.statuses)
        if unknown:
            raise ValueError(f"workflow {self.name!r}: unknown statuses {sorted(unknown)}")
        if self.error not in self.terminal:
            raise ValueError(f"workflow {self.name!r}: error status must be terminal")
        if self.initial in self.terminal:
            raise ValueError(f"workflow {self.name!r}: initial status cannot be terminal")

    @classmethod
    def linear(
        cls,
        name: str,
        *,
        stages: Mapping[str, str],
        initial: tuple[str, str] = ("INIT", "Starting..."),
        done: tuple[str, str] = ("COMPLETE", "Complete"),
        error: tuple[str, str] = ("ERROR", "Error occurred"),
        input: JobInput = URL_INPUT,
    ) -> Workflow:
        """A workflow that runs its ``stages`` in order: initial -> each stage -> done.

        ``stages`` maps each running status to its default message, in order;
        ``initial``, ``done`` and ``error`` are ``(status, message)`` pairs. Every stage may
        also move to ``error`` (as in any workflow), and a retry leads from ``error`` back
        to ``initial``::

            Workflow.linear("resize", stages={"RESIZING": "Resizing"}, done=("DONE", "Resized"))
        """
        order = [initial[0], *stages, done[0]]
        return cls(
            name=name,
            statuses={**dict([initial]), **stages, error[0]: error[1], done[0]: done[1]},
            initial=initial[0],
            terminal=frozenset({done[0], error[0]}),
            error=error[0],
            transitions={src: frozenset({dst}) for src, dst in itertools.pairwise(order)},
            stages=tuple(stages),
            input=input,
        )

    @property
    def running(self) -> frozenset[str]:
        """Statuses in which a job is still in progress (not terminal)."""
        return frozenset(self.statuses) - self.terminal

    def message(self, status: str) -> str:
        """The default user message for ``status``."""
        return self.statuses[status]

    def allowed(self, src: str, dst: str) -> bool:
        """Whether a job may move from ``src`` to ``dst`` (retry is not a transition)."""
        return dst in self.transitions.get(src, frozenset())

    def is_legal_path(self, path: Iterable[str | tuple[str, str]]) -> bool:
        """Whether a history tells a legal story: ``(kind, status)`` steps, as
        ``state_recorder.steps(job_id)`` gives, or plain statuses, as
        ``state_recorder.path(job_id)`` gives (a status equal to the one before is a
        redelivery; the initial status after the error status is a retry).

        ``kind`` is a :class:`~pipeline.history.HistoryKind` (or its stored string):
        entries that keep the status (progress, redelivered, duplicate) must stay in a
        running status, a retry goes from the error status to the initial one, and the
        moves (transition, stale, gave up) must be allowed by the transition table.
        """
        current: str | None = None
        for step in path:
            kind, status = self._step(current, step)
            if not self._legal_step(current, kind, status):
                return False
            current = status
        return True

    def _step(self, current: str | None, step: str | tuple[str, str]) -> tuple[str, str]:
        """A step as ``(kind, status)``; a plain status gets the kind its place implies."""
        if isinstance(step, str):
            if current is None:
                return HistoryKind.CREATE, step
            if current == self.error and step == self.initial:
                return HistoryKind.RETRY, step
            same = step == current
            return (HistoryKind.REDELIVERED if same else HistoryKind.TRANSITION), step
        if isinstance(step, tuple) and len(step) == 2 and all(isinstance(x, str) for x in step):
            return step
        raise TypeError(
            f"workflow {self.name!r}: a path step is a status or a (kind, status) pair, "
            f"not {step!r}"
        )

    def _legal_step(self, current: str | None, kind: str, status: str) -> bool:
        try:
            known = HistoryKind(kind)
        except ValueError:
            return False
        if current is None:
            return known is HistoryKind.CREATE and status == self.initial
        if known.keeps_status:
            return status == current and current not in self.terminal
        if known is HistoryKind.RETRY:
            return current == self.error and status == self.initial
        return known.moves_by_table and self.allowed(current, status)

    def happy_path(self) -> list[str]:
        """The statuses a job passes through when every stage succeeds."""
        if not self.stages:
            raise ValueError(f"workflow {self.name!r} declares no stages")
        done = sorted(self.allowed_from(self.stages[-1]) - {self.error})
        return [self.initial, *self.stages, *done[:1]]

    def allowed_from(self, status: str) -> frozenset[str]:
        """Statuses reachable from ``status`` in one transition."""
        return self.transitions.get(status, frozenset())


PRD_WORKFLOW = Workflow.linear(
    "media",
    initial=("INIT", "Starting process..."),
    stages={
        "DOWNLOADING": "Downloading media...",
        "TRANSCRIBING": "Transcribing audio...",
        "GENERATING_QUOTES": "Generating quotes...",
        "GENERATING_SUMMARY": "Creating summary...",
    },
    done=("COMPLETE", "Process complete"),
    error=("ERROR", "Error occurred"),
)
"""The PRD's workflow: INIT -> DOWNLOADING -> ... -> COMPLETE, any running status -> ERROR."""
