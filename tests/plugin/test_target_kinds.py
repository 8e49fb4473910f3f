"""A ``module:attribute`` option that imports but is not the kind of thing the plugin calls
stops the run at start, naming the option: it used to import fine and then fail every test
(``os:system`` as the app factory, a string as the enqueue function)."""

from __future__ import annotations

import pytest

from harness.config import OPTIONS, JobstateConfig, Setting
from harness.plugin import _check_targets


def _config(**values: str) -> JobstateConfig:
    resolved = {opt.name: Setting(opt.default, "default") for opt in OPTIONS}
    resolved.update({name: Setting(value, "cli") for name, value in values.items()})
    return JobstateConfig(resolved)


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("app", "os:system", "is not a factory f(settings) -> Celery: called with the settings"),
        ("app", "json:dumps", "is not a factory f(settings) -> Celery"),
        ("app", "celery:Celery", "has no jobstate tracker"),
        ("enqueue", "os:sep", "--jobstate-enqueue='os:sep' is a str, not a function"),
        ("web_app", "os:sep", "--jobstate-web-app='os:sep' is a str, not a factory"),
    ],
)
def test_a_target_of_the_wrong_kind_stops_the_run_naming_the_option(
    name: str, value: str, says: str
) -> None:
    with pytest.raises(pytest.UsageError) as refused:
        _check_targets(_config(**{name: value}))
    assert says in str(refused.value)
    assert "--jobstate-" in str(refused.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("app", "tests.pipeline.apps:create_probe_app"),
        ("enqueue", "pipeline.celery_app:enqueue"),
        ("web_app", "ui.app:create_app"),
    ],
)
def test_a_target_of_the_right_kind_passes(name: str, value: str) -> None:
    _check_targets(_config(**{name: value}))
