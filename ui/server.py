"""Run the web app under uvicorn: blocking (the CLI) or in a background thread (tests)."""

from __future__ import annotations

import gc
import os
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from pipeline.service import JobService
from pipeline.settings import Settings
from pipeline.waiting import wait_until
from ui.app import create_app
from ui.head_deadline import head_deadline

__all__ = [
    "AppFactory",
    "RunningServer",
    "connection_cap",
    "serve",
    "serve_workers",
    "settle_heap",
    "start_in_thread",
]

SERVER_HEADER = False
"""No ``Server: uvicorn`` on our answers: it tells a caller nothing it needs and names the
software to anyone probing, on every poll."""


def settle_heap() -> None:
    """Move what a server process built before serving (the app, its routes and schemas,
    imported modules) out of the garbage collector's sight: a full collection then scans
    only what requests make, instead of pausing a poll for every object ever built.
    Only in processes that exist to serve: frozen objects are never collected."""
    gc.collect()
    gc.freeze()


AppFactory = Callable[[JobService], Any]
"""Builds an ASGI app from a service (``ui.app.create_app`` or a project's own)."""


def serve(
    service: JobService,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    app_factory: AppFactory = create_app,
    log_level: str = "info",
) -> None:
    """Serve the app on ``host:port`` until interrupted (blocks).

    At most ``JOBSTATE_UI_MAX_CONNECTIONS`` connections are served at once
    (:func:`connection_cap`).
    """
    config = uvicorn.Config(
        app_factory(service),
        host=host,
        port=port,
        log_level=log_level,
        timeout_graceful_shutdown=5,
        limit_concurrency=connection_cap(service),
        server_header=SERVER_HEADER,
        http=head_deadline(service.store.settings.ui_body_timeout_seconds),
    )
    settle_heap()
    uvicorn.Server(config).run()


def serve_workers(
    workers: int,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    app_target: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve the app from ``workers`` processes on one port until interrupted (blocks).

    uvicorn's own process model: a supervisor process that starts the workers, restarts
    one that dies, and stops them all on SIGINT/SIGTERM. Each worker builds its app from
    the ``JOBSTATE_*`` environment (:mod:`ui.workers`; ``app_target`` is handed down as
    ``JOBSTATE_APP``) and serves at most ``JOBSTATE_UI_MAX_CONNECTIONS`` connections.
    """
    from ui.workers import APP_FACTORY

    if app_target:
        os.environ["JOBSTATE_APP"] = app_target
    settings = Settings.from_env()
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        timeout_graceful_shutdown=5,
        limit_concurrency=_limit(settings.ui_max_connections),
        server_header=SERVER_HEADER,
        http="ui.head_deadline:HeadDeadline",  # its deadline read from JOBSTATE_* there
    )


def connection_cap(service: JobService, max_connections: int | None = None) -> int:
    """uvicorn's ``limit_concurrency`` that serves ``max_connections`` connections at once
    (default ``JOBSTATE_UI_MAX_CONNECTIONS``).

    uvicorn counts the connection asking among the open ones, so a request on the
    ``max_connections + 1``-th open connection is answered 503 with ``Connection: close``
    and dropped, at once, while the others keep being served.
    """
    cap = service.store.settings.ui_max_connections if max_connections is None else max_connections
    return _limit(cap)


def _limit(max_connections: int) -> int:
    # uvicorn counts the connection asking among the open ones.
    return max_connections + 1


class RunningServer:
    """A uvicorn server running in a daemon thread; ``url`` is its base URL."""

    def __init__(
        self, server: uvicorn.Server, thread: threading.Thread, sock: socket.socket, url: str
    ) -> None:
        self.server = server
        self.thread = thread
        self.url = url
        self._sock = sock

    @property
    def port(self) -> int:
        """The TCP port the server listens on."""
        return int(self.url.rsplit(":", 1)[1])

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving; force-close open connections if a graceful stop takes too long.

        Raises :class:`RuntimeError` if the thread is still alive after ``timeout``.
        """
        self.server.should_exit = True
        self.thread.join(timeout / 2)
        if self.thread.is_alive():
            self.server.force_exit = True
            self.thread.join(timeout / 2)
        self._sock.close()
        if self.thread.is_alive():
            raise RuntimeError(f"web server at {self.url} did not stop within {timeout:g} s")

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    return sock


def start_in_thread(
    service: JobService,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    app_factory: AppFactory = create_app,
    startup_timeout: float = 10.0,
    log_level: str = "warning",
    max_connections: int | None = None,
    head_timeout: float | None = None,
) -> RunningServer:
    """Start the app in a daemon thread and return once it accepts requests.

    ``port=0`` picks a free port (the socket is bound here, so the port is known and
    cannot be taken in between). Connections are capped as by :func:`serve`
    (``max_connections``, default from the settings), and a request's head must arrive
    within ``head_timeout`` (default ``ui_body_timeout_seconds``, :mod:`ui.head_deadline`).
    Raises :class:`RuntimeError` if the
    server has not started within ``startup_timeout`` seconds.
    """
    config = uvicorn.Config(
        app_factory(service),
        log_level=log_level,
        access_log=False,
        lifespan="auto",
        timeout_graceful_shutdown=2,
        limit_concurrency=connection_cap(service, max_connections),
        server_header=SERVER_HEADER,
        http=head_deadline(
            service.store.settings.ui_body_timeout_seconds if head_timeout is None else head_timeout
        ),
    )
    sock = _listen(host, port)
    bound = sock.getsockname()[1]
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"jobstate-ui-{bound}", daemon=True
    )
    shown_host = f"[{host}]" if ":" in host else host
    running = RunningServer(server, thread, sock, f"http://{shown_host}:{bound}")
    thread.start()

    def started() -> bool:
        if not thread.is_alive():
            raise RuntimeError(f"web server on {host}:{bound} stopped while starting")
        return bool(server.started)

    try:
        wait_until(
            started, startup_timeout, interval=0.01, what=f"web server on {host}:{bound} started"
        )
    except (RuntimeError, TimeoutError) as exc:
        running.stop(timeout=2.0)
        raise RuntimeError(str(exc)) from exc
    return running
