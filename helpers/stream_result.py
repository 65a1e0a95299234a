"""The result of one streaming call, whichever wire carried it: read it live or ``consume()`` it.

``StreamResult`` pulls typed events from a ``helpers.wires.Wire`` (or any iterator of events), folds each
into the one ``helpers.accumulate.Accumulator`` before handing it on, keeps every event, and turns a wire's
failure into a ``StreamError`` whose ``.partial`` is the result itself, nothing lost.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

from helpers.accumulate import Accumulator, Block, Snapshot
from helpers.decode import InBandError
from helpers.errors import StreamConnectionLost, StreamError, stream_error_class
from helpers.events import CompletionChunk, ConverseMetadata, MessageStop, Ping, StreamEvent, UnknownEvent
from helpers.wires import Wire
from helpers.wires.eventstream import EventStreamWire
from helpers.wires.sse import SseWire

__all__ = ["StreamResult", "INVOKE_STREAM", "CONVERSE_STREAM", "MESSAGES_STREAM"]

INVOKE_STREAM = "InvokeModelWithResponseStream"
CONVERSE_STREAM = "ConverseStream"
MESSAGES_STREAM = "MessagesStream"  # the Messages API over SSE (POST /anthropic/v1/messages)


def _to_stream_error(exc: BaseException, partial: StreamResult, wire: Wire | None) -> StreamError:
    if isinstance(exc, StreamError):
        return exc
    if isinstance(exc, InBandError):  # an error chunk, whichever wire carried it
        details = {k: v for k, v in exc.body.items() if k not in ("type", "error")} if isinstance(
            exc.body, dict) else {}
        return stream_error_class(exc.error_type)(exc.message, code=exc.error_type, partial=partial,
                                                  details=details)
    if wire is not None:
        error = wire.stream_error(exc, partial)
        if error is not None:
            return error
    return StreamError(
        f"could not decode the stream ({type(exc).__name__}: {exc})", code="malformedEvent", partial=partial
    )


# ConverseStream's last event is metadata (usage, latency), after messageStop: a stream cut between
# the two lost its usage, so it did not end properly.
_TERMINAL = (MessageStop, ConverseMetadata)


def _ended_properly(events: list[StreamEvent]) -> bool:
    for event in reversed(events):
        if isinstance(event, _TERMINAL):
            return True
        if isinstance(event, CompletionChunk):
            return event.stop_reason is not None
        if not isinstance(event, UnknownEvent | Ping):
            return False
    return False


# --- the result --------------------------------------------------------------------------------


class StreamResult:
    """A streaming answer: iterate it live, or ``consume()`` it; it keeps everything received.

    - Iterating folds each event into ``snapshot`` *before* yielding it, so the consumer
      always sees a snapshot that includes the event in hand.
    - A finished result yields nothing more. Leaving a ``for`` loop early (``break``, an
      exception, a kernel interrupt) stops the stream: the HTTP connection is closed and
      ``stopped`` is set; what arrived stays.
    - ``close()`` may be called from any thread (a Stop button): the reader ends with
      ``stopped=True``.
    - On failure ``error`` is set, ``done`` is True and the ``StreamError`` (whose
      ``.partial`` is this object) is raised from the iteration / ``consume()``.
    """

    def __init__(
        self,
        *,
        model_id: str = "",
        operation: str = "",
        request_sent_ns: int = 0,
        source: Iterator[StreamEvent] | None = None,
        wire: Wire | None = None,
    ) -> None:
        """Read ``wire`` (a ``helpers.wires`` reader), or a plain iterator of events (``source``)."""
        self.model_id = model_id
        self.operation = operation
        self.request_sent_ns = request_sent_ns
        self.events: list[StreamEvent] = []
        self.error: StreamError | None = None
        self.done = source is None and wire is None
        self.stopped = False
        self.attempts = 1
        self.wire = wire
        self.response_metadata: dict[str, Any] = dict(wire.metadata) if wire is not None else {}
        self._acc = Accumulator()
        self._source = wire.events() if wire is not None else source
        self._stop_requested = False
        self._pending: deque[StreamEvent] = deque()
        self._lock = threading.Lock()
        self._reading = False

    # -- construction
    @classmethod
    def from_response(
        cls, response: Any, *, model_id: str = "", operation: str = "", request_sent_ns: int = 0
    ) -> StreamResult:
        """Wrap a streaming response, not read yet: a boto3 one (event stream) or an httpx one (SSE)."""
        wire: Wire
        if hasattr(response, "iter_bytes") and hasattr(response, "headers"):
            wire = SseWire(response)
            operation = operation or MESSAGES_STREAM
        else:
            wire = EventStreamWire(response)
            if not operation:
                operation = CONVERSE_STREAM if isinstance(response, dict) and "stream" in response else INVOKE_STREAM
        return cls(model_id=model_id, operation=operation, request_sent_ns=request_sent_ns, wire=wire)

    @classmethod
    def from_events(
        cls, events: Iterable[StreamEvent], *, model_id: str = "", request_sent_ns: int = 0
    ) -> StreamResult:
        """A finished result from recorded events (tests, replays)."""
        result = cls(model_id=model_id, operation="replay", request_sent_ns=request_sent_ns)
        for event in events:
            result.events.append(event)
            result._acc.add(event)
        return result

    # -- the accumulated message
    @property
    def snapshot(self) -> Snapshot:
        return self._acc.snapshot()

    @property
    def text(self) -> str:
        return self.snapshot.text

    @property
    def blocks(self) -> tuple[Block, ...]:
        return self.snapshot.blocks

    @property
    def stop_reason(self) -> str | None:
        return self._acc.stop_reason

    @property
    def stop_sequence(self) -> str | None:
        return self._acc.stop_sequence

    @property
    def usage(self) -> dict[str, Any]:
        return dict(self._acc.usage)

    @property
    def metrics(self) -> dict[str, Any]:
        return dict(self._acc.metrics)

    def assistant_message(self) -> dict[str, Any]:
        """The assistant turn to send back on the next request, in the shape of the operation that streamed it.

        A ConverseStream answer gives a Converse message (``text``, ``toolUse``, ``reasoningContent``
        blocks); any other a Messages one. Thinking with its signature, and redacted thinking, go back
        exactly as received: the model refuses a conversation whose thinking was altered or dropped.
        """
        if self.operation == CONVERSE_STREAM:
            return self.snapshot.converse_message()
        return self.snapshot.assistant_message()

    @property
    def request_id(self) -> str | None:
        return self.response_metadata.get("RequestId")

    # -- reading
    def __iter__(self) -> Iterator[StreamEvent]:
        return self._read()

    def _read(self) -> Iterator[StreamEvent]:
        with self._lock:
            if self._reading:
                raise RuntimeError(
                    "This StreamResult is already being read (by another loop or thread). "
                    "Read it once, and look at .events / .snapshot from elsewhere."
                )
            self._reading = True
        try:
            pending = self._pending
            while pending:
                yield pending.popleft()
            next_event = self._next
            while not self.done:
                event = next_event()
                if event is None:
                    return
                yield event
        except GeneratorExit:
            # The consumer left the loop early (break, exception, interrupt): stop for good.
            if not self.done:
                self._finish_stopped()
            raise
        finally:
            self._reading = False

    def _next(self) -> StreamEvent | None:
        """Read, record and fold one event. None when the stream has ended (normally or stopped)."""
        if self._stop_requested:
            self._finish_stopped()
            return None
        try:
            event = next(self._source)  # type: ignore[arg-type]
        except StopIteration:
            self._finish_normally()
            return None
        except KeyboardInterrupt:
            self._finish_stopped()
            raise
        except Exception as exc:
            if self._stop_requested:
                self._finish_stopped()
                return None
            error = _to_stream_error(exc, self, self.wire)
            self._finish_with(error)
            raise error from exc
        self.events.append(event)
        self._acc.add(event)
        return event

    def consume(self) -> StreamResult:
        """Read to the end. Raises the ``StreamError`` on failure; returns ``self``."""
        for _ in self:
            pass
        if self.error is not None:
            raise self.error
        return self

    def wait_for_output(self) -> StreamResult:
        """Read until the first output-carrying event (or the end), keeping what was read for iteration.

        ``helpers.retries.with_retries`` uses this to learn whether a stream failed before any
        output -- safe to retry -- or after.
        """
        while not self.done:
            event = self._next()
            if event is None:
                break
            self._pending.append(event)
            if event.carries_output:
                break
        return self

    # -- stopping
    def close(self) -> None:
        """Stop reading: closes the HTTP stream; the reader ends with ``stopped=True``. Thread-safe."""
        self._stop_requested = True
        with self._lock:
            reading = self._reading
            if not reading and not self.done:
                self._finish_stopped()
                return
        if reading:
            # Another thread may be blocked in a socket read: shutting the socket down wakes it
            # (closing the file object from here could wait for that read to finish).
            self._shutdown_socket()

    def _shutdown_socket(self) -> None:
        if self.wire is not None:
            self.wire.interrupt()

    def _close_http(self) -> None:
        if self.wire is not None:
            self.wire.close()

    def _finish_normally(self) -> None:
        if self._stop_requested:
            self._finish_stopped()
            return
        if not _ended_properly(self.events):
            error = StreamConnectionLost(
                "the stream ended before its final event (message_stop / metadata)", partial=self
            )
            self._finish_with(error)
            raise error
        self.done = True

    def _finish_stopped(self) -> None:
        self.stopped = True
        self.done = True
        self._close_http()

    def _finish_with(self, error: StreamError) -> None:
        self.error = error
        self.done = True
        self._close_http()

    def __repr__(self) -> str:
        state = "stopped" if self.stopped else "failed" if self.error else "done" if self.done else "reading"
        return (
            f"<StreamResult {self.operation} {self.model_id or '?'} {state}: {len(self.events)} events, "
            f"{len(self.text)} chars, stop_reason={self.stop_reason!r}>"
        )
