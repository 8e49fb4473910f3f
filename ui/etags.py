"""Entity tags of a job's state: ``W/"<created_ms>.<version>.<stale>"`` (RFC 9110, 8.8.3).

The tag changes whenever the record a reader sees changes, except for ``heartbeat_at``
(liveness only, so the tag is weak): a new version, the job cleared and made again under
the same id, or the job turning stale by Redis' clock.
"""

from __future__ import annotations

import re

from pipeline.live_reads import MAX_TAGS

__all__ = ["etag", "held"]

_TAG = re.compile(r'(?:W/)?"([0-9.]{1,64})"')


def etag(tag: str) -> str:
    """The ``ETag`` header value of a version tag."""
    return f'W/"{tag}"'


def held(if_none_match: str | None) -> tuple[list[str], bool]:
    """The version tags an ``If-None-Match`` header names (weak comparison, at most
    :data:`~pipeline.live_reads.MAX_TAGS`), and whether it is ``*``."""
    if not if_none_match:
        return [], False
    if if_none_match.strip() == "*":
        return [], True
    return _TAG.findall(if_none_match)[:MAX_TAGS], False
