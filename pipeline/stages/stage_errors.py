"""Typed errors of the media stages; messages are short and never quote upstream content."""

from __future__ import annotations

from pipeline.netguard import BlockedURL

__all__ = [
    "DownloadBlocked",
    "DownloadError",
    "DownloadTimeout",
    "DownloadTooLarge",
    "StageError",
    "TextError",
    "TooManyRedirects",
    "TranscriptionError",
    "TransportFailed",
    "UpstreamStatus",
]


class StageError(Exception):
    """Base class of every error a media stage raises on purpose."""


class DownloadError(StageError):
    """The media could not be fetched; nothing is left in the destination folder."""


class DownloadBlocked(DownloadError, BlockedURL):
    """A URL or a redirect hop was refused by the network guard."""


class TooManyRedirects(DownloadError):
    """The server redirected more times than allowed."""


class DownloadTooLarge(DownloadError):
    """The body is (or declared itself) larger than the size limit."""


class DownloadTimeout(DownloadError):
    """The whole download, redirects included, took longer than the time limit."""


class UpstreamStatus(DownloadError):
    """The server answered with an error status (the body is never read)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(status_code, message)
        self.status_code = status_code
        self.message = message

    def __str__(self) -> str:
        return self.message


class TransportFailed(DownloadError):
    """The connection failed or the server broke the HTTP protocol."""


class TranscriptionError(StageError):
    """The media could not be decoded, or the recogniser failed."""


class TextError(StageError, ValueError):
    """Text stage input or backend was unusable."""
