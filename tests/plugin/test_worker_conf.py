"""What a test worker runs: the consumer that rides through a Redis restart (unless the app
names its own) and the app's own choice of what a lost connection does to running stages."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from celery import Celery
from celery.utils.imports import symbol_by_name
from celery.worker.consumer import Consumer as CeleryConsumer

from harness.testing.workers.app_binding import worker_conf
from pipeline.celery_app import celery_config
from pipeline.consumer import CONSUMER, Consumer
from pipeline.settings import Settings


@pytest.fixture
def app() -> Iterator[Celery]:
    """Function: a bare Celery app, closed afterwards."""
    app = Celery("bare", set_as_current=False)
    yield app
    app.close()


def test_the_setting_names_our_consumer() -> None:
    assert symbol_by_name(CONSUMER) is Consumer
    assert issubclass(Consumer, CeleryConsumer)


def test_a_worker_of_an_app_with_celerys_consumer_gets_ours(app: Celery) -> None:
    assert worker_conf(app, Settings())["worker_consumer"] == CONSUMER


def test_an_apps_own_consumer_is_kept(app: Celery) -> None:
    app.conf.worker_consumer = "mine.worker:Consumer"
    assert "worker_consumer" not in worker_conf(app, Settings())


@pytest.mark.parametrize("cancel", [True, False])
def test_the_apps_connection_loss_setting_is_left_alone(app: Celery, cancel: bool) -> None:
    app.conf.worker_cancel_long_running_tasks_on_connection_loss = cancel
    app.conf.update(worker_conf(app, Settings()))
    assert app.conf.worker_cancel_long_running_tasks_on_connection_loss is cancel


def test_the_reference_app_runs_our_consumer() -> None:
    assert celery_config(Settings())["worker_consumer"] == CONSUMER
