"""One way to make a settings finding: every text redacted before it reaches the card."""

from __future__ import annotations

from harness.testing.audit.report.card import Finding, Severity
from pipeline.redaction import redact_text

__all__ = ["finding"]


def finding(
    check: str,
    ok: bool,
    severity: Severity,
    title: str,
    reason: str,
    fix: str = "",
    task: str = "",
) -> Finding:
    """A :class:`Finding` whose texts carry no credentials (``fix`` empty when ``ok``).

    The checks name broker schemes only; the redaction is the guard behind that rule for
    the names a user chose (a queue or task name could hold anything).
    """
    return Finding(
        check=check,
        ok=ok,
        severity=severity,
        title=redact_text(title),
        reason=redact_text(reason),
        fix="" if ok else redact_text(fix),
        task=redact_text(task),
    )
