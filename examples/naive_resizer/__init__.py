"""The resizer written the naive way: a Celery chain that keeps its own status record.

Kept as a warning and as a test of the audit: ``pytest --jobstate-audit`` with
``jobstate_adapter = "naive_resizer.audit:NaiveAdapter"`` finds each of its bugs
(see :mod:`naive_resizer.app`). The ``resizer`` package is the same project on a tracker.
"""
