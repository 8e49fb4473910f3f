"""``with`` support shared by the process helpers: start on entry, close on exit."""

from __future__ import annotations

from typing import Any, Self

__all__ = ["Closing"]


class Closing:
    """Mixin for things with ``start() -> self`` and ``close()``.

    ``with thing:`` starts it and closes it afterwards; a start that fails part-way
    closes whatever it had already started, so no process outlives a failed ``with``.
    """

    def start(self) -> Self:
        """Start the thing (subclasses)."""
        raise NotImplementedError

    def close(self) -> None:
        """Stop the thing and release what it holds (subclasses)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, *exc: Any) -> None:
        self.close()
