"""The one life-cycle vocabulary of the process helpers (servers, workers, relays).

=========  ==================================================================
``start``  start (again) and return ``self``; a no-op when running
``stop``   graceful: running work finishes, data is flushed; it may start again
``kill``   at once, as a crash would; it may start again
``with``   :meth:`~Lifecycle.start` on entry, :meth:`~Lifecycle.close` on exit
``close``  end for good: :meth:`~Lifecycle.stop`, then release what it holds
           (directories, ports); what ``with`` calls, safe to call twice
=========  ==================================================================
"""

from __future__ import annotations

from typing import Any, Self

from pipeline.deprecation import warn_once

__all__ = ["Lifecycle"]


class Lifecycle:
    """Base of every helper with ``start``/``stop``/``kill``/``close`` (see the module).

    A start that fails part-way inside ``with`` closes whatever it had already started,
    so no process outlives a failed ``with``.
    """

    def start(self) -> Self:
        """Start the thing (subclasses)."""
        raise NotImplementedError

    def stop(self) -> None:
        """Stop gracefully; it may start again (subclasses)."""
        raise NotImplementedError

    def kill(self) -> None:
        """Stop at once, as a crash would (default: :meth:`stop`, when nothing is faster)."""
        self.stop()

    def close(self) -> None:
        """End for good: :meth:`stop`, then release what it holds (subclasses add that)."""
        self.stop()

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.close()


def __getattr__(name: str) -> Any:
    if name == "Closing":
        warn_once("pipeline.procs.lifecycle.Closing", "pipeline.procs.lifecycle.Lifecycle")
        return Lifecycle
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
