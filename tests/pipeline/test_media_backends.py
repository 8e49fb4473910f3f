"""The reference pipeline's summary stage runs the summariser the settings name.

``JOBSTATE_SUMMARISER`` was read, documented and then ignored: the summary stage always
ran the default extractive summariser, so a deployment that named its own got the
default's output with no word about it.
"""

from __future__ import annotations

import pytest

from harness.testing.runner import JobRunner
from pipeline.sample_server import SampleServer
from pipeline.settings import Settings

SUMMARY = "summary from the configured backend"


def fixed_summary(text: str, max_sentences: int) -> str:
    """A summariser whose output no other backend writes."""
    return SUMMARY


@pytest.fixture
def pipeline_settings(pipeline_settings: Settings) -> Settings:
    """Function: the pipeline's settings naming :func:`fixed_summary` as the summariser."""
    return pipeline_settings.with_(summariser=f"{__name__}:fixed_summary")


@pytest.mark.jobstate_celery("eager")
def test_the_summary_stage_runs_the_summariser_the_settings_name(
    job_runner: JobRunner, media_server: SampleServer
) -> None:
    record = job_runner.run(media_server.url, timeout=120)
    assert record["status"] == "COMPLETE", record
    assert record["result"]["summary"] == SUMMARY
