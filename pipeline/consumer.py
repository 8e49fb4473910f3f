"""A Celery worker consumer that rides through its broker connection dropping mid-stage.

When the broker connection of a running worker fails, Celery 5.7's consumer
(``on_connection_error_after_connected`` in ``celery/worker/consumer/consumer.py``) calls
``Connection.collect()`` and then ``Connection.close()`` on it. On kombu's Redis
transport the first call can stop half way: closing the task channel first reads the
reply of the ``BRPOP`` the channel has in flight, that read fails on the dead socket, and
the channel is left open; ``collect()`` then detaches the transport from the connection
(the transport's ``client`` becomes ``None``) but keeps the channel as the connection's
default channel. ``close()`` closes that channel again and this time gets as far as
putting the channel's unacknowledged messages back, which builds a Redis client from the
transport's ``client`` (``kombu/transport/redis.py``, ``Channel._connparams``):
``AttributeError: 'NoneType' object has no attribute 'hostname'``. That is no connection
error, so the worker stops ("Unrecoverable error"). Only a worker holding an
unacknowledged message gets there (a late-acknowledged stage running), so an idle worker
survives the same restart.

:class:`Consumer` closes the task channel before Celery's cleanup runs, while the channel's
transport is still attached, and then drops it from the connection, so the cleanup finds
nothing half closed. Name it in the app's ``worker_consumer`` setting
(:data:`CONSUMER`); ``pipeline.celery_app`` does.
"""

from __future__ import annotations

from typing import Any

import kombu
from celery.utils import threads
from celery.worker.consumer import Consumer as CeleryConsumer
from kombu.transport import virtual

__all__ = ["CELERY_CONSUMER", "CONSUMER", "Consumer", "close_task_channel"]

CONSUMER = "pipeline.consumer:Consumer"
"""The ``worker_consumer`` setting that selects :class:`Consumer`."""

CELERY_CONSUMER = "celery.worker.consumer:Consumer"
"""Celery's default ``worker_consumer``: apps that keep it get :data:`CONSUMER` from the
harness's workers and from ``jobstate worker``."""

CLOSE_ATTEMPTS = 2
"""A first close can stop at the pending ``BRPOP`` read (which it then forgets); a second
one starts past it."""

SOCKET_TIMEOUT = 5.0
"""Bound on each read a close makes on sockets already open (Celery's own cleanup uses 5 s)."""


class Consumer(CeleryConsumer):
    """Celery's consumer, except that a lost broker connection leaves no channel half closed."""

    def on_connection_error_after_connected(self, exc: BaseException) -> None:
        """Close the task channel while its transport is attached, then Celery's cleanup."""
        if self.connection is not None:
            close_task_channel(self.connection)
        celery_consumer: Any = super()  # the stubs do not declare this method
        celery_consumer.on_connection_error_after_connected(exc)


def close_task_channel(connection: kombu.Connection) -> None:
    """Close ``connection``'s default channel after a connection error, then forget it.

    Only kombu's virtual transports (Redis among them) need this: an AMQP channel is left
    to Celery. Connection and channel errors while closing are expected (the broker is
    gone) and ignored; whatever the close managed, the connection no longer holds the
    channel, so no later close reaches it through a detached transport.
    """
    conn: Any = connection  # kombu keeps the default channel private
    channel = conn._default_channel
    if not isinstance(channel, virtual.Channel):
        return
    _bound_open_sockets(connection)
    for _ in range(CLOSE_ATTEMPTS):
        if channel.closed:
            break
        connection.maybe_close_channel(channel)
    conn._default_channel = None


def _bound_open_sockets(connection: kombu.Connection) -> None:
    # A close reads from sockets already open; against a peer that went silent without a
    # reset such a read never returns. Celery 5.7 has a helper for this; older releases
    # bound nothing in their own cleanup either.
    bound: Any = getattr(threads, "bound_open_broker_sockets", None)
    if bound is not None:
        bound(connection, SOCKET_TIMEOUT)
