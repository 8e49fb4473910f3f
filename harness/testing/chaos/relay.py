"""A TCP relay that can hold traffic: a network partition for tests (no pytest in here).

Put it between two processes (a replica and its primary) and call :meth:`TcpRelay.hold`:
bytes already sent stay in the relay's socket buffers and nothing more is passed on,
in either direction, until :meth:`TcpRelay.flow`. Neither side sees the link drop; the
receiving side simply stops hearing from the other, like a stalled network.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Self

from pipeline.procs.lifecycle import Lifecycle

__all__ = ["TcpRelay"]

CHUNK = 65536
TICK_SECONDS = 0.05


class TcpRelay(Lifecycle):
    """Listens on a free local port and relays every connection to ``target``."""

    def __init__(self, target: tuple[str, int], host: str = "127.0.0.1") -> None:
        self.target = target
        self.host = host
        self._flowing = threading.Event()
        self._flowing.set()
        self._closed = threading.Event()
        self._listener: socket.socket | None = None
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        # Held while bytes are passed on, so once hold() returns nothing more gets through.
        self._gate = threading.Lock()

    @property
    def port(self) -> int:
        """The port clients connect to instead of the target's."""
        if self._listener is None:
            raise RuntimeError("the relay is not started: call start() first")
        port: int = self._listener.getsockname()[1]
        return port

    @property
    def holding(self) -> bool:
        """True while traffic is held."""
        return not self._flowing.is_set()

    def start(self) -> Self:
        """Bind a free port and accept connections from a background thread."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, 0))
        listener.listen(16)
        listener.settimeout(TICK_SECONDS)
        self._listener = listener
        self._spawn(self._accept, "relay-accept")
        return self

    def hold(self) -> None:
        """Stop passing bytes on, in both directions, until :meth:`flow`.

        Once it returns, not one more byte reaches either side.
        """
        with self._gate:
            self._flowing.clear()

    def flow(self) -> None:
        """Pass bytes on again (held bytes first)."""
        self._flowing.set()

    def stop(self) -> None:
        """Close every connection and the listener; join the threads (a relay is not
        restarted: :meth:`close` is the same)."""
        self._closed.set()
        self._flowing.set()
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.close()
        if self._listener is not None:
            self._listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    # -- internals ------------------------------------------------------------------------

    def _spawn(self, target: object, name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _track(self, sock: socket.socket) -> bool:
        """Keep ``sock`` for :meth:`stop` to close; once stopping, close it now (False):
        a connection accepted as the relay stops would otherwise be kept by no one and
        left for the garbage collector, whose warning lands in whatever test runs then."""
        with self._lock:
            if not self._closed.is_set():
                self._sockets.append(sock)
                return True
        with contextlib.suppress(OSError):
            sock.close()
        return False

    def _send(self, sink: socket.socket, data: bytes) -> bool:
        """Pass ``data`` on once traffic flows; False when the relay closes or ``sink`` fails."""
        while not self._closed.is_set():
            with self._gate:
                if self._flowing.is_set():
                    try:
                        sink.sendall(data)
                    except OSError:
                        return False
                    return True
            self._flowing.wait(TICK_SECONDS)
        return False

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._closed.is_set():
            try:
                inbound, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                outbound = socket.create_connection(self.target, timeout=5)
            except OSError:
                inbound.close()
                continue
            for sock in (inbound, outbound):
                sock.settimeout(TICK_SECONDS)
            if not all([self._track(inbound), self._track(outbound)]):
                return  # stopping: stop() closes one already kept, _track the other
            self._spawn(self._pump, "relay-up", inbound, outbound)
            self._spawn(self._pump, "relay-down", outbound, inbound)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        while not self._closed.is_set():
            # While held, read nothing: what was sent waits in the kernel's buffers.
            if not self._flowing.wait(TICK_SECONDS):
                continue
            try:
                data = source.recv(CHUNK)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data or not self._send(sink, data):
                break
        for sock in (source, sink):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
