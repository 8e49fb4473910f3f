"""``--jobstate-redis=cluster`` and ``=sentinel`` run anyone's tests on the real topology.

A user's test file, run with pytester in a subprocess: the plugin starts the cluster or
the sentinel group and the user's fixtures land on it.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.scale

USER_TEST = """
def test_users_store(state_store, redis_backend):
    job = state_store.create("https://example.com/talk.mp3")
    state_store.set_state(job.job_id, "DOWNLOADING")
    assert state_store.get_state(job.job_id)["version"] == 2
    client = redis_backend.client
    pool = getattr(client, "connection_pool", None)
    print("CLIENT", type(client).__name__, type(pool).__name__, redis_backend.url)
"""


@pytest.mark.parametrize(
    ("mode", "client", "url"),
    [
        ("cluster", "RedisCluster NoneType", "redis://127.0.0.1:*"),
        ("sentinel", "Redis SentinelConnectionPool", "redis+sentinel://127.0.0.1:*,*,*/jobstate/0"),
    ],
)
def test_a_users_suite_runs_on_the_topology(
    pytester: pytest.Pytester, mode: str, client: str, url: str
) -> None:
    pytester.makepyfile(test_user=USER_TEST)
    result = pytester.runpytest_subprocess(
        f"--jobstate-redis={mode}", "-s", "-p", "no:cacheprovider"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"*jobstate: redis={mode} (cli)*", f"*CLIENT {client} {url}*"])
