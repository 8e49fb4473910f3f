"""A workflow whose input is not a URL, end to end: service, runner, CLI; eager and prefork."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from harness.testing.recorder import StateRecorder
from harness.testing.runner import JobRunner
from pipeline.cli import cli
from pipeline.errors import ValidationError
from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.store import JobStore
from pipeline.workflow import Workflow
from tests.pipeline.conftest import MODES
from tests.pipeline.input_apps import TALLY

APP = "tests.pipeline.input_apps:create_tally_app"
PATH = ["QUEUED", "ADDING", "CHECKING", "DONE"]


@pytest.fixture(scope="session")
def jobstate_workflow() -> Workflow:
    """Session: the tally workflow instead of the media one."""
    return TALLY


@pytest.fixture
def jobstate_app_target() -> str:
    """Function: the tally app (a factory, importable by worker subprocesses)."""
    return APP


def test_submit_sends_the_input_in_the_job_context(state_store: JobStore) -> None:
    sent: list[dict[str, Any]] = []
    service = JobService(state_store, sent.append)
    record = service.submit({"numbers": [1, 2], "label": "x"})
    assert record["input"] == {"numbers": [1, 2], "label": "x"}
    assert sent == [
        {
            "job_id": record["job_id"],
            "attempt": 1,
            "input": {"numbers": [1, 2], "label": "x"},
            "artifacts": {},
        }
    ]
    state_store.set_state(record["job_id"], "ADDING", attempt=1)
    state_store.fail(record["job_id"], "boom", attempt=1)
    service.retry(record["job_id"])
    assert sent[-1]["input"] == {"numbers": [1, 2], "label": "x"}
    assert sent[-1]["attempt"] == 2


def test_bad_input_is_refused_before_anything_is_sent(state_store: JobStore) -> None:
    sent: list[dict[str, Any]] = []
    service = JobService(state_store, sent.append)
    with pytest.raises(ValidationError) as caught:
        service.submit({"numbers": [1, True]})
    assert caught.value.field == "input.numbers[1]"
    assert sent == []
    assert state_store.list_jobs() == []


@pytest.mark.parametrize("mode", MODES)
def test_the_stages_see_the_input_and_the_job_completes(
    mode: str, job_runner: JobRunner, state_recorder: StateRecorder, jobstate_celery_mode: str
) -> None:
    assert jobstate_celery_mode == mode
    record = job_runner.run({"numbers": [3, 4, 5], "label": "sum"}, timeout=60)
    assert record["status"] == "DONE", record
    assert record["result"] == {
        "total": 12,
        "label": "sum",
        "seen": {"numbers": [3, 4, 5], "label": "sum"},
    }
    state_recorder.assert_path(record["job_id"], PATH)
    state_recorder.assert_all_legal()


@pytest.mark.parametrize("mode", MODES)
def test_a_failed_job_retries_with_the_same_input(
    mode: str, job_runner: JobRunner, state_store: JobStore
) -> None:
    job_id = job_runner.submit({"numbers": [1], "label": "refuse"})
    failed = job_runner.wait_for(job_id, "FAILED")
    assert failed["error"] == "CHECKING: ValueError: refused to check 1"
    job_runner.retry(job_id)
    again = job_runner.wait_for(job_id, "FAILED", attempt=2)
    assert again["input"] == {"numbers": [1], "label": "refuse"}
    assert [e["attempt"] for e in state_store.history(job_id)][-1] == 2


@pytest.fixture
def cli_env(jobstate_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Point the CLI at the test's Redis and key prefix."""
    for key, value in jobstate_settings.to_env().items():
        monkeypatch.setenv(key, value)
    return jobstate_settings


@pytest.mark.jobstate_redis("fake-tcp")
def test_cli_submits_json_input_to_the_apps_workflow(
    cli_env: Settings, state_store: JobStore, tmp_path: Any
) -> None:
    runner = CliRunner()
    out = runner.invoke(cli, ["submit", "--app", APP, "--input", '{"numbers": [7, 8]}'])
    assert out.exit_code == 0, out.output
    job_id = out.output.strip()
    assert state_store.get_state(job_id)["input"] == {"numbers": [7, 8]}

    path = tmp_path / "input.json"
    path.write_text(json.dumps({"numbers": [1], "label": "from a file"}), encoding="utf-8")
    from_file = runner.invoke(cli, ["submit", "--app", APP, "--input", f"@{path}"])
    assert from_file.exit_code == 0, from_file.output
    record = state_store.get_state(from_file.output.strip())
    assert record["input"]["label"] == "from a file"

    shown = runner.invoke(cli, ["status", job_id, "--app", APP])
    assert json.loads(shown.output)["input"] == {"numbers": [7, 8]}


@pytest.mark.jobstate_redis("fake-tcp")
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--input", '{"numbers": "x"}'], "input.numbers: must be list, not str"),
        (["--input", "{nope"], "Invalid value for --input: is not valid JSON"),
        (["--input", "[1]"], "must be a JSON object"),
        (["--input", "@/no/such/file.json"], "cannot read /no/such/file.json"),
        (["https://example.com/a.csv"], "'tally' takes a JSON object"),
        (["https://example.com/a.csv", "--input", "{}"], "either a URL or --input JSON"),
        ([], "either a URL or --input JSON"),
    ],
)
def test_cli_refuses_bad_input_and_stores_nothing(
    cli_env: Settings, state_store: JobStore, args: list[str], words: str
) -> None:
    out = CliRunner().invoke(cli, ["submit", "--app", APP, *args])
    assert out.exit_code != 0
    assert words in out.output
    assert state_store.list_jobs() == []


def test_cli_names_an_app_it_cannot_load(cli_env: Settings) -> None:
    out = CliRunner().invoke(cli, ["submit", "--app", "no_such_module:app", "--input", "{}"])
    assert out.exit_code == 1
    assert "--app no_such_module:app" in out.output
