"""pytest-jobstate: fixtures, strategies and state machines that prove job state honest.

Layers, top to bottom (``tests/test_layering.py`` keeps them):

- :mod:`harness.plugin`: every hook; imports the fixture modules; nothing imports it.
- :mod:`harness.fixtures`: the fixtures, by concern; the only modules that import pytest.
- :mod:`harness.strategies`, :mod:`harness.machines`: Hypothesis strategies and machines.
- :mod:`harness.testing`: pytest-free support (process topologies, workers, browser pages,
  chaos tally and faults, the recorder and runner), also used by ``bench/``.
- :mod:`harness.config`, :mod:`harness.modes`: the settings, at the bottom.
"""

from pipeline.deprecation import alias_modules

# Old module paths that moved: importing one still works and warns once (see CHANGELOG.md).
alias_modules(
    {
        "harness.redis_proc": "pipeline.procs.redis_server",
        "harness.worker_proc": "pipeline.procs.worker_process",
        "harness.waiting": "pipeline.waiting",
        "harness.loading": "pipeline.loading",
        "harness.app_binding": "harness.testing.workers.app_binding",
        "harness.scope": "harness.testing.workers.scoping",
        "harness.worker_pool": "harness.testing.workers.pool",
        "harness.thread_worker": "harness.testing.workers.thread_worker",
        "harness.real_workers": "harness.testing.workers.launch",
        "harness.worker_main": "harness.testing.workers.worker_main",
        "harness.faketime_main": "harness.testing.workers.faketime_main",
        "harness.import_path": "harness.testing.workers.import_path",
        "harness.redis_cluster": "harness.testing.redis.cluster",
        "harness.redis_sentinel": "harness.testing.redis.sentinel",
        "harness.redis_acl": "harness.testing.redis.acl",
        "harness.browser": "harness.testing.browser.choice",
        "harness.page_view": "harness.testing.browser.page_view",
        "harness.ui_view": "harness.testing.browser.ui_view",
        "harness.live_ui": "harness.testing.browser.live_ui",
        "harness.parked_loop": "harness.testing.browser.parked_loop",
        "harness.chaos_tally": "harness.testing.chaos.tally",
        "harness.chaos_report": "harness.testing.chaos.report",
        "harness.faults": "harness.testing.chaos.injector",
        "harness.relay": "harness.testing.chaos.relay",
        "harness.recorder": "harness.testing.recorder",
        "harness.runner": "harness.testing.runner",
        "harness.workflow_option": "harness.fixtures.workflow",
        "harness.redis": "harness.fixtures.redis",
        "harness.topologies": "harness.fixtures.topologies",
        "harness.celery": "harness.fixtures.workers",
        "harness.ui": "harness.fixtures.browser",
        "harness.browser_launch": "harness.fixtures.browser_launch",
        "harness.chaos": "harness.fixtures.chaos",
        "harness.chaos_workers": "harness.fixtures.chaos_workers",
        "harness.seeding": "harness.testing.seeding",
    }
)
