"""The pipeline bench reads each stage task's run time from the worker's own log."""

from __future__ import annotations

from bench.pipeline import stage_times

LOG = b"""\
[2026-12-07 07:00:38,637: INFO/ForkPoolWorker-2] Task bench.tracked.downloading[3f6e] \
succeeded in 0.0015s: {'job_id': 'j', 'stage': 'DOWNLOADING'}
[2026-12-07 07:00:38,640: INFO/MainProcess] Task bench.plain.0[a-b] received
[2026-12-07 07:00:38,641: INFO/ForkPoolWorker-1] Task bench.plain.0[a-b] succeeded in 0.001s: {}
[2026-12-07 07:00:38,642: INFO/ForkPoolWorker-1] Task bench.plain.0[a-c] succeeded in 2e-3s: {}
[2026-12-07 07:00:38,643: INFO/ForkPoolWorker-1] Task bench.plain.0[a-d] succeeded in 0.004s: {}
[2026-12-07 07:00:38,644: ERROR/ForkPoolWorker-1] Task bench.plain.1[a-e] raised unexpected: X
"""


def test_each_tasks_median_run_time_in_microseconds_from_its_success_lines() -> None:
    assert stage_times(LOG) == {"bench.tracked.downloading": 1500.0, "bench.plain.0": 2000.0}
    assert stage_times(b"") == {}
