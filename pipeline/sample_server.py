"""A tiny local HTTP server for the bundled speech sample (demo and tests)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

__all__ = ["SampleServer"]


class SampleServer:
    """Serves one file at ``/<name>`` on 127.0.0.1 in a background thread."""

    def __init__(self, path: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.path = path
        body = path.read_bytes()
        name = path.name

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] != f"/{name}":
                    self.send_error(404, "not found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """The file's URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/{self.path.name}"

    @property
    def host(self) -> str:
        """``host:port`` of the server (for an SSRF allow-list)."""
        host, port = self._server.server_address[:2]
        return f"{host!s}:{port}"

    def start(self) -> SampleServer:
        """Start serving in a daemon thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> SampleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
