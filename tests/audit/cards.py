"""Cards to render in the tests: a realistic audit of the media pipeline, a small card
with every kind of cell, finding and machine result, and the audit of an app that keeps
its own job state (bugs of three kinds, a sampled timeline, no state machine)."""

from __future__ import annotations

from typing import Any

from harness.testing.audit.report.card import AuditCard, Cell, Finding, MachineResult

__all__ = [
    "ADAPTER",
    "FAULTS",
    "SAMPLED",
    "STAGES",
    "history",
    "mixed_card",
    "own_state_card",
    "realistic_card",
    "sampled",
]

STAGES = ["DOWNLOADING", "TRANSCRIBING", "GENERATING_QUOTES", "GENERATING_SUMMARY"]
FAULTS = {
    "exception": "the stage raises an exception",
    "unreadable-error": "the stage raises an exception whose text cannot be read",
    "system-exit": "the stage raises SystemExit",
    "time-limit": "the stage runs past its hard time limit",
    "child-killed": "the prefork child running the stage is killed",
    "worker-killed": "the whole worker is killed mid-stage",
    "warm-shutdown": "the worker gets SIGTERM mid-stage (warm shutdown)",
    "cold-shutdown": "the worker gets SIGQUIT mid-stage (cold shutdown)",
    "duplicate-delivery": "the stage's message is delivered twice at once",
    "redis-restart": "redis-server restarts mid-stage",
    "redis-outage": "Redis is down for longer than the retries",
    "cut-off": "the worker is cut off from Redis mid-stage",
}
# Who ends a job under each fault in an honest pipeline, and roughly how long it takes.
_ENDED = {
    "exception": ("stage", 0.31),
    "unreadable-error": ("stage", 0.34),
    "system-exit": ("parent", 0.52),
    "time-limit": ("parent", 2.1),
    "child-killed": ("parent", 0.66),
    "worker-killed": ("redelivery", 3.4),
    "warm-shutdown": ("stage", 1.2),
    "cold-shutdown": ("redelivery", 3.1),
    "duplicate-delivery": ("stage", 0.58),
    "redis-restart": ("stage", 1.9),
    "redis-outage": ("sweep", 6.3),
    "cut-off": ("sweep", 4.8),
}
_T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms


def history(
    job: str, steps: list[tuple[str | None, str, str]], **last: Any
) -> list[dict[str, Any]]:
    """A job's durable history: ``(from, to, message)`` steps, 1.2 s apart; ``last``
    overrides fields of the final entry (an ``error``, say)."""
    entries = []
    for n, (before, after, message) in enumerate(steps, start=1):
        ms = _T0 + 1200 * n
        entries.append(
            {
                "id": f"{ms}-0",
                "version": n,
                "attempt": 1,
                "kind": "create" if before is None else "transition",
                "from": before,
                "status": after,
                "at": f"2026-01-01T00:00:{1.2 * n:06.3f}Z",
                "ms": ms,
                "message": message,
                "error": None,
                "task_id": None if before is None else f"c0ffee{n:02d}-5e1f-4b7a",
            }
        )
    entries[-1].update(last)
    return entries


def _passing(stage: str, fault: str) -> Cell:
    ended_by, seconds = _ENDED[fault]
    final = (
        "COMPLETE" if ended_by in ("redelivery", "stage") and "exception" not in fault else "ERROR"
    )
    return Cell(
        stage,
        fault,
        "pass",
        ended_by=ended_by,
        final_status=final,
        seconds=seconds,
        jobs=[f"audit-{stage.lower()}-{fault}-1"],
    )


def realistic_card() -> AuditCard:
    """The media pipeline's audit with one mistake: TRANSCRIBING opts out of late acks, so
    a killed worker leaves its job stuck; DOWNLOADING has no time limit to exceed."""
    cells = [_passing(stage, fault) for stage in STAGES for fault in FAULTS]
    job = "audit-transcribing-worker-killed-1"
    stuck = Cell(
        "TRANSCRIBING",
        "worker-killed",
        "fail",
        reasons=[
            "stuck: TRANSCRIBING for 20.0 s after the worker was killed, and nothing ended it",
            "the message was acknowledged before the stage ran (acks_late=False on "
            "pipeline.transcribe), so no redelivery came",
        ],
        ended_by="",
        final_status="TRANSCRIBING",
        seconds=20.4,
        jobs=[job],
        evidence={
            job: history(
                job,
                [
                    (None, "INIT", "queued"),
                    ("INIT", "DOWNLOADING", "downloading talk.mp3"),
                    ("DOWNLOADING", "TRANSCRIBING", "transcribing 0%"),
                ],
            )
        },
        test="tests/audit::TRANSCRIBING[worker-killed]",
    )
    no_limit = Cell(
        "DOWNLOADING",
        "time-limit",
        "n/a",
        reasons=["the stage has no hard time limit to exceed (see the setting time-limits)"],
    )
    cells = [stuck if (c.stage, c.fault) == ("TRANSCRIBING", "worker-killed") else c for c in cells]
    cells = [no_limit if (c.stage, c.fault) == ("DOWNLOADING", "time-limit") else c for c in cells]
    return AuditCard(
        app="pipeline.celery_app:app",
        workflow="media",
        stages=list(STAGES),
        faults=dict(FAULTS),
        cells=cells,
        findings=_findings(),
        machine=MachineResult(ran=True, ok=True, examples=25, steps=412),
        seconds=131.0,
    )


def _findings() -> list[Finding]:
    return [
        Finding(
            "acks-late",
            False,
            "error",
            "pipeline.transcribe acknowledges its message before it runs",
            "With acks_late=False a worker that dies mid-stage has already acknowledged the "
            "message: nothing redelivers it and the job stays in TRANSCRIBING.",
            fix='@app.task(name="pipeline.transcribe", acks_late=True)',
            task="pipeline.transcribe",
        ),
        Finding(
            "time-limits",
            False,
            "warning",
            "pipeline.download has no hard time limit",
            "A download that hangs holds its worker and its job forever; the stale sweep is "
            "the only thing that ends it.",
            fix="app.conf.task_time_limit = 600",
            task="pipeline.download",
        ),
        Finding(
            "visibility-timeout",
            True,
            "error",
            "visibility_timeout outlasts every stage's time limit",
            "3600 s against a longest time limit of 900 s: no message is redelivered while "
            "its stage still runs.",
        ),
        Finding(
            "reject-on-worker-lost",
            True,
            "error",
            "a lost child's message is redelivered",
            "task_reject_on_worker_lost is on with late acks.",
        ),
        Finding(
            "serializer", True, "warning", "JSON-only serialisation", "accept_content is ['json']."
        ),
        Finding(
            "queues", True, "error", "workers read the queue the app sends to", "both use 'media'."
        ),
    ]


def mixed_card() -> AuditCard:
    """Two stages, four faults: a pass, two fails, an n/a, a cell that did not run, a cell
    whose stage the card does not list; findings of every kind; a counterexample."""
    job = "job-1"
    return AuditCard(
        app="shop.tasks:app",
        workflow="orders",
        stages=["PAY", "SHIP"],
        faults={
            "exception": "an exception",
            "worker-killed": "worker killed",
            "redis-outage": "Redis down",
            "cut-off": "cut off",
        },
        cells=[
            Cell(
                "PAY",
                "exception",
                "pass",
                ended_by="stage",
                final_status="ERROR",
                seconds=0.25,
                jobs=["job-0"],
            ),
            Cell(
                "PAY",
                "worker-killed",
                "fail",
                reasons=["stuck in PAY", "no redelivery"],
                ended_by="",
                final_status="PAY",
                seconds=12.5,
                jobs=[job],
                evidence={job: history(job, [(None, "NEW", "queued"), ("NEW", "PAY", "paying")])},
                test="tests/test_audit.py::PAY[worker-killed]",
            ),
            Cell("PAY", "redis-outage", "n/a", reasons=["no Redis to stop"]),
            Cell(
                "SHIP",
                "exception",
                "fail",
                reasons=["error does not name the stage"],
                ended_by="stage",
                final_status="ERROR",
                seconds=0.5,
                jobs=["job-2"],
                evidence={
                    "job-2": history(
                        "job-2",
                        [(None, "NEW", "queued"), ("NEW", "ERROR", "")],
                        error="boom",
                        kind="fail",
                    )
                },
            ),
            Cell(
                "SHIP",
                "worker-killed",
                "pass",
                ended_by="redelivery",
                final_status="DONE",
                seconds=3.0,
                jobs=["job-3"],
            ),
            Cell("REFUND", "exception", "pass", ended_by="stage", seconds=0.75),
        ],
        findings=[
            Finding("acks-late", True, "error", "late acks on", "acks_late is on."),
            Finding(
                "visibility-timeout",
                False,
                "error",
                "visibility_timeout too short",
                "60 s is shorter than the 300 s time limit of shop.ship.",
                fix='app.conf.broker_transport_options = {"visibility_timeout": 3600}',
                task="shop.ship",
            ),
            Finding(
                "prefetch",
                False,
                "warning",
                "prefetch multiplier 4",
                "a worker holds 4 messages per process",
                fix="app.conf.worker_prefetch_multiplier = 1",
            ),
            Finding(
                "result-expiry", False, "info", "results expire in 1 day", "Longer than retention."
            ),
        ],
        machine=MachineResult(
            ran=True,
            ok=False,
            examples=3,
            steps=17,
            reason="store says DONE, API says PAY",
            counterexample="def test_replay():\n    state = Machine()\n    state.submit()\n",
        ),
        seconds=17.0,
    )


ADAPTER = "naive_resizer.audit:NaiveAdapter"
SAMPLED = "read 5210 times, every 0.61 ms on average, longest gap 14.2 ms"
# What our store and tracker do instead, by bug (short forms of the judge's own lines).
INSTEAD = {
    "swallowed": "Tracker writes the error status, naming the stage, for whatever it raises",
    "celery-failed": "the tracker hears Celery's task_failure in the worker's parent too",
    "stuck": "the stale sweep ends a job whose worker went silent, naming the stage",
    "went-back": "JobStore refuses a write that would put an earlier status back",
}


def sampled(rows: list[tuple[str, str, str]], **last: str) -> list[dict[str, Any]]:
    """An app with its own state's evidence: ``(source, status, error)`` rows 2.5 ms apart
    (the store as sampled, Celery's task log, the API); ``last`` overrides fields of the
    final row."""
    entries = [
        {"at": f"{2.5 * n:.1f} ms", "source": source, "status": status, "error": error}
        | {"result": ""}
        for n, (source, status, error) in enumerate(rows)
    ]
    entries[-1].update(last)
    return entries


def _bug(kind: str, finding: str, way: str) -> dict[str, str]:
    return {"kind": kind, "finding": finding, "way_over": INSTEAD[way]}


def _own_state_cell(stage: str, fault: str, bugs: list[dict[str, str]], *plain: str) -> Cell:
    job = f"naive-{stage.lower()}-{fault}"
    return Cell(
        stage,
        fault,
        "fail",
        reasons=[*(bug["finding"] for bug in bugs), *plain],
        ended_by="",
        final_status=stage,
        seconds=4.2,
        jobs=[job],
        evidence={
            job: sampled(
                [
                    ("store", "QUEUED", ""),
                    ("celery pid 4242", "naive.resize started", ""),
                    ("store", "RESIZING", ""),
                    ("celery pid 4242", "naive.resize failed", "WorkerLostError"),
                ]
            )
        },
        test=f"tests/audit::{stage}[{fault}]",
        bugs=bugs,
        sampled=SAMPLED,
    )


def own_state_card() -> AuditCard:
    """The naive resizer, judged through its adapter: RESIZING swallows an exception and
    is left stuck by a killed child, both stages are overwritten by a duplicate delivery,
    UPLOADING survives an exception; the UI never disagreed with the store."""
    swallowed = _bug(
        "errors-not-propagated",
        "RESIZING's work raised but naive.resize caught the error: Celery saw it succeed and "
        "the state says DONE",
        "swallowed",
    )
    unheard = _bug(
        "errors-not-propagated",
        "Celery recorded naive.resize failed (WorkerLostError) but the state still says RESIZING",
        "celery-failed",
    )
    stuck = _bug(
        "lost-at-handoff",
        "stuck in RESIZING: no task moved it on and nothing changed for 3 s",
        "stuck",
    )

    def went_back(status: str) -> dict[str, str]:
        return _bug(
            "inconsistent-updates",
            f"the state went from DONE back to {status} after it was final: a late write "
            "from another process",
            "went-back",
        )

    ok = Cell("UPLOADING", "exception", "pass", ended_by="stage", final_status="FAILED")
    ok.seconds, ok.sampled = 0.9, SAMPLED
    return AuditCard(
        app="naive_resizer.app:app",
        workflow="naive-resize",
        stages=["RESIZING", "UPLOADING"],
        faults={
            "exception": "the stage raises an exception",
            "child-killed": "the prefork child running the stage is killed",
            "duplicate-delivery": "the stage's message is delivered twice at once",
        },
        cells=[
            _own_state_cell("RESIZING", "exception", [swallowed], "the job ended in DONE"),
            _own_state_cell("RESIZING", "child-killed", [unheard, stuck]),
            _own_state_cell("RESIZING", "duplicate-delivery", [went_back("RESIZING")]),
            ok,
            _own_state_cell("UPLOADING", "duplicate-delivery", [went_back("UPLOADING")]),
        ],
        machine=None,
        seconds=21.0,
        adapter=ADAPTER,
    )
