"""Read a Bedrock event stream into typed events and an accumulated result.

``stream_events(response)`` turns the response of ``invoke_model_with_response_stream`` or
``converse_stream`` into ``helpers.events`` objects, each stamped with
``time.perf_counter_ns()`` the moment botocore hands over its frame -- before any JSON or
base64 work -- so timing figures measure the network, not this code.

``invoke_stream`` / ``converse_stream`` send the request and return a ``StreamResult``:
iterate it live, or ``consume()`` it; either way it keeps every event, the accumulated
message (``text``, ``blocks``, ``usage``, ``metrics``...) and, when something fails, a
``StreamError`` whose ``.partial`` is the result itself, nothing lost.

Why frames are read one level below ``EventStream.__iter__``: botocore's public iterator
silently skips events whose type its service model does not know, and the course promises
that an unknown event is passed on, never dropped. And its buffer copies the whole
remaining buffer once per message, which makes a long stream's decoding cost several
times the rest of the reader. So ``helpers.framing.read_frames`` splits the HTTP body into messages with
botocore's rules and checks (prelude and message CRC, limits, the same exceptions) without
that copy, and every frame other than a model chunk -- exceptions, Converse events, unknown
types -- is handed to botocore's own parser, which stays the referee (it raises
``EventStreamError`` for exception frames). The tests compare ``read_frames`` with
botocore's decoder on the same bytes. Should botocore's internals move, the code falls back
to the public iterator (unknown event types then go unseen).
"""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator
from typing import Any

import urllib3.exceptions
from botocore.eventstream import (
    EventStreamMessage,
    ParserError,
)
from botocore.exceptions import BotoCoreError, ClientError

from helpers.accumulate import Accumulator, Block, Snapshot
from helpers.errors import StreamConnectionLost, StreamError, stream_error_class
from helpers.events import (
    CompletionChunk,
    ContentBlockStart,
    ContentBlockStop,
    ConverseBlockDelta,
    ConverseBlockStart,
    ConverseBlockStop,
    ConverseMessageStart,
    ConverseMessageStop,
    ConverseMetadata,
    InputJsonDelta,
    MessageDelta,
    MessageStart,
    MessageStop,
    Ping,
    SignatureDelta,
    StreamEvent,
    TextDelta,
    ThinkingDelta,
    UnknownEvent,
)
from helpers.framing import loads, read_frames

__all__ = [
    "stream_events",
    "decode_chunk",
    "StreamResult",
    "invoke_stream",
    "converse_stream",
    "INVOKE_STREAM",
    "CONVERSE_STREAM",
]

INVOKE_STREAM = "InvokeModelWithResponseStream"
CONVERSE_STREAM = "ConverseStream"
_METRICS_KEY = "amazon-bedrock-invocationMetrics"


# --- decoding: one model chunk (a dict) -> one typed event -------------------------------------


def _content_block_delta(ns: int, d: dict[str, Any]) -> StreamEvent:
    delta = d.get("delta") or {}
    kind = delta.get("type")
    if kind == "text_delta":
        return TextDelta(ns, d["index"], delta["text"])
    if kind == "input_json_delta":
        return InputJsonDelta(ns, d["index"], delta["partial_json"])
    if kind == "thinking_delta":
        return ThinkingDelta(ns, d["index"], delta["thinking"])
    if kind == "signature_delta":
        return SignatureDelta(ns, d["index"], delta["signature"])
    return UnknownEvent(ns, "content_block_delta", d)


def _message_delta(ns: int, d: dict[str, Any]) -> StreamEvent:
    delta = d.get("delta") or {}
    return MessageDelta(ns, delta.get("stop_reason"), delta.get("stop_sequence"), d.get("usage") or {})


_ANTHROPIC = {
    "content_block_delta": _content_block_delta,
    "message_start": lambda ns, d: MessageStart(ns, d.get("message") or {}),
    "content_block_start": lambda ns, d: ContentBlockStart(ns, d["index"], d.get("content_block") or {}),
    "content_block_stop": lambda ns, d: ContentBlockStop(ns, d["index"]),
    "message_delta": _message_delta,
    "message_stop": lambda ns, d: MessageStop(ns, d.get(_METRICS_KEY) or {}),
    "ping": lambda ns, d: Ping(ns),
}


def decode_chunk(received_ns: int, chunk: dict[str, Any]) -> StreamEvent:
    """One decoded model chunk (Anthropic event or legacy completion) as a typed event."""
    make = _ANTHROPIC.get(chunk.get("type"))  # type: ignore[arg-type]
    if make is not None:
        try:
            return make(received_ns, chunk)
        except KeyError:
            return UnknownEvent(received_ns, str(chunk.get("type")), chunk)
    if "completion" in chunk:
        return CompletionChunk(
            received_ns,
            chunk["completion"],
            chunk.get("stop_reason"),
            chunk.get("stop"),
            chunk.get(_METRICS_KEY) or {},
        )
    return UnknownEvent(received_ns, str(chunk.get("type", "chunk")), chunk)


def _redacted_as_bytes(delta: dict[str, Any]) -> dict[str, Any]:
    """``redactedContent`` is a blob: base64 text in the frame's JSON, bytes once botocore parses it.

    The fast path reads the JSON itself, so it decodes the blob the same way; a reader then sees
    the same value whichever path a frame took.
    """
    reasoning = delta.get("reasoningContent")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("redactedContent"), str):
        blob = base64.b64decode(reasoning["redactedContent"])
        return {**delta, "reasoningContent": {**reasoning, "redactedContent": blob}}
    return delta


def _converse_event(ns: int, name: str, body: dict[str, Any]) -> StreamEvent:
    if name == "contentBlockDelta":
        delta = body.get("delta") or {}
        if "reasoningContent" in delta:
            delta = _redacted_as_bytes(delta)
        return ConverseBlockDelta(ns, body.get("contentBlockIndex", 0), delta)
    if name == "messageStart":
        return ConverseMessageStart(ns, body.get("role", "assistant"))
    if name == "contentBlockStart":
        return ConverseBlockStart(ns, body.get("contentBlockIndex", 0), body.get("start") or {})
    if name == "contentBlockStop":
        return ConverseBlockStop(ns, body.get("contentBlockIndex", 0))
    if name == "messageStop":
        return ConverseMessageStop(ns, body.get("stopReason", ""))
    if name == "metadata":
        return ConverseMetadata(ns, body.get("usage") or {}, body.get("metrics") or {})
    return UnknownEvent(ns, name, body)


def _payload_json(payload: bytes) -> Any:
    try:
        return json.loads(payload) if payload else {}
    except ValueError:
        return payload


# --- decoding: the event stream -> typed events -----------------------------------------------


def _event_stream_of(response: Any) -> Any:
    if isinstance(response, dict):
        for key in ("body", "stream"):
            if key in response:
                return response[key]
        raise TypeError(
            "stream_events() needs the response of invoke_model_with_response_stream (it has 'body') "
            f"or converse_stream (it has 'stream'); got a dict with keys {sorted(response)}."
        )
    return response


def stream_events(response: Any) -> Iterator[StreamEvent]:
    """Typed events from a streaming response, each stamped with ``received_ns`` at receipt.

    Errors are botocore's own: an exception frame raises ``botocore.exceptions.EventStreamError``
    (lowerCamel code; extra frame fields such as ``originalStatusCode`` are added to
    ``err.response``), a broken connection raises urllib3/botocore read errors.
    ``StreamResult`` turns those into ``StreamError`` subclasses.
    """
    event_stream = _event_stream_of(response)
    raw = getattr(event_stream, "_raw_stream", None)
    parse = getattr(event_stream, "_parse_event", None)
    if raw is None or parse is None or not hasattr(raw, "stream"):
        return _from_public_iterator(event_stream)
    return _from_frames(read_frames(raw.stream()), parse)


_CONVERSE_EVENTS = frozenset(
    ("messageStart", "contentBlockStart", "contentBlockDelta", "contentBlockStop", "messageStop", "metadata")
)


def _from_frames(frames: Iterator[tuple[int, dict[str, Any], bytes]], parse: Any) -> Iterator[StreamEvent]:
    b64 = base64.b64decode
    for ns, headers, payload in frames:
        if headers.get(":event-type") == "chunk" and headers.get(":message-type") == "event":
            # Decoding to str first spares json.loads its encoding sniffing on every frame.
            chunk = loads(b64(loads(payload.decode())["bytes"]).decode())
            if chunk.get("type") == "content_block_delta":
                # The hot path: most frames are text deltas.
                delta = chunk.get("delta")
                if type(delta) is dict and delta.get("type") == "text_delta" and "index" in chunk:
                    yield TextDelta(ns, chunk["index"], delta["text"])
                    continue
            yield decode_chunk(ns, chunk)
            continue
        if headers.get(":event-type") in _CONVERSE_EVENTS and headers.get(":message-type") == "event":
            # ConverseStream members are plain JSON objects; the fields we keep need no conversion.
            yield _converse_event(ns, headers[":event-type"], loads(payload.decode()))
            continue
        # Rare frames go through botocore's own parser, as a message it built would.
        yield _slow_frame(ns, EventStreamMessage(None, dict(headers), payload, 0), parse)


def _slow_frame(ns: int, frame: Any, parse: Any) -> StreamEvent:
    """Non-chunk frames: let botocore parse them (it raises EventStreamError for exceptions)."""
    headers = frame.headers
    if headers.get(":message-type") in ("exception", "error"):
        extra = _payload_json(frame.payload)
        try:
            parse(frame)
        except ClientError as err:
            if isinstance(extra, dict):
                for key, value in extra.items():
                    if key.lower() != "message":
                        err.response.setdefault(key, value)
            raise
        raise RuntimeError(f"botocore did not raise for an {headers.get(':message-type')} frame")
    name = str(headers.get(":event-type", "unknown"))
    parsed = parse(frame)
    if parsed and name in parsed:
        body = parsed[name]
        if name == "chunk":
            return decode_chunk(ns, _payload_json(body.get("bytes", b"")))
        return _converse_event(ns, name, body)
    return UnknownEvent(ns, name, _payload_json(frame.payload))


def _from_public_iterator(event_stream: Iterable[dict[str, Any]]) -> Iterator[StreamEvent]:
    now = time.perf_counter_ns
    for parsed in event_stream:
        ns = now()
        for name, body in parsed.items():
            if name == "chunk":
                yield decode_chunk(ns, json.loads(body["bytes"]))
            else:
                yield _converse_event(ns, name, body)


# --- errors ------------------------------------------------------------------------------------

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError,
    BotoCoreError,
    http.client.HTTPException,
    OSError,
)


def _to_stream_error(exc: BaseException, partial: StreamResult) -> StreamError:
    if isinstance(exc, StreamError):
        return exc
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        message = str(error.get("Message", "")) or str(exc)
        details = {k: v for k, v in exc.response.items() if k not in ("Error", "ResponseMetadata")}
        if not code:
            message += " (the exception frame carried no recognised code)"
        return stream_error_class(code)(message, code=code, partial=partial, details=details)
    if isinstance(exc, ParserError):
        return StreamConnectionLost(f"a frame arrived corrupted ({type(exc).__name__}: {exc})", partial=partial)
    if isinstance(exc, _CONNECTION_ERRORS):
        return StreamConnectionLost(f"{type(exc).__name__}: {exc}", partial=partial)
    return StreamError(
        f"could not decode the stream ({type(exc).__name__}: {exc})", code="malformedEvent", partial=partial
    )


def _name_model(exc: ClientError, operation: str, model_id: str) -> None:
    """Put operation and model into a pre-stream error's message, keeping its boto3 type."""
    note = f" [operation {operation}, model {model_id}]"
    if exc.args and isinstance(exc.args[0], str) and note not in exc.args[0]:
        exc.args = (exc.args[0] + note, *exc.args[1:])


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
        event_stream: Any = None,
        response: dict[str, Any] | None = None,
    ) -> None:
        self.model_id = model_id
        self.operation = operation
        self.request_sent_ns = request_sent_ns
        self.events: list[StreamEvent] = []
        self.error: StreamError | None = None
        self.done = source is None
        self.stopped = False
        self.attempts = 1
        self.response_metadata: dict[str, Any] = dict((response or {}).get("ResponseMetadata") or {})
        self._acc = Accumulator()
        self._source = source
        self._event_stream = event_stream
        self._stop_requested = False
        self._pending: deque[StreamEvent] = deque()
        self._lock = threading.Lock()
        self._reading = False

    # -- construction
    @classmethod
    def from_response(
        cls, response: dict[str, Any], *, model_id: str = "", operation: str = "", request_sent_ns: int = 0
    ) -> StreamResult:
        """Wrap a boto3 streaming response (not read yet)."""
        event_stream = _event_stream_of(response)
        if not operation:
            operation = CONVERSE_STREAM if "stream" in response else INVOKE_STREAM
        return cls(
            model_id=model_id,
            operation=operation,
            request_sent_ns=request_sent_ns,
            source=stream_events(event_stream),
            event_stream=event_stream,
            response=response,
        )

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
            error = _to_stream_error(exc, self)
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
        raw = getattr(self._event_stream, "_raw_stream", None)
        if raw is None:
            return
        try:
            raw.shutdown()
            return
        except Exception:
            pass
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                return
            except OSError:
                pass
        self._close_http()

    def _close_http(self) -> None:
        if self._event_stream is not None:
            try:
                self._event_stream.close()
            except Exception:
                pass

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


# --- sending -----------------------------------------------------------------------------------


def _body_bytes(body: dict[str, Any] | str | bytes) -> bytes:
    if isinstance(body, dict):
        return json.dumps(body).encode()
    if isinstance(body, str):
        return body.encode()
    if isinstance(body, bytes | bytearray):
        return bytes(body)
    raise TypeError(
        f"body must be a dict (e.g. from helpers.payloads.messages_body), a JSON str or bytes; "
        f"got {type(body).__name__}."
    )


def invoke_stream(
    client: Any, model_id: str, body: dict[str, Any] | str | bytes, *, validate: bool = False, **kwargs: Any
) -> StreamResult:
    """Send InvokeModelWithResponseStream now and return the unread ``StreamResult``.

    Errors before the stream (bad body, throttling, access) raise now, as boto3's typed
    exception with operation and model added to the message. ``validate=True`` first runs
    ``helpers.payloads.validate_body`` (raising ``PayloadError``). Other keyword arguments
    go to boto3 (``trace``, ``guardrailIdentifier``, ``performanceConfigLatency``...).
    """
    if validate:
        from helpers.payloads import validate_body

        validate_body(body, model_id)
    raw = _body_bytes(body)
    kwargs.setdefault("contentType", "application/json")
    kwargs.setdefault("accept", "application/json")
    return _open(
        INVOKE_STREAM, model_id, lambda: client.invoke_model_with_response_stream(modelId=model_id, body=raw, **kwargs)
    )


def converse_stream(client: Any, model_id: str, messages: str | list[dict[str, Any]], **kwargs: Any) -> StreamResult:
    """Send ConverseStream now and return the unread ``StreamResult``.

    ``messages`` may be a plain prompt (one user message) or Converse messages. A str
    ``system`` becomes ``[{"text": system}]``. Other keyword arguments go to boto3
    (``inferenceConfig``, ``toolConfig``, ``additionalModelRequestFields``...).
    """
    if isinstance(messages, str):
        messages = [{"role": "user", "content": [{"text": messages}]}]
    if isinstance(kwargs.get("system"), str):
        kwargs["system"] = [{"text": kwargs["system"]}]
    return _open(
        CONVERSE_STREAM, model_id, lambda: client.converse_stream(modelId=model_id, messages=messages, **kwargs)
    )


def _open(operation: str, model_id: str, send: Any) -> StreamResult:
    """Send the request (timed from just before it leaves); name operation and model on a refusal."""
    sent = time.perf_counter_ns()
    try:
        response = send()
    except ClientError as exc:
        _name_model(exc, operation, model_id)
        raise
    return StreamResult.from_response(response, model_id=model_id, operation=operation, request_sent_ns=sent)
