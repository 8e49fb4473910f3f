"""A relay stopped while it accepts a connection leaves no socket open.

Before, a connection accepted just as the relay stopped was kept in a list ``stop()`` had
already emptied: its two sockets were closed by no one, and the garbage collector's
warning for them failed whichever test ran next (seen in CI as an error at the setup of
an unrelated chaos test). Here the relay's connect to its target is held until
``stop()`` has begun, the worst moment, on every run.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest

from harness.testing.chaos import relay as relay_module
from harness.testing.chaos.relay import TcpRelay
from pipeline.waiting import wait_until


def test_a_connection_accepted_as_the_relay_stops_is_closed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made: list[socket.socket] = []
    stopping, connecting = threading.Event(), threading.Event()
    connect: Callable[..., socket.socket] = socket.create_connection

    def connect_once_stopping(*args: Any, **kwargs: Any) -> socket.socket:
        connecting.set()  # the relay accepted, and connects to its target
        stopping.wait(5)
        made.append(connect(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(relay_module.socket, "create_connection", connect_once_stopping)
    with socket.create_server(("127.0.0.1", 0)) as target:
        relay = TcpRelay(target.getsockname()).start()
        with connect(("127.0.0.1", relay.port)) as client:  # not through the wrapper
            assert connecting.wait(5), "the relay never accepted the connection"
            stopper = threading.Thread(target=relay.stop)
            stopper.start()
            wait_until(relay._closed.is_set, timeout=5, what="the relay stopping")
            stopping.set()
            stopper.join(timeout=10)
            assert not stopper.is_alive()
            assert len(made) == 1
            assert made[0].fileno() == -1, "the relay's connection to its target was left open"
            client.settimeout(5)
            assert client.recv(1) == b"", "the accepted connection was left open"
