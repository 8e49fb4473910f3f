"""The client factory: one server, Redis Cluster or Sentinel from the settings' URL."""

from __future__ import annotations

import pytest
import redis
from redis.exceptions import RedisClusterException
from redis.sentinel import SentinelConnectionPool

from pipeline.celery_app import create_app
from pipeline.connection import (
    SentinelUrl,
    check_celery_urls,
    parse_sentinel_url,
    redis_client,
)
from pipeline.settings import Settings, redact_url

SENTINELS = "redis+sentinel://app:s3cret@10.0.0.1:26379,10.0.0.2:26380/mymaster/2"


def test_a_sentinel_url_names_sentinels_master_db_and_credentials() -> None:
    assert parse_sentinel_url(SENTINELS) == SentinelUrl(
        (("10.0.0.1", 26379), ("10.0.0.2", 26380)), "mymaster", 2, "app", "s3cret"
    )
    assert parse_sentinel_url("redis+sentinel://h:1/m") == SentinelUrl((("h", 1),), "m")
    assert parse_sentinel_url("redis+sentinel://:pw@h:1/m").password == "pw"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("redis://h:1/0", "must start with redis\\+sentinel://"),
        ("redis+sentinel://h:1", "needs the master name"),
        ("redis+sentinel://h:1/m/zero", "database that is not a number"),
        ("redis+sentinel://:pw@h/m", "without host:port"),
        ("redis+sentinel:///m", "names no sentinel"),
    ],
)
def test_a_bad_sentinel_url_is_refused_without_echoing_it(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        parse_sentinel_url(url)
    assert "pw" not in str(caught.value)


def test_the_settings_pick_the_client() -> None:
    plain = redis_client(Settings(redis_url="redis://127.0.0.1:1/0"))
    assert type(plain) is redis.Redis
    sentinel = redis_client(Settings(redis_url=SENTINELS))
    assert isinstance(sentinel.connection_pool, SentinelConnectionPool)
    assert sentinel.connection_pool.service_name == "mymaster"
    # A cluster client connects to learn the slots: with nothing listening it says so.
    with pytest.raises(RedisClusterException, match="cannot be connected"):
        redis_client(Settings(redis_url="redis://127.0.0.1:1/0", cluster=True))
    plain.close()
    sentinel.close()


def test_a_sentinel_url_never_shows_its_password() -> None:
    shown = repr(Settings(redis_url=SENTINELS, result_url="redis://u:pw2@r:6379/1"))
    assert "s3cret" not in shown
    assert "pw2" not in shown
    assert redact_url(SENTINELS) == (
        "redis+sentinel://app:***@10.0.0.1:26379,10.0.0.2:26380/mymaster/2"
    )


@pytest.mark.parametrize(
    "settings",
    [
        Settings(redis_url="redis://node:7000/0", cluster=True),
        Settings(redis_url=SENTINELS, broker_url="amqp://guest:guest@mq//"),
    ],
    ids=["cluster", "sentinel-without-results"],
)
def test_celery_is_refused_a_cluster_or_sentinel_url(settings: Settings) -> None:
    with pytest.raises(ValueError, match="JOBSTATE_RESULT_URL") as caught:
        create_app(settings)
    if settings.cluster:
        assert "JOBSTATE_BROKER_URL and JOBSTATE_RESULT_URL" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_celery_takes_a_cluster_store_with_its_own_broker_and_results() -> None:
    settings = Settings(
        redis_url="redis://node:7000/0",
        cluster=True,
        broker_url="redis://broker:6379/0",
        result_url="redis://broker:6379/1",
    )
    check_celery_urls(settings)
    app = create_app(settings)
    assert app.conf.broker_url == "redis://broker:6379/0"
    assert app.conf.result_backend == "redis://broker:6379/1"
    app.close()
