"""Process helpers shared by the demo, the benchmarks and the test harness (no pytest).

:mod:`pipeline.procs.redis_server` runs a private ``redis-server`` (or fakeredis over
TCP); :mod:`pipeline.procs.worker_process` runs a Celery worker in a subprocess.
"""
