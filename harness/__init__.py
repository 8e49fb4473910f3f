"""pytest-jobstate: fixtures, strategies and state machines that prove job state honest."""

from pipeline.deprecation import alias_modules

# Old module paths that moved: importing one still works and warns once (see CHANGELOG.md).
alias_modules(
    {
        "harness.redis_proc": "pipeline.procs.redis_server",
        "harness.worker_proc": "pipeline.procs.worker_process",
        "harness.waiting": "pipeline.waiting",
        "harness.loading": "pipeline.loading",
    }
)
