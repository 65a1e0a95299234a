"""Readers, one per wire format, behind one small interface (:class:`Wire`).

- :mod:`helpers.wires.eventstream`: AWS event-stream frames (InvokeModelWithResponseStream, ConverseStream),
  read from a boto3 response;
- :mod:`helpers.wires.sse`: server-sent events (the Messages API at ``/anthropic/v1/messages``), read from an
  httpx response.

Each turns its bytes into ``helpers.events`` objects stamped with ``time.perf_counter_ns()`` when their bytes
arrived, and knows how its own failures look (an exception frame, an ``event: error``, a broken read).
``helpers.stream_result.StreamResult`` reads any of them the same way and folds the events with the one
accumulator, so text, blocks, usage and stop reason come out alike whichever wire carried them.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any, Protocol

from helpers.errors import StreamError
from helpers.events import StreamEvent

__all__ = ["Wire", "wake_blocked_reader"]


class Wire(Protocol):
    """One streaming response on one wire format."""

    name: str  # "event-stream" or "sse"
    metadata: dict[str, Any]  # response metadata: RequestId, HTTPStatusCode, HTTPHeaders

    def events(self) -> Iterator[StreamEvent]:
        """Typed events in arrival order; raises this wire's own exceptions on failure."""
        ...

    def interrupt(self) -> None:
        """Wake a read blocked in another thread (a Stop button): the read then fails or ends."""
        ...

    def close(self) -> None:
        """Release the connection; safe to call more than once."""
        ...

    def stream_error(self, exc: BaseException, partial: Any) -> StreamError | None:
        """This wire's failure as a ``StreamError`` carrying ``partial``; None if it is not one of its own."""
        ...


def wake_blocked_reader(sock: object) -> bool:
    """Shut ``sock`` down so a read blocked on it in another thread returns at once; False if it cannot be.

    Closing the response from a second thread could wait behind that read; a socket shutdown never does.
    """
    if not isinstance(sock, socket.socket):
        return False
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True
