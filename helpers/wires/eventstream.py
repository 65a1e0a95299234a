"""The AWS event-stream wire: binary frames with CRCs, as boto3 returns them for InvokeModelWithResponseStream
and ConverseStream.

Why frames are read one level below ``EventStream.__iter__``: botocore's public iterator silently skips
events whose type its service model does not know, and the course promises that an unknown event is passed
on, never dropped. And its buffer copies the whole remaining buffer once per message, which makes a long
stream's decoding cost several times the rest of the reader. So ``helpers.framing.read_frames`` splits the
HTTP body into messages with botocore's rules and checks (prelude and message CRC, limits, the same
exceptions) without that copy, and every frame other than a model chunk -- exceptions, Converse events,
unknown types -- is handed to botocore's own parser, which stays the referee (it raises ``EventStreamError``
for exception frames). Both need private attributes of botocore's ``EventStream``; :func:`_internals` is the
one place that reads them. Should botocore's internals move, it returns None and the reader falls back to the
public iterator (unknown event types then go unseen).
"""

from __future__ import annotations

import base64
import http.client
import json
import time
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import urllib3.exceptions
from botocore.eventstream import EventStreamMessage, ParserError
from botocore.exceptions import BotoCoreError, ClientError

from helpers.decode import CONVERSE_EVENTS, converse_event, decode_chunk, payload_json
from helpers.errors import StreamConnectionLost, StreamError, stream_error_class
from helpers.events import StreamEvent, TextDelta, UnknownEvent
from helpers.framing import loads, read_frames
from helpers.wires import wake_blocked_reader

__all__ = ["EventStreamWire", "stream_events", "event_stream_of"]

_CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    urllib3.exceptions.HTTPError,
    BotoCoreError,
    http.client.HTTPException,
    OSError,
)


class _Internals(NamedTuple):
    raw_stream: Any  # urllib3's HTTPResponse
    parse_event: Any  # botocore's parser for one EventStreamMessage


def _internals(event_stream: Any) -> _Internals | None:
    """The one reader of botocore's private ``EventStream`` attributes; None when they are not there."""
    raw = getattr(event_stream, "_raw_stream", None)
    parse = getattr(event_stream, "_parse_event", None)
    if raw is None or parse is None or not hasattr(raw, "stream"):
        return None
    return _Internals(raw, parse)


def event_stream_of(response: Any) -> Any:
    """The ``EventStream`` in a boto3 streaming response (``body`` or ``stream``), or the argument itself."""
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
    """Typed events from a streaming boto3 response, each stamped with ``received_ns`` at receipt.

    Errors are botocore's own: an exception frame raises ``botocore.exceptions.EventStreamError``
    (lowerCamel code; extra frame fields such as ``originalStatusCode`` are added to
    ``err.response``), a broken connection raises urllib3/botocore read errors.
    ``EventStreamWire.stream_error`` turns those into ``StreamError`` subclasses.
    """
    event_stream = event_stream_of(response)
    internals = _internals(event_stream)
    if internals is None:
        return _from_public_iterator(event_stream)
    return _from_frames(read_frames(internals.raw_stream.stream()), internals.parse_event)


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
        if headers.get(":event-type") in CONVERSE_EVENTS and headers.get(":message-type") == "event":
            # ConverseStream members are plain JSON objects; the fields we keep need no conversion.
            yield converse_event(ns, headers[":event-type"], loads(payload.decode()))
            continue
        # Rare frames go through botocore's own parser, as a message it built would.
        yield _slow_frame(ns, EventStreamMessage(None, dict(headers), payload, 0), parse)


def _slow_frame(ns: int, frame: Any, parse: Any) -> StreamEvent:
    """Non-chunk frames: let botocore parse them (it raises EventStreamError for exceptions)."""
    headers = frame.headers
    if headers.get(":message-type") in ("exception", "error"):
        extra = payload_json(frame.payload)
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
            return decode_chunk(ns, payload_json(body.get("bytes", b"")))
        return converse_event(ns, name, body)
    return UnknownEvent(ns, name, payload_json(frame.payload))


def _from_public_iterator(event_stream: Iterable[dict[str, Any]]) -> Iterator[StreamEvent]:
    now = time.perf_counter_ns
    for parsed in event_stream:
        ns = now()
        for name, body in parsed.items():
            if name == "chunk":
                yield decode_chunk(ns, json.loads(body["bytes"]))
            else:
                yield converse_event(ns, name, body)


class EventStreamWire:
    """A boto3 streaming response (``invoke_model_with_response_stream`` / ``converse_stream``) as a ``Wire``."""

    name = "event-stream"

    def __init__(self, response: Any) -> None:
        self.event_stream = event_stream_of(response)
        self.metadata: dict[str, Any] = dict(response.get("ResponseMetadata") or {}) if isinstance(
            response, dict) else {}

    def events(self) -> Iterator[StreamEvent]:
        return stream_events(self.event_stream)

    def interrupt(self) -> None:
        internals = _internals(self.event_stream)
        if internals is None:
            self.close()
            return
        raw = internals.raw_stream
        try:
            raw.shutdown()  # urllib3 >= 2.3: wakes a read blocked in another thread
            return
        except Exception:
            pass
        if wake_blocked_reader(getattr(getattr(raw, "connection", None), "sock", None)):
            return
        self.close()

    def close(self) -> None:
        try:
            self.event_stream.close()
        except Exception:
            pass

    def stream_error(self, exc: BaseException, partial: Any) -> StreamError | None:
        if isinstance(exc, ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            message = str(error.get("Message", "")) or str(exc)
            details = {k: v for k, v in exc.response.items() if k not in ("Error", "ResponseMetadata")}
            if not code:
                message += " (the exception frame carried no recognised code)"
            return stream_error_class(code)(message, code=code, partial=partial, details=details)
        if isinstance(exc, ParserError):
            return StreamConnectionLost(f"a frame arrived corrupted ({type(exc).__name__}: {exc})",
                                        partial=partial)
        if isinstance(exc, _CONNECTION_ERRORS):
            return StreamConnectionLost(f"{type(exc).__name__}: {exc}", partial=partial)
        return None
