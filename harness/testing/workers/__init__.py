"""Real Celery workers for tests: app binding, per-test scopes, the pool, launchers."""
