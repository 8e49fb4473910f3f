"""A Redis URL where nothing answers: connections are accepted and never replied to.

What a Redis behind a dead link or a stalled server looks like to a client: the connect
succeeds and only a timeout ends a call. (A closed port, by contrast, refuses at once.)
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator

__all__ = ["closed_port_url", "silent_redis_url"]


@contextlib.contextmanager
def silent_redis_url() -> Iterator[str]:
    """A ``redis://`` URL whose server accepts every connection and never answers; the
    connections and the listener are closed on exit."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, name="silent-redis", daemon=True)
    thread.start()
    try:
        yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


def closed_port_url(userinfo: str = "") -> str:
    """A ``redis://`` URL on a port nothing listens on (connections are refused)."""
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]
    return f"redis://{userinfo}127.0.0.1:{port}/0"
