"""The Redis ACL that jobstate needs, and a helper to apply it (no pytest in here).

:func:`jobstate_acl_rules` lists what one ACL user needs to run the store, the Celery
workers (Redis broker and result backend) and the web UI on one Redis: its own keys
(``<prefix>*``), the keys and channels Celery's Redis transport and result backend use,
and the read, write, scripting, pub/sub and keyspace commands minus the dangerous ones
(no ``FLUSHALL``, ``KEYS``, ``CONFIG``, ``DEBUG``...). Apply it in production with::

    ACL SETUSER jobstate on >secret <rules joined by spaces>
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import redis

__all__ = ["CELERY_CHANNELS", "CELERY_KEYS", "apply_acl", "denials", "jobstate_acl_rules"]

CELERY_KEYS = (
    "_kombu.*",  # queue bindings of the Redis transport and their bookkeeping
    "unacked",  # late-acked messages in flight, with their index and lock
    "unacked_index",
    "unacked_mutex",
    "*.reply.celery.pidbox*",  # replies to remote control (ping), with priority suffixes
    "celery-task-meta-*",  # the result backend
)
"""Keys Celery's Redis transport and result backend use besides the queues."""

CELERY_CHANNELS = (
    # Remote control broadcast: workers PSUBSCRIBE to it, and Redis lets a user
    # PSUBSCRIBE only to a pattern it was granted literally, so the db number is in it.
    "/{db}.celery.pidbox",
    "/{db}.celeryev/*",  # worker events (online, heartbeat, offline)
    "celery-task-meta-*",  # result notices
)
"""Pub/sub channels Celery's Redis transport and result backend use (``{db}``: the
database number of the broker URL)."""

COMMANDS = (
    "-@all",
    "+@read",
    "+@write",
    "+@scripting",
    "+@pubsub",
    "+@connection",
    "+@transaction",
    "+@keyspace",
    "+time",  # the store stamps every record with Redis' clock
    "-@dangerous",
)


def jobstate_acl_rules(prefix: str = "jobstate", *, celery: bool = True, db: int = 0) -> list[str]:
    """ACL rules for a user limited to keys and channels starting with ``prefix`` (the key
    prefix; name queues with it too) and, with ``celery``, the keys and channels of
    Celery's Redis broker (database ``db``) and result backend."""
    keys = [prefix + "*", *(CELERY_KEYS if celery else ())]
    celery_channels = (c.format(db=db) for c in CELERY_CHANNELS) if celery else ()
    channels = [prefix + "*", *celery_channels]
    return [
        "resetkeys",
        *(f"~{k}" for k in keys),
        "resetchannels",
        *(f"&{c}" for c in channels),
        *COMMANDS,
    ]


def apply_acl(
    admin: redis.Redis, user: str, password: str, rules: Sequence[str] | None = None
) -> None:
    """``ACL SETUSER user on >password <rules>`` (default: :func:`jobstate_acl_rules`)."""
    chosen = jobstate_acl_rules() if rules is None else list(rules)
    admin.execute_command(  # type: ignore[no-untyped-call,unused-ignore]
        "ACL", "SETUSER", user, "reset", "on", f">{password}", *chosen
    )


def denials(admin: redis.Redis, user: str | None = None) -> list[dict[str, Any]]:
    """``ACL LOG`` entries (newest first), only those of ``user`` when given."""
    entries: list[dict[str, Any]] = admin.acl_log()
    if user is None:
        return entries
    return [e for e in entries if _text(e.get("username")) == user]


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
